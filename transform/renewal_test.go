package transform_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/models/renewal"
	"github.com/revcast/revcast/models/winprob"
)

// TestRenewal_SyntheticCompany fits the renewal model on the terms that ended before the
// company's date and scores the terms ending in the next 12 months against the hidden
// churn rule: the true renewal probabilities of contract_truth (mean absolute gap), the
// drawn outcomes (AUC, Brier), and the baseline "renewal rate by auto-renew flag".
func TestRenewal_SyntheticCompany(t *testing.T) {
	for _, sc := range []struct {
		name       string
		opps       int
		maxGap     float64 // mean |p_renew - true p|
		minAUCLift float64 // AUC - baseline AUC
	}{
		// small: 168 history terms (25 churned) and 108 scored; measured gap 0.068, AUC
		// lift 0.2 (seed 7). Bounds leave room for a different seed's sampling noise.
		{"small", fixtures.ScaleSmall, 0.10, 0.02},
		// medium: ~4,100 history terms and ~2,300 scored; measured gap 0.049.
		{"medium", fixtures.ScaleMedium, 0.065, 0.05},
	} {
		t.Run(sc.name, func(t *testing.T) {
			if sc.name == "medium" && testing.Short() {
				t.Skip("medium scale skipped with -short")
			}
			ctx := context.Background()
			co := mustCompany(t, sc.opps)
			start := time.Now()
			data, err := co.W.RenewalInput(ctx, companyAsOf, 12)
			if err != nil {
				t.Fatal(err)
			}
			m, err := renewal.Fit(data.History, renewal.Options{})
			if err != nil {
				t.Fatal(err)
			}
			scores := m.Score(data.Current)
			truth := map[string]fixtures.ContractTruth{}
			within := 0
			for _, c := range co.Truth.Contracts {
				truth[c.ID.String()] = c
				if c.EndsWithin12M {
					within++
				}
			}
			if len(scores) != within {
				t.Errorf("scored %d terms, the truth has %d ending within 12 months", len(scores), within)
			}
			p := make([]float64, len(scores))
			pt := make([]float64, len(scores))
			y := make([]bool, len(scores))
			gap := 0.0
			for i, s := range scores {
				ct, ok := truth[s.ID]
				if !ok || !ct.EndsWithin12M {
					t.Fatalf("scored %s, which the truth does not list as ending within 12 months", s.ID)
				}
				p[i], pt[i], y[i] = s.PRenew, ct.PRenew, ct.WillRenew
				gap += math.Abs(s.PRenew - ct.PRenew)
			}
			gap /= float64(len(p))
			got := renewal.Evaluate(p, y)
			ref := renewal.Evaluate(pt, y)
			hist := make([]string, len(data.History))
			hy := make([]bool, len(data.History))
			for i, c := range data.History {
				hist[i], hy[i] = boolString(c.AutoRenew), c.Renewed
			}
			cur := make([]string, len(data.Current))
			for i, c := range data.Current {
				cur[i] = boolString(c.AutoRenew)
			}
			base := renewal.Evaluate(renewal.GroupRate(hist, hy, cur), y)
			t.Logf("%s: fitted on %d terms (lambda %g, renewal ratio %.3f), scored %d | mean |p - true p| %.4f | AUC %.4f Brier %.4f | auto-renew baseline AUC %.4f Brier %.4f | true p AUC %.4f Brier %.4f | %.2fs",
				sc.name, len(data.History), m.Lambda, m.RenewalRatio, len(p), gap, got.AUC, got.Brier, base.AUC, base.Brier, ref.AUC, ref.Brier, time.Since(start).Seconds())
			if gap > sc.maxGap {
				t.Errorf("mean |p_renew - true p| = %.4f, want <= %.3f", gap, sc.maxGap)
			}
			if got.AUC < base.AUC+sc.minAUCLift {
				t.Errorf("AUC %.4f does not beat the auto-renew baseline %.4f by %.2f", got.AUC, base.AUC, sc.minAUCLift)
			}
			for _, s := range scores {
				if want := s.PRenew * s.AnnualValue * m.RenewalRatio; math.Abs(s.ExpectedRenewal-want) > 1e-9*math.Max(1, want) {
					t.Fatalf("%s: expected renewal %.2f, want p * value * ratio = %.2f", s.ID, s.ExpectedRenewal, want)
				}
				if len(s.Drivers.Positive)+len(s.Drivers.Negative) == 0 {
					t.Fatalf("%s: no drivers", s.ID)
				}
			}
			if sc.name == "medium" {
				// a year earlier, scored on what has been decided since
				bt, err := co.W.RenewalBacktest(ctx, companyAsOf.AddDate(-1, 0, 0), 12, renewal.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("backtest as of %s: fitted %d, scored %d | AUC %.4f Brier %.4f | auto-renew baseline AUC %.4f Brier %.4f | expected renewal %.0f, actual %.0f",
					bt.AsOf.Format(time.DateOnly), bt.Fitted, bt.Scored, bt.Model.AUC, bt.Model.Brier, bt.Baseline.AUC, bt.Baseline.Brier,
					bt.ExpectedRenewalBase, bt.ActualRenewalBase)
				if bt.Model.AUC <= bt.Baseline.AUC {
					t.Errorf("backtest AUC %.4f does not beat the auto-renew baseline %.4f", bt.Model.AUC, bt.Baseline.AUC)
				}
			}
		})
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestRenewalForecast_Save runs the renewal step twice under one run id: the second save
// replaces the first, and the drivers read back as the explanation.
func TestRenewalForecast_Save(t *testing.T) {
	ctx := context.Background()
	co := mustCompany(t, fixtures.ScaleSmall)
	var scores []renewal.Score
	for i := 0; i < 2; i++ {
		var err error
		if scores, _, err = co.W.ForecastRenewals(ctx, "run-renewal-test", companyAsOf, 12, renewal.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	var sum float64
	if err := co.W.DB.QueryRow(`select count(*), sum(expected_renewal_base) from renewal_forecast where run_id = 'run-renewal-test'`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	want := 0.0
	for _, s := range scores {
		want += s.ExpectedRenewal
	}
	if n != len(scores) || math.Abs(sum-want) > 1e-6*want {
		t.Errorf("saved %d rows summing %.2f, want %d summing %.2f", n, sum, len(scores), want)
	}
	var raw string
	if err := co.W.DB.QueryRow(`select cast(drivers as varchar) from renewal_forecast where run_id = 'run-renewal-test' and contract_id = ?`, scores[0].ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var e winprob.Explanation
	if err := json.Unmarshal([]byte(raw), &e); err != nil || math.Abs(e.Logit-scores[0].Drivers.Logit) > 1e-9 {
		t.Errorf("drivers %s: %v, want the explanation with logit %v", raw, err, scores[0].Drivers.Logit)
	}
}
