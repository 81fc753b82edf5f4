package renewal

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/revcast/revcast/models/winprob"
)

// Contract is one contract term with its account's signals measured as of one date (for
// history: a fixed lead before the term's end; for scoring: the as-of date). Amounts are
// in the base currency.
type Contract struct {
	ID          string
	Account     string
	End         time.Time // end of the term
	AnnualValue float64   // expiring annual value
	// TenureYears is the account's age as a customer at the feature date.
	TenureYears float64
	// TermMonths is the term length (12 for annual plans; telco: 1, 12, 24).
	TermMonths float64
	// BookingsLastYear and BookingsYearBefore are the account's won non-renewal bookings in
	// the 365 days before the feature date and the 365 days before those (for telco: the
	// current and the average past annualised bill).
	BookingsLastYear, BookingsYearBefore float64
	// MeanDaysLate is the mean days late (payment - due, negative for early) of the
	// account's paid invoices before the feature date; LateShare the share paid after due.
	MeanDaysLate, LateShare float64
	// Cases and HighPriorityCases count the account's support cases opened in the 365 days
	// before the feature date (high priority: high or critical).
	Cases, HighPriorityCases int
	// ProductFamilies is the number of distinct product families the account has bought.
	ProductFamilies int
	AutoRenew       bool
	// RenewalDealOpen is true when the term's renewal opportunity was open at the feature
	// date; RenewalDealProbability is its CRM stage probability then (0-1; 1 once won, 0 once
	// lost or when there is no deal yet).
	RenewalDealOpen        bool
	RenewalDealProbability float64
	// Extra holds caller-defined features named by Options.ExtraNames (same length).
	Extra []float64

	// Outcome, for history rows: whether the term was renewed and the renewal's annual value.
	Renewed      bool
	RenewalValue float64
}

// Feature names, in the column order of Features (extras follow).
var FeatureNames = []string{
	"tenure_log_years", "term_months", "billing_trend", "late_score", "late_share",
	"cases_log", "high_priority_cases_log", "product_families", "auto_renew", "value_log",
	"renewal_deal_open", "renewal_deal_probability",
}

// Options controls Fit. The zero value gives the defaults.
type Options struct {
	// TrendOffset is c in the billing trend clamp(ln((B1 + c) / (B0 + c)), -1.5, 1.5): it
	// keeps small accounts from showing huge trends on small changes. 0 means 10,000 (about a
	// typical annual contract value in the synthetic company's base currency); set it to the
	// scale of your data.
	TrendOffset float64
	// Lambdas is the grid of ridge penalties tried (winprob.Options.Lambda); the one with
	// the smallest log-loss on the calibration fold is kept. Nil means {1e-4, 1e-3, 1e-2, 1e-1}.
	Lambdas []float64
	// CalibrationShare is the share of the history, latest End dates last, held out to pick
	// the penalty and fit the calibration. 0 means 0.25.
	CalibrationShare float64
	// Calibration is the calibration method; "" means Platt scaling.
	Calibration winprob.CalibrationMethod
	// ExtraNames names Contract.Extra's features.
	ExtraNames []string
	// TopFactors is the number of positive and of negative drivers per score; 0 means 3.
	TopFactors int
}

func (o Options) withDefaults() Options {
	if o.TrendOffset <= 0 {
		o.TrendOffset = 10_000
	}
	if o.Lambdas == nil {
		o.Lambdas = []float64{1e-4, 1e-3, 1e-2, 1e-1}
	}
	if o.CalibrationShare <= 0 || o.CalibrationShare >= 1 {
		o.CalibrationShare = 0.25
	}
	if o.Calibration == "" {
		o.Calibration = winprob.Platt
	}
	if o.TopFactors <= 0 {
		o.TopFactors = 3
	}
	return o
}

// Features returns the model's feature row for c (FeatureNames then opts.ExtraNames):
//
//	tenure_log_years        ln(1 + max(TenureYears, 0))
//	term_months             TermMonths
//	billing_trend           clamp(ln((B1 + c) / (B0 + c)), -1.5, 1.5),  c = TrendOffset
//	late_score              clamp(MeanDaysLate / 30, 0, 2)
//	late_share              LateShare
//	cases_log               ln(1 + Cases)
//	high_priority_cases_log ln(1 + HighPriorityCases)
//	product_families        ProductFamilies
//	auto_renew              1 if AutoRenew else 0
//	value_log               ln(1 + max(AnnualValue, 0))
//	renewal_deal_open       1 if RenewalDealOpen else 0
//	renewal_deal_probability RenewalDealProbability
//
// Logs of counts and of tenure because their effect on churn odds flattens (the first
// cases and the first years matter most), the usual choice in churn scoring (Neslin et al.
// 2006, "Defection detection", Journal of Marketing Research 43:204-211). It panics if
// len(c.Extra) differs from len(opts.ExtraNames).
func Features(c Contract, opts Options) []float64 {
	opts = opts.withDefaults()
	if len(c.Extra) != len(opts.ExtraNames) {
		panic(fmt.Sprintf("renewal: contract %s has %d extra features, options name %d", c.ID, len(c.Extra), len(opts.ExtraNames)))
	}
	b, open := 0.0, 0.0
	if c.AutoRenew {
		b = 1
	}
	if c.RenewalDealOpen {
		open = 1
	}
	trend := math.Log((math.Max(c.BookingsLastYear, 0) + opts.TrendOffset) / (math.Max(c.BookingsYearBefore, 0) + opts.TrendOffset))
	x := []float64{
		math.Log1p(math.Max(c.TenureYears, 0)),
		c.TermMonths,
		clamp(trend, -1.5, 1.5),
		clamp(c.MeanDaysLate/30, 0, 2),
		c.LateShare,
		math.Log1p(float64(max(c.Cases, 0))),
		math.Log1p(float64(max(c.HighPriorityCases, 0))),
		float64(c.ProductFamilies),
		b,
		math.Log1p(math.Max(c.AnnualValue, 0)),
		open,
		c.RenewalDealProbability,
	}
	return append(x, c.Extra...)
}

func clamp(x, lo, hi float64) float64 { return math.Min(math.Max(x, lo), hi) }

// Model is a fitted renewal model.
type Model struct {
	Logit *winprob.Model `json:"logit"`
	// RenewalRatio is sum(renewal value) / sum(expiring value) over the renewed history
	// terms: the expected expansion (> 1) or contraction (< 1) of a renewal.
	RenewalRatio float64 `json:"renewal_ratio"`
	// BaseRate is the history's renewal rate.
	BaseRate float64 `json:"base_rate"`
	// TrainRows and CalibrationRows are the sizes of the two folds; CalibrationFrom is the
	// earliest End in the calibration fold.
	TrainRows       int       `json:"train_rows"`
	CalibrationRows int       `json:"calibration_rows"`
	CalibrationFrom time.Time `json:"calibration_from"`
	// Lambda is the ridge penalty chosen by the calibration fold's log-loss.
	Lambda float64 `json:"lambda"`

	opts Options
}

// ErrTooFewOutcomes is returned when the history has too few renewals or churns to fit.
var ErrTooFewOutcomes = errors.New("renewal: the history needs renewed and churned terms in both folds")

// Fit estimates the renewal model on history terms with known outcomes:
//
//  1. sort by End (ties keep input order) and hold out the latest CalibrationShare as the
//     calibration fold, so the calibration is checked on terms that ended after those the
//     model learned from (a time-held-out fold);
//  2. for each penalty in Lambdas fit L2-regularised logistic regression of Renewed on
//     Features (winprob.Fit: P(renew) = sigma(b + sum_j w_j (x_j - mean_j) / sd_j)) on the
//     earlier terms, and keep the one with the smallest log-loss on the calibration fold;
//  3. calibrate its scores on the calibration fold (Platt by default; winprob.Calibrate);
//  4. RenewalRatio = sum(RenewalValue) / sum(AnnualValue) over all renewed terms (the ratio
//     estimator, Cochran 1977, "Sampling Techniques", 3rd ed., ch. 6).
//
// It returns ErrTooFewOutcomes when either fold lacks a renewal or a churn. It panics if a
// term's Extra does not match opts.ExtraNames.
func Fit(history []Contract, opts Options) (*Model, error) {
	opts = opts.withDefaults()
	idx := make([]int, len(history))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return history[idx[a]].End.Before(history[idx[b]].End) })
	nCal := int(math.Round(float64(len(idx)) * opts.CalibrationShare))
	nTrain := len(idx) - nCal
	names := append(append([]string(nil), FeatureNames...), opts.ExtraNames...)
	build := func(rows []int) winprob.Dataset {
		d := winprob.Dataset{Names: names, X: make([]float64, 0, len(rows)*len(names)), Y: make([]float64, len(rows))}
		for k, i := range rows {
			d.X = append(d.X, Features(history[i], opts)...)
			if history[i].Renewed {
				d.Y[k] = 1
			}
		}
		return d
	}
	train, cal := build(idx[:nTrain]), build(idx[nTrain:])
	if !bothClasses(train.Y) || !bothClasses(cal.Y) {
		return nil, ErrTooFewOutcomes
	}
	m := &Model{TrainRows: nTrain, CalibrationRows: nCal, CalibrationFrom: history[idx[nTrain]].End, opts: opts}
	best := math.Inf(1)
	for _, lambda := range opts.Lambdas {
		lm, err := winprob.Fit(train, winprob.Options{Lambda: lambda})
		if err != nil {
			return nil, fmt.Errorf("renewal: fit (lambda %g): %w", lambda, err)
		}
		ll := winprob.LogLoss(lm.PredictAll(cal.X, nil), cal.Y, nil)
		if ll < best {
			best, m.Logit, m.Lambda = ll, lm, lambda
		}
	}
	if err := m.calibrate(cal); err != nil {
		return nil, err
	}
	var ren, exp, won float64
	for _, c := range history {
		if c.Renewed {
			won++
			if c.AnnualValue > 0 && c.RenewalValue > 0 {
				ren += c.RenewalValue
				exp += c.AnnualValue
			}
		}
	}
	m.BaseRate = won / float64(len(history))
	m.RenewalRatio = 1
	if exp > 0 {
		m.RenewalRatio = ren / exp
	}
	return m, nil
}

// calibrate fits the calibration map on the calibration fold. winprob.FitPlatt's Newton
// solver stops on an absolute gradient threshold of 1e-10 * n, which rounding can keep it
// from reaching on a few hundred rows even at the optimum. Its backtracking line search only
// accepts steps that lower Platt's objective, so when it reports non-convergence its (A, B)
// still improve on the starting point; they are kept if finite.
func (m *Model) calibrate(cal winprob.Dataset) error {
	err := m.Logit.Calibrate(cal, m.opts.Calibration)
	if err == nil {
		return nil
	}
	if m.opts.Calibration != winprob.Platt || errors.Is(err, winprob.ErrOneClass) {
		return fmt.Errorf("renewal: calibrate: %w", err)
	}
	a, b, perr := winprob.FitPlatt(m.Logit.LogitAll(cal.X, nil), cal.Y, cal.Weights)
	if math.IsNaN(a) || math.IsInf(a, 0) || math.IsNaN(b) || math.IsInf(b, 0) {
		return fmt.Errorf("renewal: calibrate: %w", perr)
	}
	m.Logit.Calibration = winprob.Calibration{Method: winprob.Platt, A: a, B: b}
	return nil
}

func bothClasses(y []float64) bool {
	var pos, neg bool
	for _, v := range y {
		pos = pos || v == 1
		neg = neg || v == 0
	}
	return pos && neg
}

// Score is one contract's renewal forecast.
type Score struct {
	ID          string    `json:"contract_id"`
	Account     string    `json:"account_id"`
	End         time.Time `json:"end_date"`
	AnnualValue float64   `json:"annual_value_base"`
	// PRenew is the calibrated probability of renewal.
	PRenew float64 `json:"p_renew"`
	// ExpectedRenewal = PRenew * AnnualValue * RenewalRatio.
	ExpectedRenewal float64 `json:"expected_renewal_base"`
	// Drivers are the largest contributions to the score's logit (winprob.Model.Explain):
	// positive ones raise the renewal odds, negative ones are churn-risk drivers.
	Drivers winprob.Explanation `json:"drivers"`
}

// Score returns the renewal forecast of each contract, in input order. It panics if a
// contract's Extra does not match the options the model was fitted with.
func (m *Model) Score(contracts []Contract) []Score {
	out := make([]Score, len(contracts))
	for i, c := range contracts {
		x := Features(c, m.opts)
		p := m.Logit.Predict(x)
		out[i] = Score{ID: c.ID, Account: c.Account, End: c.End, AnnualValue: c.AnnualValue, PRenew: p,
			ExpectedRenewal: p * c.AnnualValue * m.RenewalRatio, Drivers: m.Logit.Explain(x, m.opts.TopFactors)}
	}
	return out
}

// Predict returns the calibrated renewal probability of each contract.
func (m *Model) Predict(contracts []Contract) []float64 {
	p := make([]float64, len(contracts))
	for i, c := range contracts {
		p[i] = m.Logit.Predict(Features(c, m.opts))
	}
	return p
}

// Metrics are the scores of renewal probabilities against outcomes.
type Metrics struct {
	N     int     `json:"n"`
	Rate  float64 `json:"renewal_rate"`
	AUC   float64 `json:"auc"`   // winprob.AUC: P(a renewal scores above a churn)
	Brier float64 `json:"brier"` // winprob.Brier: mean (p - y)^2
	// LogLoss is winprob.LogLoss; ECE the expected calibration error over 10 equal-width
	// bins (winprob.ECE).
	LogLoss float64 `json:"log_loss"`
	ECE     float64 `json:"ece"`
}

// Evaluate scores probabilities p against outcomes renewed (1 = renewed). It panics if the
// lengths differ.
func Evaluate(p []float64, renewed []bool) Metrics {
	if len(p) != len(renewed) {
		panic("renewal: Evaluate: slice lengths differ")
	}
	y := make([]float64, len(p))
	for i, r := range renewed {
		if r {
			y[i] = 1
		}
	}
	mt := Metrics{N: len(p), AUC: winprob.AUC(p, y, nil), Brier: winprob.Brier(p, y, nil), LogLoss: winprob.LogLoss(p, y, nil)}
	for _, v := range y {
		mt.Rate += v
	}
	if len(y) > 0 {
		mt.Rate /= float64(len(y))
		mt.ECE = winprob.ECE(p, y, nil, 10)
	}
	return mt
}

// GroupRate is a baseline: the history's renewal rate per group (for example the contract
// type, or the auto-renew flag), with unseen groups at the overall rate. It returns the
// baseline's probability for each of the scored groups.
func GroupRate(historyGroups []string, historyRenewed []bool, groups []string) []float64 {
	if len(historyGroups) != len(historyRenewed) {
		panic("renewal: GroupRate: slice lengths differ")
	}
	n, k := map[string]float64{}, map[string]float64{}
	all, won := 0.0, 0.0
	for i, g := range historyGroups {
		n[g]++
		all++
		if historyRenewed[i] {
			k[g]++
			won++
		}
	}
	out := make([]float64, len(groups))
	for i, g := range groups {
		if n[g] > 0 {
			out[i] = k[g] / n[g]
		} else if all > 0 {
			out[i] = won / all
		}
	}
	return out
}
