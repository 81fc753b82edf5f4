package timeseries

import (
	"fmt"
	"math"
	"strings"
)

// thetaSeasonalZ is the one-sided 95% normal quantile qnorm(0.95): thetaf calls a series
// seasonal when |r_m| / se(r_m) exceeds it, a 90% two-sided test (Assimakopoulos &
// Nikolopoulos 2000).
const thetaSeasonalZ = 1.6448536269514722

// thetaSeasonalFloor: thetaf gives up on seasonal adjustment when a seasonal index is this
// close to zero (it would divide by it).
const thetaSeasonalFloor = 1e-10

// seasonalAdjustment is a series with its seasonality removed the way thetaf does it.
type seasonalAdjustment struct {
	x        []float64 // the adjusted series (y itself when not seasonal)
	sc       []float64 // seasonal component per observation, nil when not seasonal
	seasonal bool
	mult     bool
	notes    []string
}

// adjustSeasonality tests y for seasonality at lag m and, if seasonal, removes it with a
// classical decomposition (steps 1 and 2 of thetaForecast).
func adjustSeasonality(y []float64, m int) (seasonalAdjustment, error) {
	n := len(y)
	a := seasonalAdjustment{x: y, mult: true}
	if m > 1 && !isConstant(y) {
		if n >= 2*m {
			r := acf(y, m)
			ss := 0.0
			for _, rk := range r[:m-1] {
				ss += rk * rk
			}
			se := math.Sqrt((1 + 2*ss) / float64(n))
			a.seasonal = math.Abs(r[m-1])/se > thetaSeasonalZ
		} else {
			a.notes = append(a.notes, fmt.Sprintf("n=%d < 2m=%d: too short to test for seasonality, treated as non-seasonal", n, 2*m))
		}
	}
	if !a.seasonal {
		return a, nil
	}
	for _, v := range y {
		if v <= 0 {
			a.mult = false
			break
		}
	}
	sc, err := decompose(y, m, a.mult)
	if err != nil {
		return a, err
	}
	for _, s := range sc {
		if a.mult && math.Abs(s) < thetaSeasonalFloor {
			a.seasonal = false
			a.notes = append(a.notes, "seasonal index near zero: non-seasonal Theta")
			return a, nil
		}
	}
	a.sc = sc
	a.x = make([]float64, n)
	for i, v := range y {
		if a.mult {
			a.x[i] = v / sc[i]
		} else {
			a.x[i] = v - sc[i]
		}
	}
	return a, nil
}

// reseasonalise puts the seasonality back into forecasts of the adjusted series, using the
// indices of the last m observations in turn.
func (a seasonalAdjustment) reseasonalise(mean []float64, m int) {
	if !a.seasonal {
		return
	}
	n := len(a.sc)
	for i := range mean {
		s := a.sc[n-m+i%m]
		if a.mult {
			mean[i] *= s
		} else {
			mean[i] += s
		}
	}
}

// thetaForecast is the standard Theta method of Assimakopoulos & Nikolopoulos (2000) in the
// form shown equivalent by Hyndman & Billah (2003), as R's forecast::thetaf computes it:
//
//  1. Seasonality test (m > 1): with r_k the sample autocorrelations, the series is seasonal
//     when |r_m| > 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n) (Bartlett's standard error).
//  2. A seasonal series is divided by the seasonal indices of a classical multiplicative
//     decomposition (an additive one when y has a value <= 0, where ratios mean nothing;
//     thetaf assumes positive data).
//  3. Simple exponential smoothing (ETS(A,N,N) fitted by minimising the one-step MSE, as
//     forecast::ses) gives level l_n and alpha; b is the least-squares slope of the adjusted
//     series on time. The forecast is l_n + (b/2) (h - 1 + (1 - (1-alpha)^n) / alpha), SES
//     with drift b/2, then reseasonalised with the last m indices.
//  4. Intervals are those of SES: mean +- z sigma sqrt(1 + (h-1) alpha^2), sigma^2 the SES
//     residual variance. Like thetaf, they are not rescaled by the seasonal indices.
func thetaForecast(y []float64, m, h int, levels []float64) (Forecast, error) {
	n := len(y)
	adj, err := adjustSeasonality(y, m)
	if err != nil {
		return Forecast{}, err
	}
	x := adj.x
	ses := fitETSSpec(x, 1, ETSSpec{Error: 'A', Trend: 'N', Season: 'N'}, critMSE)
	if ses == nil {
		return Forecast{}, fmt.Errorf("theta: %w: n=%d, need 4", ErrTooShort, n)
	}
	alpha := ses.Alpha
	_, slope := lineFit(x, 0)
	drift := slope / 2
	level := ses.State[0]
	start := (1 - math.Pow(1-alpha, float64(n))) / alpha
	mean := make([]float64, h)
	variance := make([]float64, h)
	for i := range mean {
		mean[i] = level + drift*(float64(i)+start)
		variance[i] = ses.Sigma2 * (1 + float64(i)*alpha*alpha)
	}
	adj.reseasonalise(mean, m)
	model := "Theta"
	if adj.seasonal {
		kind := "multiplicative"
		if !adj.mult {
			kind = "additive"
		}
		model = fmt.Sprintf("Theta(seasonal m=%d, %s)", m, kind)
	}
	return newForecast(MethodTheta, model, mean, variance, levels, strings.Join(adj.notes, "; ")), nil
}
