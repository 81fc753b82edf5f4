// Package backtest evaluates revcast's forecasts by rolling origin over the opportunity
// history: at each origin it rebuilds what revcast would have forecast for the quarter
// with only the data known then, and compares it with what closed — side by side with the
// CRM's stage-probability-weighted pipeline and the reps' Commit (Tashman 2000,
// "Out-of-sample tests of forecasting accuracy: an analysis and review", International
// Journal of Forecasting 16:437-450, for the rolling-origin design; Hyndman &
// Athanasopoulos 2021, "Forecasting: Principles and Practice", 3rd ed., section 5.10, for
// time-series cross-validation).
//
// Design:
//
//   - Origins: one day a week (forecast.TrainingDays' weekly grid) in each of the last
//     Quarters fiscal quarters that ended before the as-of date (13 or 14 per quarter; the
//     first falls in the quarter's first seven days; week of quarter w = 1, 2, …).
//   - Refit: the models are refitted at the first origin of each quarter on snapshots and
//     outcomes known then (forecast.Fit drops every outcome not closed before the fit day
//     and every snapshot at or after it), and reused for that quarter's later origins. So a
//     forecast never sees its future, and the work is four fits instead of one per origin.
//   - The forecast at origin t for quarter Q: forecast.Model.Forecast with Q as the only
//     period: closed in Q before t, plus open deals, plus deals not created yet.
//   - Actual: the won amount (opportunities.amount_base) of deals whose close day is in Q.
//
// Metrics (rows of backtest_results, one per origin, model and metric; summaries have no
// origin):
//
//	forecast, actual        the quarter's forecast (revcast: the expected value) and actual
//	ape                     |forecast - actual| / actual          (absolute percentage error)
//	pe                      (forecast - actual) / actual          (its mean is the bias)
//	p10, p50, p90, covered  revcast's interval and 1 if P10 <= actual <= P90
//	mape_by_week            mean ape over the quarters, per week of quarter (summary)
//	mape, bias, coverage    over all origins (summary); coverage also per segment type,
//	                        pooled over origins and segments
//	brier, auc, log_loss, ece   for the win probability of every deal open at an origin
//	                        whose outcome is known by the end of the data, against the
//	                        deal's eventual outcome (Brier 1950; AUC as Mann-Whitney);
//	                        baselines: stage_weighted = CRM probability / 100, commit = the
//	                        forecast category's historical win rate
//	brier_in_quarter        the same for "closes won within the origin's quarter": revcast's
//	                        p_close_in_period, CRM probability if the close date is in the
//	                        quarter, the category's win rate if the close date is in it
//	brier_origin            the Brier score of the deals open at one origin (for paired
//	                        comparisons between models, origin by origin)
//	calibration_*           reliability table of revcast's p_win (10 equal-width bins)
//
// Deals still open at the end of the data have no known outcome and are left out of the
// probability metrics (they are the recent, slow deals of the last origins).
package backtest

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/revcast/revcast/models/forecast"
	"github.com/revcast/revcast/models/winprob"
)

// Variant is one configuration of revcast evaluated by the backtest (an ablation).
type Variant struct {
	Name       string              `json:"name"` // the model column, e.g. "revcast", "revcast_no_supply"
	Features   forecast.FeatureSet `json:"features"`
	NoNewDeals bool                `json:"no_new_deals"`
}

// DefaultVariants is the full model plus the ERP-signal ablations.
var DefaultVariants = []Variant{
	{Name: "revcast", Features: forecast.Full},
	{Name: "revcast_no_supply", Features: forecast.FeatureSet{Credit: true}},
	{Name: "revcast_no_credit", Features: forecast.FeatureSet{Supply: true}},
	{Name: "revcast_no_erp", Features: forecast.FeatureSet{}},
}

// Options controls Run.
type Options struct {
	Calendar forecast.Calendar
	Quarters int // evaluated quarters; zero means 4
	// Forecast options for every fit; Features is overridden by each variant.
	Forecast forecast.Options
	Seed     uint64
	Sims     int // Monte Carlo worlds per origin; zero means 2,000
	// Variants to evaluate; nil means only the full model ("revcast"). The baselines are
	// always evaluated. The first variant gets the segment-level coverage and the
	// calibration table.
	Variants []Variant
	// Progress, if set, is called after each fit.
	Progress func(variant string, quarter string, fitDay forecast.Day)
}

// Row is one row of backtest_results.
type Row struct {
	Origin        forecast.Day // 0 for summaries
	Quarter       string
	WeekOfQuarter int // 0 when not applicable
	Model         string
	SegmentType   string
	Segment       string
	Metric        string
	Bin           int // calibration bin, -1 when not applicable
	Value         float64
}

// Result is the backtest's output.
type Result struct {
	Origins []forecast.Day
	Rows    []Row
}

// Quarters returns the last n fiscal quarters that end before asOf, oldest first.
func Quarters(cal forecast.Calendar, asOf forecast.Day, n int) []forecast.Period {
	q := cal.PrevQuarter(cal.Quarter(asOf))
	out := make([]forecast.Period, n)
	for i := n - 1; i >= 0; i-- {
		out[i] = q
		q = cal.PrevQuarter(q)
	}
	return out
}

// Origins returns the origins of quarter q: its days on forecast.TrainingDays' weekly grid
// (days since 1970-01-01 divisible by 7), so that origins and training snapshots share days.
func Origins(q forecast.Period) []forecast.Day {
	var out []forecast.Day
	for d := q.Start + (7-q.Start%7)%7; d <= q.End; d += 7 {
		out = append(out, d)
	}
	return out
}

// SnapshotDays returns every day the backtest needs snapshots for: the origins of the
// evaluated quarters and the training days of each quarter's fit
// (forecast.TrainingDays(quarter start, windowDays)), ascending.
func SnapshotDays(cal forecast.Calendar, asOf forecast.Day, quarters, windowDays int) []forecast.Day {
	if quarters == 0 {
		quarters = 4
	}
	if windowDays == 0 {
		windowDays = 730
	}
	var out []forecast.Day
	for _, q := range Quarters(cal, asOf, quarters) {
		out = append(out, Origins(q)...)
		out = append(out, forecast.TrainingDays(q.Start, windowDays)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ErrNoOrigins is returned when the data do not cover any evaluated quarter.
var ErrNoOrigins = errors.New("backtest: no snapshots at the origins (the history does not reach the evaluated quarters)")

// Run evaluates revcast and the baselines on snapshots (which must include every day of
// SnapshotDays) and outcomes, for the quarters before asOf. The data's end is asOf: an
// outcome counts as known when the deal closed before asOf.
func Run(snaps []forecast.Snapshot, outcomes []forecast.Outcome, asOf forecast.Day, o Options) (*Result, error) {
	if o.Quarters == 0 {
		o.Quarters = 4
	}
	if o.Sims == 0 {
		o.Sims = 2000
	}
	variants := o.Variants
	if len(variants) == 0 {
		variants = DefaultVariants[:1]
	}
	byDay := map[forecast.Day][]forecast.Snapshot{}
	for i := range snaps {
		byDay[snaps[i].Day] = append(byDay[snaps[i].Day], snaps[i])
	}
	out := map[string]*forecast.Outcome{}
	for i := range outcomes {
		out[outcomes[i].OpportunityID] = &outcomes[i]
	}
	res := &Result{}
	type agg struct{ ape, pe, cov, n float64 }
	total := map[string]*agg{}
	byWeek := map[string]map[int]*agg{}
	segCov := map[string]*agg{}
	type probs struct{ p, y []float64 }
	win := map[string]*probs{}
	inQ := map[string]*probs{}
	addProb := func(m map[string]*probs, model string, p, y float64) {
		x := m[model]
		if x == nil {
			x = &probs{}
			m[model] = x
		}
		x.p = append(x.p, p)
		x.y = append(x.y, y)
	}
	add := func(r Row) { res.Rows = append(res.Rows, r) }
	addErr := func(model string, q forecast.Period, w int, origin forecast.Day, f, actual float64) {
		ape := math.Abs(f-actual) / actual
		pe := (f - actual) / actual
		add(Row{Origin: origin, Quarter: q.Name, WeekOfQuarter: w, Model: model, SegmentType: "total", Segment: "all", Metric: "forecast", Bin: -1, Value: f})
		add(Row{Origin: origin, Quarter: q.Name, WeekOfQuarter: w, Model: model, SegmentType: "total", Segment: "all", Metric: "ape", Bin: -1, Value: ape})
		add(Row{Origin: origin, Quarter: q.Name, WeekOfQuarter: w, Model: model, SegmentType: "total", Segment: "all", Metric: "pe", Bin: -1, Value: pe})
		a := total[model]
		if a == nil {
			a = &agg{}
			total[model] = a
			byWeek[model] = map[int]*agg{}
		}
		a.ape += ape
		a.pe += pe
		a.n++
		b := byWeek[model][w]
		if b == nil {
			b = &agg{}
			byWeek[model][w] = b
		}
		b.ape += ape
		b.pe += pe
		b.n++
	}

	baselinesDone := map[forecast.Day]bool{}
	for vi, v := range variants {
		for _, q := range Quarters(o.Calendar, asOf, o.Quarters) {
			origins := Origins(q)
			if len(byDay[origins[0]]) == 0 {
				continue
			}
			actual := 0.0
			actualSeg := map[[2]string]float64{}
			for i := range outcomes {
				oc := &outcomes[i]
				if oc.Won && oc.Closed(asOf) && q.Contains(oc.ClosedDay) {
					actual += oc.Amount
					for _, s := range [][2]string{{"owner", oc.Owner}, {"team", oc.Team}, {"region", oc.Region}, {"family", oc.Family}} {
						actualSeg[s] += oc.Amount
					}
				}
			}
			if actual <= 0 {
				continue
			}
			fo := o.Forecast
			fo.Features = v.Features
			m, err := forecast.Fit(snaps, outcomes, origins[0], fo)
			if err != nil {
				return nil, fmt.Errorf("backtest: %s: fit at %s: %w", v.Name, origins[0], err)
			}
			if o.Progress != nil {
				o.Progress(v.Name, q.Name, origins[0])
			}
			for w, t := range origins {
				open := byDay[t]
				if len(open) == 0 {
					continue
				}
				if !slices.Contains(res.Origins, t) {
					res.Origins = append(res.Origins, t)
				}
				fr, err := m.Forecast(t, open, outcomes, forecast.ForecastOptions{
					Periods: []forecast.Period{q}, Calendar: o.Calendar, Seed: o.Seed, Sims: o.Sims,
					TotalOnly: vi > 0, NoNewDeals: v.NoNewDeals,
				})
				if err != nil {
					return nil, fmt.Errorf("backtest: %s: forecast at %s: %w", v.Name, t, err)
				}
				week := w + 1
				for _, p := range fr.Periods {
					if p.SegmentType == "total" {
						addErr(v.Name, q, week, t, p.Expected, actual)
						for _, mt := range []struct {
							name string
							v    float64
						}{{"p10", p.P10}, {"p50", p.P50}, {"p90", p.P90}, {"covered", b2f(p.P10 <= actual && actual <= p.P90)}} {
							add(Row{Origin: t, Quarter: q.Name, WeekOfQuarter: week, Model: v.Name, SegmentType: "total", Segment: "all", Metric: mt.name, Bin: -1, Value: mt.v})
						}
						a := total[v.Name]
						a.cov += b2f(p.P10 <= actual && actual <= p.P90)
						if !baselinesDone[t] {
							baselinesDone[t] = true
							add(Row{Origin: t, Quarter: q.Name, WeekOfQuarter: week, Model: "actual", SegmentType: "total", Segment: "all", Metric: "actual", Bin: -1, Value: actual})
							addErr("stage_weighted", q, week, t, p.StageWeighted, actual)
							addErr("commit", q, week, t, p.Commit, actual)
						}
						continue
					}
					if vi > 0 {
						continue
					}
					if p.P10 == p.P90 {
						continue // a degenerate interval (nothing uncertain) covers trivially
					}
					act := actualSeg[[2]string{p.SegmentType, p.Segment}]
					c := segCov[p.SegmentType]
					if c == nil {
						c = &agg{}
						segCov[p.SegmentType] = c
					}
					c.cov += b2f(p.P10 <= act && act <= p.P90)
					c.n++
				}
				// Probability metrics against eventual outcomes.
				originP := map[string]*probs{}
				for i, d := range fr.Deals {
					oc := out[d.OpportunityID]
					if oc == nil || !oc.Closed(asOf) {
						continue
					}
					y := b2f(oc.Won)
					yq := b2f(oc.Won && q.Contains(oc.ClosedDay))
					addProb(win, v.Name, d.PWin, y)
					addProb(originP, v.Name, d.PWin, y)
					addProb(inQ, v.Name, d.PCloseInPeriod, yq)
					if vi == 0 {
						s := &open[i]
						cr := m.CategoryRate[s.ForecastCategory]
						addProb(win, "stage_weighted", s.CRMProbability/100, y)
						addProb(win, "commit", cr, y)
						addProb(originP, "stage_weighted", s.CRMProbability/100, y)
						addProb(originP, "commit", cr, y)
						in := b2f(q.Contains(s.CloseDate))
						addProb(inQ, "stage_weighted", in*s.CRMProbability/100, yq)
						addProb(inQ, "commit", in*cr, yq)
					}
				}
				for mdl, x := range originP {
					if len(x.p) > 0 {
						add(Row{Origin: t, Quarter: q.Name, WeekOfQuarter: week, Model: mdl, SegmentType: "total", Segment: "all", Metric: "brier_origin", Bin: -1, Value: winprob.Brier(x.p, x.y, nil)})
					}
				}
			}
		}
	}
	if len(res.Origins) == 0 {
		return nil, ErrNoOrigins
	}

	// Summaries.
	models := make([]string, 0, len(total))
	for k := range total {
		models = append(models, k)
	}
	slices.Sort(models)
	sum := func(model, st, seg, metric string, w, bin int, v float64) {
		add(Row{Model: model, SegmentType: st, Segment: seg, Metric: metric, WeekOfQuarter: w, Bin: bin, Value: v})
	}
	for _, mdl := range models {
		a := total[mdl]
		sum(mdl, "total", "all", "mape", 0, -1, a.ape/a.n)
		sum(mdl, "total", "all", "bias", 0, -1, a.pe/a.n)
		if mdl != "stage_weighted" && mdl != "commit" {
			sum(mdl, "total", "all", "coverage", 0, -1, a.cov/a.n)
		}
		weeks := make([]int, 0)
		for w := range byWeek[mdl] {
			weeks = append(weeks, w)
		}
		slices.Sort(weeks)
		for _, w := range weeks {
			b := byWeek[mdl][w]
			sum(mdl, "total", "all", "mape_by_week", w, -1, b.ape/b.n)
			sum(mdl, "total", "all", "bias_by_week", w, -1, b.pe/b.n)
		}
		if x := win[mdl]; x != nil {
			sum(mdl, "total", "all", "brier", 0, -1, winprob.Brier(x.p, x.y, nil))
			sum(mdl, "total", "all", "auc", 0, -1, winprob.AUC(x.p, x.y, nil))
			sum(mdl, "total", "all", "log_loss", 0, -1, winprob.LogLoss(x.p, x.y, nil))
			sum(mdl, "total", "all", "ece", 0, -1, winprob.ECE(x.p, x.y, nil, 10))
			sum(mdl, "total", "all", "n_deal_snapshots", 0, -1, float64(len(x.p)))
		}
		if x := inQ[mdl]; x != nil {
			sum(mdl, "total", "all", "brier_in_quarter", 0, -1, winprob.Brier(x.p, x.y, nil))
		}
	}
	segTypes := make([]string, 0, len(segCov))
	for k := range segCov {
		segTypes = append(segTypes, k)
	}
	slices.Sort(segTypes)
	for _, st := range segTypes {
		c := segCov[st]
		sum(variants[0].Name, st, "*", "coverage", 0, -1, c.cov/c.n)
		sum(variants[0].Name, st, "*", "n_intervals", 0, -1, c.n)
	}
	if x := win[variants[0].Name]; x != nil {
		for b, bin := range winprob.CalibrationBins(x.p, x.y, nil, 10, winprob.EqualWidth) {
			sum(variants[0].Name, "total", "all", "calibration_mean_predicted", 0, b, bin.MeanPredicted)
			sum(variants[0].Name, "total", "all", "calibration_observed_rate", 0, b, bin.ObservedRate)
			sum(variants[0].Name, "total", "all", "calibration_count", 0, b, float64(bin.Count))
		}
	}
	slices.Sort(res.Origins)
	slices.SortStableFunc(res.Rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(b2i(a.Origin == 0), b2i(b.Origin == 0)), cmp.Compare(a.Origin, b.Origin),
			cmp.Compare(a.Model, b.Model), cmp.Compare(a.SegmentType, b.SegmentType), cmp.Compare(a.Metric, b.Metric),
			cmp.Compare(a.WeekOfQuarter, b.WeekOfQuarter), cmp.Compare(a.Bin, b.Bin))
	})
	return res, nil
}

// Summary returns the value of a summary row (no origin), and whether it exists.
func (r *Result) Summary(model, segmentType, metric string, week, bin int) (float64, bool) {
	for _, x := range r.Rows {
		if x.Origin == 0 && x.Model == model && x.SegmentType == segmentType && x.Metric == metric && x.WeekOfQuarter == week && x.Bin == bin {
			return x.Value, true
		}
	}
	return math.NaN(), false
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
