package timeseries

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/mat"
)

// decompose is the classical decomposition of R's stats::decompose (Kendall & Stuart; FPP3
// section 3.4): a centred moving average of order m (2 x m for even m) estimates the trend,
// the detrended series (y - trend, or y / trend when multiplicative) is averaged per position
// in the cycle, and the m averages are normalised to sum to 0 (additive) or to average 1
// (multiplicative). It returns the seasonal component for every observation,
// seasonal[t] = figure[t mod m], where position 0 is the first observation.
//
// It needs m >= 2 and at least two full cycles (n >= 2m), as R does.
func decompose(y []float64, m int, multiplicative bool) (seasonal []float64, err error) {
	n := len(y)
	if m < 2 || n < 2*m {
		return nil, errors.New("decompose: need m >= 2 and at least two full cycles")
	}
	// Centred moving-average weights: 1/m each for odd m; for even m the two end points
	// get 1/(2m) (the "2 x m-MA", FPP3 section 3.3).
	var w []float64
	if m%2 == 0 {
		w = make([]float64, m+1)
		for i := range w {
			w[i] = 1 / float64(m)
		}
		w[0], w[m] = 0.5/float64(m), 0.5/float64(m)
	} else {
		w = make([]float64, m)
		for i := range w {
			w[i] = 1 / float64(m)
		}
	}
	half := len(w) / 2
	sum := make([]float64, m)
	cnt := make([]float64, m)
	for t := half; t < n-half; t++ {
		trend := 0.0
		for k, wk := range w {
			trend += wk * y[t-half+k]
		}
		var d float64
		if multiplicative {
			d = y[t] / trend
		} else {
			d = y[t] - trend
		}
		if math.IsNaN(d) || math.IsInf(d, 0) {
			continue // R's mean(..., na.rm = TRUE) drops these
		}
		sum[t%m] += d
		cnt[t%m]++
	}
	figure := make([]float64, m)
	mean := 0.0
	for i := range figure {
		figure[i] = sum[i] / cnt[i]
		mean += figure[i] / float64(m)
	}
	for i := range figure {
		if multiplicative {
			figure[i] /= mean
		} else {
			figure[i] -= mean
		}
	}
	seasonal = make([]float64, n)
	for t := range seasonal {
		seasonal[t] = figure[t%m]
	}
	return seasonal, nil
}

// acf returns the sample autocorrelations r_1..r_maxLag of y (FPP3 section 2.8):
// r_k = sum_{t=1}^{n-k} (y_t - ybar)(y_{t+k} - ybar) / sum_t (y_t - ybar)^2.
func acf(y []float64, maxLag int) []float64 {
	n := len(y)
	mean := 0.0
	for _, v := range y {
		mean += v
	}
	mean /= float64(n)
	den := 0.0
	for _, v := range y {
		den += (v - mean) * (v - mean)
	}
	r := make([]float64, maxLag)
	for k := 1; k <= maxLag && k < n; k++ {
		num := 0.0
		for t := 0; t+k < n; t++ {
			num += (y[t] - mean) * (y[t+k] - mean)
		}
		r[k-1] = num / den
	}
	return r
}

// lineFit is the least-squares line y_i = a + b*x_i with x_i = x0 + i (R's lsfit on an index).
func lineFit(y []float64, x0 float64) (a, b float64) {
	n := float64(len(y))
	if len(y) == 1 {
		return y[0], 0
	}
	xbar := x0 + (n-1)/2
	ybar := 0.0
	for _, v := range y {
		ybar += v
	}
	ybar /= n
	sxy, sxx := 0.0, 0.0
	for i, v := range y {
		dx := x0 + float64(i) - xbar
		sxy += dx * (v - ybar)
		sxx += dx * dx
	}
	b = sxy / sxx
	return ybar - b*xbar, b
}

// fourierTrendFit regresses y on an intercept, the index t = 1..n and one Fourier pair
// sin(2 pi t/m), cos(2 pi t/m) (the sine is dropped for m = 2, where it is zero), as
// forecast's initstate does with tslm(y ~ trend + fourier(y, 1)) for series shorter than
// three cycles. It returns the intercept and the slope.
func fourierTrendFit(y []float64, m int) (a, b float64, err error) {
	n := len(y)
	cols := 4
	if m == 2 {
		cols = 3
	}
	if n <= cols {
		return 0, 0, errors.New("fourier fit: too few observations")
	}
	X := mat.NewDense(n, cols, nil)
	for i := 0; i < n; i++ {
		t := float64(i + 1)
		X.Set(i, 0, 1)
		X.Set(i, 1, t)
		X.Set(i, 2, math.Cos(2*math.Pi*t/float64(m)))
		if cols == 4 {
			X.Set(i, 3, math.Sin(2*math.Pi*t/float64(m)))
		}
	}
	var beta mat.Dense
	if err := beta.Solve(X, mat.NewVecDense(n, append([]float64(nil), y...))); err != nil {
		return 0, 0, err
	}
	return beta.At(0, 0), beta.At(1, 0), nil
}

// isConstant reports whether all values of y are equal.
func isConstant(y []float64) bool {
	for _, v := range y {
		if v != y[0] {
			return false
		}
	}
	return true
}
