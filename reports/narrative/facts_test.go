package narrative_test

import (
	"math"
	"testing"

	"github.com/revcast/revcast/reports/narrative"
)

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{narrative.FormatMoney(1_234_567.4, "USD"), "$1,234,567"},
		{narrative.FormatMoney(-1_234_567.6, "EUR"), "-€1,234,568"},
		{narrative.FormatMoney(0.4, "USD"), "$0"},
		{narrative.FormatMoney(-0.4, "USD"), "$0"}, // no "-$0"
		{narrative.FormatMoney(1_500, "CHF"), "CHF 1,500"},
		{narrative.FormatMoneyShort(1_234_567, "USD"), "$1.2M"},
		{narrative.FormatMoneyShort(1_999_999, "USD"), "$2M"},
		{narrative.FormatMoneyShort(950_000, "USD"), "$950K"},
		{narrative.FormatMoneyShort(999_960, "USD"), "$1M"}, // 1,000K would be odd
		{narrative.FormatMoneyShort(12_345, "GBP"), "£12.3K"},
		{narrative.FormatMoneyShort(999.6, "USD"), "$1,000"},
		{narrative.FormatMoneyShort(420, "JPY"), "¥420"},
		{narrative.FormatMoneyShort(-412_000, "USD"), "-$412K"},
		{narrative.FormatMoneyShort(3.2e12, "USD"), "$3,200B"},
		{narrative.FormatMoneyShort(math.NaN(), "USD"), "n/a"},
		{narrative.FormatPercent(12.53), "12.5%"},
		{narrative.FormatPercent(40), "40%"},
		{narrative.FormatPercent(-0.04), "0%"},
		{narrative.FormatCount(1234), "1,234"},
		{narrative.FormatNumber(2.456), "2.46"},
		{narrative.FormatNumber(-1234.5), "-1,234.5"},
		{narrative.Ratio("r", "r", 0.4231).Value(), "42.3%"},
		{narrative.Days("d", "d", 45.63).Value(), "45.6 days"},
		{narrative.Days("d", "d", 1).Value(), "1 day"},
		{narrative.Money("m", "m", 12_345_678, "USD").Value(), "$12.3M"},
		{narrative.Fact{Unit: "%", Num: math.Inf(1)}.Value(), "n/a"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestFacts_Canonical(t *testing.T) {
	fs := narrative.Facts{Section: "headline", Items: []narrative.Fact{
		narrative.Money("p50", "P50", 12_345_678.9, "USD"),
		narrative.Text("owner", "Owner", "Jane \"JD\" Doe"),
		narrative.Ratio("r", "Share", 0.1),
	}}
	want := "section \"headline\"\n" +
		"fact key=\"p50\" unit=\"USD\" value=1.23456789e+07 label=\"P50\"\n" +
		"fact key=\"owner\" unit=\"text\" value=\"Jane \\\"JD\\\" Doe\" label=\"Owner\"\n" +
		"fact key=\"r\" unit=\"ratio\" value=0.1 label=\"Share\"\n"
	if got := fs.Canonical(); got != want {
		t.Errorf("Canonical =\n%s\nwant\n%s", got, want)
	}
	if c, ok := narrative.Unit("EUR").Currency(); !ok || c != "EUR" {
		t.Error("EUR is a currency")
	}
	if _, ok := narrative.UnitDays.Currency(); ok {
		t.Error("days is no currency")
	}
}
