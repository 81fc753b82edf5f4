package transform

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/models/collections"
)

// The collections model's inputs, reconstructed as of a date t (00:00 UTC: only rows dated
// before t count) from invoices, payments and sales orders, so the same queries serve the
// current forecast and backtests at past dates. Amounts are compared in the document
// currency (an invoice is fully paid when its applied payments reach its amount) and
// reported in the base currency at the invoice's (order's) rate. Cancelled invoices and
// cancelled orders are left out. Sums are exact (decimal) before the cast to double.

// collectionsPaySQL: per invoice, payments applied before t: total, first payment date, the
// amount paid on that first day, and the date the balance was cleared (cumulative payments
// reaching the amount), if it was.
const collectionsPaySQL = `
create or replace temp table cf_pay as
with p as (
    select invoice_id, payment_date, sum(amount) as amount
    from payments
    where invoice_id is not null and payment_date < ?::date
    group by all
), c as (
    select p.*, sum(p.amount) over (partition by p.invoice_id order by p.payment_date) as cum,
           row_number() over (partition by p.invoice_id order by p.payment_date) as rn
    from p
)
select c.invoice_id,
       cast(max(c.cum) as double) as paid,
       min(c.payment_date) as first_paid,
       cast(max(case when c.rn = 1 then c.amount end) as double) as first_amount,
       min(case when c.cum >= i.amount then c.payment_date end) as cleared
from c join invoices i using (invoice_id)
group by c.invoice_id`

// collectionsInvoicesSQL: every non-cancelled invoice issued before t with its payment state.
const collectionsInvoicesSQL = `
select i.invoice_id, i.customer_id, i.invoice_date, i.due_date,
       cast(i.amount as double) as amount, cast(i.amount_base as double) as amount_base,
       p.paid, p.first_paid, p.first_amount, p.cleared,
       coalesce(d.is_disputed, false) as is_disputed
from invoices i
left join cf_pay p using (invoice_id)
left join (select invoice_id, bool_or(coalesce(is_disputed, false)) as is_disputed
           from ar_open_items where invoice_id is not null group by all) d using (invoice_id)
where not coalesce(i.is_cancelled, false) and i.invoice_date < ?::date and i.amount > 0
order by i.invoice_id`

// collectionsOrdersSQL: every non-cancelled order placed before t, its first invoice date
// and the amount invoiced before t, and the customer's payment terms.
const collectionsOrdersSQL = `
with inv as (
    select order_id, min(invoice_date) as first_invoice, cast(sum(amount) as double) as invoiced
    from invoices
    where order_id is not null and not coalesce(is_cancelled, false) and invoice_date < ?::date
    group by all
)
select o.order_id, o.customer_id, o.order_date,
       cast(o.amount as double) as amount, cast(o.amount_base as double) as amount_base,
       inv.first_invoice, coalesce(inv.invoiced, 0) as invoiced,
       coalesce(c.payment_terms_days, 0) as terms
from sales_orders o
left join inv using (order_id)
left join erp_customers c on c.customer_id = o.customer_id
where o.order_date < ?::date and o.status <> 'cancelled'
order by o.order_id`

// collectionsBookingLagsSQL: every opportunity won with a close date before t, and the first
// invoice (issued before t, not cancelled) of any non-cancelled order for it.
const collectionsBookingLagsSQL = `
select o.close_date, min(i.invoice_date) as first_invoice
from opportunities o
left join sales_orders so on so.opportunity_id = o.opportunity_id and so.status <> 'cancelled'
left join invoices i on i.order_id = so.order_id and not coalesce(i.is_cancelled, false) and i.invoice_date < ?::date
where o.is_won and o.close_date < ?::date
group by o.opportunity_id, o.close_date
order by o.opportunity_id`

// CollectionsData is the collections model's input read from the warehouse, with the ids
// that tie open items and unbilled orders back to invoices and orders.
type CollectionsData struct {
	Input collections.Input
	// Live is true when t is on or after the warehouse's as-of date (meta.settings): only
	// then are ar_open_items' dispute flags (which describe the extraction date) used.
	Live bool
}

// CollectionsInput reads the collections model's input as of t (see the comment on the
// queries above): the payment history of every invoice issued before t (first payment
// before t, or censored), partly paid invoices and when their balance cleared, order-to-
// first-invoice lags, the invoices open at t (amount - payments before t > 0.005) and the
// orders not fully invoiced by t, with their customers' payment terms. An invoice is open at
// t if it was issued before t and not fully paid before t. Dispute flags exist only for the
// extraction date, so they are used only when t is on or after the warehouse's as-of date;
// for an earlier t every item follows its customer's distribution. The booking-to-first-
// invoice history (Input.BookingLags) comes from the opportunities won before t (by close
// date) and the first invoice of their orders. Bookings are left empty: the caller adds
// them from the bookings forecast when it has one.
func (w *Warehouse) CollectionsInput(ctx context.Context, t time.Time) (*CollectionsData, error) {
	t = revcastDate(t)
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	out := &CollectionsData{Input: collections.Input{AsOf: t}}
	var settingsAsOf sql.NullTime
	if ok, err := w.tableExists(ctx, "meta", "settings"); err != nil {
		return nil, err
	} else if ok {
		if err := conn.QueryRowContext(ctx, `select max(as_of) from meta.settings`).Scan(&settingsAsOf); err != nil {
			return nil, fmt.Errorf("collections input: settings: %w", err)
		}
	}
	out.Live = settingsAsOf.Valid && !t.Before(settingsAsOf.Time)

	if _, err := conn.ExecContext(ctx, collectionsPaySQL, t); err != nil {
		return nil, fmt.Errorf("collections input: payments: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `drop table if exists cf_pay`)
	rows, err := conn.QueryContext(ctx, collectionsInvoicesSQL, t)
	if err != nil {
		return nil, fmt.Errorf("collections input: invoices: %w", err)
	}
	in := &out.Input
	for rows.Next() {
		var (
			id, cust           string
			invDate, due       time.Time
			amount, amountBase float64
			paid, firstAmount  sql.NullFloat64
			firstPaid, cleared sql.NullTime
			disputed           bool
		)
		if err := rows.Scan(&id, &cust, &invDate, &due, &amount, &amountBase, &paid, &firstPaid, &firstAmount, &cleared, &disputed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("collections input: invoices: %w", err)
		}
		disputed = disputed && out.Live
		obs := collections.DelayObs{Customer: cust, Invoiced: invDate, Due: due, Disputed: disputed, Amount: amountBase}
		if firstPaid.Valid {
			obs.Paid = firstPaid.Time
		}
		in.Delays = append(in.Delays, obs)
		partial := firstPaid.Valid && firstAmount.Float64 < amount-0.005
		if partial {
			r := collections.RemainderObs{FirstPaid: firstPaid.Time}
			if cleared.Valid {
				r.Cleared = cleared.Time
			}
			in.Remainders = append(in.Remainders, r)
		}
		if open := amount - paid.Float64; open > 0.005 {
			it := collections.OpenItem{ID: id, Customer: cust, Due: due, Amount: amountBase * open / amount, Disputed: disputed}
			if paid.Float64 > 0.005 {
				it.FirstPaid = firstPaid.Time
			}
			in.Open = append(in.Open, it)
		}
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("collections input: invoices: %w", err)
	}

	rows, err = conn.QueryContext(ctx, collectionsOrdersSQL, t, t)
	if err != nil {
		return nil, fmt.Errorf("collections input: orders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, cust                     string
			ordered                      time.Time
			amount, amountBase, invoiced float64
			firstInv                     sql.NullTime
			terms                        int
		)
		if err := rows.Scan(&id, &cust, &ordered, &amount, &amountBase, &firstInv, &invoiced, &terms); err != nil {
			return nil, fmt.Errorf("collections input: orders: %w", err)
		}
		l := collections.LagObs{Ordered: ordered}
		if firstInv.Valid {
			l.Invoiced = firstInv.Time
		}
		in.Lags = append(in.Lags, l)
		if rest := amount - invoiced; rest > 0.005 && amount > 0 {
			in.Unbilled = append(in.Unbilled, collections.UnbilledOrder{ID: id, Customer: cust, Ordered: ordered,
				Amount: amountBase * rest / amount, TermsDays: terms})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("collections input: orders: %w", err)
	}
	rows.Close()

	rows, err = conn.QueryContext(ctx, collectionsBookingLagsSQL, t, t)
	if err != nil {
		return nil, fmt.Errorf("collections input: booking lags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var booked time.Time
		var inv sql.NullTime
		if err := rows.Scan(&booked, &inv); err != nil {
			return nil, fmt.Errorf("collections input: booking lags: %w", err)
		}
		l := collections.LagObs{Ordered: booked}
		if inv.Valid {
			l.Invoiced = inv.Time
		}
		in.BookingLags = append(in.BookingLags, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("collections input: booking lags: %w", err)
	}
	return out, nil
}

// revcastDate truncates t to its UTC date.
func revcastDate(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

const collectionsForecastDDL = `
create table if not exists collections_forecast (
    run_id varchar not null,
    week_start date not null,
    component varchar not null,
    expected_base double,
    p10_base double,
    p50_base double,
    p90_base double,
    primary key (run_id, week_start, component));
comment on table collections_forecast is 'collections_forecast: expected cash receipts by week with P10/P50/P90 (models/collections). grain: one row per run, week and component (ar, unbilled_orders, bookings, total). key: run_id, week_start, component'`

// SaveCollectionsForecast writes f's rows into collections_forecast (created if absent)
// under runID, replacing any rows the run already has (delete, then insert, in one
// transaction), so re-running a run is idempotent.
func (w *Warehouse) SaveCollectionsForecast(ctx context.Context, runID revcast.RunID, f *collections.Forecast) error {
	if w.ReadOnly {
		return ErrReadOnly
	}
	if err := w.exec(ctx, collectionsForecastDDL); err != nil {
		return fmt.Errorf("save collections forecast: %w", err)
	}
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `delete from collections_forecast where run_id = ?`, string(runID)); err != nil {
		return fmt.Errorf("save collections forecast: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, `insert into collections_forecast values (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("save collections forecast: %w", err)
	}
	defer stmt.Close()
	for _, r := range f.Rows() {
		if _, err := stmt.ExecContext(ctx, string(runID), r.WeekStart, string(r.Component), r.Expected, r.P10, r.P50, r.P90); err != nil {
			return fmt.Errorf("save collections forecast: week %s %s: %w", r.WeekStart.Format(revcast.DateLayout), r.Component, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save collections forecast: %w", err)
	}
	return nil
}

// CollectionsBacktestWeek is one week of one backtest origin: actual receipts and the
// forecasts, for the open receivables at the origin (AR) and for those plus the orders
// unbilled at the origin (Total).
type CollectionsBacktestWeek struct {
	Origin, WeekStart time.Time
	// AR: payments applied to invoices open at the origin.
	ActualAR, ExpectedAR, P10AR, P90AR, DueDateAR, MedianAR float64
	// Total: AR plus payments on invoices issued on or after the origin for orders unbilled
	// at the origin.
	Actual, Expected, P10, P50, P90, DueDate, Median float64
}

// CollectionsScore summarises one scope (AR or total) of the backtest over every origin and
// week: mean absolute errors of the weekly cash, the model's bias (mean forecast - actual)
// and the share of weeks whose actual lies in [P10, P90].
type CollectionsScore struct {
	Weeks           int     `json:"weeks"`
	MeanActual      float64 `json:"mean_actual"`
	MAE             float64 `json:"mae"`             // model's expected cash
	MAEDueDate      float64 `json:"mae_due_date"`    // baseline: paid on the due date
	MAEMedianDelay  float64 `json:"mae_median"`      // baseline: customer's median delay
	Bias            float64 `json:"bias"`            // mean(expected - actual)
	BiasDueDate     float64 `json:"bias_due_date"`   // mean(due-date baseline - actual)
	BiasMedianDelay float64 `json:"bias_median"`     // mean(median baseline - actual)
	Coverage80      float64 `json:"coverage_p10_90"` // share of weeks with P10 <= actual <= P90
}

// CollectionsBacktest is the collections model evaluated at several past origins.
type CollectionsBacktest struct {
	Origins []time.Time               `json:"origins"`
	AR      CollectionsScore          `json:"ar"`
	Total   CollectionsScore          `json:"total"`
	Rows    []CollectionsBacktestWeek `json:"-"`
	// K is the credibility constant chosen at each origin.
	K []float64 `json:"k"`
	// Skipped are the origins left out for want of payment history before them.
	Skipped []time.Time `json:"skipped,omitempty"`
}

// ByOrigin scores each origin's weeks on their own (scope Total), in Origins order.
func (bt *CollectionsBacktest) ByOrigin() []CollectionsScore {
	out := make([]CollectionsScore, len(bt.Origins))
	for i, o := range bt.Origins {
		var rows []CollectionsBacktestWeek
		for _, r := range bt.Rows {
			if r.Origin.Equal(o) {
				rows = append(rows, r)
			}
		}
		out[i] = scoreCollections(rows, totalScope)
	}
	return out
}

// totalScope reads the Total scope of a backtest week for scoreCollections.
func totalScope(r CollectionsBacktestWeek) [6]float64 {
	return [6]float64{r.Actual, r.Expected, r.P10, r.P90, r.DueDate, r.Median}
}

// CollectionsBacktest runs the collections forecast at each origin (its input reconstructed
// as of the origin by CollectionsInput, no bookings) and compares every forecast week with
// the receipts that actually came: payments dated in the week applied to an invoice open at
// the origin (scope AR), plus payments on invoices issued on or after the origin for orders
// unbilled at the origin (scope Total). The baselines (collections.BaselineDueDate,
// collections.BaselineCustomerMedian) are scored on the same weeks. Origins should lie at
// least opts.Weeks weeks before the warehouse's as-of date, so that the actuals are complete,
// and are best Mondays, so that the first forecast week starts at the origin. An origin
// before any payment history (collections.ErrNoHistory) is skipped and listed in Skipped;
// when every origin is, the error wraps collections.ErrNoHistory.
func (w *Warehouse) CollectionsBacktest(ctx context.Context, origins []time.Time, opts collections.Options) (*CollectionsBacktest, error) {
	bt := &CollectionsBacktest{}
	weeks := opts.Weeks
	if weeks <= 0 {
		weeks = 13
	}
	for _, origin := range origins {
		origin = revcastDate(origin)
		data, err := w.CollectionsInput(ctx, origin)
		if err != nil {
			return nil, err
		}
		in := data.Input
		m, err := collections.Fit(in, opts)
		if errors.Is(err, collections.ErrNoHistory) {
			bt.Skipped = append(bt.Skipped, origin)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("collections backtest at %s: %w", origin.Format(revcast.DateLayout), err)
		}
		f, err := m.Forecast(in)
		if err != nil {
			return nil, err
		}
		bt.Origins = append(bt.Origins, origin)
		bt.K = append(bt.K, m.K)
		dueAR, dueUB := m.Baseline(collections.BaselineDueDate, in)
		medAR, medUB := m.Baseline(collections.BaselineCustomerMedian, in)

		openInv := make(map[string]bool, len(in.Open))
		for _, it := range in.Open {
			openInv[it.ID] = true
		}
		unbilled := make(map[string]bool, len(in.Unbilled))
		for _, o := range in.Unbilled {
			unbilled[o.ID] = true
		}
		first := f.FirstWeek
		end := first.AddDate(0, 0, 7*weeks)
		actAR := make([]float64, weeks)
		actUB := make([]float64, weeks)
		rows, err := w.DB.QueryContext(ctx, `
			select p.payment_date, cast(p.amount_base as double), coalesce(p.invoice_id, ''),
			       coalesce(i.order_id, ''), i.invoice_date
			from payments p left join invoices i using (invoice_id)
			where p.payment_date >= ?::date and p.payment_date < ?::date`, first, end)
		if err != nil {
			return nil, fmt.Errorf("collections backtest: actual receipts: %w", err)
		}
		for rows.Next() {
			var pd time.Time
			var amt float64
			var inv, ord string
			var invDate sql.NullTime
			if err := rows.Scan(&pd, &amt, &inv, &ord, &invDate); err != nil {
				rows.Close()
				return nil, err
			}
			k := int(pd.Sub(first).Hours()/24) / 7
			switch {
			case inv != "" && openInv[inv]:
				actAR[k] += amt
			case ord != "" && unbilled[ord] && invDate.Valid && !invDate.Time.Before(origin):
				actUB[k] += amt
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		ar, ub, tot := f.Component(collections.ComponentAR), f.Component(collections.ComponentUnbilled), f.Component(collections.ComponentTotal)
		for k := 0; k < weeks; k++ {
			bt.Rows = append(bt.Rows, CollectionsBacktestWeek{
				Origin: origin, WeekStart: ar.Weeks[k].Start,
				ActualAR: actAR[k], ExpectedAR: ar.Weeks[k].Expected, P10AR: ar.Weeks[k].P10, P90AR: ar.Weeks[k].P90,
				DueDateAR: dueAR[k], MedianAR: medAR[k],
				Actual: actAR[k] + actUB[k], Expected: tot.Weeks[k].Expected, P10: tot.Weeks[k].P10, P50: tot.Weeks[k].P50, P90: tot.Weeks[k].P90,
				DueDate: dueAR[k] + dueUB[k], Median: medAR[k] + medUB[k],
			})
			_ = ub
		}
	}
	bt.AR = scoreCollections(bt.Rows, func(r CollectionsBacktestWeek) [6]float64 {
		return [6]float64{r.ActualAR, r.ExpectedAR, r.P10AR, r.P90AR, r.DueDateAR, r.MedianAR}
	})
	bt.Total = scoreCollections(bt.Rows, totalScope)
	if len(bt.Origins) == 0 && len(origins) > 0 {
		return nil, fmt.Errorf("collections backtest: every origin from %s: %w", revcastDate(origins[0]).Format(revcast.DateLayout), collections.ErrNoHistory)
	}
	return bt, nil
}

// scoreCollections computes a CollectionsScore from (actual, expected, p10, p90, due-date
// baseline, median baseline) per week.
func scoreCollections(rows []CollectionsBacktestWeek, get func(CollectionsBacktestWeek) [6]float64) CollectionsScore {
	var s CollectionsScore
	for _, r := range rows {
		v := get(r)
		s.Weeks++
		s.MeanActual += v[0]
		s.MAE += math.Abs(v[1] - v[0])
		s.Bias += v[1] - v[0]
		s.MAEDueDate += math.Abs(v[4] - v[0])
		s.MAEMedianDelay += math.Abs(v[5] - v[0])
		s.BiasDueDate += v[4] - v[0]
		s.BiasMedianDelay += v[5] - v[0]
		if v[2] <= v[0]+1e-9 && v[0] <= v[3]+1e-9 {
			s.Coverage80++
		}
	}
	if s.Weeks > 0 {
		n := float64(s.Weeks)
		s.MeanActual /= n
		s.MAE /= n
		s.Bias /= n
		s.MAEDueDate /= n
		s.MAEMedianDelay /= n
		s.BiasDueDate /= n
		s.BiasMedianDelay /= n
		s.Coverage80 /= n
	}
	return s
}

// ForecastCollections is the collections step of a forecast run: it reads the input as of
// asOf (CollectionsInput), adds the expected bookings (nil when there is no bookings
// forecast), fits and runs the model (collections.Run) and saves the weekly rows under runID
// (SaveCollectionsForecast).
func (w *Warehouse) ForecastCollections(ctx context.Context, runID revcast.RunID, asOf time.Time, bookings []collections.Booking, opts collections.Options) (*collections.Forecast, error) {
	data, err := w.CollectionsInput(ctx, asOf)
	if err != nil {
		return nil, err
	}
	data.Input.Bookings = bookings
	f, err := collections.Run(data.Input, opts)
	if err != nil {
		return nil, err
	}
	return f, w.SaveCollectionsForecast(ctx, runID, f)
}
