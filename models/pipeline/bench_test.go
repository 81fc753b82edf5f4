package pipeline

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// benchPipeline returns n open deals over 4 quarters; owners (500) belong to teams (50)
// and regions (5); each deal also has one of 10 product families. q = PWin * PInPeriod
// with PWin ~ U(0, 0.6), PInPeriod ~ U(0, 1), lognormal amounts.
func benchPipeline(n int) ([]Deal, func(Deal) []Segment) {
	r := rand.New(rand.NewPCG(1, 1))
	owners := make([]string, 500)
	for i := range owners {
		owners[i] = fmt.Sprintf("owner%03d", i)
	}
	deals := make([]Deal, n)
	for i := range deals {
		deals[i] = Deal{
			ID:           fmt.Sprint(i),
			Period:       fmt.Sprintf("2026-Q%d", 1+r.IntN(4)),
			Segment:      owners[r.IntN(len(owners))] + "/" + fmt.Sprint(r.IntN(10)),
			Amount:       math.Round(math.Exp(9 + r.NormFloat64())),
			PWin:         0.6 * r.Float64(),
			PInPeriod:    r.Float64(),
			SupplyFactor: 1, CreditFactor: 1,
		}
	}
	// Precomputed segment lists per (owner, family) so the benchmark measures Distribute,
	// not the caller's string formatting.
	segs := map[string][]Segment{}
	for o := range owners {
		for f := 0; f < 10; f++ {
			segs[owners[o]+"/"+fmt.Sprint(f)] = []Segment{
				{"total", "all"},
				{"region", fmt.Sprintf("region%d", o%5)},
				{"team", fmt.Sprintf("team%02d", o%50)},
				{"owner", owners[o]},
				{"family", fmt.Sprintf("family%d", f)},
			}
		}
	}
	return deals, func(d Deal) []Segment { return segs[d.Segment] }
}

func BenchmarkDistribute(b *testing.B) {
	deals, segOf := benchPipeline(1_000_000)
	for _, sims := range []int{1000, 10_000} {
		b.Run(fmt.Sprintf("1Mdeals/%dsims", sims), func(b *testing.B) {
			var rs []Result
			for i := 0; i < b.N; i++ {
				var err error
				if rs, err = Distribute(deals, segOf, Options{Sims: sims, Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rs)), "groups")
		})
	}
}

func BenchmarkPlan(b *testing.B) {
	deals, segOf := benchPipeline(1_000_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Distribute(deals, segOf, Options{Sims: -1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDistributeManyGroups is the shape of the large company's bookings forecast:
// 125k open deals, 6,000 owners, so some 48k (period, segment) groups, and 2,000 worlds
// (forecast.Forecast's Sims at 1M rows). "independent": each deal a row in each of 8
// overlapping periods (1M rows, one draw each), as the forecast drew them before months
// were coupled; "joint": each deal one draw over 6 months (Joint rows) that roll up into
// 2 quarters, as the forecast draws them now. B/op is mostly the histograms: 48,928 x
// 1,024 bins x 20 bytes = 1.0 GB (computed from their layout).
func BenchmarkDistributeManyGroups(b *testing.B) {
	const owners, open = 6000, 125_000
	r := rand.New(rand.NewPCG(2, 2))
	segs := make(map[string][]Segment, owners*10)
	for o := range owners {
		for f := range 10 {
			segs[fmt.Sprint(o*10+f)] = []Segment{{"total", "all"}, {"region", fmt.Sprintf("region%d", o%5)},
				{"team", fmt.Sprintf("team%03d", o%100)}, {"owner", fmt.Sprintf("owner%04d", o)}, {"family", fmt.Sprintf("family%d", f)}}
		}
	}
	var independent, joint []Deal
	for i := range open {
		seg := fmt.Sprint(r.IntN(owners * 10))
		amount, pwin := math.Round(math.Exp(9+r.NormFloat64())), 0.6*r.Float64()
		id := fmt.Sprint(i)
		var pin [6]float64
		for m := range pin {
			pin[m] = r.Float64() / 6
		}
		for p := range 8 {
			q := pin[p%6]
			if p >= 6 { // the quarters: three months each
				q = pin[3*(p-6)] + pin[3*(p-6)+1] + pin[3*(p-6)+2]
			}
			independent = append(independent, Deal{ID: id, Period: fmt.Sprintf("P%d", p), Segment: seg, Amount: amount,
				PWin: pwin, PInPeriod: q, SupplyFactor: 1, CreditFactor: 1})
		}
		for m := range 6 {
			joint = append(joint, Deal{ID: id, Period: fmt.Sprintf("P%d", m), Segment: seg, Amount: amount,
				Joint: id, Rollup: []string{fmt.Sprintf("P%d", 6+m/3)},
				PWin: pwin, PInPeriod: pin[m], SupplyFactor: 1, CreditFactor: 1})
		}
	}
	segOf := func(d Deal) []Segment { return segs[d.Segment] }
	for _, c := range []struct {
		name  string
		deals []Deal
	}{{"independent", independent}, {"joint", joint}} {
		b.Run(c.name, func(b *testing.B) {
			var rs []Result
			for i := 0; i < b.N; i++ {
				var err error
				if rs, err = Distribute(c.deals, segOf, Options{Sims: 2000, Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rs)), "groups")
		})
	}
}
