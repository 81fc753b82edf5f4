package timeseries_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/revcast/revcast/models/timeseries"
)

// series helpers -------------------------------------------------------------------------

func constant(n int, c float64) []float64 {
	y := make([]float64, n)
	for i := range y {
		y[i] = c
	}
	return y
}

// line returns a + b*t for t = 1..n.
func line(n int, a, b float64) []float64 {
	y := make([]float64, n)
	for i := range y {
		y[i] = a + b*float64(i+1)
	}
	return y
}

// periodic repeats pattern on top of level for n observations.
func periodic(n int, level float64, pattern []float64) []float64 {
	y := make([]float64, n)
	for i := range y {
		y[i] = level + pattern[i%len(pattern)]
	}
	return y
}

// noisySeasonal is a seeded positive series with trend, multiplicative season and noise.
func noisySeasonal(n, m int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	y := make([]float64, n)
	for i := range y {
		season := 1 + 0.3*math.Sin(2*math.Pi*float64(i)/float64(m))
		y[i] = (200 + 1.5*float64(i)) * season * (1 + 0.05*r.NormFloat64())
	}
	return y
}

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// Tests ----------------------------------------------------------------------------------

// TestFit_KnownAnswers checks point forecasts on series whose forecasts are known
// analytically.
func TestFit_KnownAnswers(t *testing.T) {
	const h = 6
	pattern := []float64{10, -4, 6, -12} // sums to 0: an exact additive season around 100
	tests := []struct {
		name   string
		y      []float64
		m      int
		method timeseries.Method
		want   func(k int) float64 // forecast at horizon k = 1..h
		tol    float64             // relative tolerance
		// zeroWidth: the fit is perfect, so the intervals have no width.
		zeroWidth bool
	}{
		// A constant series: every method forecasts the constant with zero variance
		// (forecast::ets returns SES with alpha 0.99999 and sigma 0 for it).
		{"constant/ets", constant(20, 5), 1, timeseries.MethodETS, func(int) float64 { return 5 }, 1e-12, true},
		{"constant/theta", constant(20, 5), 4, timeseries.MethodTheta, func(int) float64 { return 5 }, 1e-9, true},
		{"constant/combo", constant(20, 5), 4, timeseries.MethodCombo, func(int) float64 { return 5 }, 1e-9, true},
		{"constant/snaive", constant(20, 5), 4, timeseries.MethodSNaive, func(int) float64 { return 5 }, 1e-12, true},
		// A straight line 10 + 2t: the initial level and slope are exact, ETS(A,A,N) fits
		// it perfectly and extrapolates it (n = 30, so y_{n+k} = 10 + 2(30+k)).
		{"line/ets", line(30, 10, 2), 1, timeseries.MethodETS, func(k int) float64 { return 10 + 2*float64(30+k) }, 1e-6, true},
		// Theta on a line: SES with alpha ~ 1 sits on the last value (lag b(1-a)/a ~ 2e-4)
		// and the drift is half the slope: y_n + k*b/2 (Hyndman & Billah 2003).
		{"line/theta", line(30, 10, 2), 1, timeseries.MethodTheta, func(k int) float64 { return 70 + float64(k) }, 1e-3, false},
		// The naive method repeats the last value.
		{"line/naive", line(30, 10, 2), 1, timeseries.MethodSNaive, func(int) float64 { return 70 }, 1e-12, false},
		// An exact season: seasonal naive repeats it; ETS(A,N,A) starts on the exact
		// decomposition and fits it perfectly; Theta's seasonal adjustment leaves 100 flat.
		{"season/snaive", periodic(24, 100, pattern), 4, timeseries.MethodSNaive, func(k int) float64 { return 100 + pattern[(24+k-1)%4] }, 1e-12, true},
		{"season/ets", periodic(24, 100, pattern), 4, timeseries.MethodETS, func(k int) float64 { return 100 + pattern[(24+k-1)%4] }, 1e-6, true},
		{"season/theta", periodic(24, 100, pattern), 4, timeseries.MethodTheta, func(k int) float64 { return 100 + pattern[(24+k-1)%4] }, 1e-6, true},
		{"season/combo", periodic(24, 100, pattern), 4, timeseries.MethodCombo, func(k int) float64 { return 100 + pattern[(24+k-1)%4] }, 1e-6, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := timeseries.Fit(tc.y, tc.m, tc.method, timeseries.Options{Horizon: h})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Mean) != h {
				t.Fatalf("%d forecasts, want %d", len(f.Mean), h)
			}
			for k, got := range f.Mean {
				if want := tc.want(k + 1); !near(got, want, tc.tol) {
					t.Errorf("%s: h=%d: forecast %.9g, want %.9g (tol %g)", f.Model, k+1, got, want, tc.tol)
				}
			}
			if tc.zeroWidth {
				for i := range f.Levels {
					for k := range f.Mean {
						if w := f.Upper[i][k] - f.Lower[i][k]; w > 1e-6*math.Abs(f.Mean[k]) {
							t.Errorf("%s: %v%% interval at h=%d has width %g, want 0 for a perfect fit", f.Model, f.Levels[i], k+1, w)
						}
					}
				}
			}
		})
	}
}

// TestFit_Intervals checks on noisy series that the intervals are nested (95% contains 80%,
// both contain the forecast) and widen with the horizon: from h to h+m (the same season; a
// multiplicative season makes the width follow the seasonal index within a cycle), and from
// h to h+1 for non-seasonal data.
func TestFit_Intervals(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	walk := make([]float64, 60)
	walk[0] = 100
	for i := 1; i < len(walk); i++ {
		walk[i] = walk[i-1] + 1 + 3*r.NormFloat64()
	}
	cases := []struct {
		name string
		y    []float64
		m    int
	}{
		{"monthly seasonal", noisySeasonal(96, 12, 1), 12},
		{"quarterly seasonal", noisySeasonal(40, 4, 2), 4},
		{"random walk with drift", walk, 1},
	}
	const h = 30
	for _, c := range cases {
		for _, method := range []timeseries.Method{timeseries.MethodETS, timeseries.MethodTheta, timeseries.MethodCombo, timeseries.MethodSNaive} {
			t.Run(c.name+"/"+string(method), func(t *testing.T) {
				f, err := timeseries.Fit(c.y, c.m, method, timeseries.Options{Horizon: h})
				if err != nil {
					t.Fatal(err)
				}
				lo80, hi80, ok80 := f.Interval(80)
				lo95, hi95, ok95 := f.Interval(95)
				if !ok80 || !ok95 {
					t.Fatalf("levels %v, want the defaults 80 and 95", f.Levels)
				}
				const eps = 1e-9
				for k := 0; k < h; k++ {
					if !(lo95[k] <= lo80[k] && lo80[k] <= f.Mean[k] && f.Mean[k] <= hi80[k] && hi80[k] <= hi95[k]) {
						t.Fatalf("%s h=%d: not nested: 95%% [%g, %g], 80%% [%g, %g], mean %g", f.Model, k+1, lo95[k], hi95[k], lo80[k], hi80[k], f.Mean[k])
					}
					if hi80[k]-lo80[k] <= 0 {
						t.Fatalf("%s h=%d: empty 80%% interval", f.Model, k+1)
					}
					step := c.m
					if k+step < h {
						w0, w1 := hi95[k]-lo95[k], hi95[k+step]-lo95[k+step]
						if w1 < w0*(1-eps) {
							t.Errorf("%s: 95%% width %g at h=%d narrower than %g at h=%d", f.Model, w1, k+1+step, w0, k+1)
						}
					}
				}
				if w1, wh := hi95[0]-lo95[0], hi95[h-1]-lo95[h-1]; wh <= w1 {
					t.Errorf("%s: 95%% width at h=%d (%g) not wider than at h=1 (%g)", f.Model, h, wh, w1)
				}
			})
		}
	}
}

// TestFit_Fallbacks checks that short series fall back to simpler methods and say so.
func TestFit_Fallbacks(t *testing.T) {
	tests := []struct {
		name       string
		y          []float64
		m          int
		method     timeseries.Method
		wantMethod timeseries.Method
		wantNote   string // substring of Note
		nanBounds  bool
	}{
		{"ets n=3", []float64{5, 7, 6}, 1, timeseries.MethodETS, timeseries.MethodNaive, "too short for ETS", false},
		{"theta n=3", []float64{5, 7, 6}, 1, timeseries.MethodTheta, timeseries.MethodNaive, "too short for Theta", false},
		{"combo n=3", []float64{5, 7, 6}, 4, timeseries.MethodCombo, timeseries.MethodNaive, "too short for combo", false},
		{"auto n=1", []float64{5}, 1, timeseries.MethodAuto, timeseries.MethodNaive, "too short", true},
		{"snaive n<=m", []float64{5, 7, 6, 8, 9}, 12, timeseries.MethodSNaive, timeseries.MethodNaive, "too short for seasonal naive", false},
		{"ets n<=m", line(10, 5, 1), 12, timeseries.MethodETS, timeseries.MethodETS, "too short for seasonal ETS", false},
		{"theta n<2m", line(20, 5, 1), 12, timeseries.MethodTheta, timeseries.MethodTheta, "too short to test for seasonality", false},
		{"ets m>24", noisySeasonal(200, 52, 5), 52, timeseries.MethodETS, timeseries.MethodETS, "seasonal ETS not supported", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := timeseries.Fit(tc.y, tc.m, tc.method, timeseries.Options{Horizon: 3})
			if err != nil {
				t.Fatal(err)
			}
			if f.Method != tc.wantMethod {
				t.Errorf("method %q, want %q", f.Method, tc.wantMethod)
			}
			if !strings.Contains(f.Note, tc.wantNote) {
				t.Errorf("note %q does not contain %q", f.Note, tc.wantNote)
			}
			if got := math.IsNaN(f.Lower[0][0]); got != tc.nanBounds {
				t.Errorf("NaN bounds %v, want %v", got, tc.nanBounds)
			}
		})
	}
}

// TestFit_Errors checks that misuse is reported as an error, not a forecast.
func TestFit_Errors(t *testing.T) {
	ok := []float64{1, 2, 3, 4, 5}
	tests := []struct {
		name   string
		y      []float64
		m      int
		method timeseries.Method
		opt    timeseries.Options
	}{
		{"empty", nil, 1, timeseries.MethodETS, timeseries.Options{Horizon: 1}},
		{"NaN", []float64{1, math.NaN(), 3}, 1, timeseries.MethodETS, timeseries.Options{Horizon: 1}},
		{"Inf", []float64{1, math.Inf(1), 3}, 1, timeseries.MethodTheta, timeseries.Options{Horizon: 1}},
		{"m=0", ok, 0, timeseries.MethodETS, timeseries.Options{Horizon: 1}},
		{"h=0", ok, 1, timeseries.MethodETS, timeseries.Options{Horizon: 0}},
		{"level 100", ok, 1, timeseries.MethodETS, timeseries.Options{Horizon: 1, Levels: []float64{80, 100}}},
		{"unknown method", ok, 1, timeseries.Method("arima"), timeseries.Options{Horizon: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := timeseries.Fit(tc.y, tc.m, tc.method, tc.opt); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestFitETS_ModelChoice checks the model AICc picks on series with a clear structure, and
// that data with a non-positive value never gets a multiplicative component.
func TestFitETS_ModelChoice(t *testing.T) {
	t.Run("seasonal", func(t *testing.T) {
		fit, err := timeseries.FitETS(noisySeasonal(120, 12, 7), 12, "ZZZ")
		if err != nil {
			t.Fatal(err)
		}
		if fit.Spec.Season == 'N' {
			t.Errorf("chose %s for a strongly seasonal series", fit.Spec)
		}
		if !(fit.Alpha > 0 && fit.Alpha < 1 && fit.Gamma < 1-fit.Alpha) {
			t.Errorf("%s: parameters out of bounds: alpha %g gamma %g", fit.Spec, fit.Alpha, fit.Gamma)
		}
	})
	t.Run("non-positive data", func(t *testing.T) {
		y := noisySeasonal(120, 12, 8)
		for i := range y {
			y[i] -= 250 // some values now negative
		}
		fit, err := timeseries.FitETS(y, 12, "ZZZ")
		if err != nil {
			t.Fatal(err)
		}
		if fit.Spec.Error == 'M' || fit.Spec.Season == 'M' {
			t.Errorf("chose %s for data with negative values", fit.Spec)
		}
		if _, err := timeseries.FitETS(y, 12, "MNN"); err == nil {
			t.Error("MNN on negative data: no error")
		}
		f, err := timeseries.Fit(y, 12, timeseries.MethodTheta, timeseries.Options{Horizon: 3})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(f.Model, "multiplicative") {
			t.Errorf("Theta used %s on data with negative values", f.Model)
		}
	})
	t.Run("bad model string", func(t *testing.T) {
		for _, model := range []string{"XYZ", "AMN", "AAdd", "A"} {
			if _, err := timeseries.FitETS(line(30, 1, 1), 1, model); err == nil {
				t.Errorf("model %q: no error", model)
			}
		}
	})
}

// TestFitETS_SESVariance checks the class 1 variance against the closed form for simple
// exponential smoothing, sigma^2 (1 + (h-1) alpha^2) (Hyndman et al. 2008, Table 6.1).
func TestFitETS_SESVariance(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	y := make([]float64, 50)
	level := 50.0
	for i := range y {
		level += 0.5 * r.NormFloat64()
		y[i] = level + r.NormFloat64()
	}
	fit, err := timeseries.FitETS(y, 1, "ANN")
	if err != nil {
		t.Fatal(err)
	}
	f := fit.Forecast(5, []float64{95})
	z := 1.959963984540054 // qnorm(0.975)
	for k := range f.Mean {
		sd := math.Sqrt(fit.Sigma2 * (1 + float64(k)*fit.Alpha*fit.Alpha))
		if got := (f.Upper[0][k] - f.Lower[0][k]) / 2; !near(got, z*sd, 1e-9) {
			t.Errorf("h=%d: half-width %g, want %g", k+1, got, z*sd)
		}
		if !near(f.Mean[k], fit.State[0], 1e-12) {
			t.Errorf("h=%d: forecast %g, want the last level %g", k+1, f.Mean[k], fit.State[0])
		}
	}
}

func TestSMAPEAndMASE(t *testing.T) {
	// |100-110|/(210) + |200-180|/380 = 0.047619 + 0.052632; times 200/2.
	if got, want := timeseries.SMAPE([]float64{100, 200}, []float64{110, 180}), 100*(10.0/210+20.0/380); !near(got, want, 1e-12) {
		t.Errorf("SMAPE %g, want %g", got, want)
	}
	if got := timeseries.SMAPE([]float64{0, 5}, []float64{0, 5}); got != 0 {
		t.Errorf("SMAPE of a perfect forecast with a zero: %g, want 0", got)
	}
	// Training 1,3,2,4 with m=1: naive MAE (2+1+2)/3; forecast errors 1 and 3: mean 2.
	if got, want := timeseries.MASE([]float64{1, 3, 2, 4}, []float64{5, 6}, []float64{4, 3}, 1), 2/(5.0/3); !near(got, want, 1e-12) {
		t.Errorf("MASE %g, want %g", got, want)
	}
}

func TestFitMany(t *testing.T) {
	ys := [][]float64{line(20, 1, 1), constant(12, 3), noisySeasonal(48, 4, 1)}
	fs, err := timeseries.FitMany(context.Background(), ys, 4, timeseries.MethodSNaive, timeseries.Options{Horizon: 2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, y := range ys {
		if fs[i].Mean[0] != y[len(y)-4] {
			t.Errorf("series %d: forecast %g, want its value one season back %g (order kept?)", i, fs[i].Mean[0], y[len(y)-4])
		}
	}
	if _, err := timeseries.FitMany(context.Background(), append(ys, nil), 4, timeseries.MethodSNaive, timeseries.Options{Horizon: 2}, 2); err == nil || !strings.Contains(err.Error(), "series 3") {
		t.Errorf("error %v, want one naming series 3", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := timeseries.FitMany(ctx, ys, 4, timeseries.MethodETS, timeseries.Options{Horizon: 2}, 2); err == nil {
		t.Error("cancelled context: no error")
	}
}

func TestReadLongCSV(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		in := "Value,series_id,t,comment\n" +
			"3,a,3,x\n1,a,1,\n20,b,2024-02-01,\n2,a,2,\n10,b,2024-01-01,\n"
		got, err := timeseries.ReadLongCSV(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
			t.Fatalf("series %+v, want a then b", got)
		}
		if v := got[0].Values; len(v) != 3 || v[0] != 1 || v[1] != 2 || v[2] != 3 {
			t.Errorf("a: %v, want sorted by t: [1 2 3]", v)
		}
		if v := got[1].Values; len(v) != 2 || v[0] != 10 || v[1] != 20 {
			t.Errorf("b: %v, want sorted by date: [10 20]", v)
		}
	})
	bad := []struct {
		name, in string
		line     int
		field    string
	}{
		{"no header", "", 1, "header"},
		{"missing column", "series_id,time,value\na,1,2\n", 1, "header"},
		{"bad value", "series_id,t,value\na,1,2\na,2,x\n", 3, "value"},
		{"NaN value", "series_id,t,value\na,1,NaN\n", 2, "value"},
		{"empty value", "series_id,t,value\na,1,2\na,2,\n", 3, "value"},
		{"bad t", "series_id,t,value\na,1,2\na,2024-13-01,3\n", 3, "t"},
		{"duplicate t", "series_id,t,value\na,1,2\na,2,3\na,1,4\n", 4, "t"},
		{"mixed t", "series_id,t,value\na,1,2\na,2024-01-01,3\n", 3, "t"},
		{"empty id", "series_id,t,value\n,1,2\n", 2, "series_id"},
		{"short row", "series_id,t,value\na,1\n", 2, "row"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := timeseries.ReadLongCSV(strings.NewReader(tc.in))
			ce, ok := err.(*timeseries.CSVError)
			if !ok {
				t.Fatalf("error %v (%T), want a *CSVError", err, err)
			}
			if ce.Line != tc.line || ce.Field != tc.field {
				t.Errorf("line %d field %q (%v), want line %d field %q", ce.Line, ce.Field, err, tc.line, tc.field)
			}
		})
	}
}

// TestFit_ComboIsCombine checks that MethodCombo is the average of the Akaike-weighted ETS
// forecast and Theta (the M3 test builds the combination that way to fit ETS only once).
func TestFit_ComboIsCombine(t *testing.T) {
	y := noisySeasonal(72, 12, 21)
	opt := timeseries.Options{Horizon: 18}
	got, err := timeseries.Fit(y, 12, timeseries.MethodCombo, opt)
	if err != nil {
		t.Fatal(err)
	}
	ets, err := timeseries.FitETS(y, 12, "ZZZ")
	if err != nil {
		t.Fatal(err)
	}
	theta, err := timeseries.Fit(y, 12, timeseries.MethodTheta, opt)
	if err != nil {
		t.Fatal(err)
	}
	want := timeseries.Combine(ets.ForecastAICWeighted(18, nil), theta)
	for k := range want.Mean {
		if got.Mean[k] != want.Mean[k] || got.Lower[1][k] != want.Lower[1][k] || got.Upper[0][k] != want.Upper[0][k] {
			t.Fatalf("h=%d: combo %g [%g, %g], want %g [%g, %g]", k+1, got.Mean[k], got.Lower[1][k], got.Upper[0][k],
				want.Mean[k], want.Lower[1][k], want.Upper[0][k])
		}
	}
	if got.Method != timeseries.MethodCombo || !strings.Contains(got.Model, "Theta") {
		t.Errorf("method %q model %q", got.Method, got.Model)
	}
	auto, _ := timeseries.Fit(y, 12, timeseries.MethodAuto, opt)
	if auto.Mean[0] != got.Mean[0] {
		t.Errorf("auto %g, want the combo %g", auto.Mean[0], got.Mean[0])
	}
}

// TestForecastAICWeighted checks that the Akaike-weighted forecast stays within the range of
// the models it averages and is the single model's forecast when only one was fitted.
func TestForecastAICWeighted(t *testing.T) {
	y := noisySeasonal(60, 4, 31)
	single, err := timeseries.FitETS(y, 4, "MAM")
	if err != nil {
		t.Fatal(err)
	}
	a, b := single.Forecast(8, nil), single.ForecastAICWeighted(8, nil)
	for k := range a.Mean {
		if a.Mean[k] != b.Mean[k] || a.Upper[1][k] != b.Upper[1][k] {
			t.Fatalf("one model: weighted forecast differs from the model's at h=%d", k+1)
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, model := range []string{"ANN", "AAN", "AAdN", "ANA", "AAA", "AAdA", "MNN", "MAN", "MAdN", "MNA", "MAA", "MAdA", "MNM", "MAM", "MAdM"} {
		fit, err := timeseries.FitETS(y, 4, model)
		if err != nil {
			t.Fatal(err)
		}
		v := fit.Forecast(1, nil).Mean[0]
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	auto, err := timeseries.FitETS(y, 4, "ZZZ")
	if err != nil {
		t.Fatal(err)
	}
	if v := auto.ForecastAICWeighted(1, nil).Mean[0]; v < lo-1e-9 || v > hi+1e-9 {
		t.Errorf("weighted forecast %g outside the models' range [%g, %g]", v, lo, hi)
	}
}
