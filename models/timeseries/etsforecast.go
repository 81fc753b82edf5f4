package timeseries

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Forecast returns h point forecasts and prediction intervals at the given levels (percent;
// nil means DefaultLevels) from the end of the data, as forecast::forecast.ets does with its
// analytic formulas (Hyndman et al. 2008, ch. 6; FPP2 sec. 7.7). Intervals are
// mean +- z sqrt(v_h), z the normal quantile, with v_h:
//
//   - class 1, additive errors, ETS(A,N|A|Ad,N|A): v_h = sigma^2 (1 + sum_{j=1}^{h-1} c_j^2),
//     c_j = alpha + beta phi_j + gamma [j mod m = 0], phi_j = phi + ... + phi^j
//     (Hyndman et al. 2008, Table 6.1);
//   - class 2, ETS(M,N|A|Ad,N|A): v_h = (1 + sigma^2) theta_h - mu_h^2 with
//     theta_h = mu_h^2 + sigma^2 sum_{j=1}^{h-1} c_j^2 theta_{h-j} (eq. 6.4);
//   - class 3, ETS(M,N|A|Ad,M): the exact first two moments of Hyndman et al. (2008)
//     sec. 6.4 (forecast's class3()); the point forecast is then that mean, which differs
//     from the plain recursion by a sigma^2 term once h > m.
//
// It panics if h < 1 or a level is not in (0, 100).
func (e *ETSModel) Forecast(h int, levels []float64) Forecast {
	if h < 1 {
		panic("timeseries: ETSModel.Forecast: h < 1")
	}
	var mu, v []float64
	switch {
	case e.Spec.Season == 'M':
		mu, v = e.class3(h)
	case e.Spec.Error == 'M':
		mu, v = e.class2(h)
	default:
		mu, v = e.class1(h)
	}
	return newForecast(MethodETS, e.Spec.String(), mu, v, levels, e.Note)
}

// ForecastAICWeighted returns the forecasts of every model fitted in the FitETS search
// averaged with Akaike weights w_i = exp(-(AICc_i - AICc_min)/2) / sum_j exp(...) instead of
// those of the AICc-best model alone (Kolassa 2011, "Combining exponential smoothing
// forecasts using Akaike weights", IJF 27:238-251; Burnham & Anderson 2002, sec. 2.9).
// Interval bounds are averaged with the same weights, as Combine does. On the M3 data it is
// more accurate than the selected model (monthly sMAPE 13.83 against 14.14), and it is the
// ETS member of MethodCombo. A model from a single-model search (or a constant series) gives
// the same result as Forecast.
func (e *ETSModel) ForecastAICWeighted(h int, levels []float64) Forecast {
	if len(e.candidates) < 2 {
		return e.Forecast(h, levels)
	}
	weights := make([]float64, len(e.candidates))
	total := 0.0
	for i, c := range e.candidates {
		weights[i] = math.Exp(-0.5 * (c.AICc - e.AICc))
		total += weights[i]
	}
	var out Forecast
	for i, c := range e.candidates {
		w := weights[i] / total
		if w < akaikeNegligible {
			continue
		}
		f := c.Forecast(h, levels)
		if out.Mean == nil {
			out = Forecast{
				Method: MethodETS,
				Mean:   make([]float64, h),
				Levels: f.Levels,
				Lower:  make([][]float64, len(f.Levels)),
				Upper:  make([][]float64, len(f.Levels)),
				Note:   e.Note,
			}
			for j := range out.Levels {
				out.Lower[j] = make([]float64, h)
				out.Upper[j] = make([]float64, h)
			}
		}
		for k := range out.Mean {
			out.Mean[k] += w * f.Mean[k]
			for j := range out.Levels {
				out.Lower[j][k] += w * f.Lower[j][k]
				out.Upper[j][k] += w * f.Upper[j][k]
			}
		}
	}
	out.Model = fmt.Sprintf("ETS-AICc-weighted(%d models, best %s)", len(e.candidates), e.Spec)
	return out
}

// akaikeNegligible is the Akaike weight below which ForecastAICWeighted skips a model (an
// AICc more than ~27.6 above the best): it moves the average by less than a millionth of
// the gap between forecasts, and skipping it saves the class 3 recursions.
const akaikeNegligible = 1e-6

// split returns the level, slope and seasonal states s_1..s_m of the final state.
func (e *ETSModel) split() (l, b float64, s []float64) {
	x := e.State
	l = x[0]
	k := 1
	if e.Spec.Trend != 'N' {
		b = x[1]
		k = 2
	}
	return l, b, x[k:]
}

// pointForecasts is the forecast recursion mu_h = (l + phi_h b) (+|x) s_{m - ((h-1) mod m)}
// with phi_h = phi + phi^2 + ... + phi^h (h for an undamped trend); Hyndman et al. (2008)
// Table 2.1.
func (e *ETSModel) pointForecasts(h int) []float64 {
	l, b, s := e.split()
	m := e.M
	mu := make([]float64, h)
	phiH := 0.0
	for i := range mu {
		phiH += math.Pow(e.Phi, float64(i+1))
		f := l
		if e.Spec.Trend != 'N' {
			f += phiH * b
		}
		if e.Spec.Season != 'N' {
			sv := s[m-1-i%m]
			if e.Spec.Season == 'M' {
				f *= sv
			} else {
				f += sv
			}
		}
		mu[i] = f
	}
	return mu
}

// cj returns c_1..c_{h-1} of class 1 (see Forecast).
func (e *ETSModel) cj(h int) []float64 {
	c := make([]float64, max(h-1, 0))
	phij := 0.0
	for j := 1; j < h; j++ {
		phij += math.Pow(e.Phi, float64(j))
		v := e.Alpha
		if e.Spec.Trend != 'N' {
			v += e.Beta * phij
		}
		if e.Spec.Season != 'N' && j%e.M == 0 {
			v += e.Gamma
		}
		c[j-1] = v
	}
	return c
}

func (e *ETSModel) class1(h int) (mu, v []float64) {
	mu = e.pointForecasts(h)
	c := e.cj(h)
	v = make([]float64, h)
	acc := 1.0
	for i := range v {
		if i > 0 {
			acc += c[i-1] * c[i-1]
		}
		v[i] = e.Sigma2 * acc
	}
	return mu, v
}

func (e *ETSModel) class2(h int) (mu, v []float64) {
	mu = e.pointForecasts(h)
	c := e.cj(h)
	s2 := e.Sigma2
	theta := make([]float64, h)
	v = make([]float64, h)
	for j := range theta {
		t := mu[j] * mu[j]
		for i := 1; i <= j; i++ {
			t += s2 * c[i-1] * c[i-1] * theta[j-i]
		}
		theta[j] = t
		v[j] = (1+s2)*t - mu[j]*mu[j]
	}
	return mu, v
}

// class3 computes the forecast mean and variance of ETS(M,N|A|Ad,M) by the matrix
// recursions of Hyndman et al. (2008) sec. 6.4: the model is y_t = H1 x1 x2' H2' (1 + e_t),
// x1_t = (F1 + G1 e_t) x1_{t-1}, x2_t = (F2 + G2 e_t) x2_{t-1} with x1 = (l, b) and
// x2 = (s_1..s_m); M_h = E[x1 x2'] and V_h = Var(vec(x1 x2')) evolve as
//
//	mu_h = H1 M_h H2',  v_h = (1+s2) H21 V_h H21' + s2 mu_h^2,
//	V_{h+1} = F21 V F21' + s2 (F21 V G21' + G21 V F21' + K (V + vec M vec M') K'
//	          + s2 G21 (3V + 2 vec M vec M') G21'),
//	M_{h+1} = F1 M F2' + s2 G1 M G2',
//
// where F21 = F2 (x) F1, G21 = G2 (x) G1, H21 = H2 (x) H1, K = G2 (x) F1 + F2 (x) G1 and
// s2 = sigma^2.
func (e *ETSModel) class3(h int) (mu, v []float64) {
	l, b, s := e.split()
	m := e.M
	s2 := e.Sigma2
	var x1 []float64
	var F1, G1 *mat.Dense
	if e.Spec.Trend == 'N' {
		x1 = []float64{l}
		F1 = mat.NewDense(1, 1, []float64{1})
		G1 = mat.NewDense(1, 1, []float64{e.Alpha})
	} else {
		// l_t = (l + phi b)(1 + alpha e), b_t = phi b + beta (l + phi b) e. forecast's
		// class3() writes F1 = [1 1; 0 phi], H1 = (1, 1), which is only right for phi = 1.
		x1 = []float64{l, b}
		F1 = mat.NewDense(2, 2, []float64{1, e.Phi, 0, e.Phi})
		G1 = mat.NewDense(2, 2, []float64{e.Alpha, e.Alpha * e.Phi, e.Beta, e.Beta * e.Phi})
	}
	p1 := len(x1)
	H1 := mat.NewDense(1, p1, nil)
	H1.Set(0, 0, 1)
	if p1 == 2 {
		H1.Set(0, 1, e.Phi)
	}
	H2 := mat.NewDense(1, m, nil)
	H2.Set(0, m-1, 1)
	F2 := mat.NewDense(m, m, nil)
	F2.Set(0, m-1, 1)
	for i := 1; i < m; i++ {
		F2.Set(i, i-1, 1)
	}
	G2 := mat.NewDense(m, m, nil)
	G2.Set(0, m-1, e.Gamma)

	M := mat.NewDense(p1, m, nil)
	M.Outer(1, mat.NewVecDense(p1, append([]float64(nil), x1...)), mat.NewVecDense(m, append([]float64(nil), s...)))
	q := p1 * m
	V := mat.NewDense(q, q, nil)
	var H21, F21, G21, K, tmp mat.Dense // Kronecker products
	H21.Kronecker(H2, H1)
	F21.Kronecker(F2, F1)
	G21.Kronecker(G2, G1)
	K.Kronecker(G2, F1)
	tmp.Kronecker(F2, G1)
	K.Add(&K, &tmp)

	mu = make([]float64, h)
	v = make([]float64, h)
	vec := mat.NewVecDense(q, nil)
	for i := 0; i < h; i++ {
		mu[i] = prod(H1, M, H2.T()).At(0, 0)
		v[i] = (1+s2)*prod(&H21, V, H21.T()).At(0, 0) + s2*mu[i]*mu[i]

		// vec(M), column-major.
		for col := 0; col < m; col++ {
			for row := 0; row < p1; row++ {
				vec.SetVec(col*p1+row, M.At(row, col))
			}
		}
		outer := mat.NewDense(q, q, nil)
		outer.Outer(1, vec, vec)

		inner := prod(&F21, V, G21.T())
		inner.Add(inner, prod(&G21, V, F21.T()))
		w := mat.NewDense(q, q, nil)
		w.Add(V, outer)
		inner.Add(inner, prod(&K, w, K.T()))
		w.Scale(3, V)
		outer.Scale(2, outer)
		w.Add(w, outer)
		g := prod(&G21, w, G21.T())
		g.Scale(s2, g)
		inner.Add(inner, g)
		inner.Scale(s2, inner)
		newV := prod(&F21, V, F21.T())
		newV.Add(newV, inner)
		V = newV

		newM := prod(F1, M, F2.T())
		g = prod(G1, M, G2.T())
		g.Scale(s2, g)
		newM.Add(newM, g)
		M = newM
	}
	return mu, v
}

// prod returns the matrix product of its arguments in a new matrix.
func prod(fs ...mat.Matrix) *mat.Dense {
	var d mat.Dense
	d.Product(fs...)
	return &d
}
