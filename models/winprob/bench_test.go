package winprob

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// benchData returns n rows of p N(0,1) features with outcomes from a logistic model with
// coefficients 0.3*(-1)^j, cached across benchmark runs. With corr, feature j is
// 0.8*feature(j-1) + 0.6*noise (correlation 0.8 between neighbours) and is stored scaled
// by 10^(j mod 4) with offset 100*j, like raw warehouse columns (amounts, days, rates):
// the ill-conditioned case that standardisation and L-BFGS must absorb.
var benchCache = map[[3]int]Dataset{}

func benchData(n, p int, corr ...bool) Dataset {
	c := 0
	if len(corr) > 0 && corr[0] {
		c = 1
	}
	if d, ok := benchCache[[3]int{n, p, c}]; ok {
		return d
	}
	r := rand.New(rand.NewPCG(uint64(n), uint64(p)))
	d := Dataset{Names: make([]string, p), X: make([]float64, n*p), Y: make([]float64, n)}
	for j := range d.Names {
		d.Names[j] = fmt.Sprintf("f%d", j)
	}
	for i := 0; i < n; i++ {
		z := -0.5
		prev := 0.0
		for j := 0; j < p; j++ {
			x := r.NormFloat64()
			d.X[i*p+j] = x
			if c == 1 {
				if j > 0 {
					x = 0.8*prev + 0.6*x
				}
				prev = x
				d.X[i*p+j] = 100*float64(j) + math.Pow(10, float64(j%4))*x
			}
			if j%2 == 0 {
				z += 0.3 * x
			} else {
				z -= 0.3 * x
			}
		}
		if r.Float64() < sigmoid(z) {
			d.Y[i] = 1
		}
	}
	benchCache[[3]int{n, p, c}] = d
	return d
}

func BenchmarkFit(b *testing.B) {
	for _, sz := range []struct {
		n, p int
		corr bool
	}{{100_000, 20, false}, {1_000_000, 30, false}, {1_000_000, 30, true}} {
		name := fmt.Sprintf("%dx%d", sz.n, sz.p)
		if sz.corr {
			name += "/correlated-raw-scale"
		}
		b.Run(name, func(b *testing.B) {
			d := benchData(sz.n, sz.p, sz.corr)
			b.ResetTimer()
			var m *Model
			for i := 0; i < b.N; i++ {
				var err error
				if m, err = Fit(d, Options{Lambda: 1e-4}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(m.Fit.FuncEvals), "passes")
		})
	}
}

func BenchmarkPredictAll(b *testing.B) {
	d := benchData(1_000_000, 30)
	m, err := Fit(d, Options{Lambda: 1e-4})
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float64, d.Rows())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.PredictAll(d.X, dst)
	}
}
