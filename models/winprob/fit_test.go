package winprob

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// simulate draws n rows of a 5-feature design with different scales (the point of
// standardising) and outcomes from the logistic model with raw-scale coefficients
// b0, beta:
//
//	x1 ~ N(0, 1), x2 ~ N(5, 2^2) ("log amount"), x3 ~ Bernoulli(0.3) ("pushed"),
//	x4 = 0.5*x1 + N(0, 1) (correlated with x1), x5 ~ U(0, 100) ("days in stage").
func simulate(n int, seed uint64, b0 float64, beta []float64) Dataset {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	d := Dataset{Names: []string{"x1", "x2", "x3", "x4", "x5"}, X: make([]float64, 0, n*5), Y: make([]float64, n)}
	for i := 0; i < n; i++ {
		x1 := r.NormFloat64()
		x2 := 5 + 2*r.NormFloat64()
		x3 := 0.0
		if r.Float64() < 0.3 {
			x3 = 1
		}
		x4 := 0.5*x1 + r.NormFloat64()
		x5 := 100 * r.Float64()
		row := []float64{x1, x2, x3, x4, x5}
		z := b0
		for j, x := range row {
			z += beta[j] * x
		}
		if r.Float64() < sigmoid(z) {
			d.Y[i] = 1
		}
		d.X = append(d.X, row...)
	}
	return d
}

// fisherSE returns the asymptotic standard errors sqrt(diag(I^-1)) of the raw-scale
// coefficients (intercept first) at the true parameters, I = sum_i p_i (1 - p_i) x~_i x~_i'
// with x~ = (1, x) (Hosmer, Lemeshow & Sturdivant 2013, ch. 2).
func fisherSE(t *testing.T, d Dataset, b0 float64, beta []float64) []float64 {
	p := d.Cols() + 1
	info := mat.NewSymDense(p, nil)
	xt := make([]float64, p)
	for i := 0; i < d.Rows(); i++ {
		xt[0] = 1
		copy(xt[1:], d.Row(i))
		z := b0
		for j, x := range d.Row(i) {
			z += beta[j] * x
		}
		pi := sigmoid(z)
		info.SymRankOne(info, pi*(1-pi), mat.NewVecDense(p, xt))
	}
	var cov mat.SymDense
	var chol mat.Cholesky
	if !chol.Factorize(info) {
		t.Fatal("Fisher information not positive definite")
	}
	if err := chol.InverseTo(&cov); err != nil {
		t.Fatal(err)
	}
	se := make([]float64, p)
	for j := range se {
		se[j] = math.Sqrt(cov.At(j, j))
	}
	return se
}

func TestFitRecoversKnownCoefficients(t *testing.T) {
	const n = 50000
	b0 := -1.0
	beta := []float64{0.8, -0.3, 1.2, -0.5, 0.01}
	d := simulate(n, 1, b0, beta)
	m, err := Fit(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	gotB0, got := m.RawCoef()
	se := fisherSE(t, d, b0, beta)
	want := append([]float64{b0}, beta...)
	have := append([]float64{gotB0}, got...)
	// Tolerance: 4 asymptotic standard errors per coefficient (SEs here range from about
	// 0.0004 for x5 to 0.04 for the intercept). Under the model each estimate is ~N(truth,
	// SE^2), so a 4-SE miss has probability 6e-5 per coefficient; the seed is fixed, so the
	// test is deterministic, and a real bias of 4 SE would fail it.
	for j := range want {
		if diff := math.Abs(have[j] - want[j]); diff > 4*se[j] {
			t.Errorf("coef %d: got %.5f, want %.5f +- 4*%.5f (|z| = %.2f)", j, have[j], want[j], se[j], diff/se[j])
		} else {
			t.Logf("coef %d: got %.5f, want %.5f, SE %.5f, z = %+.2f", j, have[j], want[j], se[j], (have[j]-want[j])/se[j])
		}
	}
	if m.Fit.Status != "GradientThreshold" || m.Fit.GradNorm > 1e-6 {
		t.Errorf("fit ended with %s, gradient norm %g", m.Fit.Status, m.Fit.GradNorm)
	}
	t.Logf("fit: %+v", m.Fit)
}

// groupsData is a saturated design: three groups coded by two indicators, so the unpenalised
// MLE reproduces each group's observed log-odds exactly (Hosmer, Lemeshow & Sturdivant 2013,
// ch. 3, design variables):
//
//	group C (x1=0, x2=0): 10 rows, 3 wins  -> b0      = log(3/7)
//	group A (x1=1, x2=0): 10 rows, 7 wins  -> b0 + b1 = log(7/3), so b1 = 2*log(7/3)
//	group B (x1=0, x2=1):  8 rows, 2 wins  -> b0 + b2 = log(2/6), so b2 = log(7/9)
func groupsData(weighted bool) Dataset {
	type cell struct {
		x1, x2 float64
		wins   int
		losses int
	}
	cells := []cell{{0, 0, 3, 7}, {1, 0, 7, 3}, {0, 1, 2, 6}}
	d := Dataset{Names: []string{"groupA", "groupB"}}
	for _, c := range cells {
		if weighted {
			d.X = append(d.X, c.x1, c.x2, c.x1, c.x2)
			d.Y = append(d.Y, 1, 0)
			d.Weights = append(d.Weights, float64(c.wins), float64(c.losses))
			continue
		}
		for k := 0; k < c.wins+c.losses; k++ {
			d.X = append(d.X, c.x1, c.x2)
			y := 0.0
			if k < c.wins {
				y = 1
			}
			d.Y = append(d.Y, y)
		}
	}
	return d
}

// mtcars holds hp, disp, wt and am of R's datasets::mtcars (Henderson & Velleman 1981),
// in R's row order.
var mtcars = struct{ hp, disp, wt, am []float64 }{
	hp:   []float64{110, 110, 93, 110, 175, 105, 245, 62, 95, 123, 123, 180, 180, 180, 205, 215, 230, 66, 52, 65, 97, 150, 150, 245, 175, 66, 91, 113, 264, 175, 335, 109},
	disp: []float64{160, 160, 108, 258, 360, 225, 360, 146.7, 140.8, 167.6, 167.6, 275.8, 275.8, 275.8, 472, 460, 440, 78.7, 75.7, 71.1, 120.1, 318, 304, 350, 400, 79, 120.3, 95.1, 351, 145, 301, 121},
	wt:   []float64{2.62, 2.875, 2.32, 3.215, 3.44, 3.46, 3.57, 3.19, 3.15, 3.44, 3.44, 4.07, 3.73, 3.78, 5.25, 5.424, 5.345, 2.2, 1.615, 1.835, 2.465, 3.52, 3.435, 3.84, 3.845, 1.935, 2.14, 1.513, 3.17, 2.77, 3.57, 2.78},
	am:   []float64{1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1},
}

func mtcarsData(a, b []float64, names ...string) Dataset {
	d := Dataset{Names: names, Y: mtcars.am}
	for i := range a {
		d.X = append(d.X, a[i], b[i])
	}
	return d
}

func TestFitReferenceValues(t *testing.T) {
	tight := Options{GradTol: 1e-10}
	tests := []struct {
		name string
		data Dataset
		want []float64 // raw-scale intercept, then slopes
		tol  float64
	}{
		{
			// Hand-derived closed form, see groupsData. Tolerance: GradTol 1e-10 on a
			// problem with curvature ~0.2 leaves errors ~1e-9; 1e-7 is a safe margin.
			name: "saturated groups",
			data: groupsData(false),
			want: []float64{math.Log(3.0 / 7), 2 * math.Log(7.0/3), math.Log(7.0 / 9)},
			tol:  1e-7,
		},
		{
			// The same data as one row per (group, outcome) with frequency weights: the
			// weighted likelihood is identical, so are the estimates.
			name: "saturated groups, frequency weights",
			data: groupsData(true),
			want: []float64{math.Log(3.0 / 7), 2 * math.Log(7.0/3), math.Log(7.0 / 9)},
			tol:  1e-7,
		},
		{
			// R: glm(am ~ disp + hp, data = mtcars, family = binomial) prints
			// (Intercept) 1.40342, disp -0.09518, hp 0.12170
			// (statology.org, "How to Interpret glm Output in R"). Printed to 5 decimals,
			// so the reference itself is only good to 5e-6; tolerance 2e-5.
			name: "R glm am ~ disp + hp",
			data: mtcarsData(mtcars.disp, mtcars.hp, "disp", "hp"),
			want: []float64{1.40342, -0.09518, 0.12170},
			tol:  2e-5,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Fit(tc.data, tight)
			if err != nil {
				t.Fatal(err)
			}
			b0, b := m.RawCoef()
			got := append([]float64{b0}, b...)
			for j := range tc.want {
				if math.Abs(got[j]-tc.want[j]) > tc.tol {
					t.Errorf("coef %d = %.7f, want %.7f +- %g", j, got[j], tc.want[j], tc.tol)
				}
			}
		})
	}
}

func TestPredictMatchesRGlm(t *testing.T) {
	// R: am.glm <- glm(am ~ hp + wt, data = mtcars, family = binomial);
	// predict(am.glm, data.frame(hp = 120, wt = 2.8), type = "response") = 0.64181
	// (r-tutor.com, "Estimated Logistic Regression Equation"). Printed to 5 decimals:
	// tolerance 1e-5.
	m, err := Fit(mtcarsData(mtcars.hp, mtcars.wt, "hp", "wt"), Options{GradTol: 1e-10})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Predict([]float64{120, 2.8}); math.Abs(got-0.64181) > 1e-5 {
		t.Errorf("Predict(hp=120, wt=2.8) = %.6f, want 0.64181", got)
	}
	b0, b := m.RawCoef()
	t.Logf("am ~ hp + wt: intercept %.5f, hp %.5f, wt %.5f", b0, b[0], b[1])
}

func TestFitDeterministicAcrossWorkers(t *testing.T) {
	d := simulate(20000, 7, -0.5, []float64{0.5, 0.2, -1, 0.3, -0.02})
	var ref *Model
	for _, w := range []int{1, 2, 5} {
		m, err := Fit(d, Options{Lambda: 1e-3, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = m
			continue
		}
		if m.Intercept != ref.Intercept {
			t.Errorf("workers=%d: intercept %v != %v", w, m.Intercept, ref.Intercept)
		}
		for j := range m.Coef {
			if m.Coef[j] != ref.Coef[j] {
				t.Errorf("workers=%d: coef %d: %v != %v", w, j, m.Coef[j], ref.Coef[j])
			}
		}
	}
}

// TestFitRidgeStationary checks the penalised fit against its first-order condition,
// computed here independently with plain loops on the standardised features, and checks
// that the penalty shrinks the coefficients.
func TestFitRidgeStationary(t *testing.T) {
	d := simulate(5000, 3, 0.3, []float64{1, -0.5, 0.8, 0.2, 0.01})
	prev := math.Inf(1)
	for _, lambda := range []float64{0, 0.01, 0.1, 1} {
		m, err := Fit(d, Options{Lambda: lambda, GradTol: 1e-9})
		if err != nil {
			t.Fatal(err)
		}
		p := d.Cols()
		g := make([]float64, p+1)
		for i := 0; i < d.Rows(); i++ {
			r := sigmoid(m.Logit(d.Row(i))) - d.Y[i]
			g[0] += r
			for j, x := range d.Row(i) {
				g[j+1] += r * (x - m.Mean[j]) / m.SD[j]
			}
		}
		norm := 0.0
		for j := range g {
			g[j] /= float64(d.Rows())
			if j > 0 {
				g[j] += lambda * m.Coef[j-1]
				norm += m.Coef[j-1] * m.Coef[j-1]
			}
			// The optimiser stops at |grad|_inf < 1e-9; summation-order differences between
			// this loop and the chunked BLAS pass are ~1e-15. Tolerance 1e-8.
			if math.Abs(g[j]) > 1e-8 {
				t.Errorf("lambda=%g: gradient[%d] = %g", lambda, j, g[j])
			}
		}
		if norm >= prev {
			t.Errorf("lambda=%g: ||w||^2 = %g did not shrink from %g", lambda, norm, prev)
		}
		prev = norm
	}
}

func TestFitBadData(t *testing.T) {
	base := func() Dataset { return groupsData(false) }
	tests := []struct {
		name   string
		break_ func(d *Dataset)
	}{
		{"NaN feature", func(d *Dataset) { d.X[3] = math.NaN() }},
		{"Inf feature", func(d *Dataset) { d.X[0] = math.Inf(1) }},
		{"label 2", func(d *Dataset) { d.Y[1] = 2 }},
		{"negative weight", func(d *Dataset) {
			d.Weights = make([]float64, len(d.Y))
			for i := range d.Weights {
				d.Weights[i] = 1
			}
			d.Weights[0] = -1
		}},
		{"zero weight", func(d *Dataset) { d.Weights = make([]float64, len(d.Y)) }},
	}
	for _, tc := range tests {
		d := base()
		tc.break_(&d)
		if _, err := Fit(d, Options{}); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("shape mismatch did not panic")
		}
	}()
	d := base()
	d.X = d.X[:len(d.X)-1]
	Fit(d, Options{})
}

func TestConstantColumn(t *testing.T) {
	d := groupsData(false)
	// Add a constant third column: sd 0 -> stored as 1, coefficient stays 0.
	var x []float64
	for i := 0; i < d.Rows(); i++ {
		x = append(x, d.Row(i)...)
		x = append(x, 42)
	}
	d.X, d.Names = x, []string{"groupA", "groupB", "const"}
	m, err := Fit(d, Options{GradTol: 1e-10})
	if err != nil {
		t.Fatal(err)
	}
	if m.SD[2] != 1 || m.Coef[2] != 0 {
		t.Errorf("constant column: sd %v coef %v, want 1 and 0", m.SD[2], m.Coef[2])
	}
	if b0, _ := m.RawCoef(); math.Abs(b0-math.Log(3.0/7)) > 1e-7 {
		t.Errorf("intercept %v, want log(3/7)", b0)
	}
}

func TestPredictAllAndExplain(t *testing.T) {
	d := simulate(3000, 11, -1, []float64{0.8, -0.3, 1.2, -0.5, 0.01})
	m, err := Fit(d, Options{Lambda: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	all := m.PredictAll(d.X, nil)
	for i := 0; i < d.Rows(); i++ {
		x := d.Row(i)
		// PredictAll uses raw-scale coefficients and BLAS; Predict the standardised form:
		// same number up to rounding (~1e-15 on logits of order 1). Tolerance 1e-12.
		if p := m.Predict(x); math.Abs(p-all[i]) > 1e-12 {
			t.Fatalf("row %d: Predict %v, PredictAll %v", i, p, all[i])
		}
		e := m.Explain(x, 3)
		if math.Abs(e.Logit-m.Logit(x)) > 1e-12 {
			t.Fatalf("row %d: explanation logit %v != %v", i, e.Logit, m.Logit(x))
		}
		if len(e.Positive) > 3 || len(e.Negative) > 3 {
			t.Fatalf("row %d: too many factors", i)
		}
		for k, f := range e.Positive {
			if f.Contribution <= 0 || (k > 0 && f.Contribution > e.Positive[k-1].Contribution) {
				t.Fatalf("row %d: positive factors not sorted: %+v", i, e.Positive)
			}
		}
		for k, f := range e.Negative {
			if f.Contribution >= 0 || (k > 0 && f.Contribution < e.Negative[k-1].Contribution) {
				t.Fatalf("row %d: negative factors not sorted: %+v", i, e.Negative)
			}
		}
	}
	// A hand-made model: contributions are Coef_j * (x_j - Mean_j) / SD_j.
	hm := &Model{
		Names: []string{"a", "b", "c", "d", "e"},
		Mean:  []float64{0, 0, 0, 0, 10},
		SD:    []float64{1, 1, 1, 1, 2},
		Coef:  []float64{1, -2, 3, 0.5, -1},
	}
	e := hm.Explain([]float64{1, 1, 1, 1, 14}, 2)
	// contributions: a +1, b -2, c +3, d +0.5, e -1*(14-10)/2 = -2.
	wantPos := []Factor{{"c", 1, 3}, {"a", 1, 1}}
	wantNeg := []Factor{{"b", 1, -2}, {"e", 14, -2}} // tie at -2 keeps feature order
	for k := range wantPos {
		if e.Positive[k] != wantPos[k] {
			t.Errorf("positive[%d] = %+v, want %+v", k, e.Positive[k], wantPos[k])
		}
	}
	for k := range wantNeg {
		if e.Negative[k] != wantNeg[k] {
			t.Errorf("negative[%d] = %+v, want %+v", k, e.Negative[k], wantNeg[k])
		}
	}
	if e.Logit != 0.5 {
		t.Errorf("logit %v, want 0.5", e.Logit)
	}
}

// TestUnitWeightsMatchNil checks the weighted loss path (log1p per row) against the
// unweighted one (log of running products): the same optimum.
func TestUnitWeightsMatchNil(t *testing.T) {
	d := simulate(5000, 13, -0.2, []float64{0.4, 0.1, -0.7, 0.3, 0.005})
	a, err := Fit(d, Options{Lambda: 1e-3, GradTol: 1e-10})
	if err != nil {
		t.Fatal(err)
	}
	d.Weights = make([]float64, d.Rows())
	for i := range d.Weights {
		d.Weights[i] = 1
	}
	b, err := Fit(d, Options{Lambda: 1e-3, GradTol: 1e-10})
	if err != nil {
		t.Fatal(err)
	}
	// Both stop at |grad| < 1e-10 with curvature >= ~0.05: coefficients agree to ~2e-9.
	// Tolerance 1e-8.
	for j := range a.Coef {
		if math.Abs(a.Coef[j]-b.Coef[j]) > 1e-8 {
			t.Errorf("coef %d: %v (nil weights) vs %v (unit weights)", j, a.Coef[j], b.Coef[j])
		}
	}
	if math.Abs(a.Fit.Loss-b.Fit.Loss) > 1e-12 {
		t.Errorf("loss %v vs %v", a.Fit.Loss, b.Fit.Loss)
	}
}
