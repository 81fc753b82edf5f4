package timeseries_test

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/revcast/revcast/internal/datasets"
	"github.com/revcast/revcast/models/timeseries"
)

// etsBenchSeries is how many series one BenchmarkETSFit iteration fits.
const etsBenchSeries = 100

// syntheticMonthly returns n seeded monthly series of 126 observations (the median length
// of an M3 monthly training set): a positive level with a linear trend, multiplicative
// seasonality of amplitude 0-30% and 5% multiplicative noise, so the automatic search fits
// every model family.
func syntheticMonthly(n int) [][]float64 {
	r := rand.New(rand.NewPCG(12, 126))
	out := make([][]float64, n)
	for i := range out {
		level, trend, amp := 1000+9000*r.Float64(), 20*(r.Float64()-0.3), 0.3*r.Float64()
		phase := 2 * math.Pi * r.Float64()
		y := make([]float64, 126)
		for t := range y {
			season := 1 + amp*math.Sin(2*math.Pi*float64(t)/12+phase)
			y[t] = (level + trend*float64(t)) * season * (1 + 0.05*r.NormFloat64())
		}
		out[i] = y
	}
	return out
}

// BenchmarkETSFit measures AutoETS (FitETS with "ZZZ": the whole ETS family, AICc
// selection, as forecast::ets) on 100 monthly series per iteration, one after another on
// one goroutine, and reports series fitted per second:
//
//   - m3-monthly: 100 of the 1,428 M3 monthly training sets, evenly spaced through the file
//     so every category (micro, industry, macro, finance, demographic, other) is in it;
//     skipped when the M3 data is absent (see internal/datasets);
//   - synthetic: 100 seeded seasonal series (syntheticMonthly), always available.
//
// BenchmarkM3 runs the whole evaluation (all 3,003 series, four methods); this one is
// small enough for -count 6.
func BenchmarkETSFit(b *testing.B) {
	b.Run("m3-monthly", func(b *testing.B) {
		dir := datasets.Dir(b, "m3")
		all := loadM3(b, filepath.Join(dir, "m3", "m3_monthly.csv"))
		if len(all) < etsBenchSeries {
			b.Fatalf("m3_monthly.csv has %d series, want at least %d", len(all), etsBenchSeries)
		}
		ys := make([][]float64, etsBenchSeries)
		for i := range ys {
			ys[i] = all[i*len(all)/etsBenchSeries].train
		}
		benchETS(b, ys, 12)
	})
	b.Run("synthetic", func(b *testing.B) {
		benchETS(b, syntheticMonthly(etsBenchSeries), 12)
	})
}

func benchETS(b *testing.B, ys [][]float64, m int) {
	b.ReportAllocs()
	for b.Loop() {
		for _, y := range ys {
			if _, err := timeseries.FitETS(y, m, "ZZZ"); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(ys)*b.N)/b.Elapsed().Seconds(), "series/s")
}
