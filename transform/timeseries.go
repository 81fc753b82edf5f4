package transform

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/models/timeseries"
)

// The time-series forecasts read two monthly measures from the core tables, per segment
// (the total and each region), over the complete months before the as-of date t (every
// month that ended before t: the months before t's month, since a month is complete only
// once its last day is before t):
//
//   - bookings: won opportunities' amount_base by the month of close_date;
//   - revenue: non-cancelled invoices' amount_base by the month of invoice_date.
//
// A region is the one the bookings forecast (forecast_periods, segment_type 'region') uses:
// the region of the opportunity's owner (users.region). An invoice takes the owner region
// of its order's opportunity, else the region of its ERP customer's CRM account in the
// golden record (customers.primary_account_id), else 'unknown'. Sums are exact (decimal)
// before the cast to double.

// timeseriesMonthsSQL: one row per measure, month and region with a non-zero total.
// Parameters: the first day of t's month, twice.
const timeseriesMonthsSQL = `
with bookings as (
    select date_trunc('month', o.close_date) as month, coalesce(u.region, 'unknown') as region, o.amount_base
    from opportunities o
    left join users u on u.user_id = o.owner_id
    where o.is_won and o.close_date < ?::date and o.amount_base is not null
), revenue as (
    select date_trunc('month', i.invoice_date) as month,
           coalesce(u.region, a.region, 'unknown') as region, i.amount_base
    from invoices i
    left join sales_orders so on so.order_id = i.order_id
    left join opportunities o on o.opportunity_id = so.opportunity_id
    left join users u on u.user_id = o.owner_id
    left join customers c on c.erp_customer_id = i.customer_id
    left join accounts a on a.account_id = c.primary_account_id
    where not coalesce(i.is_cancelled, false) and i.invoice_date < ?::date and i.amount_base is not null
)
select 'bookings' as measure, cast(month as date) as month, region, cast(sum(amount_base) as double) as amount
from bookings group by all
union all
select 'revenue', cast(month as date), region, cast(sum(amount_base) as double)
from revenue group by all
order by measure, month, region`

// The measures and segment types of the time-series forecasts.
const (
	MeasureBookings = "bookings" // won opportunities' amount_base by close month
	MeasureRevenue  = "revenue"  // non-cancelled invoices' amount_base by invoice month
)

// TimeseriesMeasures lists the measures in output order.
var TimeseriesMeasures = []string{MeasureBookings, MeasureRevenue}

// MinTimeseriesMonths is the shortest history a series is forecast from: with a single
// month there is no variation to build an interval on (models/timeseries then returns NaN
// bounds).
const MinTimeseriesMonths = 2

// ErrTooFewMonths is returned when no series has MinTimeseriesMonths complete months before
// the as-of date (a young company, or an empty warehouse).
var ErrTooFewMonths = errors.New("timeseries: fewer than 2 complete months of bookings and revenue before the as-of date")

// MonthlySeries is one monthly series: a measure summed over a segment, one value per
// month from Start (the first day of the first month with a non-zero value) through the
// last complete month; months without rows are 0.
type MonthlySeries struct {
	Measure     string    // MeasureBookings or MeasureRevenue
	SegmentType string    // "total" or "region"
	Segment     string    // "all" for the total, else the region
	Start       time.Time // first day of the first month, UTC
	Values      []float64 // base currency, oldest first
}

// Month returns the first day of the series' i-th month (i may run past the data: the
// month of forecast horizon h is Month(len(Values) - 1 + h)).
func (s MonthlySeries) Month(i int) time.Time { return s.Start.AddDate(0, i, 0) }

// monthStart returns the first day of t's month (UTC).
func monthStart(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// LastCompleteMonth returns the first day of the last month that ended before t: the month
// before t's month.
func LastCompleteMonth(t time.Time) time.Time { return monthStart(t).AddDate(0, -1, 0) }

// monthsBetween returns the number of months from month a to month b (both first days).
func monthsBetween(a, b time.Time) int {
	return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
}

// MonthlySeries reads the monthly bookings and revenue series as of t (see the comment on
// timeseriesMonthsSQL): for each measure the total (segment_type "total", segment "all")
// and every region, each from its first month with a non-zero value through the last
// complete month before t (LastCompleteMonth). A measure without any row before t has no
// series. The order is measure (TimeseriesMeasures), then the total, then the regions by
// name.
func (w *Warehouse) MonthlySeries(ctx context.Context, t time.Time) ([]MonthlySeries, error) {
	cutoff := monthStart(t)
	last := cutoff.AddDate(0, -1, 0)
	rows, err := w.DB.QueryContext(ctx, timeseriesMonthsSQL, cutoff, cutoff)
	if err != nil {
		return nil, fmt.Errorf("timeseries: monthly bookings and revenue: %w", err)
	}
	defer rows.Close()
	type key struct{ measure, segType, seg string }
	values := map[key]map[time.Time]float64{}
	add := func(k key, m time.Time, v float64) {
		if values[k] == nil {
			values[k] = map[time.Time]float64{}
		}
		values[k][m] += v
	}
	for rows.Next() {
		var measure, region string
		var month time.Time
		var v sql.NullFloat64
		if err := rows.Scan(&measure, &month, &region, &v); err != nil {
			return nil, fmt.Errorf("timeseries: monthly bookings and revenue: %w", err)
		}
		month = monthStart(month)
		add(key{measure, "total", "all"}, month, v.Float64)
		add(key{measure, "region", region}, month, v.Float64)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("timeseries: monthly bookings and revenue: %w", err)
	}
	keys := make([]key, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.measure != b.measure {
			return slices.Index(TimeseriesMeasures, a.measure) - slices.Index(TimeseriesMeasures, b.measure)
		}
		if a.segType != b.segType {
			if a.segType == "total" {
				return -1
			}
			return 1
		}
		if a.seg < b.seg {
			return -1
		}
		if a.seg > b.seg {
			return 1
		}
		return 0
	})
	var out []MonthlySeries
	for _, k := range keys {
		var first time.Time
		for m, v := range values[k] {
			if v != 0 && (first.IsZero() || m.Before(first)) {
				first = m
			}
		}
		if first.IsZero() {
			continue
		}
		s := MonthlySeries{Measure: k.measure, SegmentType: k.segType, Segment: k.seg, Start: first,
			Values: make([]float64, monthsBetween(first, last)+1)}
		for m, v := range values[k] {
			if i := monthsBetween(first, m); i >= 0 {
				s.Values[i] += v
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// TimeseriesSeason is the seasonal period of the monthly series: 12 months.
const TimeseriesSeason = 12

// TimeseriesLevels are the prediction interval levels of timeseries_forecast, in percent.
var TimeseriesLevels = []float64{80, 95}

// TimeseriesRow is one row of timeseries_forecast: the forecast of one series for one
// month. Bounds are the 80% and 95% prediction intervals.
type TimeseriesRow struct {
	Measure, SegmentType, Segment string
	Month                         time.Time // first day of the forecast month
	H                             int       // months after the last complete month, 1..horizon
	Method                        string    // the method that produced it (combo, or a fallback)
	Model                         string    // the fitted model(s), e.g. "Combo(ETS(M,N,M), Theta(...))"
	HistoryMonths                 int       // months of history the series was fitted on
	Forecast, Lo80, Hi80          float64
	Lo95, Hi95                    float64
	Note                          string // why a simpler method was used, if one was
}

// TimeseriesForecast is the result of ForecastTimeseries.
type TimeseriesForecast struct {
	// LastMonth is the first day of the last complete month before the as-of date; the
	// forecast months follow it.
	LastMonth time.Time
	Horizon   int
	Rows      []TimeseriesRow
	// Series are the series forecast; Skipped those with fewer than MinTimeseriesMonths
	// months ("measure/segment_type/segment").
	Series  []MonthlySeries
	Skipped []string
}

// fitSeries forecasts every series with method (season TimeseriesSeason, levels
// TimeseriesLevels), h months ahead, in parallel.
func fitSeries(ctx context.Context, series []MonthlySeries, method timeseries.Method, h int) ([]timeseries.Forecast, error) {
	ys := make([][]float64, len(series))
	for i, s := range series {
		ys[i] = s.Values
	}
	return timeseries.FitMany(ctx, ys, TimeseriesSeason, method, timeseries.Options{Horizon: h, Levels: TimeseriesLevels}, 0)
}

// nonNegative returns max(x, 0). Bookings and revenue cannot be negative: the quantiles of
// max(Y, 0) are max(q, 0), so clipping the bounds keeps them valid (and ordered) for the
// non-negative quantity; the clipped point forecast max(E[Y], 0) is a lower bound of
// E[max(Y, 0)], exact whenever the model's mean is positive.
func nonNegative(x float64) float64 { return math.Max(x, 0) }

// ForecastTimeseries is the time-series step of a forecast run: it reads the monthly series
// as of asOf (MonthlySeries), forecasts each with at least MinTimeseriesMonths months
// horizon months ahead with timeseries.MethodCombo (the mean of Akaike-weighted AutoETS and
// Theta; short series fall back to simpler methods as timeseries.Fit does and say so in
// the note), season 12, 80% and 95% intervals, clips the forecasts at zero (nonNegative)
// and saves them under runID (SaveTimeseriesForecast). It returns ErrTooFewMonths when no
// series is long enough; nothing is saved then.
func (w *Warehouse) ForecastTimeseries(ctx context.Context, runID revcast.RunID, asOf time.Time, horizon int) (*TimeseriesForecast, error) {
	if horizon < 1 {
		panic(fmt.Sprintf("transform: timeseries horizon %d < 1", horizon))
	}
	all, err := w.MonthlySeries(ctx, asOf)
	if err != nil {
		return nil, err
	}
	out := &TimeseriesForecast{LastMonth: LastCompleteMonth(asOf), Horizon: horizon}
	for _, s := range all {
		if len(s.Values) < MinTimeseriesMonths {
			out.Skipped = append(out.Skipped, s.Measure+"/"+s.SegmentType+"/"+s.Segment)
			continue
		}
		out.Series = append(out.Series, s)
	}
	if len(out.Series) == 0 {
		return nil, fmt.Errorf("timeseries forecast as of %s: %w", revcastDate(asOf).Format(revcast.DateLayout), ErrTooFewMonths)
	}
	fcs, err := fitSeries(ctx, out.Series, timeseries.MethodCombo, horizon)
	if err != nil {
		return nil, fmt.Errorf("timeseries forecast: %w", err)
	}
	for i, s := range out.Series {
		fc := fcs[i]
		lo80, hi80, _ := fc.Interval(80)
		lo95, hi95, _ := fc.Interval(95)
		for k := 0; k < horizon; k++ {
			out.Rows = append(out.Rows, TimeseriesRow{
				Measure: s.Measure, SegmentType: s.SegmentType, Segment: s.Segment,
				Month: out.LastMonth.AddDate(0, k+1, 0), H: k + 1,
				Method: string(fc.Method), Model: fc.Model, HistoryMonths: len(s.Values),
				Forecast: nonNegative(fc.Mean[k]),
				Lo80:     nonNegative(lo80[k]), Hi80: nonNegative(hi80[k]),
				Lo95: nonNegative(lo95[k]), Hi95: nonNegative(hi95[k]),
				Note: fc.Note,
			})
		}
	}
	return out, w.SaveTimeseriesForecast(ctx, runID, out.Rows)
}

const timeseriesForecastDDL = `
create table if not exists timeseries_forecast (
    run_id varchar not null,
    measure varchar not null,
    segment_type varchar not null,
    segment varchar not null,
    month date not null,
    h integer not null,
    method varchar,
    model varchar,
    history_months integer,
    forecast double,
    lo80 double,
    hi80 double,
    lo95 double,
    hi95 double,
    note varchar,
    primary key (run_id, measure, segment_type, segment, month));
comment on table timeseries_forecast is 'timeseries_forecast: monthly bookings (won amount_base by close month) and revenue (invoiced amount_base by invoice month) forecast per segment (total/all, region) with 80% and 95% prediction intervals (models/timeseries, combination of AutoETS and Theta, season 12), for the months after the last complete month before the as-of date. grain: one row per run, measure, segment and month. key: run_id, measure, segment_type, segment, month'`

// SaveTimeseriesForecast writes rows into timeseries_forecast (created if absent) under
// runID, replacing any rows the run already has (delete, then insert, in one transaction),
// so re-running a run is idempotent.
func (w *Warehouse) SaveTimeseriesForecast(ctx context.Context, runID revcast.RunID, rows []TimeseriesRow) error {
	if w.ReadOnly {
		return ErrReadOnly
	}
	if err := w.exec(ctx, timeseriesForecastDDL); err != nil {
		return fmt.Errorf("save timeseries forecast: %w", err)
	}
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save timeseries forecast: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `delete from timeseries_forecast where run_id = ?`, string(runID)); err != nil {
		return fmt.Errorf("save timeseries forecast: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, `insert into timeseries_forecast values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("save timeseries forecast: %w", err)
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, string(runID), r.Measure, r.SegmentType, r.Segment, r.Month, r.H, r.Method, r.Model,
			r.HistoryMonths, nanNil(r.Forecast), nanNil(r.Lo80), nanNil(r.Hi80), nanNil(r.Lo95), nanNil(r.Hi95), nilIfEmpty(r.Note)); err != nil {
			return fmt.Errorf("save timeseries forecast: %s %s/%s %s: %w", r.Measure, r.SegmentType, r.Segment, r.Month.Format(revcast.DateLayout), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save timeseries forecast: %w", err)
	}
	return nil
}

// TimeseriesScore summarises one method on one measure over the held-out months of every
// series: sMAPE (timeseries.SMAPE, percent) averaged over series, MASE (timeseries.MASE)
// averaged over the series whose scale is finite and non-zero, and the share of held-out
// months inside the 80% and 95% intervals, pooled over series and months.
type TimeseriesScore struct {
	Series     int     `json:"series"`
	Months     int     `json:"months"` // held-out series-months
	SMAPE      float64 `json:"smape"`
	MASE       float64 `json:"mase"`
	MASESeries int     `json:"mase_series"` // series with a finite MASE
	Coverage80 float64 `json:"coverage80"`
	Coverage95 float64 `json:"coverage95"`
}

// TimeseriesBacktestSeries is one series' result for one method.
type TimeseriesBacktestSeries struct {
	Measure, SegmentType, Segment string
	Method                        string // the method asked for (combo, snaive)
	Fitted                        string // the method used (a fallback for short series)
	Train                         int    // months fitted on
	SMAPE, MASE                   float64
	Coverage80, Coverage95        float64
}

// TimeseriesBacktest is the time-series forecasts evaluated on held-out months.
type TimeseriesBacktest struct {
	AsOf time.Time `json:"as_of"`
	// Holdout is the number of held-out months, the last complete months before AsOf;
	// FirstHeldOut is the first of them.
	Holdout      int       `json:"holdout_months"`
	FirstHeldOut time.Time `json:"first_held_out"`
	// Scores[method][measure], method "combo" or "snaive".
	Scores  map[string]map[string]TimeseriesScore `json:"scores"`
	Series  []TimeseriesBacktestSeries            `json:"-"`
	Skipped []string                              `json:"skipped,omitempty"`
}

// TimeseriesBacktestMethods are the methods TimeseriesBacktest evaluates: the forecast's
// method and the seasonal naive baseline.
var TimeseriesBacktestMethods = []timeseries.Method{timeseries.MethodCombo, timeseries.MethodSNaive}

// TimeseriesBacktest holds out the last months of the monthly series as of asOf
// (MonthlySeries) and forecasts them from the months before, with the forecast's method
// (combo) and with seasonal naive, then scores each series:
//
//	sMAPE = 200/N sum_k |y_k - f_k| / (|y_k| + |f_k|)      (timeseries.SMAPE)
//	MASE  = mean_k |y_k - f_k| / scale,                   (timeseries.MASE)
//	        scale = mean_{t>m} |y_t - y_{t-m}| over the fitted months, m = 12 when more
//	        than 12 months were fitted, else m = 1 (naive scale)
//	coverage = share of held-out months with lo <= y <= hi (80% and 95% intervals)
//
// The number of held-out months N is min(holdout, n/3) with n the length of the shorter of
// the two measures' total series, so at least two thirds of the history is fitted on; it is
// the same for every series. A series with fewer than MinTimeseriesMonths fitted
// months is skipped. Forecasts are clipped at zero as in ForecastTimeseries. It returns
// ErrTooFewMonths when no series can be evaluated.
func (w *Warehouse) TimeseriesBacktest(ctx context.Context, asOf time.Time, holdout int) (*TimeseriesBacktest, error) {
	all, err := w.MonthlySeries(ctx, asOf)
	if err != nil {
		return nil, err
	}
	bt := &TimeseriesBacktest{AsOf: revcastDate(asOf), Scores: map[string]map[string]TimeseriesScore{}}
	n := holdout
	for _, s := range all {
		if s.SegmentType == "total" {
			n = min(n, len(s.Values)/3)
		}
	}
	type task struct {
		s     MonthlySeries
		train []float64
		test  []float64
	}
	var tasks []task
	for _, s := range all {
		if n < 1 || len(s.Values)-n < MinTimeseriesMonths {
			bt.Skipped = append(bt.Skipped, s.Measure+"/"+s.SegmentType+"/"+s.Segment)
			continue
		}
		k := len(s.Values) - n
		tasks = append(tasks, task{s: s, train: s.Values[:k], test: s.Values[k:]})
	}
	if len(tasks) == 0 {
		return nil, fmt.Errorf("timeseries backtest as of %s: %w", bt.AsOf.Format(revcast.DateLayout), ErrTooFewMonths)
	}
	bt.Holdout = n
	bt.FirstHeldOut = LastCompleteMonth(asOf).AddDate(0, 1-n, 0)
	for _, method := range TimeseriesBacktestMethods {
		ys := make([]MonthlySeries, len(tasks))
		for i, tk := range tasks {
			ys[i] = tk.s
			ys[i].Values = tk.train
		}
		fcs, err := fitSeries(ctx, ys, method, n)
		if err != nil {
			return nil, fmt.Errorf("timeseries backtest: %s: %w", method, err)
		}
		scores := map[string]*TimeseriesScore{}
		cov := map[string][2]float64{}
		for i, tk := range tasks {
			fc := fcs[i]
			f := make([]float64, n)
			for k := range f {
				f[k] = nonNegative(fc.Mean[k])
			}
			lo80, hi80, _ := fc.Interval(80)
			lo95, hi95, _ := fc.Interval(95)
			var c80, c95 float64
			for k, y := range tk.test {
				if nonNegative(lo80[k]) <= y && y <= nonNegative(hi80[k]) {
					c80++
				}
				if nonNegative(lo95[k]) <= y && y <= nonNegative(hi95[k]) {
					c95++
				}
			}
			m := TimeseriesSeason
			if len(tk.train) <= m {
				m = 1
			}
			r := TimeseriesBacktestSeries{
				Measure: tk.s.Measure, SegmentType: tk.s.SegmentType, Segment: tk.s.Segment,
				Method: string(method), Fitted: string(fc.Method), Train: len(tk.train),
				SMAPE: timeseries.SMAPE(tk.test, f), MASE: timeseries.MASE(tk.train, tk.test, f, m),
				Coverage80: c80 / float64(n), Coverage95: c95 / float64(n),
			}
			bt.Series = append(bt.Series, r)
			sc := scores[r.Measure]
			if sc == nil {
				sc = &TimeseriesScore{}
				scores[r.Measure] = sc
			}
			sc.Series++
			sc.Months += n
			sc.SMAPE += r.SMAPE
			if !math.IsInf(r.MASE, 0) && !math.IsNaN(r.MASE) {
				sc.MASE += r.MASE
				sc.MASESeries++
			}
			c := cov[r.Measure]
			cov[r.Measure] = [2]float64{c[0] + c80, c[1] + c95}
		}
		bt.Scores[string(method)] = map[string]TimeseriesScore{}
		for measure, sc := range scores {
			sc.SMAPE /= float64(sc.Series)
			if sc.MASESeries > 0 {
				sc.MASE /= float64(sc.MASESeries)
			} else {
				sc.MASE = math.NaN()
			}
			sc.Coverage80 = cov[measure][0] / float64(sc.Months)
			sc.Coverage95 = cov[measure][1] / float64(sc.Months)
			bt.Scores[string(method)][measure] = *sc
		}
	}
	return bt, nil
}
