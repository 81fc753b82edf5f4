package winprob

import (
	"fmt"
	"runtime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

func maxWorkers() int { return runtime.GOMAXPROCS(0) }

// Model is a fitted win-probability model. Its fields are exported (and tagged) so the caller
// can store it with the run that produced it and reload it for scoring.
//
// The linear predictor (logit) of a feature row x is
//
//	z(x) = Intercept + sum_j {Coef_j * (x_j - Mean_j) / SD_j}
//
// and the score is Calibration applied to z (sigma(z) when uncalibrated).
type Model struct {
	Names       []string    `json:"names"`       // feature names, the column order of x
	Mean        []float64   `json:"mean"`        // training mean of each feature
	SD          []float64   `json:"sd"`          // training sd of each feature (1 for constant columns)
	Intercept   float64     `json:"intercept"`   // b, on the standardised scale
	Coef        []float64   `json:"coef"`        // w_j, per standardised feature
	Lambda      float64     `json:"lambda"`      // ridge penalty used in the fit
	Calibration Calibration `json:"calibration"` // applied by Predict; zero value = none
	Fit         FitInfo     `json:"fit"`
}

// RawCoef returns the coefficients on the original feature scale,
//
//	beta_j = Coef_j / SD_j,   beta_0 = Intercept - sum_j {beta_j * Mean_j},
//
// so that z(x) = beta_0 + sum_j beta_j x_j: the numbers R's glm would print for the same
// unpenalised fit.
func (m *Model) RawCoef() (intercept float64, coef []float64) {
	coef = make([]float64, len(m.Coef))
	intercept = m.Intercept
	for j := range coef {
		coef[j] = m.Coef[j] / m.SD[j]
		intercept -= coef[j] * m.Mean[j]
	}
	return intercept, coef
}

func (m *Model) checkRow(x []float64) {
	if len(x) != len(m.Coef) {
		panic(fmt.Sprintf("winprob: feature row has %d values, model has %d features", len(x), len(m.Coef)))
	}
}

// Logit returns the uncalibrated linear predictor z(x) = Intercept + sum_j Coef_j (x_j - Mean_j) / SD_j.
// It panics if len(x) differs from the number of features.
func (m *Model) Logit(x []float64) float64 {
	m.checkRow(x)
	z := m.Intercept
	for j, v := range x {
		z += m.Coef[j] * (v - m.Mean[j]) / m.SD[j]
	}
	return z
}

// Predict returns the calibrated win probability of feature row x: Calibration.Prob(Logit(x)),
// which is sigma(z) = 1 / (1 + exp(-z)) when the model is uncalibrated.
// It panics if len(x) differs from the number of features.
func (m *Model) Predict(x []float64) float64 {
	return m.Calibration.Prob(m.Logit(x))
}

// LogitAll writes the linear predictor of every row of the row-major matrix X (len(X) =
// rows * features) into dst and returns it; dst is allocated if nil. It runs in parallel
// over row chunks with one matrix-vector product per chunk. It panics if len(X) is not a
// multiple of the number of features or dst has the wrong length.
func (m *Model) LogitAll(X, dst []float64) []float64 {
	p := len(m.Coef)
	if p == 0 || len(X)%p != 0 {
		panic(fmt.Sprintf("winprob: len(X) = %d is not a multiple of %d features", len(X), p))
	}
	n := len(X) / p
	if dst == nil {
		dst = make([]float64, n)
	}
	if len(dst) != n {
		panic(fmt.Sprintf("winprob: len(dst) = %d, want %d", len(dst), n))
	}
	b, beta := m.RawCoef()
	bv := blas64.Vector{N: p, Inc: 1, Data: beta}
	forChunks(n, 0, func(_, lo, hi int) {
		a := blas64.General{Rows: hi - lo, Cols: p, Stride: p, Data: X[lo*p : hi*p]}
		z := dst[lo:hi]
		for k := range z {
			z[k] = b
		}
		blas64.Gemv(blas.NoTrans, 1, a, bv, 1, blas64.Vector{N: hi - lo, Inc: 1, Data: z})
	})
	return dst
}

// PredictAll writes Predict of every row of the row-major matrix X into dst and returns it
// (dst is allocated if nil). Same shape rules and parallelism as LogitAll.
func (m *Model) PredictAll(X, dst []float64) []float64 {
	dst = m.LogitAll(X, dst)
	forChunks(len(dst), 0, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] = m.Calibration.Prob(dst[i])
		}
	})
	return dst
}

// Factor is one feature's contribution to a score's logit.
type Factor struct {
	Feature      string  `json:"feature"`      // feature name
	Value        float64 `json:"value"`        // the row's raw feature value x_j
	Contribution float64 `json:"contribution"` // Coef_j * (x_j - Mean_j) / SD_j, in logit units
}

// Explanation is the decomposition of one row's logit:
//
//	Logit = Intercept + sum_j {Coef_j * (x_j - Mean_j) / SD_j}
//
// Each term is the feature's effect relative to an average training row, in log-odds.
// Positive lists the largest positive contributions, largest first; Negative the most
// negative, most negative first.
type Explanation struct {
	Logit    float64  `json:"logit"`
	Positive []Factor `json:"positive"`
	Negative []Factor `json:"negative"`
}

// Explain returns the top k positive and top k negative contributions
// Coef_j * (x_j - Mean_j) / SD_j of row x (fewer if fewer are non-zero); k = 3 is the
// usual choice. Contributions exactly zero are omitted. Ties keep feature order.
// It panics if len(x) differs from the number of features or k < 0.
func (m *Model) Explain(x []float64, k int) Explanation {
	m.checkRow(x)
	if k < 0 {
		panic("winprob: Explain with k < 0")
	}
	e := Explanation{Logit: m.Intercept}
	pos := make([]Factor, 0, k)
	neg := make([]Factor, 0, k)
	for j, v := range x {
		c := m.Coef[j] * (v - m.Mean[j]) / m.SD[j]
		e.Logit += c
		f := Factor{Feature: m.Names[j], Value: v, Contribution: c}
		switch {
		case c > 0:
			pos = insertTop(pos, f, k, func(a, b float64) bool { return a > b })
		case c < 0:
			neg = insertTop(neg, f, k, func(a, b float64) bool { return a < b })
		}
	}
	e.Positive, e.Negative = pos, neg
	return e
}

// insertTop inserts f into the list kept sorted by better(contribution) with at most k
// entries; a new entry goes after existing equal ones, so ties keep feature order.
func insertTop(list []Factor, f Factor, k int, better func(a, b float64) bool) []Factor {
	if k == 0 {
		return list
	}
	pos := len(list)
	for pos > 0 && better(f.Contribution, list[pos-1].Contribution) {
		pos--
	}
	if pos >= k {
		return list
	}
	if len(list) < k {
		list = append(list, Factor{})
	}
	copy(list[pos+1:], list[pos:len(list)-1])
	list[pos] = f
	return list
}
