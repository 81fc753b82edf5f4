package winprob

import (
	"math"
	"testing"
)

func TestAUC(t *testing.T) {
	tests := []struct {
		name    string
		s, y, w []float64
		want    float64
	}{
		// Positives at ranks 3,5,6,8 beat 2,3,3,4 of the 4 negatives: 12/16.
		{"known ordering", []float64{1, 2, 3, 4, 5, 6, 7, 8}, []float64{0, 0, 1, 0, 1, 1, 0, 1}, nil, 0.75},
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []float64{0, 0, 1, 1}, nil, 1},
		{"reversed", []float64{0.9, 0.8, 0.2, 0.1}, []float64{0, 0, 1, 1}, nil, 0},
		{"all tied", []float64{5, 5, 5, 5}, []float64{0, 1, 0, 1}, nil, 0.5},
		// Pos@1 ties neg@1 (1/2); pos@2 beats neg@1 and ties neg@2 (3/2): 2/4.
		{"ties", []float64{1, 1, 2, 2}, []float64{0, 1, 0, 1}, nil, 0.5},
		// Pos@2 beats neg@1 (1), ties neg@2 (1/2); pos@3 beats both (2): 3.5/4.
		{"mixed ties", []float64{1, 2, 2, 3}, []float64{0, 0, 1, 1}, nil, 0.875},
		// Weight 2 on a row = that row twice: s=[1,2,2,3], y=[0,0,1,1] with the first
		// negative doubled -> pairs: pos@2: 2 + 1/2, pos@3: 3 -> 5.5/6.
		{"weighted", []float64{1, 2, 2, 3}, []float64{0, 0, 1, 1}, []float64{2, 1, 1, 1}, 5.5 / 6},
	}
	for _, tc := range tests {
		if got := AUC(tc.s, tc.y, tc.w); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s: AUC = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := AUC([]float64{1, 2}, []float64{1, 1}, nil); !math.IsNaN(got) {
		t.Errorf("one class: AUC = %v, want NaN", got)
	}
}

func TestLogLossBrier(t *testing.T) {
	p := []float64{0.8, 0.3}
	y := []float64{1, 0}
	// -(ln 0.8 + ln 0.7)/2, and (0.2^2 + 0.3^2)/2. Tolerance: a few ulps.
	if got, want := LogLoss(p, y, nil), -(math.Log(0.8)+math.Log(0.7))/2; math.Abs(got-want) > 1e-15 {
		t.Errorf("LogLoss = %v, want %v", got, want)
	}
	if got := Brier(p, y, nil); math.Abs(got-0.065) > 1e-15 {
		t.Errorf("Brier = %v, want 0.065", got)
	}
	// Weights 3 and 1: (3*0.04 + 0.09)/4.
	if got := Brier(p, y, []float64{3, 1}); math.Abs(got-0.0525) > 1e-15 {
		t.Errorf("weighted Brier = %v, want 0.0525", got)
	}
	// A confident miss is clipped to -log(1e-15), not +Inf.
	if got := LogLoss([]float64{0}, []float64{1}, nil); math.Abs(got+math.Log(LogLossEps)) > 1e-12 {
		t.Errorf("clipped LogLoss = %v", got)
	}
}

func TestCalibrationBins(t *testing.T) {
	// Equal width, 2 bins: [0, 0.5) holds 0.1, 0.2 (y 0, 1); [0.5, 1] holds 0.6, 0.7, 1.0 (y 1, 1, 0).
	p := []float64{0.1, 0.2, 0.6, 0.7, 1.0}
	y := []float64{0, 1, 1, 1, 0}
	tab := CalibrationBins(p, y, nil, 2, EqualWidth)
	want := []CalibrationBin{
		{Lo: 0.1, Hi: 0.2, MeanPredicted: 0.15, ObservedRate: 0.5, Count: 2, Weight: 2},
		{Lo: 0.6, Hi: 1.0, MeanPredicted: 2.3 / 3, ObservedRate: 2.0 / 3, Count: 3, Weight: 3},
	}
	if len(tab) != len(want) {
		t.Fatalf("got %d bins, want %d", len(tab), len(want))
	}
	for k := range want {
		g, w := tab[k], want[k]
		if g.Count != w.Count || g.Lo != w.Lo || g.Hi != w.Hi ||
			math.Abs(g.MeanPredicted-w.MeanPredicted) > 1e-15 || math.Abs(g.ObservedRate-w.ObservedRate) > 1e-15 {
			t.Errorf("bin %d = %+v, want %+v", k, g, w)
		}
	}
	// ECE = (2/5)*|0.15-0.5| + (3/5)*|0.7667-0.6667| = 0.14 + 0.06 = 0.2.
	if got := ExpectedCalibrationError(tab); math.Abs(got-0.2) > 1e-15 {
		t.Errorf("ECE = %v, want 0.2", got)
	}

	// Deciles of risk: 100 distinct predictions -> 10 groups of 10.
	p = make([]float64, 100)
	y = make([]float64, 100)
	for i := range p {
		p[i] = float64(99-i) / 100
	}
	tab = CalibrationBins(p, y, nil, 10, EqualMass)
	if len(tab) != 10 {
		t.Fatalf("EqualMass: %d bins", len(tab))
	}
	for k, b := range tab {
		if b.Count != 10 || b.Lo != float64(10*k)/100 {
			t.Errorf("decile %d: %+v", k, b)
		}
	}
	// Ties stay together: 60 rows at 0.5 and 40 at 0.9 in 10 groups -> 2 groups.
	for i := range p {
		p[i] = 0.5
		if i >= 60 {
			p[i] = 0.9
		}
	}
	tab = CalibrationBins(p, y, nil, 10, EqualMass)
	if len(tab) != 2 || tab[0].Count != 60 || tab[1].Count != 40 {
		t.Errorf("tied EqualMass bins = %+v", tab)
	}
}
