package transform_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/revcast/revcast/transform"
)

// tsWarehouse returns a fresh warehouse holding the few core columns the monthly series
// read, filled by the given statements.
func tsWarehouse(t *testing.T, inserts ...string) *transform.Warehouse {
	t.Helper()
	ctx := context.Background()
	w, err := transform.Open(ctx, filepath.Join(t.TempDir(), "warehouse.duckdb"), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	ddl := []string{
		`create table users (user_id varchar, region varchar)`,
		`create table accounts (account_id varchar, region varchar)`,
		`create table customers (erp_customer_id varchar, primary_account_id varchar)`,
		`create table opportunities (opportunity_id varchar, owner_id varchar, is_won boolean, close_date date, amount_base decimal(18,2))`,
		`create table sales_orders (order_id varchar, opportunity_id varchar)`,
		`create table invoices (invoice_id varchar, order_id varchar, customer_id varchar, invoice_date date, amount_base decimal(18,2), is_cancelled boolean)`,
		`insert into users values ('u1', 'EMEA'), ('u2', 'NA'), ('u3', null)`,
		`insert into accounts values ('a1', 'APAC')`,
		`insert into customers values ('c1', 'a1')`,
	}
	for _, q := range append(ddl, inserts...) {
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return w
}

func TestMonthlySeries(t *testing.T) {
	w := tsWarehouse(t,
		`insert into opportunities values
			('o1', 'u1', true, '2026-01-15', 100), ('o2', 'u2', true, '2026-01-31', 50),
			('o3', 'u1', true, '2026-03-02', 30),  ('o4', 'u1', false, '2026-02-10', 999),
			('o5', 'u3', true, '2026-02-01', 7),   ('o6', 'u2', true, '2026-04-30', 11),
			('o7', 'u2', true, '2026-05-01', 13)`,
		`insert into sales_orders values ('so1', 'o1'), ('so2', null)`,
		`insert into invoices values
			('i1', 'so1', 'c9', '2026-02-03', 80, false),  ('i2', 'so2', 'c1', '2026-02-20', 20, false),
			('i3', null, 'c9', '2026-03-05', 5, false),     ('i4', 'so1', 'c9', '2026-03-06', 500, true)`,
	)
	ctx := context.Background()
	for _, tc := range []struct {
		asOf string
		// want: "measure/segment_type/segment start: values"
		want []string
	}{
		// As of 1 May, April is the last complete month; the lost deal, the cancelled invoice
		// and everything dated in May are out. The owner without a region is 'unknown'; an
		// invoice without an opportunity takes its customer's account region (c1 -> APAC),
		// else 'unknown'.
		{"2026-05-01", []string{
			"bookings/total/all 2026-01: 150 7 30 11",
			"bookings/region/EMEA 2026-01: 100 0 30 0",
			"bookings/region/NA 2026-01: 50 0 0 11",
			"bookings/region/unknown 2026-02: 7 0 0",
			"revenue/total/all 2026-02: 100 5 0",
			"revenue/region/APAC 2026-02: 20 0 0",
			"revenue/region/EMEA 2026-02: 80 0 0",
			"revenue/region/unknown 2026-03: 5 0",
		}},
		// As of 30 April, April is not complete: March is the last month.
		{"2026-04-30", []string{
			"bookings/total/all 2026-01: 150 7 30",
			"bookings/region/EMEA 2026-01: 100 0 30",
			"bookings/region/NA 2026-01: 50 0 0",
			"bookings/region/unknown 2026-02: 7 0",
			"revenue/total/all 2026-02: 100 5",
			"revenue/region/APAC 2026-02: 20 0",
			"revenue/region/EMEA 2026-02: 80 0",
			"revenue/region/unknown 2026-03: 5",
		}},
		// As of 1 February only January is complete, and there is no revenue yet.
		{"2026-02-01", []string{
			"bookings/total/all 2026-01: 150",
			"bookings/region/EMEA 2026-01: 100",
			"bookings/region/NA 2026-01: 50",
		}},
	} {
		t.Run(tc.asOf, func(t *testing.T) {
			asOf, _ := time.Parse(time.DateOnly, tc.asOf)
			ss, err := w.MonthlySeries(ctx, asOf)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range ss {
				v := make([]string, len(s.Values))
				for i, x := range s.Values {
					v[i] = fmt.Sprint(x)
				}
				got = append(got, fmt.Sprintf("%s/%s/%s %s: %s", s.Measure, s.SegmentType, s.Segment, s.Start.Format("2006-01"), strings.Join(v, " ")))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("series:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// seasonalFactors are quarter-end-heavy monthly factors, like bookings that cluster at the
// end of each quarter and most at the end of the year.
var seasonalFactors = [12]float64{0.8, 0.9, 1.3, 0.8, 0.9, 1.3, 0.8, 0.9, 1.3, 0.9, 1.0, 1.6}

// seasonalLevel is the noiseless level of month i (0 = January 2023): a trend times the
// seasonal factor.
func seasonalLevel(i int) float64 { return (1000 + 10*float64(i)) * seasonalFactors[i%12] }

// seasonalInserts returns won opportunities of owner u1 (EMEA) worth seasonalLevel(i) times
// a fixed +-5% wiggle, one per month from January 2023 for the given number of months, and
// an invoice of the same amount each month (no order, unknown customer: region 'unknown').
func seasonalInserts(months int) []string {
	var opps, invs []string
	for i := 0; i < months; i++ {
		d := time.Date(2023, time.Month(1+i), 10, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		v := seasonalLevel(i) * (1 + 0.05*math.Sin(12.9898*float64(i)))
		opps = append(opps, fmt.Sprintf("('o%d', 'u1', true, '%s', %.2f)", i, d, v))
		invs = append(invs, fmt.Sprintf("('i%d', null, 'c9', '%s', %.2f, false)", i, d, v))
	}
	return []string{
		"insert into opportunities values " + strings.Join(opps, ", "),
		"insert into invoices values " + strings.Join(invs, ", "),
	}
}

func TestForecastTimeseries(t *testing.T) {
	ctx := context.Background()
	w := tsWarehouse(t, seasonalInserts(36)...) // January 2023 - December 2025
	asOf := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	const h = 12
	var first []transform.TimeseriesRow
	for i := 0; i < 2; i++ { // saved twice under one run id: the second save replaces the first
		f, err := w.ForecastTimeseries(ctx, "run-ts-test", asOf, h)
		if err != nil {
			t.Fatal(err)
		}
		first = f.Rows
		if got := f.LastMonth.Format(time.DateOnly); got != "2025-12-01" {
			t.Errorf("last complete month %s, want 2025-12-01", got)
		}
	}
	// bookings and revenue, each total/all and region/EMEA (revenue: the invoices have no
	// order and customer c9 no account, so region 'unknown'), 12 months each
	var n, bad, months int
	err := w.DB.QueryRowContext(ctx, `select count(*),
		count(*) filter (where not (lo95 <= lo80 and lo80 <= forecast and forecast <= hi80 and hi80 <= hi95 and lo95 >= 0)),
		count(*) filter (where month = date '2025-12-01' + to_months(h))
		from timeseries_forecast where run_id = 'run-ts-test'`).Scan(&n, &bad, &months)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4*h || len(first) != n || bad != 0 || months != n {
		t.Errorf("%d rows (%d returned), %d with unordered bounds, %d at the right month; want %d, 0, %d", n, len(first), bad, months, 4*h, 4*h)
	}
	// The series is a seasonal pattern with a trend and 5% noise: the combination must
	// follow it within 10% (measured: within 6%).
	for _, r := range first {
		if r.Measure != "bookings" || r.SegmentType != "total" {
			continue
		}
		want := seasonalLevel(35 + r.H)
		if math.Abs(r.Forecast-want) > 0.1*want || r.Method != "combo" || r.HistoryMonths != 36 {
			t.Errorf("h=%d: %s %.0f from %d months, want combo about %.0f from 36", r.H, r.Method, r.Forecast, r.HistoryMonths, want)
		}
	}

	t.Run("too few months", func(t *testing.T) {
		w := tsWarehouse(t, seasonalInserts(2)...) // January and February 2023
		_, err := w.ForecastTimeseries(ctx, "run-ts-short", time.Date(2023, 2, 28, 0, 0, 0, 0, time.UTC), h)
		if !errors.Is(err, transform.ErrTooFewMonths) {
			t.Errorf("one complete month: err %v, want ErrTooFewMonths", err)
		}
	})
}

func TestTimeseriesBacktest(t *testing.T) {
	ctx := context.Background()
	w := tsWarehouse(t, seasonalInserts(36)...)
	bt, err := w.TimeseriesBacktest(ctx, time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), 6)
	if err != nil {
		t.Fatal(err)
	}
	if bt.Holdout != 6 || bt.FirstHeldOut.Format("2006-01") != "2025-07" {
		t.Errorf("held out %d months from %s, want 6 from 2025-07", bt.Holdout, bt.FirstHeldOut.Format("2006-01"))
	}
	// Seasonal naive by hand: the same month a year earlier; MASE scaled by the in-sample
	// seasonal naive error over the 30 fitted months (Hyndman & Koehler 2006).
	y := make([]float64, 36)
	for i := range y {
		y[i] = math.Round(100*seasonalLevel(i)*(1+0.05*math.Sin(12.9898*float64(i)))) / 100
	}
	var smape, mae, scale float64
	for k := 30; k < 36; k++ {
		smape += 200 * math.Abs(y[k]-y[k-12]) / (math.Abs(y[k]) + math.Abs(y[k-12])) / 6
		mae += math.Abs(y[k]-y[k-12]) / 6
	}
	for t := 12; t < 30; t++ {
		scale += math.Abs(y[t]-y[t-12]) / 18
	}
	for _, measure := range transform.TimeseriesMeasures {
		combo, snaive := bt.Scores["combo"][measure], bt.Scores["snaive"][measure]
		t.Logf("%s: combo %+v; snaive %+v", measure, combo, snaive)
		// Two series per measure (the total and its one region, identical here), 6 months each.
		if snaive.Series != 2 || snaive.Months != 12 || math.Abs(snaive.SMAPE-smape) > 1e-9 || math.Abs(snaive.MASE-mae/scale) > 1e-9 {
			t.Errorf("%s: snaive %+v, want sMAPE %v and MASE %v over 2 series", measure, snaive, smape, mae/scale)
		}
		for _, v := range []float64{combo.SMAPE, combo.MASE, combo.Coverage80, combo.Coverage95} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Errorf("%s: combo %+v: a metric is not a finite non-negative number", measure, combo)
			}
		}
		if combo.Coverage80 > combo.Coverage95 || combo.Coverage95 > 1 || combo.Series != 2 {
			t.Errorf("%s: combo %+v", measure, combo)
		}
	}
	// A third of the history bounds the holdout: 36 months -> at most 12.
	bt, err = w.TimeseriesBacktest(ctx, time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), 24)
	if err != nil || bt.Holdout != 12 {
		t.Errorf("holdout %v (%v), want 12", bt.Holdout, err)
	}
}
