package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/models/backtest"
	"github.com/revcast/revcast/models/forecast"
	"github.com/revcast/revcast/transform"
)

func init() { commands = append(commands, newBacktestCmd) }

type backtestOptions struct {
	AsOf      string
	Quarters  int
	Ablations bool
	Variants  []string
	Sims      int
}

func newBacktestCmd(m *Main) *cobra.Command {
	var o backtestOptions
	cmd := &cobra.Command{
		Use:   "backtest",
		Short: "Rolling-origin evaluation of the forecast against what closed, beside the CRM and rep baselines",
		Long: `For every week of the last quarters before the as-of date, rebuild what revcast would
have forecast for that quarter with only the data known then (the models are refitted at
the start of each quarter on deals closed before it), and compare with what actually
closed — beside the CRM's stage-weighted pipeline and the reps' commit. Reports the
absolute percentage error by week of quarter, bias, P10–P90 coverage, and the Brier
score, AUC and calibration table of the win probability. With --ablations (the default)
revcast is also evaluated without the supply signals, without the credit signals and
without both. Results go to backtest_results (long format) and backtest_runs.`,
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
	f.BoolVar(&o.Ablations, "ablations", true, "also evaluate revcast without the supply and/or credit signals")
	f.StringSliceVar(&o.Variants, "variants", nil, "evaluate only these variants (revcast, revcast_no_supply, revcast_no_credit, revcast_no_erp); overrides --ablations")
	f.IntVar(&o.Sims, "sims", 2000, "Monte Carlo worlds per origin")
	return cmd
}

func (m *Main) runBacktest(ctx context.Context, cfg *Config, asOfTime time.Time, o backtestOptions) error {
	start := time.Now()
	w, err := transform.Open(ctx, cfg.WarehousePath(), false)
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
	opts := forecast.Options{}
	days := backtest.SnapshotDays(cal, asOf, o.Quarters, 730)
	var nOpen int64
	if err := w.DB.QueryRowContext(ctx, `select count(*) from opportunities where not is_closed`).Scan(&nOpen); err != nil {
		return fmt.Errorf("backtest: count open opportunities (run 'revcast transform' first): %w", err)
	}
	// Origins are scored in full; training-only days are sampled at large scale.
	origins := map[forecast.Day]bool{}
	for _, q := range backtest.Quarters(cal, asOf, o.Quarters) {
		for _, d := range backtest.Origins(q) {
			origins[d] = true
		}
	}
	sampleMod := int(math.Ceil(float64(nOpen) * float64(len(days)-len(origins)) / maxTrainingSnapshotRows))
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
		return err
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
		if err == backtest.ErrNoOrigins {
			return revcast.Errorf(revcast.EINVALID, "backtest as of %s: %v — try fewer --quarters or a later --as-of", asOf, err)
		}
		return err
	}
	now := w.Now().UTC()
	names := make([]string, len(variants))
	for i, v := range variants {
		names[i] = v.Name
	}
	summary := map[string]map[string]float64{}
	for _, r := range res.Rows {
		if r.Origin == 0 && r.SegmentType == "total" && r.Bin < 0 && r.WeekOfQuarter == 0 {
			if summary[r.Model] == nil {
				summary[r.Model] = map[string]float64{}
			}
			summary[r.Model][r.Metric] = r.Value
		}
	}
	run := transform.Run{
		RunID: string(revcast.NewRunID(now)), Kind: "backtest", AsOf: asOf.Time(), CreatedAt: now, Seed: cfg.Forecast.Seed,
		ModelVersions: map[string]string{"forecast": forecast.Version},
		Params: map[string]any{"quarters": o.Quarters, "sims": o.Sims, "variants": variants, "options": opts,
			"refit": "at the first origin of each quarter, on data known then", "sample_mod": max(sampleMod, 1), "sources": data.Sources},
		DataWindow: map[string]any{"as_of": asOf.String(), "origins": len(res.Origins), "first_origin": res.Origins[0].String(),
			"last_origin": res.Origins[len(res.Origins)-1].String(), "snapshot_days": len(dates)},
		Metrics: summary,
	}
	if err := w.SaveBacktest(ctx, run, res.Rows); err != nil {
		return err
	}
	printBacktest(m.Stdout, res, run.RunID, asOf, names, time.Since(start))
	return nil
}

// printBacktest prints the summary table, the error by week of quarter, the segment
// coverage and the calibration table.
func printBacktest(out io.Writer, res *backtest.Result, runID string, asOf forecast.Day, variants []string, elapsed time.Duration) {
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
	fmt.Fprintf(out, "Backtest as of %s: %d origins (weekly, %s … %s), run %s, %.0fs\n\n", asOf, len(res.Origins),
		res.Origins[0], res.Origins[len(res.Origins)-1], runID, elapsed.Seconds())
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
	fmt.Fprintf(out, "\nTables: backtest_results, backtest_runs (run_id = '%s').\n", runID)
}
