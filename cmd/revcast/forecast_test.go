package main

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/transform"
)

// openWarehouse opens dir's warehouse read-only.
func openWarehouse(t *testing.T, dir string) *transform.Warehouse {
	t.Helper()
	w, err := transform.Open(context.Background(), filepath.Join(dir, "data", "warehouse.duckdb"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestForecast_Small runs the demo (which forecasts) on a small company, reruns the
// forecast twice with the config's seed and checks the result tables, that reruns are
// identical, the usage errors and a short backtest.
func TestForecast_Small(t *testing.T) {
	dir := t.TempDir()
	out, errs, code := run(t, "demo", "--dir", dir, "--scale", "small", "--seed", "7", "--as-of", "2026-06-30", "--via", "files", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "Forecast 2026-Q2, as of 2026-06-30") || !strings.Contains(out, "stage-weighted (CRM)") {
		t.Fatalf("demo output has no forecast headline:\n%s", out)
	}
	cfg := filepath.Join(dir, "revcast.yaml")
	for i := 0; i < 2; i++ {
		out, errs, code = run(t, "--config", cfg, "forecast", "--as-of", "2026-06-30", "--log-level", "warn")
		if code != 0 {
			t.Fatalf("forecast exit %d\n%s\n%s", code, out, errs)
		}
	}
	if !strings.Contains(out, "2026-Q3") || !strings.Contains(out, "2026-07") {
		t.Errorf("forecast output lacks the horizon's quarters and months:\n%s", out)
	}
	if _, errs, code := run(t, "--config", cfg, "forecast", "--as-of", "30/06/2026"); code != 2 {
		t.Errorf("bad --as-of: exit %d (%s), want 2", code, errs)
	}
	if _, errs, code := run(t, "--config", cfg, "backtest", "--quarters", "0"); code != 2 {
		t.Errorf("bad --quarters: exit %d (%s), want 2", code, errs)
	}

	w := openWarehouse(t, dir)
	var runs []string
	rows, err := w.DB.Query(`select run_id from forecast_runs where kind = 'forecast' order by created_at, run_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		runs = append(runs, id)
	}
	rows.Close()
	if len(runs) != 3 {
		t.Fatalf("forecast_runs has %d forecast runs, want 3 (demo + 2 reruns), kept across runs", len(runs))
	}
	// Same data, same seed: identical numbers, row for row.
	var diff, n int
	err = w.DB.QueryRow(`
		with a as (select * exclude (run_id) from forecast_periods where run_id = ?),
		     b as (select * exclude (run_id) from forecast_periods where run_id = ?)
		select (select count(*) from (select * from a except select * from b)) + (select count(*) from (select * from b except select * from a)),
		       (select count(*) from a)`, runs[1], runs[2]).Scan(&diff, &n)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || diff != 0 {
		t.Errorf("reruns with the same seed: %d of %d forecast_periods rows differ", diff, n)
	}
	err = w.DB.QueryRow(`
		with a as (select * exclude (run_id) from forecast_opportunities where run_id = ?),
		     b as (select * exclude (run_id) from forecast_opportunities where run_id = ?)
		select count(*) from (select * from a except select * from b)`, runs[1], runs[2]).Scan(&diff)
	if err != nil || diff != 0 {
		t.Errorf("reruns: %d forecast_opportunities rows differ (%v)", diff, err)
	}
	// Contract checks: the total of a quarter equals the sum over regions (shared draws);
	// probabilities in range; every open opportunity scored once.
	var bad int
	err = w.DB.QueryRow(`select count(*) from forecast_opportunities where run_id = ? and not (
		p_win between 0 and 1 and p_close_in_period between 0 and p_win + 1e-9 and abs(expected_amount_base - amount_base * p_close_in_period) < 1e-6 * (1 + amount_base)
		and factors like '{"logit":%')`, runs[2]).Scan(&bad)
	if err != nil || bad != 0 {
		t.Errorf("%d forecast_opportunities rows break the contract (%v)", bad, err)
	}
	var scored, open int
	w.DB.QueryRow(`select count(distinct opportunity_id) from forecast_opportunities where run_id = ?`, runs[2]).Scan(&scored)
	w.DB.QueryRow(`select count(*) from opportunities where not is_closed`).Scan(&open)
	if scored != open || open == 0 {
		t.Errorf("%d opportunities scored, %d open", scored, open)
	}
	err = w.DB.QueryRow(`
		with t as (select period, expected_base, closed_base from forecast_periods where run_id = ? and segment_type = 'total'),
		     r as (select period, sum(expected_base) e, sum(closed_base) c from forecast_periods where run_id = ? and segment_type = 'region' group by period)
		select count(*) from t join r using (period) where abs(t.expected_base - r.e) > 1e-6 * (1 + t.expected_base) or abs(t.closed_base - r.c) > 0.01`,
		runs[2], runs[2]).Scan(&bad)
	if err != nil || bad != 0 {
		t.Errorf("%d periods whose regions do not add up to the total (%v)", bad, err)
	}
	err = w.DB.QueryRow(`select count(*) from forecast_periods where run_id = ? and not (p10_base <= p50_base and p50_base <= p90_base and closed_base <= p10_base + 1e-6)`, runs[2]).Scan(&bad)
	if err != nil || bad != 0 {
		t.Errorf("%d forecast_periods rows with unordered quantiles (%v)", bad, err)
	}

	// A short backtest writes its results (the read-only handle must be closed first:
	// DuckDB refuses a second configuration of an open file in one process).
	w.Close()
	out, errs, code = run(t, "--config", cfg, "backtest", "--quarters", "2", "--ablations=false", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("backtest exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "stage_weighted") || !strings.Contains(out, "week") {
		t.Errorf("backtest output:\n%s", out)
	}
	w = openWarehouse(t, dir)
	if err := w.DB.QueryRow(`select count(*) from backtest_results where metric = 'mape' and origin is null`).Scan(&n); err != nil || n != 3 {
		t.Errorf("backtest_results: %d mape summaries (%v), want 3 (revcast and two baselines)", n, err)
	}
}

// The medium-scale company is built once for the medium tests (about 40 s).
var medium struct {
	once sync.Once
	dir  string
	out  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if medium.dir != "" {
		os.RemoveAll(medium.dir)
	}
	os.Exit(code)
}

// mediumDemo returns the folder of a demo run at medium scale (seed 7, as of 2026-06-30),
// which includes a forecast. It skips under -short.
func mediumDemo(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("medium scale skipped with -short")
	}
	medium.once.Do(func() {
		medium.dir, medium.err = os.MkdirTemp("", "revcast-forecast-medium-")
		if medium.err != nil {
			return
		}
		out, errs, code := run(t, "demo", "--dir", medium.dir, "--scale", "medium", "--seed", "7", "--as-of", "2026-06-30", "--via", "files", "--log-level", "warn")
		medium.out = out
		if code != 0 {
			medium.err = fmt.Errorf("demo exit %d\n%s\n%s", code, out, errs)
		}
	})
	if medium.err != nil {
		t.Fatal(medium.err)
	}
	return medium.dir
}

// TestForecastMedium_RecoversHiddenPWin compares the demo's forecast with the generator's
// hidden probabilities for every deal open at the as-of date.
func TestForecastMedium_RecoversHiddenPWin(t *testing.T) {
	dir := mediumDemo(t)
	truth, err := fixtures.ReadTruth(filepath.Join(dir, "truth"))
	if err != nil {
		t.Fatal(err)
	}
	hidden := map[string]fixtures.OpportunityTruth{}
	for _, o := range truth.Opportunities {
		hidden[o.ID.String()] = o
	}
	w := openWarehouse(t, dir)
	rows, err := w.DB.Query(`select f.opportunity_id, f.p_win, f.p_close_in_period, f.amount_base, o.probability
		from forecast_opportunities f join opportunities o using (opportunity_id)
		where f.run_id = (select max(run_id) from forecast_runs where kind = 'forecast')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n, gap, gapCRM, gapClose, expClose, trueClose float64
	for rows.Next() {
		var id string
		var p, q, amount, crm float64
		if err := rows.Scan(&id, &p, &q, &amount, &crm); err != nil {
			t.Fatal(err)
		}
		h, ok := hidden[id]
		if !ok || !h.IsOpen {
			t.Fatalf("%s: scored but not open in the ground truth", id)
		}
		n++
		gap += math.Abs(p - h.PWinAsOf)
		gapCRM += math.Abs(crm/100 - h.PWinAsOf)
		gapClose += math.Abs(q - h.PCloseInPeriod)
		expClose += amount * q
		trueClose += amount * h.PCloseInPeriod
	}
	if n < 1000 {
		t.Fatalf("only %v scored deals", n)
	}
	gap, gapCRM, gapClose = gap/n, gapCRM/n, gapClose/n
	t.Logf("%v open deals: mean |p_win - hidden p_win| = %.4f (CRM stage probability: %.4f); mean |p_close_in_period - hidden| = %.4f; "+
		"current-quarter bookings expected from open deals %.1fM, hidden expectation %.1fM", n, gap, gapCRM, gapClose, expClose/1e6, trueClose/1e6)
	// Bounds: the hidden p_win conditions on the prior noise u ~ Normal(0, 0.75) that no
	// data reveals (fixtures/doc.go), so even the exact posterior given the data is off by
	// E|sigma(l) - sigma(l + u)|, about 0.25 * E|u| = 0.15 near p = 0.5 and less near 0 or 1
	// (measured: 0.096 at seed 7). 0.12 leaves room for sampling noise of the fit; the
	// CRM's admin-set stage probabilities are off by about 0.24.
	if gap > 0.12 || gap > 0.5*gapCRM {
		t.Errorf("mean |p_win - hidden| = %.4f, want <= 0.12 and <= half the CRM's %.4f", gap, gapCRM)
	}
	if gapClose > 0.03 {
		t.Errorf("mean |p_close_in_period - hidden| = %.4f, want <= 0.03", gapClose)
	}
	if math.Abs(expClose-trueClose) > 0.1*trueClose {
		t.Errorf("current-quarter bookings from open deals: %.1fM expected, hidden %.1fM (want within 10%%)", expClose/1e6, trueClose/1e6)
	}
}

// backtestSummary reads the summary rows (origin null, total) of the latest backtest run.
func backtestSummary(t *testing.T, db *sql.DB) map[string]map[string]float64 {
	t.Helper()
	rows, err := db.Query(`select model, segment_type, metric, value from backtest_results
		where run_id = (select max(run_id) from backtest_runs) and origin is null and week_of_quarter is null and bin is null`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]float64{}
	for rows.Next() {
		var model, st, metric string
		var v float64
		if err := rows.Scan(&model, &st, &metric, &v); err != nil {
			t.Fatal(err)
		}
		key := model
		if st != "total" {
			key = model + ":" + st
		}
		if out[key] == nil {
			out[key] = map[string]float64{}
		}
		out[key][metric] = v
	}
	return out
}

// TestBacktestMedium runs `revcast backtest` (four quarters, weekly origins) on the medium
// company and checks that revcast beats the CRM's stage-weighted pipeline and the reps'
// commit on quarterly error and Brier score, with calibrated intervals.
func TestBacktestMedium(t *testing.T) {
	dir := mediumDemo(t)
	out, errs, code := run(t, "--config", filepath.Join(dir, "revcast.yaml"), "backtest", "--ablations=false", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("backtest exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("\n%s", out)
	s := backtestSummary(t, openWarehouse(t, dir).DB)
	rc, sw, cm := s["revcast"], s["stage_weighted"], s["commit"]
	for _, b := range []struct {
		name string
		m    map[string]float64
	}{{"stage_weighted", sw}, {"commit", cm}} {
		if !(rc["mape"] < b.m["mape"]) {
			t.Errorf("quarterly MAPE: revcast %.4f, %s %.4f — revcast must beat it", rc["mape"], b.name, b.m["mape"])
		}
		if !(rc["brier"] < b.m["brier"]) {
			t.Errorf("Brier: revcast %.4f, %s %.4f — revcast must beat it", rc["brier"], b.name, b.m["brier"])
		}
		if !(rc["brier_in_quarter"] < b.m["brier_in_quarter"]) {
			t.Errorf("Brier (closes in quarter): revcast %.4f, %s %.4f", rc["brier_in_quarter"], b.name, b.m["brier_in_quarter"])
		}
	}
	// Coverage of the P10-P90 interval should be 80%. At the total, 52 origins fall in only
	// four quarters and the origins of one quarter share its outcome, so the total's
	// coverage moves in steps of about a quarter's worth of origins: accept 65-90%. Pooled
	// over the regions, teams and product families (about 3,000 intervals, still correlated
	// within a quarter) accept 70-88% around the 75-85% target (measured at seed 7: total
	// 84.6%, regions 71.8%, teams 74.7%, families 82.1%).
	if c := rc["coverage"]; c < 0.65 || c > 0.90 {
		t.Errorf("P10-P90 coverage of the quarter total %.3f, want 0.65-0.90", c)
	}
	var pooled, nInt float64
	for _, st := range []string{"region", "team", "family"} {
		x := s["revcast:"+st]
		pooled += x["coverage"] * x["n_intervals"]
		nInt += x["n_intervals"]
	}
	if pooled /= nInt; pooled < 0.70 || pooled > 0.88 {
		t.Errorf("P10-P90 coverage pooled over regions, teams and families %.3f (%v intervals), want 0.70-0.88", pooled, nInt)
	}
	t.Logf("coverage: total %.3f, pooled segments %.3f; ECE %.4f", rc["coverage"], pooled, rc["ece"])
	if rc["ece"] > 0.03 {
		t.Errorf("expected calibration error of p_win %.4f, want <= 0.03", rc["ece"])
	}
}

// TestBacktestMedium_Ablation evaluates revcast with and without its ERP signals over the
// last two quarters (all four quarters and the no_erp variant take about 80 s more: run
// `revcast backtest` in a medium demo folder). It asserts what the four-quarter run showed
// to be real (seed 7): the supply signals lower the quarter's error (smaller at 44 of 52
// origins, in three of the four quarters; MAPE 2.3% against 2.9%), and the credit signals
// lower the Brier score of p_win (at 50 of 52 origins, by about 0.0003) — while they do not
// lower the quarter's error (worse at 36 of 52 origins, by 0.08 points), so that is only
// reported.
func TestBacktestMedium_Ablation(t *testing.T) {
	dir := mediumDemo(t)
	out, errs, code := run(t, "--config", filepath.Join(dir, "revcast.yaml"), "backtest", "--quarters", "2",
		"--variants", "revcast,revcast_no_supply,revcast_no_credit", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("backtest exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("\n%s", strings.SplitN(out, "\nAbsolute", 2)[0])
	w := openWarehouse(t, dir)
	s := backtestSummary(t, w.DB)
	full, noSupply, noCredit := s["revcast"], s["revcast_no_supply"], s["revcast_no_credit"]
	// Paired, origin by origin.
	var origins, creditBetter, supplyBetter int
	err := w.DB.QueryRow(`
		with r as (select origin, model, metric, value from backtest_results
		           where run_id = (select max(run_id) from backtest_runs) and origin is not null and metric in ('ape', 'brier_origin')),
		     f as (select * from r where model = 'revcast')
		select count(*) filter (where c.metric = 'brier_origin'),
		       count(*) filter (where c.metric = 'brier_origin' and f.value < c.value),
		       (select count(*) from f join r s on s.origin = f.origin and s.metric = f.metric
		        where s.model = 'revcast_no_supply' and f.metric = 'ape' and f.value < s.value)
		from f join r c on c.origin = f.origin and c.metric = f.metric and c.model = 'revcast_no_credit'`).Scan(&origins, &creditBetter, &supplyBetter)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("credit signals: Brier %.5f with, %.5f without; better at %d of %d origins", full["brier"], noCredit["brier"], creditBetter, origins)
	t.Logf("supply signals: MAPE %.4f with, %.4f without; smaller error at %d of %d origins", full["mape"], noSupply["mape"], supplyBetter, origins)
	if !(full["brier"] < noCredit["brier"]) || float64(creditBetter) < 0.9*float64(origins) {
		t.Errorf("credit signals: Brier %.5f vs %.5f without, better at %d of %d origins; want better overall and at 90%% of origins",
			full["brier"], noCredit["brier"], creditBetter, origins)
	}
	if !(full["mape"] < noSupply["mape"]) || float64(supplyBetter) < 0.6*float64(origins) {
		t.Errorf("supply signals: MAPE %.4f with, %.4f without, smaller error at %d of %d origins; want smaller overall and at 60%% of origins",
			full["mape"], noSupply["mape"], supplyBetter, origins)
	}
	t.Logf("credit signals, quarter error (reported, not asserted): MAPE %.4f with, %.4f without", full["mape"], noCredit["mape"])
}
