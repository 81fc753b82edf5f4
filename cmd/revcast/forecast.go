package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/models/collections"
	"github.com/revcast/revcast/models/forecast"
	"github.com/revcast/revcast/models/renewal"
	"github.com/revcast/revcast/transform"
)

func init() {
	commands = append(commands, newForecastCmd)
	pipelineSteps = append(pipelineSteps, pipelineStep{Name: "forecast", Order: 30, Run: func(ctx context.Context, m *Main, cfg *Config) error {
		_, err := m.runForecast(ctx, cfg, time.Time{})
		return err
	}})
}

func newForecastCmd(m *Main) *cobra.Command {
	var asOf string
	cmd := &cobra.Command{
		Use:   "forecast",
		Short: "Fit the win-probability and timing models and forecast bookings by period and segment",
		Long: `Reconstruct the open pipeline as it was at snapshot dates over the last two years
(opportunity_history, payments, receivables, stock), fit the calibrated win-probability and
close-timing models on deals closed before the as-of date, score every open opportunity and
simulate the bookings of each month and fiscal quarter in the horizon per segment, beside
the CRM's stage-weighted pipeline and the reps' commit. Then forecast cash collections by
week for 13 weeks (open receivables, won orders not invoiced yet and the bookings still
expected), the renewal of contracts ending in the next 12 months, and monthly bookings and
revenue per region (AutoETS and Theta combined, 80% and 95% intervals, from the complete
months before the as-of date; at least 12 months ahead). Results go to forecast_runs,
forecast_opportunities, forecast_periods, collections_forecast, renewal_forecast and
timeseries_forecast, keyed by run id and kept across runs; the config's forecast.seed makes
a rerun on the same data identical. A model without enough history (payments, decided
renewals, two complete months) is skipped with a warning.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := m.loadConfig()
			if err != nil {
				return err
			}
			date, err := parseAsOf(asOf)
			if err != nil {
				return err
			}
			out, err := m.runForecast(cmd.Context(), cfg, date)
			if err != nil {
				return err
			}
			out.print(m.Stdout)
			return nil
		},
	}
	cmd.Flags().StringVar(&asOf, "as-of", "", "forecast date, YYYY-MM-DD (default: the as-of of the last transform, else today)")
	return cmd
}

// forecastOutcome is what a forecast run produced, for printing.
type forecastOutcome struct {
	RunID       string
	AsOf        forecast.Day
	Model       *forecast.Model
	Result      *forecast.Result
	Collections *collections.Forecast         // nil without payment history
	Timeseries  *transform.TimeseriesForecast // nil without two complete months
	Elapsed     time.Duration
}

// warehouseAsOf returns meta.settings.as_of, the date the last transform aged its marts at.
func warehouseAsOf(ctx context.Context, w *transform.Warehouse) (time.Time, error) {
	var t sql.NullTime
	err := w.DB.QueryRowContext(ctx, `select as_of from meta.settings limit 1`).Scan(&t)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil // no settings yet: the caller falls back to today
	}
	return t.Time, nil
}

// runForecast loads the snapshots, fits, forecasts and saves one run.
func (m *Main) runForecast(ctx context.Context, cfg *Config, asOfTime time.Time) (*forecastOutcome, error) {
	start := time.Now()
	w, err := cfg.OpenWarehouse(ctx, false)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	restore, err := forecastMemory(ctx, w, cfg)
	if err != nil {
		return nil, err
	}
	defer restore()
	if asOfTime.IsZero() {
		if asOfTime, err = warehouseAsOf(ctx, w); err != nil {
			return nil, err
		}
	}
	if asOfTime.IsZero() {
		asOfTime = time.Now().UTC()
	}
	asOf := forecast.DayOf(asOfTime)
	opts := forecast.Options{Features: forecast.Full}
	t := time.Now()
	// forecast.refit_days: score with a recent fit instead of refitting.
	var reused *transform.SavedForecastModel
	if cfg.Forecast.RefitDays > 0 {
		if reused, err = w.LatestForecastModel(ctx, asOf, cfg.Forecast.RefitDays); err != nil {
			return nil, err
		}
	}
	var (
		data      *transform.SnapshotData
		dates     []transform.SnapshotDate
		sampleMod = 1
		model     *forecast.Model
	)
	if reused != nil {
		// The won deals' outcomes only: scoring needs no others (see OpenSnapshots).
		dates = []transform.SnapshotDate{{Day: asOf}}
		if data, err = w.OpenSnapshots(ctx, asOf); err != nil {
			return nil, err
		}
		model = reused.Model
		m.Logger.Info("reused forecast model", "fitted_by_run", reused.RunID, "fitted_as_of", model.AsOf.String(),
			"refit_days", cfg.Forecast.RefitDays, "open_rows", len(data.Snapshots), "seconds", since(t))
		logFeatureSeconds(m, data)
	} else {
		if data, dates, sampleMod, err = w.TrainingSnapshots(ctx, asOf, 730); err != nil {
			return nil, err
		}
		m.Logger.Info("built forecast snapshots", "dates", len(dates), "rows", len(data.Snapshots), "sample_mod", max(sampleMod, 1), "seconds", since(t))
		logFeatureSeconds(m, data)

		t = time.Now()
		model, err = forecast.Fit(data.Snapshots, data.Outcomes, asOf, opts)
		if err != nil {
			if errors.Is(err, forecast.ErrNoTrainingData) {
				return nil, revcast.Errorf(revcast.EINVALID, "forecast as of %s: %v — the history must reach at least %d days before the as-of date", asOf, err, opts.LagDays+90)
			}
			return nil, err
		}
		m.Logger.Info("fitted forecast models", "win_rows", model.Metrics.WinRows, "close_rows", model.Metrics.CloseRows,
			"held_out_brier", round(model.Metrics.HeldOutBrier, 4), "held_out_auc", round(model.Metrics.HeldOutAUC, 4), "seconds", since(t))
	}

	var open []forecast.Snapshot
	for i := range data.Snapshots {
		if data.Snapshots[i].Day == asOf {
			open = append(open, data.Snapshots[i])
		}
	}
	data.Snapshots = nil
	t = time.Now()
	// Scored once: the weekly bookings for the collections forecast (bookingsToCome) take
	// the same scores.
	scores := model.Score(open)
	fo := forecast.ForecastOptions{
		Calendar:  forecast.Calendar{FiscalYearStartMonth: cfg.Forecast.FiscalYearStartMonth},
		Quarters:  cfg.Forecast.HorizonQuarters,
		Seed:      uint64(cfg.Forecast.Seed),
		Scores:    scores,
		DataStart: data.FirstCreated,
	}
	res, err := model.Forecast(asOf, open, data.Outcomes, fo)
	if err != nil {
		return nil, err
	}
	m.Logger.Info("forecast bookings", "open_deals", len(open), "period_rows", len(res.Periods), "sims", res.Sims, "seconds", since(t))

	now := w.Now().UTC()
	runID := string(revcast.NewRunID(now))
	run := transform.Run{
		RunID:     runID,
		Kind:      "forecast",
		AsOf:      asOf.Time(),
		CreatedAt: now,
		Seed:      cfg.Forecast.Seed,
		ModelVersions: map[string]string{
			"forecast": forecast.Version,
			"winprob":  "L2 logistic regression, L-BFGS (gonum/optimize), Platt calibration",
			"pipeline": "seeded Monte Carlo (PCG per world), exact moments",
		},
		Params: map[string]any{
			"options": model.Options, "fiscal_year_start_month": fo.Calendar.FiscalYearStartMonth,
			"horizon_quarters": fo.Quarters, "sims": res.Sims, "sample_mod": max(sampleMod, 1),
			"supply_factor": model.SupplyFactor, "credit_factor": model.CreditFactor, "common_shock": model.CommonShock,
			"new_deal_growth": res.Growth, "new_deal_lags_months": res.Lags, "sources": data.Sources,
			"refit_days": cfg.Forecast.RefitDays, "model_fitted_by_run": modelRun(reused, runID),
		},
		DataWindow: map[string]any{
			"as_of": asOf.String(), "snapshot_from": dates[0].Day.String(), "snapshot_days": len(dates),
			"train_from": model.Metrics.TrainFrom.String(), "train_to": model.Metrics.TrainTo.String(),
			"calibration_from": model.Metrics.CalibrationFrom.String(), "opportunities": data.Opportunities,
			"open_opportunities": len(open),
		},
		Metrics: map[string]any{"fit": model.Metrics, "win_fit": model.Win.Fit, "close_fit": model.Close.Fit},
	}
	if err := w.SaveForecast(ctx, run, res.Deals, res.Periods); err != nil {
		return nil, err
	}
	if reused == nil {
		if err := w.SaveForecastModel(ctx, run.RunID, model); err != nil {
			return nil, err
		}
	}
	// Cash collections (13 weeks, from open AR, won-but-unbilled orders and the bookings
	// still expected), renewals (contracts ending in 12 months) and the monthly bookings and
	// revenue series on the same run id. Too little history for one of them (a young
	// company, a tiny demo) leaves its table without this run's rows and says so; the
	// bookings forecast stands.
	t = time.Now()
	copts := collections.Options{Seed: uint64(cfg.Forecast.Seed)}
	until := collections.WindowEnd(asOf.Time(), copts.Weeks)
	toCome, err := bookingsToCome(model, asOf, open, scores, data.Outcomes, fo, res, until)
	if err != nil {
		return nil, fmt.Errorf("collections forecast: expected bookings: %w", err)
	}
	bookings := collections.SpreadBookings(asOf.Time(), until, toCome)
	cf, err := w.ForecastCollections(ctx, revcast.RunID(run.RunID), asOf.Time(), bookings, copts)
	if errors.Is(err, collections.ErrNoHistory) {
		m.Logger.Warn("no collections forecast: too little payment history", "err", err)
	} else if err != nil {
		return nil, fmt.Errorf("collections forecast: %w", err)
	}
	m.Logger.Info("forecast collections", "seconds", since(t))
	t = time.Now()
	_, _, err = w.ForecastRenewals(ctx, revcast.RunID(run.RunID), asOf.Time(), 12, renewal.Options{})
	if errors.Is(err, renewal.ErrTooFewOutcomes) {
		m.Logger.Warn("no renewal forecast: too few renewed and churned contracts to fit on", "err", err)
	} else if err != nil {
		return nil, fmt.Errorf("renewal forecast: %w", err)
	}
	m.Logger.Info("forecast renewals", "seconds", since(t))
	t = time.Now()
	ts, err := w.ForecastTimeseries(ctx, revcast.RunID(run.RunID), asOf.Time(), timeseriesHorizon(asOf, res))
	if errors.Is(err, transform.ErrTooFewMonths) {
		m.Logger.Warn("no time-series forecast: too few complete months of bookings and revenue", "err", err)
	} else if err != nil {
		return nil, fmt.Errorf("time-series forecast: %w", err)
	} else {
		for _, s := range ts.Skipped {
			m.Logger.Warn("time-series forecast: series skipped, fewer than 2 complete months", "series", s)
		}
		m.Logger.Info("forecast monthly bookings and revenue", "series", len(ts.Series), "horizon_months", ts.Horizon, "seconds", since(t))
	}
	m.Logger.Info("saved forecast", "run_id", run.RunID, "as_of", asOf.String(), "seconds", since(start))
	return &forecastOutcome{RunID: run.RunID, AsOf: asOf, Model: model, Result: res, Collections: cf, Timeseries: ts, Elapsed: time.Since(start)}, nil
}

// logFeatureSeconds logs, at debug level, the time of each step of the snapshot build
// (transform.SnapshotData.Seconds), slowest first.
func logFeatureSeconds(m *Main, data *transform.SnapshotData) {
	steps := slices.Collect(maps.Keys(data.Seconds))
	slices.SortFunc(steps, func(a, b string) int { return cmp.Compare(data.Seconds[b], data.Seconds[a]) })
	args := make([]any, 0, 2*len(steps))
	for _, s := range steps {
		args = append(args, s, round(data.Seconds[s], 2))
	}
	m.Logger.Debug("forecast snapshot steps (seconds)", args...)
}

// The forecast's memory budget, for the design's 2 GiB peak of a whole run at large scale
// (DESIGN.md, Performance), used when neither the config nor the environment sets one:
//
//   - DuckDB: the warehouse's memory_limit (DefaultMemoryLimit, 1 GB, unless configured)
//     caps its buffer manager. The feature temp tables grow with the history (about 90 MB
//     at medium, some 1.8 GB at large) and under the cap spill to the warehouse's .tmp
//     folder. The snapshot step peaks at about 450 MB at medium, so the cap does not bind
//     there.
//   - DuckDB's allocator (jemalloc) keeps freed pages until its next allocations; its
//     background thread returns them while Go fits the models (measured at medium: RSS
//     during the fit 1.4 GB without it, 0.75 GB with it), so DuckDB's peak (the snapshot
//     step) and Go's (the fit) do not add up.
//   - Go: forecastGoMemory is a soft limit on the Go heap (debug.SetMemoryLimit), so that
//     the garbage collector runs before the heap reaches twice the live data (GOGC=100):
//     at large the live peak of the fit is about 0.9 GB (1.6M snapshots of 264 bytes, a
//     million outcomes, the 400k-row win matrix), which GOGC alone lets grow toward
//     1.8 GB. 1.25 GiB leaves room for the live data and for DuckDB's idle remainder and
//     the binary (about 0.25 GB) under 2 GiB.
//   - The two meet at the end of the snapshot step (the snapshots in Go, the last chunks
//     and the outcomes' sort in DuckDB): there DuckDB's resident share goes past its
//     buffer manager's cap, and a large refit peaked at 1.99-2.08 GB (four runs), at the
//     budget's edge. forecastDuckDBMemory caps DuckDB lower for that step when the
//     config sets no memory_limit (Warehouse.SnapshotMemoryLimit): 1.83-1.89 GB, same
//     57-59 s ('revcast forecast' with refit_days 0 on a large warehouse). The snapshot
//     queries run in chunks (snapshotChunkRows), so their working memory does not grow
//     with the history; the feature tables before them are built under the usual cap
//     (fc_deal's aggregates over every opportunity's history, when some could not spill,
//     ran out of 768 MB at twice the large scale: fc_deal.sql, Memory).
const forecastGoMemory = 1280 << 20

// forecastDuckDBMemory is DuckDB's memory_limit while the forecast reads its snapshots
// and outcomes when warehouse.memory_limit is not set (see forecastGoMemory).
const forecastDuckDBMemory = "768MB"

// forecastMemory applies the forecast's memory budget (see forecastGoMemory): DuckDB's
// allocator background threads, its lower cap unless the config sets one, and the Go
// heap's soft limit unless the environment sets GOMEMLIMIT. It returns the function that
// restores the Go limit.
func forecastMemory(ctx context.Context, w *transform.Warehouse, cfg *Config) (func(), error) {
	if _, err := w.DB.ExecContext(ctx, `set global allocator_background_threads = true`); err != nil {
		return nil, fmt.Errorf("forecast: enable DuckDB's allocator background threads: %w", err)
	}
	if cfg.Warehouse.MemoryLimit == "" {
		w.SnapshotMemoryLimit = forecastDuckDBMemory
	}
	return goMemoryLimit(forecastGoMemory), nil
}

// goMemoryLimit sets a soft limit on the Go heap (debug.SetMemoryLimit) for one stage,
// unless the environment sets GOMEMLIMIT, and returns the function that restores the
// previous limit. The garbage collector then runs before the heap reaches twice the live
// data (GOGC=100) once that would pass the limit; it does not cap what is live.
func goMemoryLimit(limit int64) (restore func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	prev := debug.SetMemoryLimit(limit)
	return func() { debug.SetMemoryLimit(prev) }
}

// bookingsToCome returns the bookings expected from asOf until the day before until (the
// end of the collections window) that have not closed yet, for the collections forecast's
// bookings component (scores: model.Score(open)):
//
//   - open deals, week by week: the same model and factors as forecast_periods evaluated on
//     weekly periods (moments only, no simulation), so each deal books when its close-timing
//     distribution says — mostly near its CRM close date, which clusters at quarter ends,
//     where a uniform spread of the month's total would put cash weeks too early;
//   - deals not created yet, month by month: the total segment's new_deals_base of res,
//     to be spread uniformly over the month's remaining days.
func bookingsToCome(model *forecast.Model, asOf forecast.Day, open []forecast.Snapshot, scores []forecast.Score, outcomes []forecast.Outcome,
	fo forecast.ForecastOptions, res *forecast.Result, until time.Time) ([]collections.BookingPeriod, error) {
	var weeks []forecast.Period
	end := forecast.DayOf(until) - 1
	for d := asOf; d <= end; {
		e := min(forecast.DayOf(collections.FirstMonday(d.Time().AddDate(0, 0, 1)))-1, end)
		weeks = append(weeks, forecast.Period{Name: d.String(), Kind: "week", Start: d, End: e})
		d = e + 1
	}
	var out []collections.BookingPeriod
	if len(weeks) > 0 && len(open) > 0 {
		wk, err := model.Forecast(asOf, open, outcomes, forecast.ForecastOptions{
			Periods: weeks, Calendar: fo.Calendar, TotalOnly: true, NoNewDeals: true, Sims: -1, Scores: scores, DataStart: fo.DataStart})
		if err != nil {
			return nil, err
		}
		for _, p := range wk.Periods {
			out = append(out, collections.BookingPeriod{Start: p.Period.Start.Time(), End: p.Period.End.Time(), Amount: p.Expected - p.Closed})
		}
	}
	for _, p := range res.Periods {
		if p.Period.Kind == "month" && p.SegmentType == "total" {
			out = append(out, collections.BookingPeriod{Start: p.Period.Start.Time(), End: p.Period.End.Time(), Amount: p.NewDeals})
		}
	}
	return out, nil
}

// timeseriesHorizon is the time-series forecast's horizon in months: from the month after
// the last complete month before asOf through the last month of the bookings forecast's
// horizon, and at least 12 (a year: the seasonal cycle).
func timeseriesHorizon(asOf forecast.Day, res *forecast.Result) int {
	first := transform.LastCompleteMonth(asOf.Time()).AddDate(0, 1, 0)
	h := 12
	for _, p := range res.Periods {
		e := p.Period.End.Time()
		h = max(h, (e.Year()-first.Year())*12+int(e.Month())-int(first.Month())+1)
	}
	return h
}

// modelRun is the run whose fitted model scored this run: the reused model's, else self.
func modelRun(reused *transform.SavedForecastModel, self string) string {
	if reused != nil {
		return reused.RunID
	}
	return self
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// money formats a base-currency amount compactly: 1234567 → 1.23M.
func money(x float64) string {
	switch a := math.Abs(x); {
	case a >= 1e9:
		return fmt.Sprintf("%.2fB", x/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

// headline returns the total row of the current quarter.
func (o *forecastOutcome) headline() (forecast.PeriodForecast, bool) {
	for _, p := range o.Result.Periods {
		if p.Period.Kind == "quarter" && p.SegmentType == "total" && p.Period.Contains(o.AsOf) {
			return p, true
		}
	}
	return forecast.PeriodForecast{}, false
}

// printHeadline prints the current quarter's numbers.
func (o *forecastOutcome) printHeadline(out io.Writer) {
	p, ok := o.headline()
	if !ok {
		return
	}
	fmt.Fprintf(out, "Forecast %s, as of %s (run %s):\n", p.Period.Name, o.AsOf, o.RunID)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  closed\t%s\t\n", money(p.Closed))
	fmt.Fprintf(tw, "  expected\t%s\t  P10 %s · P50 %s · P90 %s\n", money(p.Expected), money(p.P10), money(p.P50), money(p.P90))
	fmt.Fprintf(tw, "  stage-weighted (CRM)\t%s\t\n", money(p.StageWeighted))
	fmt.Fprintf(tw, "  commit (reps)\t%s\t\n", money(p.Commit))
	tw.Flush()
}

// print prints the headline and the total of every period.
func (o *forecastOutcome) print(out io.Writer) {
	o.printHeadline(out)
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "period\tclosed\texpected\tP10\tP50\tP90\tstage-weighted\tcommit\t")
	for _, p := range o.Result.Periods {
		if p.SegmentType != "total" {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", p.Period.Name, money(p.Closed), money(p.Expected),
			money(p.P10), money(p.P50), money(p.P90), money(p.StageWeighted), money(p.Commit))
	}
	tw.Flush()
	mm := o.Model.Metrics
	fmt.Fprintf(out, "\nWin model: %d training snapshots, held-out Brier %.3f, AUC %.3f; %d open deals scored in %.1fs.\n",
		mm.WinRows+mm.WinCalibrationRows, mm.HeldOutBrier, mm.HeldOutAUC, len(o.Result.Deals), o.Elapsed.Seconds())
	if c := o.Collections; c != nil {
		tot, bk := c.Component(collections.ComponentTotal), c.Component(collections.ComponentBookings)
		var sum, fromBookings float64
		for k := range tot.Weeks {
			sum += tot.Weeks[k].Expected
			fromBookings += bk.Weeks[k].Expected
		}
		fmt.Fprintf(out, "Collections: %s expected in the %d weeks from %s, %s of it from bookings not closed yet.\n",
			money(sum), len(tot.Weeks), c.FirstWeek.Format(revcast.DateLayout), money(fromBookings))
	}
	if ts := o.Timeseries; ts != nil {
		for _, measure := range transform.TimeseriesMeasures {
			var next12 float64
			var first *transform.TimeseriesRow
			for i := range ts.Rows {
				r := &ts.Rows[i]
				if r.Measure != measure || r.SegmentType != "total" {
					continue
				}
				if r.H == 1 {
					first = r
				}
				if r.H <= 12 {
					next12 += r.Forecast
				}
			}
			if first != nil {
				fmt.Fprintf(out, "Monthly %s (%s): %s %s (80%% %s–%s), next 12 months %s.\n", measure, first.Method,
					first.Month.Format("2006-01"), money(first.Forecast), money(first.Lo80), money(first.Hi80), money(next12))
			}
		}
	}
	fmt.Fprintf(out, "Tables: forecast_runs, forecast_opportunities, forecast_periods, collections_forecast, renewal_forecast, timeseries_forecast (run_id = '%s').\n", o.RunID)
}

// demoForecast runs the forecast inside the demo and prints the headline numbers.
func (m *Main) demoForecast(ctx context.Context, cfg *Config, asOf time.Time) error {
	out, err := m.runForecast(ctx, cfg, asOf)
	if err != nil {
		return fmt.Errorf("forecast: %w", err)
	}
	fmt.Fprintln(m.Stdout)
	out.printHeadline(m.Stdout)
	return nil
}
