package timeseries

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrTooShort is returned (wrapped) when a series has too few observations for any model of
// the kind asked for. Fit catches it and falls back to a simpler method.
var ErrTooShort = errors.New("series too short")

// ETSSpec names one model of the ETS family of Hyndman et al. (2008), written
// ETS(Error, Trend, Season): Error is 'A' (additive) or 'M' (multiplicative); Trend is 'N'
// (none) or 'A' (additive), damped when Damped is set ("Ad"); Season is 'N', 'A' or 'M'.
// Multiplicative trends are not supported (forecast::ets leaves them out by default too).
type ETSSpec struct {
	Error, Trend, Season byte
	Damped               bool
}

// String returns the usual notation, e.g. "ETS(M,Ad,M)".
func (s ETSSpec) String() string {
	t := string(s.Trend)
	if s.Damped {
		t += "d"
	}
	return "ETS(" + string(s.Error) + "," + t + "," + string(s.Season) + ")"
}

// ETSModel is a fitted ETS model: y_t = mu_t + e_t (additive error) or y_t = mu_t (1 + e_t)
// (multiplicative error), with mu_t the one-step forecast from the state x_{t-1} =
// (level, slope, s_1..s_m), and the state updated by the error-correction equations of
// Hyndman et al. (2008), Table 2.3 (FPP2 Table 7.8, FPP3 Table 8.7). Parameters are estimated
// by maximum likelihood: the criterion is forecast::ets's
//
//	lik = n log(sum e_t^2) + 2 sum log|mu_t|  (second term for multiplicative errors only),
//
// which is -2 log L up to a constant, minimised over the smoothing parameters and the initial
// states with the Nelder-Mead method (see nelderMead).
type ETSModel struct {
	Spec ETSSpec
	// M is the seasonal period used by the model: the m asked for when Spec.Season != 'N',
	// else 1.
	M int
	// Smoothing parameters as in R's forecast package: Beta is alpha*beta* of Hyndman et al.
	// (2008), so 0 < Beta < Alpha; 0 < Gamma < 1 - Alpha; Phi is 1 for undamped trends.
	Alpha, Beta, Gamma, Phi float64
	// InitialState is x_0 and State is x_n (after the last observation): the level, the
	// slope if there is a trend, then the seasonal states s_1..s_m, most recent first.
	InitialState, State []float64
	// Sigma2 is the residual variance sum(e_t^2)/(n - k), with k the number of estimated
	// parameters (smoothing parameters and free initial states), as forecast::ets.
	Sigma2 float64
	// LogLik is -lik/2 with lik as above (so it equals R's ets()$loglik); AIC, AICc and BIC
	// use k+1 parameters (the +1 is sigma): AIC = lik + 2(k+1),
	// AICc = AIC + 2(k+1)(k+2)/(n-k-2), BIC = lik + log(n)(k+1).
	LogLik, AIC, AICc, BIC float64
	// Fitted are the one-step forecasts mu_t and Residuals the innovations e_t (relative
	// errors for multiplicative-error models).
	Fitted, Residuals []float64
	// Note says what was simplified, e.g. seasonal models skipped for a short series.
	Note string

	candidates []*ETSModel // every model fitted in the search (for ForecastAICWeighted)
}

// Parameter bounds, forecast::ets defaults: lower = c(rep(0.0001, 3), 0.8),
// upper = c(rep(0.9999, 3), 0.98) for (alpha, beta, gamma, phi). Beta < alpha and
// gamma < 1 - alpha are imposed on top (the "usual" region; Hyndman et al. 2008, sec. 5.2),
// and the admissible (forecastable) region on top of that (bounds = "both").
var (
	etsLower = [4]float64{0.0001, 0.0001, 0.0001, 0.8}
	etsUpper = [4]float64{0.9999, 0.9999, 0.9999, 0.98}
)

const (
	// etsTol and etsHuge guard divisions by (near) zero states in the multiplicative
	// recursions; values of forecast's etscalc.c (TOL 1e-10, HUGEN 1e10).
	etsTol  = 1e-10
	etsHuge = 1e10
	// etsPerfectFit is the floor on the likelihood criterion so that a perfect fit
	// (sum e^2 = 0, log 0 = -Inf) still compares; forecast's etsTargetFunction uses -1e10.
	etsPerfectFit = -1e10
	// etsMaxPeriod: forecast::ets refuses seasonal models with m > 24 (and so do we).
	etsMaxPeriod = 24
	// constantAlpha is the alpha forecast::ets uses for a constant series
	// (ses(y, alpha = 0.99999, initial = "simple")).
	constantAlpha = 0.99999
)

type etsCriterion int

const (
	critLik etsCriterion = iota // the likelihood criterion above (ets default)
	critMSE                     // mean squared one-step error (what ses() uses)
)

// FitETS fits ETS models to y (oldest first) with seasonal period m and returns the one with
// the smallest AICc, as forecast::ets(y, model) with its default settings. model is R's
// model string: three letters for error, trend and season, each a component letter or 'Z'
// for "choose automatically", with "Ad" for a damped trend: "ZZZ" (search the whole family),
// "ANN" (simple exponential smoothing), "AAdN", "MAM", "ZZN", ... An empty model means "ZZZ".
//
// The automatic search follows forecast::ets: errors {A, M}, trends {N, A, Ad}, seasons
// {N, A, M}, leaving out additive errors with multiplicative seasons (infinite-variance
// forecasts; Hyndman et al. 2008 sec. 15.1), multiplicative models when y has a value <= 0,
// seasonal models when m = 1, m > 24 or n <= m, and any model with at least n-1 parameters.
// A constant series gets ETS(A,N,N) with alpha = 0.99999 and zero variance, as in R.
//
// FitETS returns an error wrapping ErrTooShort when no model can be fitted, and an error for
// empty or non-finite input or m < 1.
func FitETS(y []float64, m int, model string) (*ETSModel, error) {
	if err := checkSeries(y, m); err != nil {
		return nil, err
	}
	cand, err := parseETSModel(model)
	if err != nil {
		return nil, err
	}
	n := len(y)
	if n == 1 {
		return nil, fmt.Errorf("ets: %w: one observation", ErrTooShort)
	}
	if isConstant(y) {
		return constantETS(y), nil
	}
	var notes []string
	positive := true
	for _, v := range y {
		if v <= 0 {
			positive = false
			break
		}
	}
	seasonOK := true
	switch {
	case m == 1:
		seasonOK = false
	case m > etsMaxPeriod:
		seasonOK = false
		notes = append(notes, fmt.Sprintf("m=%d > %d: seasonal ETS not supported, non-seasonal models only", m, etsMaxPeriod))
	case n <= m:
		seasonOK = false
		notes = append(notes, fmt.Sprintf("n=%d <= m=%d: too short for seasonal ETS, non-seasonal models only", n, m))
	}
	if !seasonOK && !contains(cand.seasons, 'N') {
		if m == 1 || m > etsMaxPeriod {
			return nil, fmt.Errorf("ets %s: seasonal models need 1 < m <= %d, have m=%d", model, etsMaxPeriod, m)
		}
		return nil, fmt.Errorf("ets %s: %w for a seasonal model (n=%d, m=%d)", model, ErrTooShort, n, m)
	}
	if !positive && !contains(cand.errors, 'A') {
		return nil, fmt.Errorf("ets %s: multiplicative errors need positive data", model)
	}

	var best *ETSModel
	var all []*ETSModel
	tried := 0
	for _, spec := range cand.specs() {
		if spec.Error == 'A' && spec.Season == 'M' {
			continue // forbidden: infinite forecast variance
		}
		if (spec.Error == 'M' || spec.Season == 'M') && !positive {
			continue
		}
		if spec.Season != 'N' && !seasonOK {
			continue
		}
		tried++
		fit := fitETSSpec(y, m, spec, critLik)
		if fit == nil {
			continue
		}
		all = append(all, fit)
		if best == nil || fit.AICc < best.AICc { // ties keep the first, as forecast::ets
			best = fit
		}
	}
	if tried == 0 {
		return nil, fmt.Errorf("ets %s: no allowed model (additive errors with a multiplicative season are excluded, multiplicative components need positive data)", model)
	}
	if best == nil {
		return nil, fmt.Errorf("ets: %w: n=%d leaves no model with fewer than n-1 parameters (%d tried)", ErrTooShort, n, tried)
	}
	if len(notes) > 0 {
		best.Note = strings.Join(notes, "; ")
	}
	best.candidates = all
	return best, nil
}

type etsCandidates struct {
	errors, trends, seasons []byte
	damped                  []bool // for an additive trend
}

// specs lists the candidate models in forecast::ets's order (error, trend, season, then
// damped before undamped), which decides ties.
func (c etsCandidates) specs() []ETSSpec {
	var out []ETSSpec
	for _, e := range c.errors {
		for _, t := range c.trends {
			for _, s := range c.seasons {
				if t == 'N' {
					out = append(out, ETSSpec{Error: e, Trend: t, Season: s})
					continue
				}
				for _, d := range c.damped {
					out = append(out, ETSSpec{Error: e, Trend: t, Season: s, Damped: d})
				}
			}
		}
	}
	return out
}

// parseETSModel turns an R-style model string into the candidate components, in the order
// forecast::ets tries them (it keeps the first of equal AICc values).
func parseETSModel(model string) (etsCandidates, error) {
	if model == "" {
		model = "ZZZ"
	}
	bad := fmt.Errorf("ets model %q: want error [AMZ], trend [NAZ] or Ad, season [NAMZ], e.g. ZZZ, AAdN, MAM", model)
	if len(model) < 3 || len(model) > 4 {
		return etsCandidates{}, bad
	}
	var c etsCandidates
	switch model[0] {
	case 'A', 'M':
		c.errors = []byte{model[0]}
	case 'Z':
		c.errors = []byte{'A', 'M'}
	default:
		return c, bad
	}
	switch model[1 : len(model)-1] {
	case "N":
		c.trends = []byte{'N'}
	case "A":
		c.trends, c.damped = []byte{'A'}, []bool{false}
	case "Ad":
		c.trends, c.damped = []byte{'A'}, []bool{true}
	case "Z":
		c.trends, c.damped = []byte{'N', 'A'}, []bool{true, false}
	default:
		return c, bad
	}
	switch s := model[len(model)-1]; s {
	case 'N', 'A', 'M':
		c.seasons = []byte{s}
	case 'Z':
		c.seasons = []byte{'N', 'A', 'M'}
	default:
		return c, bad
	}
	return c, nil
}

func contains(bs []byte, b byte) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

// constantETS is forecast::ets's answer for a constant series: simple exponential smoothing
// with alpha = 0.99999 started at the first value; every residual and the variance are 0.
func constantETS(y []float64) *ETSModel {
	n := len(y)
	fit := &ETSModel{
		Spec:         ETSSpec{Error: 'A', Trend: 'N', Season: 'N'},
		M:            1,
		Alpha:        constantAlpha,
		Phi:          1,
		InitialState: []float64{y[0]},
		State:        []float64{y[0]},
		Fitted:       make([]float64, n),
		Residuals:    make([]float64, n),
		LogLik:       math.NaN(), // a perfect fit: no likelihood to report
		AIC:          math.NaN(),
		AICc:         math.NaN(),
		BIC:          math.NaN(),
		Note:         "constant series",
	}
	for i := range fit.Fitted {
		fit.Fitted[i] = y[0]
	}
	return fit
}

// etsProblem is one ETS model to be fitted to one series: the data, the model and scratch
// space for the recursions, so that evaluating the criterion allocates nothing.
type etsProblem struct {
	y        []float64
	spec     ETSSpec
	m        int // seasonal period in the recursions; 1 without a season
	crit     etsCriterion
	ring     []float64 // seasonal states as a ring: ring[pos] is s_m, the one used next
	scratch  []float64 // for the admissibility test
	trend    bool
	season   bool
	errMult  bool
	seasMult bool
}

// fitETSSpec estimates one model (forecast's etsmodel). It returns nil when the model cannot
// be fitted: too many parameters for n, or an infeasible starting point.
func fitETSSpec(y []float64, m int, spec ETSSpec, crit etsCriterion) *ETSModel {
	p := &etsProblem{
		y:        y,
		spec:     spec,
		m:        1,
		crit:     crit,
		trend:    spec.Trend != 'N',
		season:   spec.Season != 'N',
		errMult:  spec.Error == 'M',
		seasMult: spec.Season == 'M',
	}
	if p.season {
		p.m = m
	}
	p.ring = make([]float64, p.m)
	p.scratch = make([]float64, 3*(p.m+2))

	par := initParams(spec, p.m)
	state, err := initState(y, m, spec)
	if err != nil {
		return nil
	}
	par = append(par, state...)
	n := len(y)
	k := len(par)
	if k >= n-1 {
		return nil // forecast::etsmodel: "Not enough data to continue"
	}
	best, _, ok := nelderMead(p.objective, par, nmMaxEval)
	if !ok {
		return nil
	}
	return p.result(best)
}

// initParams returns forecast::ets's starting values (its initparam()): alpha a fifth of the
// way into its range divided by m, beta a tenth of the way to alpha, gamma 5% of the way to
// 1-alpha, phi 99% of the way to its upper bound.
func initParams(spec ETSSpec, m int) []float64 {
	lo, hi := etsLower, etsUpper
	alpha := lo[0] + 0.2*(hi[0]-lo[0])/float64(m)
	if alpha > 1 || alpha < 0 {
		alpha = lo[0] + 2e-3
	}
	par := []float64{alpha}
	if spec.Trend != 'N' {
		ub := math.Min(hi[1], alpha)
		beta := lo[1] + 0.1*(ub-lo[1])
		if beta < 0 || beta > alpha {
			beta = alpha - 1e-3
		}
		par = append(par, beta)
	}
	if spec.Season != 'N' {
		ub := math.Min(hi[2], 1-alpha)
		gamma := lo[2] + 0.05*(ub-lo[2])
		if gamma < 0 || gamma > 1-alpha {
			gamma = 1 - alpha - 1e-3
		}
		par = append(par, gamma)
	}
	if spec.Damped {
		phi := lo[3] + 0.99*(hi[3]-lo[3])
		if phi < 0 || phi > 1 {
			phi = hi[3] - 1e-3
		}
		par = append(par, phi)
	}
	return par
}

// initState is the classical heuristic for the initial states (Hyndman et al. 2008,
// sec. 2.6.1; forecast's initstate()): seasonal indices from a classical decomposition (a
// linear trend plus one Fourier pair when the series is shorter than three cycles); level
// and slope from a straight line fitted to the first max(10, 2m) seasonally adjusted values.
// It returns l0, b0 (with a trend) and s_1..s_{m-1} (most recent first); s_m is implied by
// the normalisation sum(s) = 0 (additive) or m (multiplicative).
func initState(y []float64, m int, spec ETSSpec) ([]float64, error) {
	n := len(y)
	ysa := y
	var seas []float64
	if spec.Season != 'N' {
		mult := spec.Season == 'M'
		var sc []float64 // seasonal component per observation
		switch {
		case n < 4:
			return nil, fmt.Errorf("ets: %w: %d observations", ErrTooShort, n)
		case n < 3*m:
			a, b, err := fourierTrendFit(y, m)
			if err != nil {
				return nil, err
			}
			sc = make([]float64, n)
			for i, v := range y {
				tr := a + b*float64(i+1)
				if mult {
					sc[i] = v / tr
				} else {
					sc[i] = v - tr
				}
			}
		default:
			var err error
			if sc, err = decompose(y, m, mult); err != nil {
				return nil, err
			}
		}
		// s_1..s_{m-1}: the seasonal values of observations m, m-1, ..., 2 (the state at
		// time 0 looks back one full cycle from the first observation).
		seas = make([]float64, m-1)
		for i := range seas {
			seas[i] = sc[m-1-i]
		}
		ysa = make([]float64, n)
		if mult {
			// Floor at 0.01: no negative or zero seasonal indices (forecast's initstate).
			sum := 0.0
			for i := range seas {
				seas[i] = math.Max(seas[i], 1e-2)
				sum += seas[i]
			}
			if sum > float64(m) {
				den := 0.0
				for _, s := range seas {
					den += s + 1e-2
				}
				for i := range seas {
					seas[i] /= den
				}
			}
			for i, v := range y {
				ysa[i] = v / math.Max(sc[i], 1e-2)
			}
		} else {
			for i, v := range y {
				ysa[i] = v - sc[i]
			}
		}
	}
	mm := 1
	if spec.Season != 'N' {
		mm = m
	}
	// First max(10, 2m) observations, as forecast's initstate.
	maxn := min(max(10, 2*mm), len(ysa))
	var st []float64
	if spec.Trend == 'N' {
		l0 := 0.0
		for _, v := range ysa[:maxn] {
			l0 += v
		}
		st = []float64{l0 / float64(maxn)}
	} else {
		a, b := lineFit(ysa[:maxn], 1)
		// With multiplicative errors l0 + b0 must not be 0; nudge by 0.1% as forecast does.
		if math.Abs(a+b) < 1e-8 {
			a *= 1 + 1e-3
			b *= 1 - 1e-3
		}
		st = []float64{a, b}
	}
	return append(st, seas...), nil
}

// unpack splits a parameter vector into the smoothing parameters and the initial states.
func (p *etsProblem) unpack(par []float64) (alpha, beta, gamma, phi float64, state []float64) {
	i := 0
	alpha = par[i]
	i++
	phi = 1
	if p.trend {
		beta = par[i]
		i++
	}
	if p.season {
		gamma = par[i]
		i++
	}
	if p.spec.Damped {
		phi = par[i]
		i++
	}
	return alpha, beta, gamma, phi, par[i:]
}

// loadState sets the level, slope and seasonal ring from the free initial states, adding the
// last seasonal state from the normalisation. It reports false for a multiplicative season
// with a negative index.
func (p *etsProblem) loadState(state []float64) (l, b float64, ok bool) {
	l = state[0]
	k := 1
	if p.trend {
		b = state[1]
		k = 2
	}
	if !p.season {
		return l, b, true
	}
	m := p.m
	free := state[k:] // s_1..s_{m-1}
	sum := 0.0
	for _, s := range free {
		sum += s
	}
	last := -sum
	if p.seasMult {
		last = float64(m) - sum
	}
	// ring[j] = s_{m-j}: ring[0] = s_m is used first.
	p.ring[0] = last
	for j := 1; j < m; j++ {
		p.ring[j] = free[m-1-j]
	}
	if p.seasMult {
		for _, s := range p.ring {
			if s < 0 {
				return l, b, false
			}
		}
	}
	return l, b, true
}

// paramsOK reports whether the smoothing parameters are inside the usual bounds and the
// admissible region (forecast::ets with bounds = "both").
func (p *etsProblem) paramsOK(alpha, beta, gamma, phi float64) bool {
	lo, hi := etsLower, etsUpper
	if alpha < lo[0] || alpha > hi[0] {
		return false
	}
	if p.trend && (beta < lo[1] || beta > alpha || beta > hi[1]) {
		return false
	}
	if p.spec.Damped && (phi < lo[3] || phi > hi[3]) {
		return false
	}
	if p.season && (gamma < lo[2] || gamma > 1-alpha || gamma > hi[2]) {
		return false
	}
	return admissible(alpha, beta, gamma, phi, p.m, p.trend, p.season, p.scratch)
}

// objective is the criterion minimised over the parameter vector
// (alpha, [beta], [gamma], [phi], l0, [b0], [s_1..s_{m-1}]).
func (p *etsProblem) objective(par []float64) float64 {
	for _, v := range par {
		if math.IsNaN(v) {
			return math.Inf(1)
		}
	}
	alpha, beta, gamma, phi, state := p.unpack(par)
	if !p.paramsOK(alpha, beta, gamma, phi) {
		return math.Inf(1)
	}
	l, b, ok := p.loadState(state)
	if !ok {
		return math.Inf(1)
	}
	sse, sumLog, sseY, _, _ := p.filter(alpha, beta, gamma, phi, l, b, nil, nil)
	if p.crit == critMSE {
		return sseY / float64(len(p.y))
	}
	return p.lik(sse, sumLog)
}

// lik is the likelihood criterion n log(sum e^2) + 2 sum log|mu_t|, floored at
// etsPerfectFit; NaN becomes +Inf.
func (p *etsProblem) lik(sse, sumLog float64) float64 {
	v := float64(len(p.y)) * math.Log(sse)
	if p.errMult {
		v += 2 * sumLog
	}
	if v < etsPerfectFit {
		v = etsPerfectFit
	}
	if math.IsNaN(v) {
		v = math.Inf(1)
	}
	return v
}

// filter runs the ETS recursions over the data from the state (l, b, p.ring) and returns the
// sum of squared innovations, the sum of log|mu_t|, the sum of squared one-step errors
// y_t - mu_t, and the final level and slope. fitted and resid, when not nil, receive mu_t and
// e_t, and then the final seasonal states are left in p.ring rotated so that ring[0] is again
// s_m (the objective does not need them and skips the rotation).
//
// With q_t = l_{t-1} + phi b_{t-1} the update is (forecast's etscalc.c, in terms of y_t):
//
//	l_t = q_t + alpha (p_t - q_t),   p_t = y_t, y_t - s_{t-m} or y_t / s_{t-m}
//	b_t = phi b_{t-1} + (beta/alpha) (l_t - l_{t-1} - phi b_{t-1})
//	s_t = s_{t-m} + gamma (y_t - q_t - s_{t-m})  or  s_{t-m} + gamma (y_t/q_t - s_{t-m})
func (p *etsProblem) filter(alpha, beta, gamma, phi, l, b float64, fitted, resid []float64) (sse, sumLog, sseY, lEnd, bEnd float64) {
	ring := p.ring
	m := p.m
	pos := 0
	ratio := beta / alpha
	// sum log|mu_t| is accumulated as a product kept in range by frexp: one log at the end
	// instead of one per observation (the log was a third of the fitting time).
	prod, exp2 := 1.0, 0
	for i, yt := range p.y {
		q, phib := l, 0.0
		if p.trend {
			phib = phi * b
			q = l + phib
		}
		var so, mu float64
		switch {
		case !p.season:
			mu = q
		case p.seasMult:
			so = ring[pos]
			mu = q * so
		default:
			so = ring[pos]
			mu = q + so
		}
		d := yt - mu
		e := d
		if p.errMult {
			e = d / mu
			prod *= math.Abs(mu)
			if prod > 0x1p500 || prod < 0x1p-500 {
				fr, ex := math.Frexp(prod)
				prod, exp2 = fr, exp2+ex
			}
		}
		sse += e * e
		sseY += d * d
		if fitted != nil {
			fitted[i] = mu
			resid[i] = e
		}
		pt := yt
		if p.season {
			if p.seasMult {
				if math.Abs(so) < etsTol {
					pt = etsHuge
				} else {
					pt = yt / so
				}
			} else {
				pt = yt - so
			}
		}
		ln := q + alpha*(pt-q)
		if p.trend {
			b = phib + ratio*((ln-l)-phib)
		}
		if p.season {
			var t float64
			if p.seasMult {
				if math.Abs(q) < etsTol {
					t = etsHuge
				} else {
					t = yt / q
				}
			} else {
				t = yt - q
			}
			ring[pos] = so + gamma*(t-so)
			pos++
			if pos == m {
				pos = 0
			}
		}
		l = ln
	}
	if fitted != nil && pos != 0 {
		rotate(ring, pos) // only the final pass needs the states in order
	}
	if p.errMult {
		sumLog = math.Log(prod) + float64(exp2)*math.Ln2
	}
	return sse, sumLog, sseY, l, b
}

// rotate shifts s left by k in place: s[i] = old s[(i+k) mod len(s)].
func rotate(s []float64, k int) {
	tmp := make([]float64, len(s))
	for i := range s {
		tmp[i] = s[(i+k)%len(s)]
	}
	copy(s, tmp)
}

// result re-runs the recursions at the optimum and fills in the fitted model.
func (p *etsProblem) result(par []float64) *ETSModel {
	n := len(p.y)
	alpha, beta, gamma, phi, state := p.unpack(par)
	l0, b0, _ := p.loadState(state)
	fit := &ETSModel{
		Spec:      p.spec,
		M:         p.m,
		Alpha:     alpha,
		Beta:      beta,
		Gamma:     gamma,
		Phi:       phi,
		Fitted:    make([]float64, n),
		Residuals: make([]float64, n),
	}
	fit.InitialState = p.stateVector(l0, b0)
	sse, sumLog, _, l, b := p.filter(alpha, beta, gamma, phi, l0, b0, fit.Fitted, fit.Residuals)
	fit.State = p.stateVector(l, b)

	lik := p.lik(sse, sumLog)
	k := len(par) // estimated parameters: smoothing parameters and free initial states
	np := float64(k + 1)
	nf := float64(n)
	fit.LogLik = -0.5 * lik
	fit.AIC = lik + 2*np
	fit.BIC = lik + math.Log(nf)*np
	fit.AICc = fit.AIC + 2*np*(np+1)/(nf-np-1)
	if nf-np-1 <= 0 {
		fit.AICc = math.Inf(1)
	}
	fit.Sigma2 = sse / float64(n-k)
	return fit
}

// stateVector returns (l, [b], s_1..s_m) from the level, slope and the seasonal ring.
func (p *etsProblem) stateVector(l, b float64) []float64 {
	x := []float64{l}
	if p.trend {
		x = append(x, b)
	}
	if p.season {
		// ring[0] = s_m (oldest) ... ring[m-1] = s_1 (most recent).
		for j := p.m - 1; j >= 0; j-- {
			x = append(x, p.ring[j])
		}
	}
	return x
}

// admissible reports whether the smoothing parameters give a forecastable model (Hyndman,
// Akram & Archibald 2008, "The admissible parameter space for exponential smoothing models",
// Ann. Inst. Stat. Math. 60:407-426): closed-form conditions without a season; with one, a
// few necessary conditions and then all roots of the characteristic polynomial
//
//	z^{m+1} + (a+b-phi) z^m + (a+b-a phi) (z^{m-1} + ... + z^2) + (a+b-a phi+g-1) z + phi(1-a-g)
//
// inside the unit circle (up to 1e-10, forecast's tolerance).
//
// scratch, if not nil, must hold 3(m+2) values and saves the allocations.
func admissible(alpha, beta, gamma, phi float64, m int, trend, season bool, scratch []float64) bool {
	if phi < 0 || phi > 1+1e-8 { // 1e-8: forecast's slack for phi = 1 in floating point
		return false
	}
	if !season {
		if alpha < 1-1/phi || alpha > 1+1/phi {
			return false
		}
		if trend && (beta < alpha*(phi-1) || beta > (1+phi)*(2-alpha)) {
			return false
		}
		return true
	}
	if m <= 1 {
		return true
	}
	if !trend {
		beta = 0
	}
	mf := float64(m)
	if gamma < math.Max(1-1/phi-alpha, 0) || gamma > 1+1/phi-alpha {
		return false
	}
	if alpha < 1-1/phi-gamma*(1-mf+phi+phi*mf)/(2*phi*mf) {
		return false
	}
	if beta < -(1-phi)*(gamma/mf+alpha) {
		return false
	}
	if len(scratch) < 3*(m+2) {
		scratch = make([]float64, 3*(m+2))
	}
	c := scratch[:m+2] // highest degree first
	c[0] = 1
	c[1] = alpha + beta - phi
	for i := 2; i < m; i++ {
		c[i] = alpha + beta - alpha*phi
	}
	c[m] = alpha + beta - alpha*phi + gamma - 1
	c[m+1] = phi * (1 - alpha - gamma)
	if !trend {
		// Without a trend (beta = 0, phi = 1) z = 1 is always a root: divide it out so the
		// stability test below does not sit on the boundary.
		c = deflateUnitRoot(c)
	}
	return rootsInsideBuf(c, 1+1e-10, scratch[m+2:])
}

// deflateUnitRoot divides the polynomial c (highest degree first) by (z - 1), dropping the
// remainder.
func deflateUnitRoot(c []float64) []float64 {
	q := c[:len(c)-1] // in place: q[i] only needs c[i] and q[i-1]
	q[0] = c[0]
	for i := 1; i < len(q); i++ {
		q[i] = c[i] + q[i-1]
	}
	return q
}

// rootsInside reports whether every root of the monic polynomial c (highest degree first)
// has modulus below r, by the Schur-Cohn (Jury) step-down recursion on the polynomial in
// z/r: a degree-d polynomial with constant term k has all roots inside the unit circle iff
// |k| < 1 and the degree d-1 polynomial (c_i - k c_{d-i}) / (1 - k^2) has too.
func rootsInside(c []float64, r float64) bool {
	return rootsInsideBuf(c, r, make([]float64, 2*len(c)))
}

// rootsInsideBuf is rootsInside with scratch space for 2*len(c) values.
func rootsInsideBuf(c []float64, r float64, scratch []float64) bool {
	d := len(c) - 1
	a := scratch[:d+1]
	scale := 1.0
	for i := range c {
		a[i] = c[i] / c[0] / scale
		scale *= r
	}
	tmp := scratch[d+1 : 2*(d+1)]
	for ; d > 0; d-- {
		k := a[d]
		if math.IsNaN(k) || math.Abs(k) >= 1 {
			return false
		}
		den := 1 - k*k
		for i := 1; i < d; i++ {
			tmp[i] = (a[i] - k*a[d-i]) / den
		}
		copy(a[1:d], tmp[1:d])
		a[0] = 1
	}
	return true
}

// checkSeries validates the input shared by every method.
func checkSeries(y []float64, m int) error {
	if len(y) == 0 {
		return errors.New("empty series")
	}
	if m < 1 {
		return fmt.Errorf("seasonal period m=%d: want m >= 1", m)
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("value %d is %v: want finite numbers", i+1, v)
		}
	}
	return nil
}
