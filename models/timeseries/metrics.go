package timeseries

import "math"

// SMAPE is the symmetric mean absolute percentage error of the M3 and M4 competitions, in
// percent: 200/h * sum_k |y_k - f_k| / (|y_k| + |f_k|) (Makridakis & Hibon 2000; Hyndman &
// Koehler 2006). Terms with y_k = f_k = 0 count as 0. It panics if the lengths differ.
func SMAPE(actual, forecast []float64) float64 {
	if len(actual) != len(forecast) {
		panic("timeseries: SMAPE: lengths differ")
	}
	s := 0.0
	for k, y := range actual {
		d := math.Abs(y) + math.Abs(forecast[k])
		if d != 0 {
			s += math.Abs(y-forecast[k]) / d
		}
	}
	return 200 * s / float64(len(actual))
}

// MASE is the mean absolute scaled error of Hyndman & Koehler (2006): the mean absolute
// forecast error divided by the in-sample mean absolute error of the seasonal naive method,
// (1/(n-m)) sum_{t>m} |y_t - y_{t-m}| over the training data train (m = 1: the naive method),
// as forecast::accuracy computes it. It is +Inf or NaN when that scale is 0, and panics if
// actual and forecast differ in length or len(train) <= m.
func MASE(train, actual, forecast []float64, m int) float64 {
	if len(actual) != len(forecast) {
		panic("timeseries: MASE: lengths differ")
	}
	if m < 1 || len(train) <= m {
		panic("timeseries: MASE: need len(train) > m >= 1")
	}
	scale := 0.0
	for t := m; t < len(train); t++ {
		scale += math.Abs(train[t] - train[t-m])
	}
	scale /= float64(len(train) - m)
	e := 0.0
	for k, y := range actual {
		e += math.Abs(y - forecast[k])
	}
	return e / float64(len(actual)) / scale
}
