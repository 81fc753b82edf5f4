package transform

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/revcast/revcast/internal/duckx"

	"github.com/revcast/revcast/models/backtest"
	"github.com/revcast/revcast/models/forecast"
)

// forecastTablesSQL and backtestTablesSQL create the model result tables, each when its
// producer first writes (so a warehouse without a backtest has no empty backtest tables).
// They are keyed by run_id and kept across runs, so any past forecast can be re-read; a
// run that is saved again replaces its rows.
const forecastTablesSQL = `
create table if not exists main.forecast_runs (
	run_id varchar primary key, kind varchar, as_of date, created_at timestamptz, seed bigint,
	model_versions varchar, params varchar, data_window varchar, metrics varchar);
comment on table main.forecast_runs is 'model runs: what ran, as of when, with which versions, parameters, data window and metrics (JSON text) (grain: one row per run; key: run_id)';
create table if not exists main.forecast_opportunities (
	run_id varchar, as_of date, opportunity_id varchar, amount_base double, p_win double,
	p_close_in_period double, expected_amount_base double, supply_factor double,
	credit_factor double, factors varchar);
comment on table main.forecast_opportunities is 'open opportunities scored by a forecast run: p_win (calibrated), p_close_in_period (closes won within the current fiscal quarter, after supply and credit factors), expected_amount_base = amount_base * p_close_in_period, factors = top positive and negative contributions to the win logit (JSON text) (grain: one row per run per open opportunity; key: run_id, opportunity_id)';
create table if not exists main.forecast_periods (
	run_id varchar, as_of date, period varchar, period_kind varchar, period_start date,
	period_end date, segment_type varchar, segment varchar, closed_base double,
	expected_base double, sd_base double, p10_base double, p50_base double, p90_base double,
	stage_weighted_base double, commit_base double, new_deals_base double, open_deals bigint);
comment on table main.forecast_periods is 'bookings forecast per period (month, fiscal quarter) and segment (total/all, owner, team, region, family): closed so far, expected value and P10/P50/P90 of closed + open pipeline + deals not yet created, beside the CRM stage-weighted pipeline and the reps'' commit (grain: one row per run, period and segment; key: run_id, period, segment_type, segment)';
`

const backtestTablesSQL = `
create table if not exists main.backtest_runs (
	run_id varchar primary key, kind varchar, as_of date, created_at timestamptz, seed bigint,
	model_versions varchar, params varchar, data_window varchar, metrics varchar);
comment on table main.backtest_runs is 'backtest runs: as-of, evaluated quarters, variants, parameters and headline metrics (JSON text); kept apart from forecast_runs, whose row with the latest as_of (then created_at) is the current forecast (grain: one row per run; key: run_id)';
create table if not exists main.backtest_results (
	run_id varchar, as_of date, origin date, quarter varchar, week_of_quarter integer,
	model varchar, segment_type varchar, segment varchar, metric varchar, bin integer, value double);
comment on table main.backtest_results is 'rolling-origin backtest in long format: per origin and model the quarter forecast, actual, ape, pe, p10/p50/p90, covered; summaries (origin null): mape, bias, coverage, mape_by_week, brier, auc, log_loss, ece, brier_in_quarter, calibration_* by bin; collections, collections_due_date, collections_median: mae (per scope), mae_origin, bias, coverage; renewal, renewal_auto_renew: brier, auc, log_loss, ece; timeseries_combo, timeseries_snaive: smape, mase, coverage80, coverage95 per measure (segment_type measure) and per series (grain: one row per run, origin, model, segment, metric and bin; key: run_id, origin, model, segment_type, segment, metric, week_of_quarter, bin)';
`

// Run is one row of forecast_runs (or backtest_runs). The JSON fields are marshalled as given.
type Run struct {
	RunID         string
	Kind          string // "forecast" or "backtest"
	AsOf          time.Time
	CreatedAt     time.Time
	Seed          int64
	ModelVersions any
	Params        any
	DataWindow    any
	Metrics       any
}

// EnsureResultTables creates the forecast's and the backtest's result tables if they do
// not exist.
func (w *Warehouse) EnsureResultTables(ctx context.Context) error {
	return w.ensure(ctx, forecastTablesSQL+backtestTablesSQL)
}

func (w *Warehouse) ensure(ctx context.Context, ddl string) error {
	if w.ReadOnly {
		return ErrReadOnly
	}
	if err := w.exec(ctx, ddl); err != nil {
		return fmt.Errorf("result tables: %w", err)
	}
	return nil
}

// SaveForecast writes a forecast run: its forecast_runs row, its forecast_opportunities
// and its forecast_periods, in one transaction (rows of an earlier save of the same run id
// are replaced).
func (w *Warehouse) SaveForecast(ctx context.Context, run Run, deals []forecast.DealForecast, periods []forecast.PeriodForecast) error {
	return w.saveRun(ctx, forecastTablesSQL, "forecast_runs", run, func(tx *duckx.Tx) error {
		asOf := run.AsOf.UTC()
		err := tx.Append("main", "forecast_opportunities", len(deals), func(i int) ([]driver.Value, error) {
			d := &deals[i]
			f, err := json.Marshal(d.Factors)
			if err != nil {
				return nil, err
			}
			return []driver.Value{run.RunID, asOf, d.OpportunityID, d.Amount, d.PWin, d.PCloseInPeriod,
				d.ExpectedAmount, d.SupplyFactor, d.CreditFactor, string(f)}, nil
		})
		if err != nil {
			return err
		}
		return tx.Append("main", "forecast_periods", len(periods), func(i int) ([]driver.Value, error) {
			p := &periods[i]
			return []driver.Value{run.RunID, asOf, p.Period.Name, p.Period.Kind, p.Period.Start.Time(), p.Period.End.Time(),
				p.SegmentType, p.Segment, p.Closed, p.Expected, p.SD, nanNil(p.P10), nanNil(p.P50), nanNil(p.P90),
				p.StageWeighted, p.Commit, p.NewDeals, int64(p.NOpen)}, nil
		})
	}, "forecast_opportunities", "forecast_periods")
}

// SaveBacktest writes a backtest run: its backtest_runs row and its backtest_results.
func (w *Warehouse) SaveBacktest(ctx context.Context, run Run, rows []backtest.Row) error {
	return w.saveRun(ctx, backtestTablesSQL, "backtest_runs", run, func(tx *duckx.Tx) error {
		asOf := run.AsOf.UTC()
		return tx.Append("main", "backtest_results", len(rows), func(i int) ([]driver.Value, error) {
			r := &rows[i]
			var origin, week, bin driver.Value
			if r.Origin != 0 {
				origin = r.Origin.Time()
			}
			if r.WeekOfQuarter != 0 {
				week = int32(r.WeekOfQuarter)
			}
			if r.Bin >= 0 {
				bin = int32(r.Bin)
			}
			return []driver.Value{run.RunID, asOf, origin, nilIfEmpty(r.Quarter), week, r.Model, r.SegmentType, r.Segment, r.Metric, bin, nanNil(r.Value)}, nil
		})
	}, "backtest_results")
}

func (w *Warehouse) saveRun(ctx context.Context, ddl, runs string, run Run, write func(*duckx.Tx) error, tables ...string) error {
	if err := w.ensure(ctx, ddl); err != nil {
		return err
	}
	js := make([]string, 4)
	for i, v := range []any{run.ModelVersions, run.Params, run.DataWindow, run.Metrics} {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("save run %s: %w", run.RunID, err)
		}
		js[i] = string(b)
	}
	tx, err := duckx.Begin(ctx, w.DB)
	if err != nil {
		return fmt.Errorf("save run %s: %w", run.RunID, err)
	}
	defer tx.Rollback()
	fail := func(err error) error { return fmt.Errorf("save run %s: %w", run.RunID, err) }
	for _, t := range append([]string{runs}, tables...) {
		if _, err := tx.ExecContext(ctx, "delete from main."+t+" where run_id = ?", run.RunID); err != nil {
			return fail(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `insert into main.`+runs+` values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		run.RunID, run.Kind, run.AsOf.UTC().Format("2006-01-02"), run.CreatedAt.UTC(), run.Seed, js[0], js[1], js[2], js[3]); err != nil {
		return fail(err)
	}
	if err := write(tx); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

func nanNil(x float64) driver.Value {
	if x != x {
		return nil
	}
	return x
}

func nilIfEmpty(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}
