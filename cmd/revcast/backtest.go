package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/models/backtest"
	"github.com/revcast/revcast/models/collections"
	"github.com/revcast/revcast/models/forecast"
	"github.com/revcast/revcast/models/renewal"
	"github.com/revcast/revcast/transform"
)

func init() { commands = append(commands, newBacktestCmd) }

// The parts of a backtest, in the order they run (--only).
const (
	partBookings    = "bookings"
	partCollections = "collections"
	partRenewal     = "renewal"
	partTimeseries  = "timeseries"
)

var backtestParts = []string{partBookings, partCollections, partRenewal, partTimeseries}

type backtestOptions struct {
	AsOf      string
	Quarters  int
	Ablations bool
	Variants  []string
	Sims      int
	Only      []string
}

func newBacktestCmd(m *Main) *cobra.Command {
	var o backtestOptions
	cmd := &cobra.Command{
		Use:   "backtest",
		Short: "Rolling-origin evaluation of the forecasts against what happened, beside their baselines",
		Long: `Evaluate the forecasts over the last --quarters complete fiscal quarters before the as-of
date, each with only the data known at its origin, beside naive baselines. Parts (--only,
default all; one without enough history is skipped with a warning):

bookings     For every week of the quarters, rebuild what revcast would have forecast for
             that quarter (the models are refitted at the start of each quarter on deals
             closed before it) and compare with what actually closed — beside the CRM's
             stage-weighted pipeline and the reps' commit: absolute percentage error by
             week of quarter, bias, P10–P90 coverage, and the Brier score, AUC and
             calibration table of the win probability. With --ablations (the default)
             revcast is also evaluated without the supply signals, without the credit
             signals and without both.
collections  From the first Monday of every month of the quarters that lies 13 weeks or
             more before the as-of date, forecast cash by week for 13 weeks from the
             receivables and unbilled orders open then, and compare with the receipts:
             MAE of weekly cash, bias (mean error over mean weekly receipts), P10–P90
             coverage, beside "paid on the due date" and "customer's median delay".
renewal      Fit the renewal model at the start of the first quarter and score the terms
             ending within the quarters that have been decided since: Brier, AUC, log
             loss, beside the renewal rate by auto-renew flag.
timeseries   Hold out the last 3 x --quarters complete months (at most a third of the
             history) of monthly bookings and revenue, total and per region, forecast them
             from the months before (combo, as revcast forecast does, and seasonal naive)
             and report sMAPE, MASE and 80%/95% interval coverage per measure.

Results go to backtest_results (long format; summaries have no origin; models revcast…,
stage_weighted, commit, collections, collections_due_date, collections_median, renewal,
renewal_auto_renew, timeseries_combo, timeseries_snaive; time-series summaries have
segment_type 'measure' and segment bookings or revenue) and backtest_runs.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := m.loadConfig()
			if err != nil {
				return err
			}
			if o.Quarters < 1 || o.Quarters > 12 {
				return &usageError{fmt.Errorf("--quarters %d: want 1-12", o.Quarters)}
			}
			if o.Sims < 100 {
				return &usageError{fmt.Errorf("--sims %d: want at least 100", o.Sims)}
			}
			for _, v := range o.Variants {
				if !slices.ContainsFunc(backtest.DefaultVariants, func(x backtest.Variant) bool { return x.Name == v }) {
					return &usageError{fmt.Errorf("--variants: unknown variant %q: want revcast, revcast_no_supply, revcast_no_credit or revcast_no_erp", v)}
				}
			}
			if len(o.Only) == 0 {
				return &usageError{fmt.Errorf("--only: want one or more of %s", strings.Join(backtestParts, ", "))}
			}
			for _, p := range o.Only {
				if !slices.Contains(backtestParts, p) {
					return &usageError{fmt.Errorf("--only: unknown part %q: want %s", p, strings.Join(backtestParts, ", "))}
				}
			}
			date, err := parseAsOf(o.AsOf)
			if err != nil {
				return err
			}
			return m.runBacktest(cmd.Context(), cfg, date, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.AsOf, "as-of", "", "end of the evaluated data, YYYY-MM-DD (default: the as-of of the last transform, else today)")
	f.IntVar(&o.Quarters, "quarters", 4, "number of complete quarters before the as-of date to evaluate")
	f.BoolVar(&o.Ablations, "ablations", true, "also evaluate revcast without the supply and/or credit signals (bookings)")
	f.StringSliceVar(&o.Variants, "variants", nil, "evaluate only these variants (revcast, revcast_no_supply, revcast_no_credit, revcast_no_erp); overrides --ablations (bookings)")
	f.IntVar(&o.Sims, "sims", 2000, "Monte Carlo worlds per origin (bookings)")
	f.StringSliceVar(&o.Only, "only", slices.Clone(backtestParts), "evaluate only these parts: "+strings.Join(backtestParts, ", "))
	return cmd
}

// backtestOutcome is what a backtest run evaluated; a part that was not selected, or had
// too little history, is nil.
type backtestOutcome struct {
	RunID       string
	AsOf        forecast.Day
	Elapsed     time.Duration
	Bookings    *backtest.Result
	Variants    []string
	Collections *transform.CollectionsBacktest
	Renewal     *transform.RenewalBacktest
	Timeseries  *transform.TimeseriesBacktest
}

func (m *Main) runBacktest(ctx context.Context, cfg *Config, asOfTime time.Time, o backtestOptions) error {
	start := time.Now()
	w, err := cfg.OpenWarehouse(ctx, false)
	if err != nil {
		return err
	}
	defer w.Close()
	if asOfTime.IsZero() {
		if asOfTime, err = warehouseAsOf(ctx, w); err != nil {
			return err
		}
	}
	if asOfTime.IsZero() {
		asOfTime = time.Now().UTC()
	}
	asOf := forecast.DayOf(asOfTime)
	cal := forecast.Calendar{FiscalYearStartMonth: cfg.Forecast.FiscalYearStartMonth}
	quarters := backtest.Quarters(cal, asOf, o.Quarters)
	out := &backtestOutcome{AsOf: asOf}
	params := map[string]any{"quarters": o.Quarters, "parts": o.Only}
	window := map[string]any{"as_of": asOf.String(), "first_quarter": quarters[0].Name, "last_quarter": quarters[len(quarters)-1].Name}
	summary := map[string]map[string]float64{}
	var rows []backtest.Row
	// skip reports a part left out for want of history; the others still run.
	var skipped []string
	skip := func(part string, err error) {
		skipped = append(skipped, part)
		m.Logger.Warn("backtest: "+part+" skipped: too little history", "err", err)
	}

	if slices.Contains(o.Only, partBookings) {
		res, variants, err := m.backtestBookings(ctx, w, cfg, asOf, cal, o, params, window)
		switch {
		case errors.Is(err, backtest.ErrNoOrigins) && len(o.Only) == 1:
			return revcast.Errorf(revcast.EINVALID, "backtest as of %s: %v — try fewer --quarters or a later --as-of", asOf, err)
		case errors.Is(err, backtest.ErrNoOrigins):
			skip(partBookings, err)
		case err != nil:
			return err
		default:
			out.Bookings, out.Variants = res, variants
			for _, r := range res.Rows {
				if r.Origin == 0 && r.SegmentType == "total" && r.Bin < 0 && r.WeekOfQuarter == 0 {
					addSummary(summary, r.Model, r.Metric, r.Value)
				}
			}
			rows = append(rows, res.Rows...)
		}
	}
	if slices.Contains(o.Only, partCollections) {
		t := time.Now()
		origins := collectionsOrigins(quarters, asOf.Time())
		var bt *transform.CollectionsBacktest
		err := error(collections.ErrNoHistory)
		if len(origins) > 0 {
			bt, err = w.CollectionsBacktest(ctx, origins, collections.Options{Seed: uint64(cfg.Forecast.Seed)})
		}
		switch {
		case errors.Is(err, collections.ErrNoHistory):
			skip(partCollections, fmt.Errorf("no origin 13 weeks before the as-of date with payment history before it: %w", err))
		case err != nil:
			return fmt.Errorf("backtest: collections: %w", err)
		default:
			out.Collections = bt
			rows = append(rows, collectionsRows(bt)...)
			window["collections_origins"] = len(bt.Origins)
			window["collections_first_origin"] = bt.Origins[0].Format(revcast.DateLayout)
			window["collections_last_origin"] = bt.Origins[len(bt.Origins)-1].Format(revcast.DateLayout)
			params["collections"] = "13 weeks from the first Monday of each month of the quarters, at least 13 weeks before the as-of date"
			m.Logger.Info("backtest collections", "origins", len(bt.Origins), "seconds", since(t))
		}
	}
	if slices.Contains(o.Only, partRenewal) {
		t := time.Now()
		origin := quarters[0].Start.Time()
		bt, err := w.RenewalBacktest(ctx, origin, 3*o.Quarters, renewal.Options{})
		switch {
		case errors.Is(err, renewal.ErrTooFewOutcomes), errors.Is(err, transform.ErrNoDecidedTerms):
			skip(partRenewal, err)
		case err != nil:
			return fmt.Errorf("backtest: renewal: %w", err)
		default:
			out.Renewal = bt
			rows = append(rows, renewalRows(bt)...)
			window["renewal_origin"] = origin.Format(revcast.DateLayout)
			window["renewal_horizon_months"] = 3 * o.Quarters
			m.Logger.Info("backtest renewals", "fitted", bt.Fitted, "scored", bt.Scored, "seconds", since(t))
		}
	}
	if slices.Contains(o.Only, partTimeseries) {
		t := time.Now()
		bt, err := w.TimeseriesBacktest(ctx, asOf.Time(), 3*o.Quarters)
		switch {
		case errors.Is(err, transform.ErrTooFewMonths):
			skip(partTimeseries, err)
		case err != nil:
			return fmt.Errorf("backtest: timeseries: %w", err)
		default:
			out.Timeseries = bt
			rows = append(rows, timeseriesRows(bt)...)
			window["timeseries_holdout_months"] = bt.Holdout
			window["timeseries_first_held_out"] = bt.FirstHeldOut.Format("2006-01")
			m.Logger.Info("backtest time series", "series", len(bt.Series)/len(transform.TimeseriesBacktestMethods), "holdout_months", bt.Holdout, "seconds", since(t))
		}
	}
	if len(skipped) == len(o.Only) {
		return revcast.Errorf(revcast.EINVALID, "backtest as of %s: too little history for %s — try fewer --quarters or a later --as-of", asOf, strings.Join(skipped, ", "))
	}
	for _, r := range rows {
		if r.Origin == 0 && r.Bin < 0 && r.WeekOfQuarter == 0 {
			switch {
			case strings.HasPrefix(r.Model, "collections") && r.SegmentType == "total",
				strings.HasPrefix(r.Model, "renewal"):
				addSummary(summary, r.Model, r.Metric, r.Value)
			case strings.HasPrefix(r.Model, "timeseries") && r.SegmentType == "measure":
				addSummary(summary, r.Model, r.Metric+"_"+r.Segment, r.Value)
			}
		}
	}
	params["skipped"] = skipped

	now := w.Now().UTC()
	run := transform.Run{
		RunID: string(revcast.NewRunID(now)), Kind: "backtest", AsOf: asOf.Time(), CreatedAt: now, Seed: cfg.Forecast.Seed,
		ModelVersions: map[string]string{"forecast": forecast.Version},
		Params:        params, DataWindow: window, Metrics: summary,
	}
	if err := w.SaveBacktest(ctx, run, rows); err != nil {
		return err
	}
	out.RunID, out.Elapsed = run.RunID, time.Since(start)
	printBacktest(m.Stdout, out)
	return nil
}

// addSummary records a finite summary metric for backtest_runs.metrics (JSON has no NaN).
func addSummary(summary map[string]map[string]float64, model, metric string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if summary[model] == nil {
		summary[model] = map[string]float64{}
	}
	summary[model][metric] = v
}

// backtestBookings is the bookings part: weekly origins over the quarters, refitted per
// quarter (models/backtest). It adds its parameters and data window to params and window.
func (m *Main) backtestBookings(ctx context.Context, w *transform.Warehouse, cfg *Config, asOf forecast.Day, cal forecast.Calendar,
	o backtestOptions, params, window map[string]any) (*backtest.Result, []string, error) {
	opts := forecast.Options{}
	days := backtest.SnapshotDays(cal, asOf, o.Quarters, 730)
	var nOpen int64
	if err := w.DB.QueryRowContext(ctx, `select count(*) from opportunities where not is_closed`).Scan(&nOpen); err != nil {
		return nil, nil, fmt.Errorf("backtest: count open opportunities (run 'revcast transform' first): %w", err)
	}
	// Origins are scored in full; training-only days are sampled at large scale.
	origins := map[forecast.Day]bool{}
	for _, q := range backtest.Quarters(cal, asOf, o.Quarters) {
		for _, d := range backtest.Origins(q) {
			origins[d] = true
		}
	}
	sampleMod := int(math.Ceil(float64(nOpen) * float64(len(days)-len(origins)) / transform.MaxTrainingSnapshotRows))
	dates := make([]transform.SnapshotDate, 0, len(days))
	for _, d := range days {
		sd := transform.SnapshotDate{Day: d, SampleMod: sampleMod}
		if origins[d] {
			sd.SampleMod = 1
		}
		dates = append(dates, sd)
	}
	t := time.Now()
	data, err := w.Snapshots(ctx, dates)
	if err != nil {
		return nil, nil, err
	}
	m.Logger.Info("built backtest snapshots", "dates", len(dates), "rows", len(data.Snapshots), "seconds", since(t))
	variants := backtest.DefaultVariants
	switch {
	case len(o.Variants) > 0:
		variants = nil
		for _, v := range backtest.DefaultVariants {
			if slices.Contains(o.Variants, v.Name) {
				variants = append(variants, v)
			}
		}
	case !o.Ablations:
		variants = variants[:1]
	}
	t = time.Now()
	res, err := backtest.Run(data.Snapshots, data.Outcomes, asOf, backtest.Options{
		Calendar: cal, Quarters: o.Quarters, Forecast: opts, Seed: uint64(cfg.Forecast.Seed), Sims: o.Sims,
		Variants: variants,
		Progress: func(v, q string, d forecast.Day) {
			m.Logger.Info("backtest fit", "variant", v, "quarter", q, "fit_day", d.String(), "seconds", since(t))
		},
	})
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(variants))
	for i, v := range variants {
		names[i] = v.Name
	}
	params["sims"], params["variants"], params["options"] = o.Sims, variants, opts
	params["refit"], params["sample_mod"], params["sources"] = "at the first origin of each quarter, on data known then", max(sampleMod, 1), data.Sources
	window["origins"], window["first_origin"], window["last_origin"] = len(res.Origins), res.Origins[0].String(), res.Origins[len(res.Origins)-1].String()
	window["snapshot_days"] = len(dates)
	return res, names, nil
}

// collectionsOrigins returns the first Monday of every month of the quarters whose 13-week
// forecast window ends on or before asOf (so every week's receipts are known).
func collectionsOrigins(quarters []forecast.Period, asOf time.Time) []time.Time {
	var out []time.Time
	for _, q := range quarters {
		for d := q.Start.Time(); !d.After(q.End.Time()); d = d.AddDate(0, 1, 0) {
			o := collections.FirstMonday(d)
			if !collections.WindowEnd(o, 13).After(asOf) {
				out = append(out, o)
			}
		}
	}
	return out
}

// collectionsRows turns the collections backtest into backtest_results rows: summaries of
// the total scope (segment total/all) and of the open receivables alone (segment_type
// component, segment ar) for the model and both baselines — mae (base currency per week),
// bias (mean error / mean weekly receipts), the model's coverage (P10-P90), mean_actual and
// weeks — and each origin's mae (mae_origin) for paired comparisons.
func collectionsRows(bt *transform.CollectionsBacktest) []backtest.Row {
	var rows []backtest.Row
	add := func(origin forecast.Day, model, st, seg, metric string, v float64) {
		rows = append(rows, backtest.Row{Origin: origin, Model: model, SegmentType: st, Segment: seg, Metric: metric, Bin: -1, Value: v})
	}
	rel := func(x, mean float64) float64 {
		if mean == 0 {
			return math.NaN()
		}
		return x / mean
	}
	for _, sc := range []struct {
		st, seg string
		s       transform.CollectionsScore
	}{{"total", "all", bt.Total}, {"component", "ar", bt.AR}} {
		s := sc.s
		add(0, "collections", sc.st, sc.seg, "mae", s.MAE)
		add(0, "collections", sc.st, sc.seg, "bias", rel(s.Bias, s.MeanActual))
		add(0, "collections", sc.st, sc.seg, "coverage", s.Coverage80)
		add(0, "collections", sc.st, sc.seg, "mean_actual", s.MeanActual)
		add(0, "collections", sc.st, sc.seg, "weeks", float64(s.Weeks))
		add(0, "collections_due_date", sc.st, sc.seg, "mae", s.MAEDueDate)
		add(0, "collections_due_date", sc.st, sc.seg, "bias", rel(s.BiasDueDate, s.MeanActual))
		add(0, "collections_median", sc.st, sc.seg, "mae", s.MAEMedianDelay)
		add(0, "collections_median", sc.st, sc.seg, "bias", rel(s.BiasMedianDelay, s.MeanActual))
	}
	for i, s := range bt.ByOrigin() {
		d := forecast.DayOf(bt.Origins[i])
		add(d, "collections", "total", "all", "mae_origin", s.MAE)
		add(d, "collections_due_date", "total", "all", "mae_origin", s.MAEDueDate)
		add(d, "collections_median", "total", "all", "mae_origin", s.MAEMedianDelay)
	}
	return rows
}

// renewalRows turns the renewal backtest into summary rows (segment total/all): brier, auc,
// log_loss, ece and n for the model and the auto-renew baseline, the observed renewal_rate,
// and the model's expected against the actual renewal value (base currency).
func renewalRows(bt *transform.RenewalBacktest) []backtest.Row {
	var rows []backtest.Row
	add := func(model, metric string, v float64) {
		rows = append(rows, backtest.Row{Model: model, SegmentType: "total", Segment: "all", Metric: metric, Bin: -1, Value: v})
	}
	for _, x := range []struct {
		model string
		m     renewal.Metrics
	}{{"renewal", bt.Model}, {"renewal_auto_renew", bt.Baseline}} {
		add(x.model, "brier", x.m.Brier)
		add(x.model, "auc", x.m.AUC)
		add(x.model, "log_loss", x.m.LogLoss)
		add(x.model, "ece", x.m.ECE)
		add(x.model, "n", float64(x.m.N))
	}
	add("renewal", "renewal_rate", bt.Model.Rate)
	add("renewal", "expected_renewal_base", bt.ExpectedRenewalBase)
	add("renewal", "actual_renewal_base", bt.ActualRenewalBase)
	return rows
}

// timeseriesRows turns the time-series backtest into rows: per measure (segment_type
// measure, segment bookings or revenue) smape, mase, coverage80, coverage95 and n_series of
// timeseries_combo and timeseries_snaive; per series (origin = the first held-out month,
// segment_type "<measure>:total" or "<measure>:region") the same metrics but n_series.
func timeseriesRows(bt *transform.TimeseriesBacktest) []backtest.Row {
	var rows []backtest.Row
	add := func(origin forecast.Day, model, st, seg, metric string, v float64) {
		rows = append(rows, backtest.Row{Origin: origin, Model: model, SegmentType: st, Segment: seg, Metric: metric, Bin: -1, Value: v})
	}
	for _, method := range transform.TimeseriesBacktestMethods {
		model := "timeseries_" + string(method)
		for _, measure := range transform.TimeseriesMeasures {
			s, ok := bt.Scores[string(method)][measure]
			if !ok {
				continue
			}
			add(0, model, "measure", measure, "smape", s.SMAPE)
			add(0, model, "measure", measure, "mase", s.MASE)
			add(0, model, "measure", measure, "coverage80", s.Coverage80)
			add(0, model, "measure", measure, "coverage95", s.Coverage95)
			add(0, model, "measure", measure, "n_series", float64(s.Series))
		}
	}
	origin := forecast.DayOf(bt.FirstHeldOut)
	for _, s := range bt.Series {
		model, st := "timeseries_"+s.Method, s.Measure+":"+s.SegmentType
		add(origin, model, st, s.Segment, "smape", s.SMAPE)
		add(origin, model, st, s.Segment, "mase", s.MASE)
		add(origin, model, st, s.Segment, "coverage80", s.Coverage80)
		add(origin, model, st, s.Segment, "coverage95", s.Coverage95)
	}
	return rows
}

// printBacktest prints a section per evaluated part.
func printBacktest(out io.Writer, o *backtestOutcome) {
	fmt.Fprintf(out, "Backtest as of %s, run %s, %.0fs\n", o.AsOf, o.RunID, o.Elapsed.Seconds())
	if o.Bookings != nil {
		fmt.Fprintln(out)
		printBookingsBacktest(out, o.Bookings, o.Variants)
	}
	if bt := o.Collections; bt != nil {
		fmt.Fprintf(out, "\nCollections: weekly cash for 13 weeks from %d origins (%s … %s), %d weeks:\n", len(bt.Origins),
			bt.Origins[0].Format(revcast.DateLayout), bt.Origins[len(bt.Origins)-1].Format(revcast.DateLayout), bt.Total.Weeks)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scope\tmean receipts\tMAE revcast\tMAE due date\tMAE customer median\tbias\tP10–P90 coverage\t")
		for _, sc := range []struct {
			name string
			s    transform.CollectionsScore
		}{{"total", bt.Total}, {"open AR", bt.AR}} {
			s := sc.s
			bias := "–"
			if s.MeanActual != 0 {
				bias = fmt.Sprintf("%+.1f%%", 100*s.Bias/s.MeanActual)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.1f%%\t\n", sc.name, money(s.MeanActual), money(s.MAE), money(s.MAEDueDate),
				money(s.MAEMedianDelay), bias, 100*s.Coverage80)
		}
		tw.Flush()
	}
	if bt := o.Renewal; bt != nil {
		fmt.Fprintf(out, "\nRenewals: fitted as of %s on %d terms, %d terms ending within the quarters scored (renewal rate %.1f%%):\n",
			bt.AsOf.Format(revcast.DateLayout), bt.Fitted, bt.Scored, 100*bt.Model.Rate)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "model\tBrier\tAUC\tlog loss\tECE\t")
		for _, x := range []struct {
			name string
			m    renewal.Metrics
		}{{"renewal", bt.Model}, {"renewal_auto_renew", bt.Baseline}} {
			fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t\n", x.name, x.m.Brier, x.m.AUC, x.m.LogLoss, x.m.ECE)
		}
		tw.Flush()
		fmt.Fprintf(out, "Expected renewal value %s, actual %s.\n", money(bt.ExpectedRenewalBase), money(bt.ActualRenewalBase))
	}
	if bt := o.Timeseries; bt != nil {
		fmt.Fprintf(out, "\nMonthly time series: last %d complete months held out (from %s), total and regions:\n", bt.Holdout, bt.FirstHeldOut.Format("2006-01"))
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "measure\tmodel\tseries\tsMAPE\tMASE\t80% coverage\t95% coverage\t")
		for _, measure := range transform.TimeseriesMeasures {
			for _, method := range transform.TimeseriesBacktestMethods {
				s, ok := bt.Scores[string(method)][measure]
				if !ok {
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.2f\t%.1f%%\t%.1f%%\t\n", measure, "timeseries_"+string(method), s.Series,
					s.SMAPE, s.MASE, 100*s.Coverage80, 100*s.Coverage95)
			}
		}
		tw.Flush()
	}
	fmt.Fprintf(out, "\nTables: backtest_results, backtest_runs (run_id = '%s').\n", o.RunID)
}

// printBookingsBacktest prints the bookings summary table, the error by week of quarter,
// the segment coverage and the calibration table.
func printBookingsBacktest(out io.Writer, res *backtest.Result, variants []string) {
	get := func(model, st, metric string, week, bin int) string {
		v, ok := res.Summary(model, st, metric, week, bin)
		if !ok || math.IsNaN(v) {
			return "–"
		}
		switch metric {
		case "mape", "bias", "coverage", "mape_by_week":
			return fmt.Sprintf("%.1f%%", 100*v)
		}
		return fmt.Sprintf("%.4f", v)
	}
	models := append(slices.Clone(variants), "stage_weighted", "commit")
	fmt.Fprintf(out, "Bookings: %d origins (weekly, %s … %s)\n", len(res.Origins), res.Origins[0], res.Origins[len(res.Origins)-1])
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tMAPE\tbias\tP10–P90 coverage\tBrier\tAUC\tlog loss\tECE\tBrier (in quarter)\t")
	for _, mdl := range models {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", mdl, get(mdl, "total", "mape", 0, -1), get(mdl, "total", "bias", 0, -1),
			get(mdl, "total", "coverage", 0, -1), get(mdl, "total", "brier", 0, -1), get(mdl, "total", "auc", 0, -1),
			get(mdl, "total", "log_loss", 0, -1), get(mdl, "total", "ece", 0, -1), get(mdl, "total", "brier_in_quarter", 0, -1))
	}
	tw.Flush()
	fmt.Fprintln(out, "\nAbsolute percentage error of the quarter's forecast by week of quarter (mean over quarters):")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "week\trevcast\tstage_weighted\tcommit\t")
	for wk := 1; wk <= 14; wk++ {
		if _, ok := res.Summary("revcast", "total", "mape_by_week", wk, -1); !ok {
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t\n", wk, get("revcast", "total", "mape_by_week", wk, -1),
			get("stage_weighted", "total", "mape_by_week", wk, -1), get("commit", "total", "mape_by_week", wk, -1))
	}
	tw.Flush()
	fmt.Fprint(out, "\nP10–P90 coverage by segment type (pooled over origins and segments):")
	for _, st := range []string{"total", "region", "team", "family", "owner"} {
		fmt.Fprintf(out, " %s %s", st, get("revcast", st, "coverage", 0, -1))
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "\nCalibration of revcast's p_win (deal snapshots at the origins, eventual outcome):")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "bin\tmean predicted\tobserved\tdeals\t")
	for b := 0; b < 10; b++ {
		p, ok := res.Summary("revcast", "total", "calibration_mean_predicted", 0, b)
		if !ok {
			continue
		}
		o, _ := res.Summary("revcast", "total", "calibration_observed_rate", 0, b)
		n, _ := res.Summary("revcast", "total", "calibration_count", 0, b)
		fmt.Fprintf(tw, "%d\t%.3f\t%.3f\t%.0f\t\n", b, p, o, n)
	}
	tw.Flush()
}
