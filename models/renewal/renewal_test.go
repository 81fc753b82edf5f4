package renewal_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/revcast/revcast/models/renewal"
)

func TestFeatures(t *testing.T) {
	c := renewal.Contract{TenureYears: math.E - 1, TermMonths: 12, BookingsLastYear: 30_000, BookingsYearBefore: 0,
		MeanDaysLate: 45, LateShare: 0.5, Cases: 3, HighPriorityCases: 0, ProductFamilies: 2, AutoRenew: true,
		AnnualValue: math.E*math.E - 1, RenewalDealOpen: true, RenewalDealProbability: 0.6, Extra: []float64{7}}
	got := renewal.Features(c, renewal.Options{ExtraNames: []string{"x"}})
	want := []float64{
		1,           // ln(1 + e - 1)
		12,          // term
		math.Log(4), // ln((30,000 + 10,000) / (0 + 10,000)), inside the +-1.5 clamp
		1.5,         // 45 / 30
		0.5,         // share late
		math.Log(4), // ln(1 + 3)
		0,           // ln(1 + 0)
		2,           // families
		1,           // auto-renew
		2,           // ln(1 + e^2 - 1)
		1, 0.6,      // renewal deal
		7, // extra
	}
	if len(got) != len(renewal.FeatureNames)+1 {
		t.Fatalf("%d features, want %d", len(got), len(renewal.FeatureNames)+1)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("%d: got %v, want %v", i, got[i], want[i])
		}
	}
	// clamps: a trend beyond +-1.5 and lateness beyond 60 days
	c.BookingsLastYear, c.MeanDaysLate = 1e9, 400
	got = renewal.Features(c, renewal.Options{ExtraNames: []string{"x"}})
	if got[2] != 1.5 || got[3] != 2 {
		t.Errorf("clamped trend %v, late score %v; want 1.5 and 2", got[2], got[3])
	}
}

func TestGroupRate(t *testing.T) {
	got := renewal.GroupRate([]string{"a", "a", "a", "b"}, []bool{true, true, false, false}, []string{"a", "b", "c"})
	// a: 2/3, b: 0/1, c unseen: overall 2/4
	want := []float64{2.0 / 3, 0, 0.5}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("group %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// simulate draws contracts whose renewal follows a known logistic rule in their signals
// (the shape of the synthetic company's churn rule), ending on consecutive days.
func simulate(n int, seed uint64) (cs []renewal.Contract, pTrue []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		c := renewal.Contract{
			ID: "c", End: start.AddDate(0, 0, i/4), TermMonths: 12,
			TenureYears: 5 * r.Float64(), MeanDaysLate: 40 * r.Float64() * r.Float64(),
			Cases: r.IntN(6), ProductFamilies: 1 + r.IntN(4), AutoRenew: r.Float64() < 0.4,
			BookingsLastYear: 50_000 * r.Float64(), BookingsYearBefore: 50_000 * r.Float64(),
			AnnualValue: 1000 + 20_000*r.Float64(),
		}
		auto := 0.0
		if c.AutoRenew {
			auto = 1
		}
		eta := 1.1 + 0.45*math.Log1p(c.TenureYears) - 0.9*math.Min(c.MeanDaysLate/30, 2) - 0.55*math.Log1p(float64(c.Cases)) +
			0.7*math.Max(-1.5, math.Min(1.5, math.Log((c.BookingsLastYear+10_000)/(c.BookingsYearBefore+10_000)))) +
			0.2*float64(c.ProductFamilies-1) + 0.5*auto
		p := 1 / (1 + math.Exp(-eta))
		c.Renewed = r.Float64() < p
		if c.Renewed {
			c.RenewalValue = c.AnnualValue * 1.1
		}
		cs = append(cs, c)
		pTrue = append(pTrue, p)
	}
	return cs, pTrue
}

func TestFitRecoversAKnownRule(t *testing.T) {
	hist, _ := simulate(6000, 1)
	test, pTrue := simulate(4000, 2)
	m, err := renewal.Fit(hist, renewal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	y := make([]bool, len(test))
	for i, c := range test {
		y[i] = c.Renewed
	}
	p := m.Predict(test)
	got, ref := renewal.Evaluate(p, y), renewal.Evaluate(pTrue, y)
	gap, mean := 0.0, 0.0
	for i := range p {
		gap += math.Abs(p[i] - pTrue[i])
		mean += p[i]
	}
	gap /= float64(len(p))
	mean /= float64(len(p))
	t.Logf("AUC %.4f (true p %.4f), Brier %.4f (true p %.4f), mean |p - true p| %.4f, mean p %.4f vs rate %.4f, ratio %.3f",
		got.AUC, ref.AUC, got.Brier, ref.Brier, gap, mean, got.Rate, m.RenewalRatio)
	// The model has the rule's features, so it should rank almost as well as the truth:
	// 0.01 AUC is about two standard errors with 4,000 rows.
	if got.AUC < ref.AUC-0.01 {
		t.Errorf("AUC %.4f, true probabilities reach %.4f", got.AUC, ref.AUC)
	}
	// 6,000 training rows and 12 coefficients: the probability error is a few hundredths.
	if gap > 0.03 {
		t.Errorf("mean |p - true p| = %.4f, want <= 0.03", gap)
	}
	// Calibrated: the mean prediction matches the test renewal rate within 3 standard
	// errors (sqrt(0.2/4000) ~ 0.007).
	if math.Abs(mean-got.Rate) > 0.021 {
		t.Errorf("mean prediction %.4f, renewal rate %.4f", mean, got.Rate)
	}
	// Every renewal is 1.1 times the expiring value.
	if math.Abs(m.RenewalRatio-1.1) > 1e-12 {
		t.Errorf("renewal ratio %v, want 1.1", m.RenewalRatio)
	}
	s := m.Score(test[:1])[0]
	if math.Abs(s.ExpectedRenewal-s.PRenew*test[0].AnnualValue*1.1) > 1e-9 {
		t.Errorf("expected renewal %v, want p * value * 1.1", s.ExpectedRenewal)
	}
	if n := len(s.Drivers.Positive) + len(s.Drivers.Negative); n == 0 || n > 6 {
		t.Errorf("%d drivers, want 1-6 (top 3 each way)", n)
	}
}

func TestFitNeedsBothOutcomes(t *testing.T) {
	hist, _ := simulate(200, 3)
	for i := range hist {
		hist[i].Renewed = true
	}
	if _, err := renewal.Fit(hist, renewal.Options{}); !errors.Is(err, renewal.ErrTooFewOutcomes) {
		t.Fatalf("all renewed: %v, want ErrTooFewOutcomes", err)
	}
}
