package narrative_test

import (
	"strings"
	"testing"

	"github.com/revcast/revcast/reports/narrative"
)

func TestMasker(t *testing.T) {
	m := narrative.NewMasker([]string{"Jane Doe", "José Álvarez", "John Smith", "John Brown", ""})
	for _, tc := range []struct{ in, want string }{
		{"Owner: Jane Doe", "Owner: PERSON_1"},
		{"JANE  DOE again, and Doe alone", "PERSON_1 again, and PERSON_2 alone"},                         // same person whatever the case or spacing; a part is its own
		{"jane.doe@acme-corp.com or Jane.Doe@Acme-Corp.com", "EMAIL_1 or EMAIL_1"},                       // e-mails are compared ignoring case
		{"Call +1 415 555 0100 or (415) 555-0100 or 415-555-0100", "Call PHONE_1 or PHONE_2 or PHONE_3"}, // three ways to write one number: three placeholders, each restored as written
		{"+44 20 7946 0958", "PHONE_4"},
		{"José Álvarez and Álvarez's deal", "PERSON_3 and PERSON_4's deal"}, // non-ASCII names and boundaries
		{"John Smith, John Brown, John", "PERSON_5, PERSON_6, PERSON_7"},    // a shared first name is a part of its own
		{"Doer and Janet are not Jane Doe's parts", "Doer and Janet are not PERSON_1's parts"},
		// Not personal data: amounts, dates, years, ranges, short local numbers.
		{"$1,234,567 on 2026-06-30, 06/30/2026 and 30.06.2026; FY 2026-2027; ext 555-0142; 12.5 45.2", "$1,234,567 on 2026-06-30, 06/30/2026 and 30.06.2026; FY 2026-2027; ext 555-0142; 12.5 45.2"},
	} {
		got := m.Mask(tc.in)
		if got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
			continue
		}
		back, unknown := m.Restore(got)
		if len(unknown) != 0 {
			t.Errorf("Restore(%q): unknown %q", got, unknown)
		}
		// Restore gives back the first spelling seen for each placeholder.
		if !strings.EqualFold(strings.Join(strings.Fields(back), " "), strings.Join(strings.Fields(tc.in), " ")) {
			t.Errorf("Restore(Mask(%q)) = %q", tc.in, back)
		}
	}
	if _, unknown := m.Restore("PERSON_99 and EMAIL_9"); len(unknown) != 2 {
		t.Errorf("unknown = %q, want PERSON_99 and EMAIL_9", unknown)
	}
	for _, s := range m.Originals() {
		if strings.Contains(m.Mask("x "+s+" y"), s) {
			t.Errorf("original %q survives masking", s)
		}
	}
}
