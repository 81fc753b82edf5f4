package winprob

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// CalibrationMethod names a score-to-probability map fitted on held-out data.
type CalibrationMethod string

const (
	// NoCalibration maps a logit z to sigma(z).
	NoCalibration CalibrationMethod = ""
	// Platt maps z to sigma(A*z + B) (Platt 1999).
	Platt CalibrationMethod = "platt"
	// Isotonic maps z to a non-decreasing step function fitted by pool-adjacent-violators
	// (Zadrozny & Elkan 2002).
	Isotonic CalibrationMethod = "isotonic"
)

// Calibration maps a model's logit to a calibrated probability. The zero value is the
// identity on the probability scale (sigma(z)).
type Calibration struct {
	Method CalibrationMethod `json:"method"`
	// A and B are Platt's parameters: p = 1 / (1 + exp(-(A*z + B))). (Platt writes
	// 1 / (1 + exp(A*f + B)); the signs here are flipped so that A > 0 for a useful score.)
	A float64 `json:"a,omitempty"`
	B float64 `json:"b,omitempty"`
	// Thresholds and Values define the isotonic step function: Thresholds[k] is the smallest
	// held-out logit of block k (ascending) and Values[k] the block's weighted win rate
	// (non-decreasing). A logit z maps to Values[k] for the largest k with
	// Thresholds[k] <= z, and to Values[0] below Thresholds[0].
	Thresholds []float64 `json:"thresholds,omitempty"`
	Values     []float64 `json:"values,omitempty"`
}

// Prob returns the calibrated probability of logit z (see Calibration). It panics on an
// unknown Method.
func (c Calibration) Prob(z float64) float64 {
	switch c.Method {
	case NoCalibration:
		return sigmoid(z)
	case Platt:
		return sigmoid(c.A*z + c.B)
	case Isotonic:
		k := sort.SearchFloat64s(c.Thresholds, z) // first k with Thresholds[k] >= z
		if k == len(c.Thresholds) || c.Thresholds[k] > z {
			k--
		}
		if k < 0 {
			k = 0
		}
		return c.Values[k]
	}
	panic(fmt.Sprintf("winprob: unknown calibration method %q", c.Method))
}

// ErrOneClass is returned when calibration data contain only wins or only losses.
var ErrOneClass = errors.New("winprob: calibration data need both outcomes")

// Calibrate fits the calibration map of the given method on held-out data d (rows not used
// by Fit) from the model's uncalibrated logits, and stores it in m.Calibration. Calibrating
// with NoCalibration resets the map. It returns an error if d contains invalid values or
// only one outcome; m is unchanged on error. It panics if d's columns differ in number
// from the model's features or the method is unknown.
func (m *Model) Calibrate(d Dataset, method CalibrationMethod) error {
	d.checkShape()
	if d.Cols() != len(m.Coef) {
		panic(fmt.Sprintf("winprob: calibration data has %d features, model has %d", d.Cols(), len(m.Coef)))
	}
	if _, err := d.validate(); err != nil {
		return err
	}
	z := m.LogitAll(d.X, nil)
	switch method {
	case NoCalibration:
		m.Calibration = Calibration{}
	case Platt:
		a, b, err := FitPlatt(z, d.Y, d.Weights)
		if err != nil {
			return err
		}
		m.Calibration = Calibration{Method: Platt, A: a, B: b}
	case Isotonic:
		th, v, err := FitIsotonic(z, d.Y, d.Weights)
		if err != nil {
			return err
		}
		m.Calibration = Calibration{Method: Isotonic, Thresholds: th, Values: v}
	default:
		panic(fmt.Sprintf("winprob: unknown calibration method %q", method))
	}
	return nil
}

// FitPlatt fits Platt scaling p = sigma(a*s + b) to scores s (any monotone score; logits
// here) and outcomes y in [0, 1] with optional weights v (nil = ones), minimising the
// weighted cross-entropy against Platt's regularised targets
//
//	t_i = y_i * (N+ + 1)/(N+ + 2) + (1 - y_i) * 1/(N- + 2),  N+ = sum v_i y_i,  N- = sum v_i (1 - y_i)
//	F(a, b) = -sum_i {v_i * [t_i log p_i + (1 - t_i) log(1 - p_i)]}
//
// by Newton's method with backtracking line search (Lin, Lin & Weng 2007, algorithm 3,
// with the sign of (a, b) flipped). The targets keep a and b finite on separable data.
// It returns ErrOneClass if N+ or N- is zero, and an error if Newton has not converged
// after 100 iterations. It panics if the lengths differ.
func FitPlatt(s, y, v []float64) (a, b float64, err error) {
	if len(y) != len(s) || (v != nil && len(v) != len(s)) {
		panic("winprob: FitPlatt: slice lengths differ")
	}
	wt := func(i int) float64 {
		if v == nil {
			return 1
		}
		return v[i]
	}
	nPos, nNeg := 0.0, 0.0
	for i := range s {
		nPos += wt(i) * y[i]
		nNeg += wt(i) * (1 - y[i])
	}
	if !(nPos > 0 && nNeg > 0) {
		return 0, 0, ErrOneClass
	}
	hiT := (nPos + 1) / (nPos + 2)
	loT := 1 / (nNeg + 2)
	target := func(i int) float64 { return y[i]*hiT + (1-y[i])*loT }
	obj := func(a, b float64) float64 {
		f := 0.0
		for i := range s {
			u := a*s[i] + b
			f += wt(i) * (softplus(u) - target(i)*u)
		}
		return f
	}
	const (
		maxIter = 100
		minStep = 1e-10
		ridge   = 1e-12 // Lin et al.'s sigma, keeps the Hessian positive definite
	)
	a, b = 0, math.Log((nPos+1)/(nNeg+1))
	f := obj(a, b)
	tol := 1e-10 * (nPos + nNeg)
	for iter := 0; iter < maxIter; iter++ {
		var ga, gb, haa, hab, hbb float64
		for i := range s {
			u := a*s[i] + b
			p := sigmoid(u)
			r := wt(i) * (p - target(i))
			ga += r * s[i]
			gb += r
			h := wt(i) * p * (1 - p)
			haa += h * s[i] * s[i]
			hab += h * s[i]
			hbb += h
		}
		if math.Abs(ga) < tol && math.Abs(gb) < tol {
			return a, b, nil
		}
		haa += ridge
		hbb += ridge
		det := haa*hbb - hab*hab
		da := -(hbb*ga - hab*gb) / det
		db := -(-hab*ga + haa*gb) / det
		slope := ga*da + gb*db
		step := 1.0
		for ; step >= minStep; step /= 2 {
			na, nb := a+step*da, b+step*db
			if nf := obj(na, nb); nf <= f+1e-4*step*slope {
				a, b, f = na, nb, nf
				break
			}
		}
		if step < minStep {
			// No decrease possible at machine precision: we are at the minimum.
			return a, b, nil
		}
	}
	return a, b, fmt.Errorf("winprob: Platt scaling did not converge in %d Newton iterations", maxIter)
}

// FitIsotonic fits the non-decreasing step function of score minimising
// sum_i {v_i * (y_i - f(s_i))^2} (isotonic regression; Zadrozny & Elkan 2002). Rows are
// sorted by score, rows with equal scores are pooled first (so equal scores get equal
// probabilities), then PAV merges adjacent violators. It returns the smallest score of each
// final block (ascending) and the block's weighted mean outcome (non-decreasing); rows with
// zero weight are ignored. It returns ErrOneClass if the outcomes are all 0 or all 1, and
// panics if the lengths differ.
func FitIsotonic(s, y, v []float64) (thresholds, values []float64, err error) {
	if len(y) != len(s) || (v != nil && len(v) != len(s)) {
		panic("winprob: FitIsotonic: slice lengths differ")
	}
	idx := make([]int, 0, len(s))
	nPos, nNeg := 0.0, 0.0
	for i := range s {
		w := 1.0
		if v != nil {
			w = v[i]
		}
		if w > 0 {
			idx = append(idx, i)
			nPos += w * y[i]
			nNeg += w * (1 - y[i])
		}
	}
	if !(nPos > 0 && nNeg > 0) {
		return nil, nil, ErrOneClass
	}
	sort.Slice(idx, func(a, b int) bool { return s[idx[a]] < s[idx[b]] })
	// Pool ties in score.
	var lo, mean, weight []float64
	for _, i := range idx {
		w := 1.0
		if v != nil {
			w = v[i]
		}
		if k := len(lo) - 1; k >= 0 && s[i] == lo[k] {
			mean[k] += w * y[i]
			weight[k] += w
			continue
		}
		lo = append(lo, s[i])
		mean = append(mean, w*y[i])
		weight = append(weight, w)
	}
	for k := range mean {
		mean[k] /= weight[k]
	}
	fit, start := pav(mean, weight)
	thresholds = make([]float64, len(start))
	values = make([]float64, len(start))
	for k, st := range start {
		thresholds[k] = lo[st]
		values[k] = fit[st]
	}
	return thresholds, values, nil
}

// PAV returns the isotonic (non-decreasing) regression of the sequence y with weights w
// (nil = ones): the f minimising sum_i {w_i * (y_i - f_i)^2} subject to f_1 <= ... <= f_n,
// computed by the pool-adjacent-violators algorithm in O(n) (Barlow et al. 1972; Best &
// Chakravarti 1990). It panics if the lengths differ or a weight is not positive.
func PAV(y, w []float64) []float64 {
	if w != nil && len(w) != len(y) {
		panic("winprob: PAV: slice lengths differ")
	}
	if w == nil {
		w = make([]float64, len(y))
		for i := range w {
			w[i] = 1
		}
	}
	for _, x := range w {
		if !(x > 0) {
			panic("winprob: PAV: weights must be positive")
		}
	}
	fit, _ := pav(y, w)
	return fit
}

// pav returns the fitted values and the start index of each final block.
func pav(y, w []float64) (fit []float64, starts []int) {
	n := len(y)
	// Stack of blocks: start index, weighted mean, total weight.
	bStart := make([]int, 0, n)
	bMean := make([]float64, 0, n)
	bW := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		bStart = append(bStart, i)
		bMean = append(bMean, y[i])
		bW = append(bW, w[i])
		for k := len(bMean) - 1; k > 0 && bMean[k-1] > bMean[k]; k-- {
			tw := bW[k-1] + bW[k]
			bMean[k-1] = (bW[k-1]*bMean[k-1] + bW[k]*bMean[k]) / tw
			bW[k-1] = tw
			bStart = bStart[:k]
			bMean = bMean[:k]
			bW = bW[:k]
		}
	}
	fit = make([]float64, n)
	for k := range bStart {
		end := n
		if k+1 < len(bStart) {
			end = bStart[k+1]
		}
		for i := bStart[k]; i < end; i++ {
			fit[i] = bMean[k]
		}
	}
	return fit, bStart
}
