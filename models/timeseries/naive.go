package timeseries

import (
	"fmt"
	"math"
)

// snaiveForecast is the seasonal naive method (the naive method for m = 1), as
// forecast::snaive / naive (FPP3 sec. 5.2 and Table 5.2): y_{n+h} = y_{n+h-m(k+1)} with
// k = floor((h-1)/m), and intervals mean +- z sigma sqrt(k+1), where sigma^2 is the mean of
// the squared in-sample residuals y_t - y_{t-m}.
//
// With n <= m there is no full season to repeat and it falls back to the naive method (and
// says so in Note); with n = 1 the variance cannot be estimated and the bounds are NaN.
func snaiveForecast(y []float64, m, h int, levels []float64) Forecast {
	n := len(y)
	method := MethodSNaive
	note := ""
	if m > 1 && n <= m {
		note = fmt.Sprintf("n=%d <= m=%d: too short for seasonal naive, naive method used", n, m)
		m = 1
	}
	if m == 1 {
		method = MethodNaive
	}
	mse := math.NaN()
	if n > m {
		ss := 0.0
		for t := m; t < n; t++ {
			d := y[t] - y[t-m]
			ss += d * d
		}
		mse = ss / float64(n-m)
	} else if note == "" {
		note = "one observation: no interval"
	}
	mean := make([]float64, h)
	variance := make([]float64, h)
	for i := range mean {
		mean[i] = y[n-m+i%m]
		variance[i] = mse * float64(i/m+1)
	}
	model := "Naive"
	if m > 1 {
		model = fmt.Sprintf("SNaive(m=%d)", m)
	}
	return newForecast(method, model, mean, variance, levels, note) // NaN variance, NaN bounds
}
