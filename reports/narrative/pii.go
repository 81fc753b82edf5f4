package narrative

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Placeholder kinds a Masker substitutes for personal data.
const (
	KindPerson = "PERSON"
	KindEmail  = "EMAIL"
	KindPhone  = "PHONE"
)

var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	// phoneRE finds candidates; isPhone decides.
	phoneRE = regexp.MustCompile(`(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,4}\)[ .\-]?)?\d{2,4}(?:[ .\-]\d{2,4}){1,4}`)
	// numericDateRE is what a phone candidate must not be: 2026-06-30, 06/30/2026, 30.06.2026.
	numericDateRE = regexp.MustCompile(`^(?:\d{4}[\-./]\d{1,2}[\-./]\d{1,2}|\d{1,2}[\-./]\d{1,2}[\-./]\d{2,4})$`)
	// placeholderRE matches the tokens a Masker issues, and ones a model makes up.
	placeholderRE = regexp.MustCompile(`\b(?:PERSON|EMAIL|PHONE)_\d+\b`)
)

// isPhone reports whether a phoneRE match is a phone number: 7 to 15 digits, and either a
// leading "+", an area code in parentheses, or at least three digit groups — so that
// "2026-2027" or "555-0142" are not, and "+44 20 7946 0958" and "415-555-0100" are. Numeric
// dates are never phone numbers.
func isPhone(s string) bool {
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if digits < 7 || digits > 15 || numericDateRE.MatchString(s) {
		return false
	}
	groups := len(strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' }))
	return strings.HasPrefix(s, "+") || strings.Contains(s, "(") || groups >= 3
}

// Masker replaces people's names, e-mail addresses and phone numbers with placeholders
// (PERSON_1, EMAIL_1, PHONE_1) before text leaves the process, and puts them back in the
// reply. One Masker serves one narrative: the same string always gets the same placeholder,
// numbered in order of first appearance, and Restore(Mask(s)) == s.
//
// Names are the caller's list (free-text name recognition is not reliable enough to
// promise anything): each full name matches case-insensitively with any spacing; each part
// of three or more letters ("Doe" of "Jane Doe") also matches on its own, case-sensitively,
// as a separate placeholder that restores to that part. A part that is also an ordinary
// capitalised word ("Price", "Will") is masked wherever it appears: the model sees less, but
// no name leaves. E-mails and phone numbers are found by pattern (see isPhone).
type Masker struct {
	names   []nameRE // full names first, then parts; longest first
	byText  map[string]string
	byToken map[string]string
	next    map[string]int
}

// NewMasker returns a Masker for the given known names (owners, contacts).
func NewMasker(knownNames []string) *Masker {
	m := &Masker{byText: map[string]string{}, byToken: map[string]string{}, next: map[string]int{}}
	var full, parts []string
	seen := map[string]bool{}
	for _, n := range knownNames {
		words := strings.Fields(n)
		if len(words) == 0 {
			continue
		}
		if key := strings.ToLower(strings.Join(words, " ")); !seen[key] {
			seen[key] = true
			full = append(full, strings.Join(words, " "))
		}
		for _, w := range words {
			w = strings.Trim(w, ".,'’\"()")
			if utf8.RuneCountInString(w) >= 3 && !seen["part:"+w] && len(words) > 1 {
				seen["part:"+w] = true
				parts = append(parts, w)
			}
		}
	}
	byLen := func(s []string) {
		sort.SliceStable(s, func(i, j int) bool { return len(s[i]) > len(s[j]) })
	}
	byLen(full)
	byLen(parts)
	for _, n := range full {
		q := make([]string, 0, 4)
		for _, w := range strings.Fields(n) {
			q = append(q, regexp.QuoteMeta(w))
		}
		m.names = append(m.names, nameRE{regexp.MustCompile(`(?i)` + strings.Join(q, `\s+`)), false})
	}
	for _, p := range parts {
		m.names = append(m.names, nameRE{regexp.MustCompile(regexp.QuoteMeta(p)), true})
	}
	return m
}

// nameRE finds one known name, or one part of a name (matched case-sensitively).
type nameRE struct {
	re   *regexp.Regexp
	part bool
}

type span struct {
	start, end int
	kind       string
	part       bool // a part of a name: its own placeholder, keyed case-sensitively
}

// Mask returns s with every name, e-mail and phone number replaced by its placeholder.
func (m *Masker) Mask(s string) string {
	var spans []span
	for _, loc := range emailRE.FindAllStringIndex(s, -1) {
		spans = append(spans, span{loc[0], loc[1], KindEmail, false})
	}
	for _, loc := range phoneRE.FindAllStringIndex(s, -1) {
		if isPhone(s[loc[0]:loc[1]]) && wordBoundary(s, loc[0], loc[1]) {
			spans = append(spans, span{loc[0], loc[1], KindPhone, false})
		}
	}
	for _, n := range m.names {
		for _, loc := range n.re.FindAllStringIndex(s, -1) {
			if wordBoundary(s, loc[0], loc[1]) {
				spans = append(spans, span{loc[0], loc[1], KindPerson, n.part})
			}
		}
	}
	// Earliest first, longest first at the same start; drop whatever overlaps a kept span.
	sort.SliceStable(spans, func(i, j int) bool {
		if spans[i].start != spans[j].start {
			return spans[i].start < spans[j].start
		}
		return spans[i].end > spans[j].end
	})
	var b strings.Builder
	pos := 0
	for _, sp := range spans {
		if sp.start < pos {
			continue
		}
		b.WriteString(s[pos:sp.start])
		b.WriteString(m.token(sp, s[sp.start:sp.end]))
		pos = sp.end
	}
	b.WriteString(s[pos:])
	return b.String()
}

// token returns the placeholder for the text of sp, issuing the next one of its kind if
// new. Full names, e-mails and phone numbers are the same whatever their case or spacing;
// parts of names are compared as written.
func (m *Masker) token(sp span, text string) string {
	kind := sp.kind
	key := kind + "\x00" + strings.ToLower(strings.Join(strings.Fields(text), " "))
	if sp.part {
		key = kind + "\x00part\x00" + text
	}
	if t, ok := m.byText[key]; ok {
		return t
	}
	m.next[kind]++
	t := fmt.Sprintf("%s_%d", kind, m.next[kind])
	m.byText[key] = t
	m.byToken[t] = text
	return t
}

// Restore puts the original text back for every placeholder this Masker issued, and
// returns the placeholders in s that it never issued (a model inventing PERSON_7).
func (m *Masker) Restore(s string) (restored string, unknown []string) {
	restored = placeholderRE.ReplaceAllStringFunc(s, func(t string) string {
		if orig, ok := m.byToken[t]; ok {
			return orig
		}
		unknown = append(unknown, t)
		return t
	})
	return restored, unknown
}

// Originals returns the personal data this Masker has replaced so far, so a caller can
// assert that none of it appears in what was sent.
func (m *Masker) Originals() []string {
	out := make([]string, 0, len(m.byToken))
	for _, v := range m.byToken {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// wordBoundary reports whether s[start:end] is not glued to a letter or digit on either side.
func wordBoundary(s string, start, end int) bool {
	if start > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:start])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	if end < len(s) {
		r, _ := utf8.DecodeRuneInString(s[end:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}
