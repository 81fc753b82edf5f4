package narrative_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/revcast/revcast/reports/narrative"
)

// checkFacts covers every unit; the comments on the cases below say which fact grounds
// (or fails to ground) each figure.
func checkFacts() narrative.Facts {
	return narrative.Facts{Section: "test", Items: []narrative.Fact{
		narrative.Money("p50", "P50 bookings", 12_345_678, "USD"),
		narrative.Money("target", "Target", 15_000_000, "USD"),
		narrative.Money("change", "Change since last run", -412_000, "USD"),
		narrative.Money("eu", "EMEA bookings", 2_340_000, "EUR"),
		narrative.Ratio("attain", "Share of target", 0.823),
		narrative.Percent("growth", "Growth", 7.25),
		narrative.Count("deals", "Open deals", 148),
		narrative.Count("rows", "Opportunity rows", 1_234_567),
		narrative.Days("dso", "Days sales outstanding", 45.6),
		narrative.Number("coverage", "Pipeline coverage", 2.46),
		narrative.Date("qend", "Quarter end", time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)),
		narrative.Text("period", "Period", "2026-Q3"),
		narrative.Count("cw", "Invoices due in the next 13 weeks", 2),
		narrative.Number("missing", "Calibration slope", math.NaN()),
		narrative.Text("owner", "Owner", "PERSON_1"),
	}}
}

func TestCheck(t *testing.T) {
	facts := checkFacts()
	for _, tc := range []struct {
		text string
		want []string // offending tokens, in order
	}{
		// Money: v with k decimals in scale s matches when | |f|/s − v | ≤ ½·10^−k.
		{"P50 is $12.3M.", nil},                          // 12.345678 → 12.3 (±0.05)
		{"P50 is $12,345,678.", nil},                     // exact
		{"P50 is $12,345,678.00.", nil},                  // exact at 2 decimals
		{"P50 is $12.35M.", nil},                         // |12.345678−12.35| = 0.0043 ≤ 0.005
		{"P50 is $12M.", nil},                            // 12.35 rounds to 12
		{"P50 is $12.4M.", []string{"$12.4M"}},           // 0.054 > 0.05
		{"P50 is $13M.", []string{"$13M"}},               // 0.65 > 0.5
		{"P50 is 12.3 million dollars.", nil},            // scale and currency words
		{"P50 is USD 12.3M, or 12.3M USD.", nil},         // ISO code before and after
		{"P50 is 12.3M EUR.", []string{"12.3M EUR"}},     // a code after binds too
		{"P50 is US$12.3mm.", nil},                       // US$ and mm
		{"P50 is 12.3M.", nil},                           // no currency: any numeric fact
		{"P50 is €12.3M.", []string{"€12.3M"}},           // no EUR fact near 12.3M
		{"EMEA is €2.34M and EUR 2.3M.", nil},            // the EUR fact
		{"EMEA is $2.3M.", []string{"$2.3M"}},            // $ never means EUR
		{"Down $412K, -$412K, −$0.4M.", nil},             // signs are not compared
		{"Target is $15M, $15.0M, 15 million.", nil},     // 15 exactly
		{"Target is $15.1M.", []string{"$15.1M"}},        // 0.1 > 0.05
		{"Range $12.3–15M; $12.3M to $15M.", nil},        // range shares the scale
		{"Range 12.3-15M dollars.", nil},                 // range shares scale and currency
		{"P50 is $12.3 M.", []string{"$12.3"}},           // a lone "M" after a space is not a scale
		{"Gap of $2.7M.", []string{"$2.7M"}},             // a difference of two facts is not a fact
		{"About 1,200,000 rows.", nil},                   // 2 significant digits: ±50,000
		{"About 1,230,000 rows.", nil},                   // ±5,000
		{"About 1,240,000 rows.", []string{"1,240,000"}}, // |1,234,567−1,240,000| = 5,433 > 5,000
		{"About 1,000,000 rows.", []string{"1,000,000"}}, // one significant digit: exact

		// Percentages: UnitPercent as is, UnitRatio ×100.
		{"At 82.3% of target; 82%; 82.30 percent; 82 per cent; 82.3 pct.", nil},
		{"At 83% of target.", []string{"83%"}},     // |82.3−83| = 0.7
		{"A ratio of 0.823, or 0.82.", nil},        // plain figure vs the ratio itself
		{"Growth of 7.25%, 7.3%, 7%, 7.3pp.", nil}, // percent points
		{"Growth of 7.4%.", []string{"7.4%"}},      //
		{"Growth 7-7.25%.", nil},                   // range: 7 becomes 7% too
		{"Up 148%.", []string{"148%"}},             // 148 is a count, not a percentage

		// Counts, days, plain numbers.
		{"148 open deals; DSO 45.6 days, about 46 days; coverage 2.46x, 2.5x.", nil},
		{"150 open deals.", []string{"150"}},
		{"DSO of 45 days.", []string{"45"}}, // 45.6 rounds to 46

		// Dates and years.
		{"By June 30, 2026; 30 June 2026; 2026-06-30; 6/30/2026; Jun 30; June 2026; 2026-06.", nil},
		{"By July 15, 2026.", []string{"July 15, 2026"}},
		{"By 2026-07-01.", []string{"2026-07-01"}},
		{"In 2026 and FY26 and FY2026.", nil}, // year of the date fact
		{"In 2031.", []string{"2031"}},
		{"In FY2027.", []string{"FY2027"}},

		// Ignored: quarter names, ordinals and "top" up to ten, number words up to ten.
		{"In Q3 and H2, the top 3 deals, the 3rd largest, two deals, one of ten.", nil},
		{"Q5 looks weak.", []string{"Q5"}},
		{"The top 12 deals.", []string{"12"}},
		{"The 12th deal.", []string{"12th"}},
		{"Twenty-five deals slipped; two million dollars; ten percent; a million dollars.",
			[]string{"Twenty-five", "two million dollars", "ten percent", "a million dollars"}},

		// Words with digits: allowed when a fact's label or text has them.
		{"P50 beat the plan for 2026-Q3.", nil},
		{"B2B deals and a 10am call.", []string{"B2B", "10am"}},

		// Digits written in labels and text facts, as plain numbers only.
		{"Invoices due in the next 13 weeks: 2.", nil},
		{"$13M due in 13 weeks.", []string{"$13M"}},

		// Placeholders hide digits; a missing value grounds nothing.
		{"PERSON_1 and EMAIL_2 own it.", nil},
		{"Calibration slope n/a.", nil},

		// Several at once, in order.
		{"$4.5M from 31 deals by 2026-09-30.", []string{"$4.5M", "31", "2026-09-30"}},
	} {
		var got []string
		for _, f := range narrative.Check(tc.text, facts) {
			got = append(got, f.Token)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Check(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

// TestCheck_OwnOutputPasses: whatever the prompt shows the model, and the template
// narrative, pass the check: the formatting and the rule agree. Random facts, fixed seed.
func TestCheck_OwnOutputPasses(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	labels := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
	for i := 0; i < 500; i++ {
		var fs narrative.Facts
		fs.Section = "random"
		for j, n := 0, 1+rng.IntN(8); j < n; j++ {
			v := math.Pow(10, rng.Float64()*12-2)
			if rng.IntN(3) == 0 {
				v = -v
			}
			label := labels[j]
			switch rng.IntN(8) {
			case 0:
				fs.Items = append(fs.Items, narrative.Money(label, label, v, "USD"))
			case 1:
				fs.Items = append(fs.Items, narrative.Money(label, label, v, "CHF"))
			case 2:
				fs.Items = append(fs.Items, narrative.Percent(label, label, v/1e6))
			case 3:
				fs.Items = append(fs.Items, narrative.Ratio(label, label, rng.Float64()))
			case 4:
				fs.Items = append(fs.Items, narrative.Count(label, label, int(math.Abs(v))))
			case 5:
				fs.Items = append(fs.Items, narrative.Days(label, label, math.Abs(v)/1e6))
			case 6:
				fs.Items = append(fs.Items, narrative.Number(label, label, v))
			case 7:
				d := time.Date(2020+rng.IntN(10), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
				fs.Items = append(fs.Items, narrative.Date(label, label, d))
			}
		}
		text := narrative.TemplateText(fs)
		if bad := narrative.Check(text, fs); len(bad) > 0 {
			t.Fatalf("template narrative fails its own facts: %v\n%s\n%s", bad, text, fs.Canonical())
		}
		p, err := narrative.BuildPrompt(fs, narrative.NewMasker(nil))
		if err != nil {
			t.Fatal(err)
		}
		if bad := narrative.Check(p.User, fs); len(bad) > 0 {
			t.Fatalf("prompt figures fail the check: %v\n%s", bad, p.User)
		}
		if strings.Contains(p.User, "PHONE_") {
			t.Fatalf("a rendered figure was taken for a phone number:\n%s", p.User)
		}
	}
}

func TestFinding_String(t *testing.T) {
	bad := narrative.Check("It adds $4.5M.", checkFacts())
	if len(bad) != 1 || !strings.Contains(bad[0].String(), `"$4.5M"`) {
		t.Fatalf("Check = %v", bad)
	}
	t.Log(bad[0].String())
}
