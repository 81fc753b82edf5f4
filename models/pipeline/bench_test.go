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
