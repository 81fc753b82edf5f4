package transform_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/models/collections"
)

// backtestOrigins returns n Mondays four weeks apart, the latest 13 weeks plus one day
// before the company's as-of date, so every forecast week has complete actual receipts.
func backtestOrigins(n int) []time.Time {
	last := collections.FirstMonday(companyAsOf).AddDate(0, 0, -7*14) // 2026-03-30
	out := make([]time.Time, n)
	for k := range out {
		out[k] = last.AddDate(0, 0, -28*k)
	}
	return out
}

// TestCollectionsBacktest_SyntheticCompany forecasts cash 13 weeks ahead from 14 past
// Mondays (four weeks apart, about a year of origins), with the open items and unbilled
// orders reconstructed as of each origin, and compares the weekly cash with what was
// actually received and with the baselines "paid on the due date" and "customer's median
// delay".
func TestCollectionsBacktest_SyntheticCompany(t *testing.T) {
	for _, sc := range []struct {
		name string
		opps int
	}{{"small", fixtures.ScaleSmall}, {"medium", fixtures.ScaleMedium}} {
		t.Run(sc.name, func(t *testing.T) {
			if sc.name == "medium" && testing.Short() {
				t.Skip("medium scale skipped with -short")
			}
			co := mustCompany(t, sc.opps)
			start := time.Now()
			bt, err := co.W.CollectionsBacktest(context.Background(), backtestOrigins(14), collections.Options{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []struct {
				scope                          string
				mean, mae, due, med, bias, cov float64
			}{
				{"ar", bt.AR.MeanActual, bt.AR.MAE, bt.AR.MAEDueDate, bt.AR.MAEMedianDelay, bt.AR.Bias, bt.AR.Coverage80},
				{"total", bt.Total.MeanActual, bt.Total.MAE, bt.Total.MAEDueDate, bt.Total.MAEMedianDelay, bt.Total.Bias, bt.Total.Coverage80},
			} {
				scope := s.scope
				t.Logf("%s %s: %d weeks, mean weekly receipts %.0f | MAE revcast %.0f, due date %.0f, customer median %.0f | bias %.0f | P10-P90 coverage %.3f",
					sc.name, scope, bt.AR.Weeks, s.mean, s.mae, s.due, s.med, s.bias, s.cov)
				if !(s.mae < s.due) || !(s.mae < s.med) {
					t.Errorf("%s: MAE %.0f does not beat both baselines (due date %.0f, customer median %.0f)", scope, s.mae, s.due, s.med)
				}
				// An 80% band should cover about 80% of the weeks. The draws treat items as
				// independent and the model as known, so the band is somewhat narrow;
				// 0.65-0.95 leaves room for the sampling noise of 182 correlated weeks.
				if s.cov < 0.65 || s.cov > 0.95 {
					t.Errorf("%s: P10-P90 coverage %.3f, want 0.65-0.95", scope, s.cov)
				}
			}
			t.Logf("credibility K per origin %v; backtest %.1fs", bt.K, time.Since(start).Seconds())
		})
	}
}

// TestCollectionsForecast_Save runs the forecast as of the company's date and saves it
// twice under one run id: the second save replaces the first.
func TestCollectionsForecast_Save(t *testing.T) {
	ctx := context.Background()
	co := mustCompany(t, fixtures.ScaleSmall)
	data, err := co.W.CollectionsInput(ctx, companyAsOf)
	if err != nil {
		t.Fatal(err)
	}
	if !data.Live {
		t.Error("as of the warehouse's date the input should use the dispute flags (Live)")
	}
	// the open items reconstructed from invoices and payments are the warehouse's open
	// receivables: ar_open_items holds invoice - applied payments for each invoice (plus
	// unapplied payments as credits, which are not receipts)
	var want float64
	if err := co.W.DB.QueryRow(`select sum(cast(open_amount_base as double)) from ar_open_items
		where invoice_id is not null and open_amount > 0`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	got := 0.0
	for _, it := range data.Input.Open {
		got += it.Amount
	}
	// open_amount_base converts at the posting date's rate, the input at the invoice
	// date's: the same day, so to the cent up to rounding per item.
	if math.Abs(got-want) > 0.01*float64(len(data.Input.Open))+0.01 {
		t.Errorf("open items reconstructed %.2f, ar_open_items %.2f", got, want)
	}
	m, err := collections.Fit(data.Input, collections.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.Forecast(data.Input)
	if err != nil {
		t.Fatal(err)
	}
	tot := f.Component(collections.ComponentTotal)
	t.Logf("as of %s: K %v, %d open items (%d disputed), %d unbilled orders; partial balances from history %v (%d), disputes from history %v",
		companyAsOf.Format(time.DateOnly), m.K, len(data.Input.Open), countDisputed(data.Input.Open), len(data.Input.Unbilled),
		m.RemainderFromHistory, len(data.Input.Remainders), m.DisputedFromHistory)
	t.Logf("exposure %.0f: before the first Monday %.0f, 13 weeks %.0f, later %.0f, not collected %.0f",
		tot.Exposure, tot.BeforeFirstWeek, sumExpected(tot.Weeks), tot.AfterHorizon, tot.NotCollected)
	if e := tot.BeforeFirstWeek + sumExpected(tot.Weeks) + tot.AfterHorizon + tot.NotCollected; math.Abs(e-tot.Exposure) > 1e-6*tot.Exposure {
		t.Errorf("the buckets hold %.2f of an exposure of %.2f", e, tot.Exposure)
	}
	for i := 0; i < 2; i++ {
		if err := co.W.SaveCollectionsForecast(ctx, "run-collections-test", f); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	var total float64
	if err := co.W.DB.QueryRow(`select count(*), sum(expected_base) filter (where component = 'total')
		from collections_forecast where run_id = 'run-collections-test'`).Scan(&n, &total); err != nil {
		t.Fatal(err)
	}
	if n != 13*4 {
		t.Errorf("saved %d rows twice under one run id, want 13 weeks x 4 components = 52", n)
	}
	sum := sumExpected(tot.Weeks)
	if math.Abs(total-sum) > 1e-6*math.Max(1, sum) {
		t.Errorf("saved total %.2f, forecast %.2f", total, sum)
	}
}

func countDisputed(items []collections.OpenItem) int {
	n := 0
	for _, it := range items {
		if it.Disputed {
			n++
		}
	}
	return n
}

func sumExpected(weeks []collections.Week) float64 {
	s := 0.0
	for _, w := range weeks {
		s += w.Expected
	}
	return s
}
