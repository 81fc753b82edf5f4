package forecast

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"

	"github.com/revcast/revcast/models/winprob"
)

// Version names the model family; it is stored with every run.
const Version = "revcast-forecast/1 (winprob L2 logistic + Platt; close-by logistic + Platt; supply/credit factors)"

// Options controls Fit. The zero value gives the defaults documented on each field.
type Options struct {
	Features FeatureSet `json:"features"`
	// Lambda is the ridge penalty of both logistic models (winprob.Options.Lambda, on
	// standardised coefficients, loss averaged over rows). Zero means max(1e-4, 3 / rows):
	// light at scale, a Normal(0, 0.6^2)-like prior per standardised coefficient on small data.
	Lambda float64 `json:"lambda"`
	// WindowDays: training snapshots are taken at most this many days before the as-of
	// date. Zero means 730.
	WindowDays int `json:"window_days"`
	// LagDays: win-model training snapshots are at least this many days before the as-of
	// date, so that most of the deals open then have closed (the label must be known at
	// as-of; deals still open are left out, which favours fast closers if the lag is short).
	// Zero means 90.
	LagDays int `json:"lag_days"`
	// CalibrationShare is the share of the latest training snapshot dates held out to fit
	// the Platt calibration and the supply and credit factors. Zero means 0.25.
	CalibrationShare float64 `json:"calibration_share"`
	// MaxWinRows and MaxCloseRows cap the training rows of the two models; larger data is
	// subsampled deterministically by a hash of the opportunity id. Zero means 400,000 and
	// 300,000.
	MaxWinRows   int `json:"max_win_rows"`
	MaxCloseRows int `json:"max_close_rows"`
	// AmountWeight is the exponent alpha of the close-by model's row weights
	// (amount / median amount)^alpha, clamped to [0.02, 50]: the forecast is a sum of
	// amounts, so weighting the likelihood by amount aligns the fit with what is forecast
	// where the model is misspecified. Zero means unweighted.
	AmountWeight float64 `json:"amount_weight"`
}

func (o Options) withDefaults() Options {
	if o.WindowDays == 0 {
		o.WindowDays = 730
	}
	if o.LagDays == 0 {
		o.LagDays = 90
	}
	if o.CalibrationShare == 0 {
		o.CalibrationShare = 0.25
	}
	if o.MaxWinRows == 0 {
		o.MaxWinRows = 400_000
	}
	if o.MaxCloseRows == 0 {
		o.MaxCloseRows = 300_000
	}
	return o
}

// Model is the fitted forecast: the win model, the close-by model and the adjustment
// factors. Exported fields are stored with the run (forecast_runs.params).
type Model struct {
	AsOf    Day            `json:"as_of"`
	Options Options        `json:"options"`
	Encoder *Encoder       `json:"encoder"`
	Win     *winprob.Model `json:"win"`
	Close   *winprob.Model `json:"close"`
	Stages  []string       `json:"close_stages"` // stage vocabulary of the close-by model
	// SupplyFactor multiplies the in-period probability of deals with constrained lines
	// (ShortShare > 0); CreditFactor the booking probability of deals whose account is on
	// credit alert (CreditAlert). Both are fitted on the held-out fold as
	// (sum y + k) / (sum p + k), k = 5 (shrinkage toward 1): observed over predicted bookings
	// of the flagged deals. The credit factor is clamped to [0.25, 1] (a discount, as credit
	// holds only ever cost bookings); the supply factor to [0.25, 1.5], because it corrects
	// the close-by model's timing of short deals in either direction (measured above 1 at
	// some fits: the shortage features over-penalise). 1 means the models already price the
	// signal in. A supply factor above 1 scales the in-period probability, capped at 1.
	SupplyFactor float64 `json:"supply_factor"`
	CreditFactor float64 `json:"credit_factor"`
	// CommonShock is tau^2, the relative variance of a shock common to all open deals
	// (see fitCommonShock); Forecast widens each interval by it.
	CommonShock float64 `json:"common_shock"`
	// CategoryRate is the win rate of each forecast category in the training snapshots
	// (Laplace-smoothed): the rep-category baseline's probability.
	CategoryRate map[string]float64 `json:"category_rate"`
	Metrics      FitMetrics         `json:"metrics"`
}

// FitMetrics describes the training data and the held-out fold.
type FitMetrics struct {
	WinRows              int     `json:"win_rows"`
	WinCalibrationRows   int     `json:"win_calibration_rows"`
	CloseRows            int     `json:"close_rows"`
	CloseCalibrationRows int     `json:"close_calibration_rows"`
	TrainFrom            Day     `json:"train_from"`
	TrainTo              Day     `json:"train_to"`
	CalibrationFrom      Day     `json:"calibration_from"`
	HeldOutBrier         float64 `json:"held_out_brier"`
	HeldOutAUC           float64 `json:"held_out_auc"`
	HeldOutLogLoss       float64 `json:"held_out_log_loss"`
	HeldOutECE           float64 `json:"held_out_ece"`
	CloseHeldOutBrier    float64 `json:"close_held_out_brier"`
	SupplyRows           int     `json:"supply_rows"`
	CreditRows           int     `json:"credit_rows"`
	CommonShockDays      int     `json:"common_shock_days"`
	CalibrationNote      string  `json:"calibration_note,omitempty"`
}

// ErrNoTrainingData is returned when no snapshot qualifies for training.
var ErrNoTrainingData = errors.New("forecast: no training snapshots (need opportunities closed before the as-of date, snapshotted at least LagDays earlier)")

func hashID(id string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()
}

// Fit fits the models as of day asOf from snapshots and outcomes, using only what was
// known before asOf: snapshots taken before asOf, and outcomes of deals that closed before
// asOf (Outcome.Closed(asOf)). Snapshots at or after asOf are ignored, so one frame of
// snapshots can serve every origin of a backtest.
//
// Win model: L2 logistic regression (winprob.Fit) of "closed won" on the Encoder's
// features, over snapshots in [asOf - WindowDays, asOf - LagDays] of deals closed before
// asOf. The latest CalibrationShare of those snapshot dates is held out (a split by time,
// not at random) and Platt scaling is fitted on it.
//
// Close-by model: P(won by e | open at s) for month ends e after s, a second logistic
// regression over rows (snapshot s in [asOf - WindowDays, asOf), horizon e < asOf, e one of
// the month ends 0, 1, 2, 3, 5, 8, 11 months on): the label "won on or before e" is known
// for every such row, whether or not the deal has closed by asOf, so this model has no
// censoring bias. Its features are the win model's logit z and log sigma(z) (so that for
// short horizons it can act as p_win times a timing factor), ln(horizon days) and its
// square, whether the CRM close date falls by e, the gap between e and the close date, the
// stage (alone and crossed with those two), pushes, slips, past-due status and time in
// stage, and with Supply the shortage shares (alone and crossed). Rows whose horizon end
// falls in the latest CalibrationShare of time are held out: they measure the model
// (Metrics.CloseHeldOutBrier) and fit the supply factor; the close-by model is not
// recalibrated (see fitClose).
//
// Only snapshots on the TrainingDays(asOf, WindowDays) grid are used, so the fit depends on
// asOf and the data alone, not on which other days snaps happens to hold.
func Fit(snaps []Snapshot, outcomes []Outcome, asOf Day, opts Options) (*Model, error) {
	opts = opts.withDefaults()
	// The outcomes of the snapshotted deals only: a training frame sampled at large scale
	// holds a fraction of every opportunity (a map of all 2M at twice the large company's
	// size cost some 0.1 GB).
	out := map[string]*Outcome{}
	for i := range snaps {
		out[snaps[i].Deal.OpportunityID] = nil
	}
	for i := range outcomes {
		if _, ok := out[outcomes[i].OpportunityID]; ok {
			out[outcomes[i].OpportunityID] = &outcomes[i]
		}
	}
	from := asOf - Day(opts.WindowDays)
	lagTo := asOf - Day(opts.LagDays)
	// Only the TrainingDays grid trains, whatever other days snaps holds (a backtest's
	// frame holds its weekly origins too): the fit then depends on asOf alone, and a
	// backtest fits exactly what the live forecast would have fitted on that day.
	grid := map[Day]bool{}
	for _, d := range TrainingDays(asOf, opts.WindowDays) {
		grid[d] = true
	}

	// Win rows: grid snapshots in [from, lagTo] of deals closed before asOf. The deals
	// still open at asOf are left out (their label is unknown); they are the slow ones, more
	// often winners waiting for a distant close date than losers, so the fit leans slightly
	// low for long-cycle deals — LagDays keeps that share small. (Labelling them with the
	// model's own probability at asOf was tried: it lowered the backtest's quarter error a
	// little but worsened the Brier score and calibration, so it is not done.)
	var winIdx []int
	for i := range snaps {
		s := &snaps[i]
		if s.Day < from || s.Day > lagTo || !grid[s.Day] {
			continue
		}
		if o := out[s.OpportunityID]; o != nil && o.Closed(asOf) {
			winIdx = append(winIdx, i)
		}
	}
	if len(winIdx) == 0 {
		return nil, ErrNoTrainingData
	}
	winIdx = subsample(snaps, winIdx, opts.MaxWinRows)
	train := make([]*Snapshot, 0, len(winIdx))
	for _, i := range winIdx {
		train = append(train, &snaps[i])
	}
	enc := newEncoder(train, opts.Features)
	m := &Model{AsOf: asOf, Options: opts, Encoder: enc, SupplyFactor: 1, CreditFactor: 1}

	days := make([]Day, 0)
	for _, s := range train {
		days = append(days, s.Day)
	}
	slices.Sort(days)
	days = slices.Compact(days)
	split := days[len(days)-max(1, int(math.Round(float64(len(days))*opts.CalibrationShare)))]
	if len(days) == 1 {
		split = days[0] + 1 // one date: no held-out fold
	}
	m.Metrics.TrainFrom, m.Metrics.TrainTo, m.Metrics.CalibrationFrom = days[0], days[len(days)-1], split
	win, _, _, err := m.fitWin(train, func(s *Snapshot) float64 { return b2f(out[s.OpportunityID].Won) }, split)
	if err != nil {
		return nil, err
	}
	m.Win = win

	// Forecast-category baseline rates.
	cw, cn := map[string]float64{}, map[string]float64{}
	for _, s := range train {
		c := s.ForecastCategory
		cn[c]++
		cw[c] += b2f(out[s.OpportunityID].Won)
	}
	m.CategoryRate = map[string]float64{}
	for c, n := range cn {
		m.CategoryRate[c] = (cw[c] + 1) / (n + 2)
	}

	if err := m.fitClose(snaps, grid, out, from, asOf); err != nil {
		return nil, err
	}
	m.fitCommonShock(snaps, grid, out, from, asOf)
	return m, nil
}

// fitCommonShock estimates CommonShock, the relative variance tau^2 of a shock shared by
// all open deals, from the snapshot days d >= from whose calendar quarter ended before
// asOf (in-sample for most days: with some 80 coefficients fitted on tens of thousands of
// deals, a fit absorbs almost none of a quarter's common deviation, and the whole window
// holds several quarters where the held-out fold holds one or two). For each such day, with q_i = F_i(quarter end) from the fitted models, y_i = 1 if
// deal i closed won by the quarter end and a_i its amount:
//
//	R_d = sum_i a_i (y_i - q_i),  V_d = sum_i a_i^2 q_i (1 - q_i),  mu_d = sum_i a_i q_i
//	tau^2 = max(0, mean_d {(R_d^2 - V_d) / mu_d^2})
//
// the method-of-moments estimate of Var(B) = V + tau^2 mu^2 (a beta-binomial-like
// overdispersion: McCullagh & Nelder 1989, "Generalized Linear Models", 2nd ed., section
// 4.5; Williams 1982, "Extra-binomial variation in logistic linear models", Applied
// Statistics 31:144-148). Independent Bernoulli outcomes give tau^2 = 0; errors common to
// every deal (coefficients estimated with error, drift since the fit) give tau^2 > 0.
func (m *Model) fitCommonShock(snaps []Snapshot, grid map[Day]bool, out map[string]*Outcome, split, asOf Day) {
	cal := Calendar{}
	byDay := map[Day][]int{}
	for i := range snaps {
		s := &snaps[i]
		if s.Day < split || s.Day >= asOf || !grid[s.Day] {
			continue
		}
		if cal.Quarter(s.Day).End >= asOf || out[s.OpportunityID] == nil {
			continue
		}
		byDay[s.Day] = append(byDay[s.Day], i)
	}
	days := make([]Day, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	slices.Sort(days)
	// At most 60 days, evenly spaced: neighbouring days share most deals and add little.
	if len(days) > 60 {
		keep := make([]Day, 0, 60)
		for k := 0; k < 60; k++ {
			keep = append(keep, days[k*len(days)/60])
		}
		days = keep
	}
	sum, n := 0.0, 0
	qBuf, xBuf := make([]float64, 1), make([]float64, len(m.Close.Names))
	for _, d := range days {
		idx := byDay[d]
		// At most 20,000 deals a day (by a hash of the id): tau^2 is a relative variance,
		// the same for any subset of the deals a common shock hits.
		if len(idx) > 20_000 {
			k := uint32((len(idx) + 19_999) / 20_000)
			sub := idx[:0:0]
			for _, i := range idx {
				if hashID(snaps[i].OpportunityID)%k == 0 {
					sub = append(sub, i)
				}
			}
			idx = sub
		}
		day := make([]Snapshot, len(idx))
		for k, i := range idx {
			day[k] = snaps[i]
		}
		e := cal.Quarter(d).End
		sc := m.score(day, false)
		var R, V, mu float64
		ends := []Day{e}
		for k := range day {
			s := &day[k]
			q := m.closeBy(s, sc[k].Logit, sc[k].PWin, ends, qBuf, xBuf)[0]
			o := out[s.OpportunityID]
			y := b2f(o.Won && o.ClosedDay != 0 && o.ClosedDay <= e)
			R += s.Amount * (y - q)
			V += s.Amount * s.Amount * q * (1 - q)
			mu += s.Amount * q
		}
		if mu > 0 {
			sum += (R*R - V) / (mu * mu)
			n++
		}
	}
	if n > 0 {
		m.CommonShock = math.Max(0, sum/float64(n))
	}
	m.Metrics.CommonShockDays = n
}

// fitWin fits and calibrates the win model on train with the given labels, holding out the
// snapshots on or after split, and fills the held-out metrics and the credit factor.
func (m *Model) fitWin(train []*Snapshot, label func(*Snapshot) float64, split Day) (*winprob.Model, winprob.Dataset, winprob.Dataset, error) {
	enc, opts := m.Encoder, m.Options
	p := enc.Width()
	fitD := winprob.Dataset{Names: enc.Names}
	calD := winprob.Dataset{Names: enc.Names}
	nCal := 0
	for _, s := range train {
		if s.Day >= split {
			nCal++
		}
	}
	fitD.X, fitD.Y = make([]float64, 0, (len(train)-nCal)*p), make([]float64, 0, len(train)-nCal)
	calD.X, calD.Y = make([]float64, 0, nCal*p), make([]float64, 0, nCal)
	row := make([]float64, p)
	var calRows []*Snapshot
	for _, s := range train {
		enc.Encode(s, row)
		y := label(s)
		if s.Day >= split {
			calD.X = append(calD.X, row...)
			calD.Y = append(calD.Y, y)
			calRows = append(calRows, s)
		} else {
			fitD.X = append(fitD.X, row...)
			fitD.Y = append(fitD.Y, y)
		}
	}
	if fitD.Rows() == 0 {
		fitD, calD, calRows = calD, winprob.Dataset{Names: enc.Names}, nil
	}
	win, err := winprob.Fit(fitD, winprob.Options{Lambda: lambdaFor(opts.Lambda, fitD.Rows()), GradTol: 1e-5, MaxIter: 2000})
	if err != nil && !errors.Is(err, winprob.ErrNotConverged) {
		return nil, fitD, calD, fmt.Errorf("forecast: win model: %w", err)
	}
	m.Metrics.WinRows, m.Metrics.WinCalibrationRows = fitD.Rows(), calD.Rows()
	m.Metrics.CalibrationNote = ""
	if calD.Rows() == 0 {
		return win, fitD, calD, nil
	}
	if err := win.Calibrate(calD, winprob.Platt); err != nil {
		// Too little or one-sided held-out data: keep the model's own probabilities.
		m.Metrics.CalibrationNote = "win model left uncalibrated: " + err.Error()
	}
	pc := win.PredictAll(calD.X, nil)
	m.Metrics.HeldOutBrier = winprob.Brier(pc, calD.Y, nil)
	m.Metrics.HeldOutAUC = winprob.AUC(pc, calD.Y, nil)
	m.Metrics.HeldOutLogLoss = winprob.LogLoss(pc, calD.Y, nil)
	m.Metrics.HeldOutECE = winprob.ECE(pc, calD.Y, nil, 10)
	// Credit factor on the held-out fold.
	var sy, sp float64
	k := 0
	for j, s := range calRows {
		if opts.Features.Credit && CreditAlert(s) {
			sy += calD.Y[j]
			sp += pc[j]
			k++
		}
	}
	m.CreditFactor = 1
	if k > 0 {
		m.CreditFactor = clamp((sy+5)/(sp+5), 0.25, 1)
	}
	m.Metrics.CreditRows = k
	return win, fitD, calD, nil
}

// lambdaFor returns the ridge penalty: lambda if set, else max(1e-4, 3 / rows).
func lambdaFor(lambda float64, rows int) float64 {
	if lambda > 0 {
		return lambda
	}
	return math.Max(1e-4, 3/math.Max(float64(rows), 1))
}

// subsample keeps at most max of the rows idx, by a hash of the opportunity id (so a deal
// is kept or dropped at every date together).
func subsample(snaps []Snapshot, idx []int, maxRows int) []int {
	if len(idx) <= maxRows {
		return idx
	}
	k := uint32((len(idx) + maxRows - 1) / maxRows)
	out := idx[:0:0]
	for _, i := range idx {
		if hashID(snaps[i].OpportunityID)%k == 0 {
			out = append(out, i)
		}
	}
	return out
}

// closeNames returns the close-by model's feature names.
func (m *Model) closeNames() []string {
	n := []string{"win_logit", "ln_p_win", "ln_h", "ln_h_sq", "close_ahead_in", "gap_months", "months_to_close",
		"past_due", "past_due_ln_h", "pushes", "pushes_close_ahead_in", "slips", "slips_ln_h",
		"ln_days_in_stage", "ln_days_in_stage_close_ahead_in", "close_ahead_in*ln_h",
		"ln_pace", "ln_pace*close_ahead_in", "ln_pace*ln_h", "ln_amount", "ln_amount*close_ahead_in"}
	for _, s := range m.Stages[min(1, len(m.Stages)):] {
		n = append(n, "stage="+s, "stage="+s+"*close_ahead_in", "stage="+s+"*ln_h", "stage="+s+"*past_due",
			"stage="+s+"*close_ahead_in*ln_h", "stage="+s+"*close_ahead_in*months_to_close",
			"stage="+s+"*close_ahead_in*gap_months")
	}
	if m.Options.Features.Supply {
		n = append(n, "short_share", "short_share*close_ahead_in", "uncovered_share*close_ahead_in")
	}
	return n
}

// encodeClose writes the close-by features of snapshot s for horizon end e (the deal
// closes won on or before day e), given the win model's uncalibrated logit z:
//
//	ln_h = ln(e - s.Day + 1); close_ahead_in = 1 if s.Day <= close date <= e;
//	past_due = 1 if close date < s.Day; gap_months = clamp((e - close date) / 30, -6, 6);
//	months_to_close = clamp((close date - s.Day) / 30, -3, 12); ln_pace = ln of the pace
//	of the Encoder; per stage, crossed with close_ahead_in: ln_h, months to the close date
//	and months of slack after it (both clamped to [0, 6]).
func (m *Model) encodeClose(s *Snapshot, e Day, z float64, dst []float64) {
	k := 0
	put := func(v float64) { dst[k] = v; k++ }
	h := math.Log(float64(e-s.Day) + 1)
	in := b2f(s.CloseDate >= s.Day && s.CloseDate <= e)
	pd := b2f(s.CloseDate < s.Day)
	put(z)
	put(-math.Log1p(math.Exp(-z)))
	put(h)
	put(h * h / 10)
	put(in)
	put(clamp(float64(e-s.CloseDate)/30, -6, 6))
	put(clamp(float64(s.CloseDate-s.Day)/30, -3, 12))
	put(pd)
	put(pd * h)
	put(float64(s.Pushes))
	put(float64(s.Pushes) * in)
	put(float64(s.Slips))
	put(float64(s.Slips) * h)
	ld := math.Log1p(math.Max(s.DaysInStage, 0))
	put(ld)
	put(ld * in)
	put(in * h)
	lp := math.Log(clamp(90/PlannedCycle(s), 0.25, 4))
	put(lp)
	put(lp * in)
	put(lp * h)
	la := math.Log(math.Max(s.Amount, 1))
	put(la)
	put(la * in)
	toClose := clamp(float64(s.CloseDate-s.Day)/30, 0, 6)
	gap := clamp(float64(e-s.CloseDate)/30, 0, 6)
	for _, st := range m.Stages[min(1, len(m.Stages)):] {
		v := b2f(s.Stage == st)
		put(v)
		put(v * in)
		put(v * h)
		put(v * pd)
		put(v * in * h)
		put(v * in * toClose)
		put(v * in * gap)
	}
	if m.Options.Features.Supply {
		put(s.ShortShare)
		put(s.ShortShare * in)
		put(s.UncoveredShare * in)
	}
}

// closeEnds returns the horizon ends of the close-by model's training rows for a snapshot
// on day d: d itself, d + 6, and the month ends 0, 1, 2, 3, 5, 8 and 11 months on.
func closeEnds(d Day) []Day {
	me := monthEndsAfter(d, 12)
	out := []Day{d, d + 6}
	for _, h := range []int{0, 1, 2, 3, 5, 8, 11} {
		out = append(out, me[h])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (m *Model) fitClose(snaps []Snapshot, grid map[Day]bool, out map[string]*Outcome, from, asOf Day) error {
	m.Stages = m.Encoder.Stages
	names := m.closeNames()
	var idx []int
	for i := range snaps {
		if s := &snaps[i]; s.Day >= from && s.Day < asOf && grid[s.Day] && out[s.OpportunityID] != nil {
			idx = append(idx, i)
		}
	}
	// Each snapshot yields up to 9 rows: subsample snapshots accordingly. Rows whose
	// horizon is a week or less and holds the CRM close date are kept for every snapshot:
	// they are few and carry the "closes on its close date" signal. (Selecting rows on a
	// covariate leaves a conditional model unbiased.)
	keep := map[int]bool{}
	for _, i := range subsample(snaps, idx, max(1, m.Options.MaxCloseRows/6)) {
		keep[i] = true
	}
	type hrow struct {
		i int
		e Day
	}
	var rows []hrow
	endsOf := map[Day][]Day{} // closeEnds depends on the day alone: once per snapshot date
	for _, i := range idx {
		s := &snaps[i]
		ends, ok := endsOf[s.Day]
		if !ok {
			ends = closeEnds(s.Day)
			endsOf[s.Day] = ends
		}
		for _, e := range ends {
			if e >= asOf {
				continue
			}
			if keep[i] || (e-s.Day <= 6 && s.CloseDate >= s.Day && s.CloseDate <= e) {
				rows = append(rows, hrow{i, e})
			}
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("forecast: close-by model: %w", ErrNoTrainingData)
	}
	// Held-out fold: the latest horizon ends, about CalibrationShare of the rows.
	ends := make([]Day, len(rows))
	for k, r := range rows {
		ends[k] = r.e
	}
	slices.Sort(ends)
	split := ends[min(len(ends)-1, int(float64(len(ends))*(1-m.Options.CalibrationShare)))]
	if split == ends[0] {
		split = ends[len(ends)-1] + 1
	}

	p := len(names)
	xw := make([]float64, m.Encoder.Width())
	nCal := 0
	for _, r := range rows {
		if r.e >= split {
			nCal++
		}
	}
	fitD := winprob.Dataset{Names: names, X: make([]float64, 0, (len(rows)-nCal)*p), Y: make([]float64, 0, len(rows)-nCal)}
	calD := winprob.Dataset{Names: names, X: make([]float64, 0, nCal*p), Y: make([]float64, 0, nCal)}
	var calRows []hrow
	x := make([]float64, p)
	zCache := map[int]float64{}
	amounts := make([]float64, 0, len(idx))
	for _, i := range idx {
		amounts = append(amounts, snaps[i].Amount)
	}
	slices.Sort(amounts)
	medAmount := math.Max(amounts[len(amounts)/2], 1)
	for _, r := range rows {
		s := &snaps[r.i]
		z, ok := zCache[r.i]
		if !ok {
			m.Encoder.Encode(s, xw)
			z = m.Win.Logit(xw)
			zCache[r.i] = z
		}
		m.encodeClose(s, r.e, z, x)
		o := out[s.OpportunityID]
		y := b2f(o.Won && o.ClosedDay != 0 && o.ClosedDay <= r.e)
		wt := 1.0
		if m.Options.AmountWeight > 0 {
			wt = clamp(math.Pow(math.Max(s.Amount, 1)/medAmount, m.Options.AmountWeight), 0.02, 50)
		}
		if r.e >= split {
			calD.X = append(calD.X, x...)
			calD.Y = append(calD.Y, y)
			if m.Options.AmountWeight > 0 {
				calD.Weights = append(calD.Weights, wt)
			}
			calRows = append(calRows, r)
		} else {
			fitD.X = append(fitD.X, x...)
			fitD.Y = append(fitD.Y, y)
			if m.Options.AmountWeight > 0 {
				fitD.Weights = append(fitD.Weights, wt)
			}
		}
	}
	if fitD.Rows() == 0 {
		fitD, calD, calRows = calD, winprob.Dataset{Names: names}, nil
	}
	// GradTol 1e-4: the interaction columns are correlated and L-BFGS creeps; with curvature
	// ~0.1 per standardised coefficient the coefficients are within ~1e-3 of the optimum.
	cm, err := winprob.Fit(fitD, winprob.Options{Lambda: lambdaFor(m.Options.Lambda, fitD.Rows()), GradTol: 1e-4, MaxIter: 2000})
	if err != nil && !errors.Is(err, winprob.ErrNotConverged) {
		return fmt.Errorf("forecast: close-by model: %w", err)
	}
	m.Close = cm
	m.Metrics.CloseRows, m.Metrics.CloseCalibrationRows = fitD.Rows(), calD.Rows()
	if calD.Rows() == 0 {
		return nil
	}
	// No Platt step here: the held-out rows are the latest horizon ends, mostly short
	// horizons of the latest snapshots, and recalibrating on them distorted the quarter-long
	// horizons (measured in the backtest). The fold measures the model and fits the supply
	// factor.
	pc := cm.PredictAll(calD.X, nil)
	m.Metrics.CloseHeldOutBrier = winprob.Brier(pc, calD.Y, nil)
	if m.Options.Features.Supply {
		var sy, sp float64
		k := 0
		for j, r := range calRows {
			if snaps[r.i].ShortShare > 0 {
				sy += calD.Y[j]
				sp += pc[j]
				k++
			}
		}
		if k > 0 {
			m.SupplyFactor = clamp((sy+5)/(sp+5), 0.25, 1.5)
		}
		m.Metrics.SupplyRows = k
	}
	return nil
}
