package narrative_test

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/revcast/revcast/reports/narrative"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports/narrative/ -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./reports/narrative/ -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// sectionFacts are one example per kind of section, as the report would build them.
func sectionFacts() map[string]narrative.Facts {
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	return map[string]narrative.Facts{
		"headline": headlineFacts(),
		"pipeline_changes": {Section: narrative.SectionPipelineChanges, Items: []narrative.Fact{
			narrative.Money("start", "Open pipeline at the last run", 48_200_000, "USD"),
			narrative.Money("new", "New deals", 6_150_000, "USD"),
			narrative.Money("won", "Won", -3_400_000, "USD"),
			narrative.Money("lost", "Lost", -2_050_000, "USD"),
			narrative.Money("pushed", "Pushed out of the quarter", -4_725_500, "USD"),
			narrative.Money("pulled", "Pulled into the quarter", 980_000, "USD"),
			narrative.Money("up", "Amount increases", 1_210_000, "USD"),
			narrative.Money("down", "Amount decreases", -640_000, "USD"),
			narrative.Money("end", "Open pipeline now", 45_724_500, "USD"),
			narrative.Count("pushed_n", "Deals pushed out", 23),
		}},
		"at_risk_deals": {Section: narrative.SectionAtRisk, Items: []narrative.Fact{
			narrative.Count("n", "Deals at risk", 7),
			narrative.Money("amount", "Amount at risk", 3_870_000, "EUR"),
			narrative.Text("top", "Largest deal at risk", "Globex renewal, owned by Raj Patel"),
			narrative.Ratio("p_win", "Its win probability", 0.31),
			narrative.Text("factor", "Main factor", "pushed 3 times"),
			narrative.Days("stage_age", "Days in stage", 94),
		}},
		"collections": {Section: narrative.SectionCollections, Items: []narrative.Fact{
			narrative.Money("expected", "Cash expected in the next 13 weeks", 21_480_333.33, "GBP"),
			narrative.Money("p10", "Low case (P10)", 18_900_000, "GBP"),
			narrative.Money("overdue", "Overdue receivables", 2_615_040, "GBP"),
			narrative.Percent("overdue_pct", "Overdue share of receivables", 11.84),
			narrative.Days("dso", "Days sales outstanding", 47.25),
			narrative.Date("peak", "Week with the most cash expected", day(7, 6)),
		}},
		"reconciliation": {Section: narrative.SectionReconciliation, Items: []narrative.Fact{
			narrative.Count("n", "Variances found", 1_284),
			narrative.Count("high", "High-severity variances", 37),
			narrative.Money("won_no_order", "Won in CRM with no ERP order", 1_940_000, "CHF"),
			narrative.Money("price", "Line price mismatches", 212_400, "CHF"),
			narrative.Text("kind", "Most frequent kind", "currency mismatch"),
			narrative.Number("match", "Customer match score threshold", 0.92),
		}},
		"model_accuracy": {Section: narrative.SectionAccuracy, Items: []narrative.Fact{
			narrative.Percent("mape", "Bookings forecast error (MAPE)", 8.4),
			narrative.Ratio("coverage", "P10–P90 interval coverage", 0.78),
			narrative.Number("brier", "Brier score", 0.1834),
			narrative.Number("brier_stage", "Brier score of the CRM stage probability", math.NaN()),
			narrative.Date("from", "Backtest from", day(1, 1)),
		}},
		"empty": {Section: narrative.SectionRenewals},
	}
}

// TestTemplateText_Golden pins the template narratives, and checks that each, masked as
// a model's reply would be, passes the check against its facts.
func TestTemplateText_Golden(t *testing.T) {
	for name, facts := range sectionFacts() {
		t.Run(name, func(t *testing.T) {
			text := narrative.TemplateText(facts)
			golden(t, filepath.Join("template", name+".golden"), text+"\n")
			masked := narrative.NewMasker(knownNames).Mask(text)
			if bad := narrative.Check(masked, facts); len(bad) > 0 {
				t.Errorf("template narrative fails the check: %v", bad)
			}
		})
	}
}

// TestBuildPrompt_Golden pins the masked prompt of one section: a reviewer sees in the
// diff exactly what a template change does to what the model is told.
func TestBuildPrompt_Golden(t *testing.T) {
	p, err := narrative.BuildPrompt(headlineFacts(), narrative.NewMasker(knownNames))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("prompt", "headline.golden"),
		"--- system ---\n"+p.System+"\n--- user ---\n"+p.User+"\n--- "+narrative.PromptVersion+" sha256 "+narrative.PromptSHA256()+" ---\n")
}
