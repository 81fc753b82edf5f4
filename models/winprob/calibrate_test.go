package winprob

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// miscalibrated returns n rows of one feature z ~ N(0, 1.5^2) with outcomes drawn from
// P(y=1) = sigma(z), and a model that scores them with logit 3*z + 1: overconfident and
// biased upwards, but with the right ordering.
func miscalibrated(n int, seed uint64) (Dataset, *Model) {
	r := rand.New(rand.NewPCG(seed, 99))
	d := Dataset{Names: []string{"z"}, X: make([]float64, n), Y: make([]float64, n)}
	for i := range d.Y {
		z := 1.5 * r.NormFloat64()
		d.X[i] = z
		if r.Float64() < sigmoid(z) {
			d.Y[i] = 1
		}
	}
	m := &Model{Names: []string{"z"}, Mean: []float64{0}, SD: []float64{1}, Intercept: 1, Coef: []float64{3}}
	return d, m
}

func TestCalibrationFixesMiscalibratedScores(t *testing.T) {
	held, _ := miscalibrated(20000, 1)
	test, _ := miscalibrated(50000, 2)
	for _, method := range []CalibrationMethod{Platt, Isotonic} {
		t.Run(string(method), func(t *testing.T) {
			_, m := miscalibrated(0, 0)
			before := ECE(m.PredictAll(test.X, nil), test.Y, nil, 10)
			if err := m.Calibrate(held, method); err != nil {
				t.Fatal(err)
			}
			p := m.PredictAll(test.X, nil)
			after := ECE(p, test.Y, nil, 10)
			// Bound: with 50,000 test rows in 10 bins, pure sampling noise gives
			// ECE <= 0.4*sqrt(10/n) ~ 0.006 on average (E|N(0, s)| = 0.8 s, s <= 0.5/sqrt(n_b));
			// estimating the map on 20,000 held-out rows adds ~0.003. 0.02 is > 2x that.
			// Before calibration the ECE is ~0.16, far above.
			t.Logf("%s: ECE before %.4f, after %.4f, Brier after %.4f", method, before, after, Brier(p, test.Y, nil))
			if before < 0.05 {
				t.Errorf("ECE before calibration %.4f: test case not miscalibrated", before)
			}
			if after > 0.02 {
				t.Errorf("ECE after %s calibration = %.4f, want <= 0.02", method, after)
			}
			if method == Platt {
				// Exact correction is sigma((3z+1)/3 - 1/3): A = 1/3, B = -1/3. The SEs of
				// (A, B) from 20,000 rows are ~0.004 and ~0.02; tolerances are ~5 SE.
				if math.Abs(m.Calibration.A-1.0/3) > 0.02 || math.Abs(m.Calibration.B+1.0/3) > 0.1 {
					t.Errorf("Platt A=%.4f B=%.4f, want 1/3 and -1/3", m.Calibration.A, m.Calibration.B)
				}
			}
			if method == Isotonic {
				if !slices.IsSorted(m.Calibration.Values) || !slices.IsSorted(m.Calibration.Thresholds) {
					t.Error("isotonic map not monotone")
				}
			}
		})
	}
}

func TestCalibrateOneClass(t *testing.T) {
	d, m := miscalibrated(100, 3)
	for i := range d.Y {
		d.Y[i] = 1
	}
	for _, method := range []CalibrationMethod{Platt, Isotonic} {
		if err := m.Calibrate(d, method); err != ErrOneClass {
			t.Errorf("%s: err = %v, want ErrOneClass", method, err)
		}
	}
}

func TestPAV(t *testing.T) {
	tests := []struct {
		name string
		y, w []float64
		want []float64
	}{
		// Hand-worked: (3,2) pool to 2.5, then (4,3) pool to 3.5.
		{"two violations", []float64{1, 3, 2, 4, 3, 5}, nil, []float64{1, 2.5, 2.5, 3.5, 3.5, 5}},
		// Weighted pool: (1*3 + 3*1) / 4 = 1.5.
		{"weighted", []float64{3, 1}, []float64{1, 3}, []float64{1.5, 1.5}},
		// A decreasing sequence pools into its mean, 2.
		{"decreasing", []float64{3, 2, 1}, nil, []float64{2, 2, 2}},
		// Cascade: 4 pools with 0 -> 2 < 3, violates 3 -> (3+4+0)/3 = 7/3.
		{"cascade", []float64{1, 3, 4, 0}, nil, []float64{1, 7.0 / 3, 7.0 / 3, 7.0 / 3}},
		{"already monotone", []float64{0, 0, 1, 1}, nil, []float64{0, 0, 1, 1}},
		{"empty", nil, nil, []float64{}},
	}
	for _, tc := range tests {
		got := PAV(tc.y, tc.w)
		for i := range tc.want {
			// Means of a few small integers: exact up to one rounding. Tolerance 1e-15.
			if math.Abs(got[i]-tc.want[i]) > 1e-15 {
				t.Errorf("%s: PAV = %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
	// Random input: the fit is non-decreasing and preserves the weighted total, a property of
	// the isotonic regression (its residuals sum to zero within each block).
	r := rand.New(rand.NewPCG(5, 5))
	y := make([]float64, 2000)
	w := make([]float64, len(y))
	sum := 0.0
	for i := range y {
		y[i] = r.Float64() + float64(i)/1000
		w[i] = 0.5 + r.Float64()
		sum += w[i] * y[i]
	}
	f := PAV(y, w)
	fsum := 0.0
	for i := range f {
		if i > 0 && f[i] < f[i-1] {
			t.Fatalf("PAV output decreases at %d: %v < %v", i, f[i], f[i-1])
		}
		fsum += w[i] * f[i]
	}
	if math.Abs(fsum-sum) > 1e-9*sum {
		t.Errorf("weighted total %v != %v", fsum, sum)
	}
}

func TestIsotonicTiesAndLookup(t *testing.T) {
	// Scores 1,1,2,3,3 with outcomes 1,0,0,1,1: the tie at 1 pools to 0.5 (> 0 at score 2),
	// so {1,1,2} pool to 1/3, then {3,3} = 1.
	th, v, err := FitIsotonic([]float64{3, 1, 2, 1, 3}, []float64{1, 1, 0, 0, 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(th, []float64{1, 3}) || math.Abs(v[0]-1.0/3) > 1e-15 || v[1] != 1 {
		t.Fatalf("thresholds %v values %v, want [1 3] [1/3 1]", th, v)
	}
	c := Calibration{Method: Isotonic, Thresholds: th, Values: v}
	for _, tc := range []struct{ z, want float64 }{{0, 1.0 / 3}, {1, 1.0 / 3}, {2.9, 1.0 / 3}, {3, 1}, {10, 1}} {
		if got := c.Prob(tc.z); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("Prob(%v) = %v, want %v", tc.z, got, tc.want)
		}
	}
}
