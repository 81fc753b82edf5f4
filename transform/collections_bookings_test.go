package transform_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/models/collections"
)

// TestCollectionsBookingsChain checks the collections model's bookings component given
// perfect bookings: at past quarter-end origins it is fed the deals actually won in the
// 13-week window (close date and amount) and its expected cash from them within the window
// is compared with the payments those deals actually brought in the window. This isolates
// the booking -> invoice -> due -> paid chain from the bookings forecast that feeds it in
// `revcast forecast`.
func TestCollectionsBookingsChain(t *testing.T) {
	ctx := context.Background()
	co := mustCompany(t, fixtures.ScaleSmall)
	var model, actual float64
	for _, o := range []string{"2025-06-30", "2025-09-30", "2025-12-31", "2026-03-02"} {
		origin, _ := time.Parse(time.DateOnly, o)
		data, err := co.W.CollectionsInput(ctx, origin)
		if err != nil {
			t.Fatal(err)
		}
		if len(data.Input.BookingLags) == 0 {
			t.Fatalf("%s: no booking-to-invoice history", o)
		}
		until := collections.WindowEnd(origin, 13)
		rows, err := co.W.DB.QueryContext(ctx, `select close_date, cast(amount_base as double) from opportunities
			where is_won and close_date >= ? and close_date < ?`, origin, until)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var b collections.Booking
			if err := rows.Scan(&b.Date, &b.Amount); err != nil {
				t.Fatal(err)
			}
			data.Input.Bookings = append(data.Input.Bookings, b)
		}
		rows.Close()
		f, err := collections.Run(data.Input, collections.Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		var m, a float64
		for _, wk := range f.Component(collections.ComponentBookings).Weeks {
			m += wk.Expected
		}
		err = co.W.DB.QueryRowContext(ctx, `select coalesce(cast(sum(p.amount_base) as double), 0)
			from payments p join invoices i using (invoice_id) join sales_orders so on so.order_id = i.order_id
			join opportunities o on o.opportunity_id = so.opportunity_id
			where o.is_won and o.close_date >= ? and o.close_date < ? and p.payment_date >= ? and p.payment_date < ?`,
			origin, until, f.FirstWeek, until).Scan(&a)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("origin %s: %d bookings; cash from them within the window: model %.0f, actual %.0f", o, len(data.Input.Bookings), m, a)
		model += m
		actual += a
	}
	t.Logf("over the four origins: model %.0f, actual %.0f (%+.1f%%)", model, actual, 100*(model/actual-1))
	// Measured (seed 7): small +12.5% (single origins -19% to +38%), medium +6.7%
	// (50.8M/66.2M/66.7M/56.2M against 45.4M/64.8M/65.3M/49.3M). With the history's median
	// terms (30 days, while 60% of the amount is invoiced at longer terms) and the order-to-
	// invoice lag (blind to won deals that never get an order) instead, it was 57-99% too
	// high at medium (82.8M/102.2M/104.0M/98.2M). 25% separates the two.
	if math.Abs(model/actual-1) > 0.25 {
		t.Errorf("bookings' cash within the window: model %.0f against actual %.0f, want within 25%%", model, actual)
	}
}
