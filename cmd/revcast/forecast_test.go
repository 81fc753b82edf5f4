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

	t.Run("timeseries_forecast", func(t *testing.T) { checkTimeseriesForecast(t, w.DB, runs[1], runs[2]) })
	t.Run("collections bookings", func(t *testing.T) { checkCollectionsBookings(t, w.DB, runs[2]) })

	// A short backtest writes its results (the read-only handle must be closed first:
	// DuckDB refuses a second configuration of an open file in one process).
	w.Close()
	if _, errs, code := run(t, "--config", cfg, "backtest", "--only", "bookings,cash"); code != 2 || !strings.Contains(errs, `unknown part "cash"`) {
		t.Errorf("bad --only: exit %d (%s), want 2", code, errs)
	}
	out, errs, code = run(t, "--config", cfg, "backtest", "--quarters", "2", "--ablations=false", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("backtest exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("\n%s", out[strings.Index(out, "Collections:"):])
	for _, want := range []string{"stage_weighted", "week", "Collections:", "Renewals:", "Monthly time series:"} {
		if !strings.Contains(out, want) {
			t.Errorf("backtest output lacks %q:\n%s", want, out)
		}
	}
	w = openWarehouse(t, dir)
	if err := w.DB.QueryRow(`select count(*) from backtest_results where metric = 'mape' and origin is null`).Scan(&n); err != nil || n != 3 {
		t.Errorf("backtest_results: %d mape summaries (%v), want 3 (revcast and two baselines)", n, err)
	}
	s := backtestSummary(t, w.DB)
	// Collections at the small scale (6 monthly origins, 78 weeks; seed 7): MAE of weekly
	// cash 392k against 675k paying on the due date and 480k at the customer's median
	// delay; P10-P90 coverage 85%.
	cl := s["collections"]
	if !(cl["mae"] < s["collections_due_date"]["mae"]) || !(cl["mae"] < s["collections_median"]["mae"]) {
		t.Errorf("collections MAE %.0f does not beat the due-date %.0f and customer-median %.0f baselines",
			cl["mae"], s["collections_due_date"]["mae"], s["collections_median"]["mae"])
	}
	if cl["weeks"] != 78 || cl["coverage"] < 0.6 || cl["coverage"] > 0.97 {
		t.Errorf("collections: %v weeks, P10-P90 coverage %.3f; want 78 weeks (6 origins), coverage 0.6-0.97", cl["weeks"], cl["coverage"])
	}
	// Renewals: the small company has 43 decided terms ending in the two quarters and 2 of
	// them churned, too few for an AUC worth asserting (the medium test does): present only.
	for _, mdl := range []string{"renewal", "renewal_auto_renew"} {
		if _, ok := s[mdl]["brier"]; !ok || s[mdl]["n"] < 10 {
			t.Errorf("%s: no Brier score over at least 10 terms: %v", mdl, s[mdl])
		}
	}
	checkTimeseriesBacktest(t, w.DB)

	// Too little history for one part: twelve quarters back (from 2023-04-01) the renewal
	// model has no decided terms to fit on, so it is skipped with a warning and the time
	// series still run; alone, it is a usage error (exit 2) that says what to change.
	w.Close()
	out, errs, code = run(t, "--config", cfg, "backtest", "--quarters", "12", "--only", "renewal,timeseries")
	if code != 0 || !strings.Contains(errs, "renewal skipped: too little history") || strings.Contains(out, "Renewals:") || !strings.Contains(out, "Monthly time series") {
		t.Errorf("backtest --quarters 12 --only renewal,timeseries: exit %d, want 0 with renewal skipped\n%s\n%s", code, out, errs)
	}
	if _, errs, code := run(t, "--config", cfg, "backtest", "--quarters", "12", "--only", "renewal"); code != 2 || !strings.Contains(errs, "too little history for renewal") {
		t.Errorf("backtest --quarters 12 --only renewal: exit %d (%s), want 2", code, errs)
	}
}

// checkTimeseriesForecast checks run's timeseries_forecast rows of the demo company as of
// 2026-06-30: both measures, the total and every region of the data, 12 months from June
// 2026 (May is the last complete month), ordered bounds; and that a rerun gives the same
// numbers (prev).
func checkTimeseriesForecast(t *testing.T, db *sql.DB, prev, run string) {
	t.Helper()
	var segments, rows, perSeries, bad, badMonth int
	var first, last string
	err := db.QueryRow(`select count(distinct (measure, segment_type, segment)), count(*),
		count(*) // count(distinct (measure, segment_type, segment)),
		count(*) filter (where not (lo95 <= lo80 and lo80 <= forecast and forecast <= hi80 and hi80 <= hi95 and lo95 >= 0)),
		count(*) filter (where month <> date '2026-05-01' + to_months(h)),
		cast(min(month) as varchar), cast(max(month) as varchar)
		from timeseries_forecast where run_id = ?`, run).Scan(&segments, &rows, &perSeries, &bad, &badMonth, &first, &last)
	if err != nil {
		t.Fatal(err)
	}
	// The series the data has: each measure's total and regions (owner's region for
	// bookings; the order's opportunity owner, else the customer's account, for revenue).
	var want int
	err = db.QueryRow(`select 2 + count(distinct r) filter (where m = 'b') + count(distinct r) filter (where m = 'r') from (
		select 'b' m, coalesce(u.region, 'unknown') r from opportunities o left join users u on u.user_id = o.owner_id
		where o.is_won and o.close_date < date '2026-06-01'
		union all
		select 'r', coalesce(u.region, a.region, 'unknown') from invoices i
		left join sales_orders so using (order_id) left join opportunities o on o.opportunity_id = so.opportunity_id
		left join users u on u.user_id = o.owner_id left join customers c on c.erp_customer_id = i.customer_id
		left join accounts a on a.account_id = c.primary_account_id
		where not coalesce(i.is_cancelled, false) and i.invoice_date < date '2026-06-01')`).Scan(&want)
	if err != nil {
		t.Fatal(err)
	}
	if segments != want || rows != 12*want || perSeries != 12 || bad != 0 || badMonth != 0 || first != "2026-06-01" || last != "2027-05-01" {
		t.Errorf("timeseries_forecast: %d series (want %d), %d rows, %d per series (want 12), %d with unordered bounds, %d at a wrong month, months %s…%s (want 2026-06-01…2027-05-01)",
			segments, want, rows, perSeries, bad, badMonth, first, last)
	}
	var diff int
	err = db.QueryRow(`
		with a as (select * exclude (run_id) from timeseries_forecast where run_id = ?),
		     b as (select * exclude (run_id) from timeseries_forecast where run_id = ?)
		select count(*) from (select * from a except select * from b)`, prev, run).Scan(&diff)
	if err != nil || diff != 0 {
		t.Errorf("reruns: %d timeseries_forecast rows differ (%v)", diff, err)
	}
}

// checkCollectionsBookings checks that run's collections forecast has cash from the
// bookings still expected (the company has open pipeline) and that the total is the sum of
// its components.
func checkCollectionsBookings(t *testing.T, db *sql.DB, run string) {
	t.Helper()
	var open, bookings, total, parts float64
	err := db.QueryRow(`select (select coalesce(sum(amount_base), 0) from opportunities where not is_closed),
		coalesce(sum(expected_base) filter (where component = 'bookings'), 0),
		coalesce(sum(expected_base) filter (where component = 'total'), 0),
		coalesce(sum(expected_base) filter (where component <> 'total'), 0)
		from collections_forecast where run_id = ?`, run).Scan(&open, &bookings, &total, &parts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("open pipeline %.0f; collections over 13 weeks %.0f, of which %.0f from bookings not closed yet", open, total, bookings)
	if !(open > 0) || !(bookings > 0) || bookings >= total || math.Abs(total-parts) > 1e-6*total {
		t.Errorf("open pipeline %.0f: bookings component %.0f of a total %.0f (components add to %.0f); want a positive part of the total",
			open, bookings, total, parts)
	}
}

// checkTimeseriesBacktest checks the time-series summaries of the latest backtest: both
// models and both measures, every metric finite.
func checkTimeseriesBacktest(t *testing.T, db *sql.DB) map[string]float64 {
	t.Helper()
	rows, err := db.Query(`select model || '/' || segment || '/' || metric, value from backtest_results
		where run_id = (select max(run_id) from backtest_runs) and origin is null and segment_type = 'measure'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]float64{}
	for rows.Next() {
		var k string
		var v sql.NullFloat64
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		got[k] = math.NaN()
		if v.Valid {
			got[k] = v.Float64
		}
	}
	for _, mdl := range []string{"timeseries_combo", "timeseries_snaive"} {
		for _, measure := range []string{"bookings", "revenue"} {
			for _, metric := range []string{"smape", "mase", "coverage80", "coverage95"} {
				k := mdl + "/" + measure + "/" + metric
				if v, ok := got[k]; !ok || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					t.Errorf("backtest_results: %s = %v (present %v), want a finite value", k, v, ok)
				}
			}
		}
	}
	return got
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
	w := openWarehouse(t, dir)
	s := backtestSummary(t, w.DB)
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

	// Collections, 12 monthly origins (2025-04-07 … 2026-03-02), 156 weeks; measured at
	// seed 7: MAE of weekly cash 0.98M against 6.92M paying on the due date and 4.90M at
	// the customer's median delay (mean weekly receipts 8.62M), bias +1.3%, P10-P90
	// coverage 80.8%. The baselines are far behind, so "beats both" cannot pass by noise.
	cl := s["collections"]
	if !(cl["mae"] < s["collections_due_date"]["mae"]) || !(cl["mae"] < s["collections_median"]["mae"]) {
		t.Errorf("collections MAE %.0f does not beat the due-date %.0f and customer-median %.0f baselines",
			cl["mae"], s["collections_due_date"]["mae"], s["collections_median"]["mae"])
	}
	// 156 weeks from 12 overlapping 13-week windows are strongly correlated: 0.65-0.95.
	if cl["coverage"] < 0.65 || cl["coverage"] > 0.95 || math.Abs(cl["bias"]) > 0.1 {
		t.Errorf("collections: P10-P90 coverage %.3f, bias %.3f of mean receipts; want 0.65-0.95 and within 10%%", cl["coverage"], cl["bias"])
	}
	// Renewals fitted as of 2025-04-01 (1,959 terms), scored on the 1,710 decided terms
	// ending in the four quarters; measured: AUC 0.720 against 0.551 for the renewal rate
	// by auto-renew flag, Brier 0.1054 against 0.1141. AUC >= 0.65 is 0.15 above chance:
	// with 226 churns its standard error is about 0.02.
	rn, ar := s["renewal"], s["renewal_auto_renew"]
	if !(rn["auc"] >= 0.65) || !(rn["auc"] > ar["auc"]) || !(rn["brier"] < ar["brier"]) {
		t.Errorf("renewal: AUC %.3f, Brier %.4f; auto-renew baseline AUC %.3f, Brier %.4f — want AUC >= 0.65 and both better",
			rn["auc"], rn["brier"], ar["auc"], ar["brier"])
	}
	// Time series, last 12 complete months held out (June 2025 - May 2026), total and
	// regions; measured sMAPE bookings 29.3 (seasonal naive 34.1), revenue 47.1 (53.8, the
	// revenue of the tiny 'unknown' region scoring above 120 for both), MASE 0.86 / 1.00
	// (0.98 / 1.14), 80% coverage 71% / 73% (85% / 83%). The combination should not be
	// worse than seasonal naive on sMAPE; the coverage is reported, not asserted.
	ts := checkTimeseriesBacktest(t, w.DB)
	for _, measure := range []string{"bookings", "revenue"} {
		c, sn := ts["timeseries_combo/"+measure+"/smape"], ts["timeseries_snaive/"+measure+"/smape"]
		if !(c < sn) {
			t.Errorf("%s: time-series sMAPE %.1f, seasonal naive %.1f — want the combination better", measure, c, sn)
		}
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
	out, errs, code := run(t, "--config", filepath.Join(dir, "revcast.yaml"), "backtest", "--quarters", "2", "--only", "bookings",
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

// TestForecast_RefitDays: with forecast.refit_days a run within the window scores with the
// saved fit (no training snapshots, identical deal scores on the same data), and a run past
// it refits and saves a new model.
func TestForecast_RefitDays(t *testing.T) {
	dir := t.TempDir()
	if out, errs, code := run(t, "demo", "--dir", dir, "--scale", "small", "--seed", "7", "--as-of", "2026-06-30", "--via", "files", "--log-level", "warn"); code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, errs)
	}
	cfg := filepath.Join(dir, "revcast.yaml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "refit_days: 0") {
		t.Fatalf("revcast.yaml has no 'refit_days: 0' line to edit:\n%s", b)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(b), "refit_days: 0", "refit_days: 7", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		asOf   string
		reused bool
	}{
		{"2026-06-30", true},  // the demo's fit, same day
		{"2026-07-06", true},  // 6 days later: within 7
		{"2026-07-07", false}, // 7 days later: refit
		{"2026-07-08", true},  // the 07-07 fit
	}
	for _, s := range steps {
		_, errs, code := run(t, "--config", cfg, "forecast", "--as-of", s.asOf)
		if code != 0 {
			t.Fatalf("forecast --as-of %s: exit %d\n%s", s.asOf, code, errs)
		}
		if got := strings.Contains(errs, "reused forecast model"); got != s.reused {
			t.Errorf("forecast --as-of %s: reused %v, want %v\n%s", s.asOf, got, s.reused, errs)
		}
	}
	w := openWarehouse(t, dir)
	var models int
	if err := w.DB.QueryRow(`select count(*) from forecast_models`).Scan(&models); err != nil || models != 2 {
		t.Errorf("forecast_models has %d fits (%v), want 2 (the demo's and 2026-07-07's)", models, err)
	}
	// The demo's run and the reuse on the same day: same model, same data, same scores.
	var diff, n int
	err = w.DB.QueryRow(`
		with r as (select run_id, row_number() over (order by created_at, run_id) as k from forecast_runs where kind = 'forecast'),
		     a as (select * exclude (run_id) from forecast_opportunities where run_id = (select run_id from r where k = 1)),
		     b as (select * exclude (run_id) from forecast_opportunities where run_id = (select run_id from r where k = 2))
		select (select count(*) from (select * from a except select * from b)), (select count(*) from a)`).Scan(&diff, &n)
	if err != nil || n == 0 || diff != 0 {
		t.Errorf("reused model on the same data: %d of %d deal scores differ (%v)", diff, n, err)
	}
	// And the same periods: the reuse reads one date's snapshots (history and stock of the
	// deals open then only, sql/features/fc_open_ids.sql), the fit read the whole training
	// frame; the open deals' features, the outcomes and the simulation agree.
	err = w.DB.QueryRow(`
		with r as (select run_id, row_number() over (order by created_at, run_id) as k from forecast_runs where kind = 'forecast'),
		     a as (select * exclude (run_id) from forecast_periods where run_id = (select run_id from r where k = 1)),
		     b as (select * exclude (run_id) from forecast_periods where run_id = (select run_id from r where k = 2))
		select (select count(*) from (select * from a except select * from b)) + (select count(*) from (select * from b except select * from a)),
		       (select count(*) from a)`).Scan(&diff, &n)
	if err != nil || n == 0 || diff != 0 {
		t.Errorf("reused model on the same data: %d of %d period rows differ (%v)", diff, n, err)
	}
}
