package collections_test

import (
	"math"
	"testing"
	"time"

	"github.com/revcast/revcast/models/collections"
)

func TestSpreadBookings(t *testing.T) {
	d := func(s string) time.Time {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	asOf, until := d("2026-06-30"), d("2026-08-03")
	for _, tc := range []struct {
		name    string
		periods []collections.BookingPeriod
		// wantDays and wantSum: number of Booking entries and their total; first and last
		// their dates.
		wantDays    int
		wantSum     float64
		first, last string
	}{
		// June: 30 June only is still to come, so it carries the whole 100.
		{"current month", []collections.BookingPeriod{{d("2026-06-01"), d("2026-06-30"), 100}}, 1, 100, "2026-06-30", "2026-06-30"},
		// July: 31 days at 310/31 = 10 each.
		{"next month", []collections.BookingPeriod{{d("2026-07-01"), d("2026-07-31"), 310}}, 31, 310, "2026-07-01", "2026-07-31"},
		// August: 31 days at 1 each, only 1 and 2 August fall before until.
		{"cut at the window end", []collections.BookingPeriod{{d("2026-08-01"), d("2026-08-31"), 31}}, 2, 2, "2026-08-01", "2026-08-02"},
		{"ended before as-of", []collections.BookingPeriod{{d("2026-05-01"), d("2026-05-31"), 50}}, 0, 0, "", ""},
		{"nothing expected", []collections.BookingPeriod{{d("2026-07-01"), d("2026-07-31"), 0}, {d("2026-07-01"), d("2026-07-31"), math.NaN()}}, 0, 0, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := collections.SpreadBookings(asOf, until, tc.periods)
			sum := 0.0
			for _, b := range got {
				sum += b.Amount
			}
			if len(got) != tc.wantDays || math.Abs(sum-tc.wantSum) > 1e-9 {
				t.Fatalf("%d bookings adding to %v, want %d adding to %v", len(got), sum, tc.wantDays, tc.wantSum)
			}
			if len(got) > 0 && (got[0].Date.Format(time.DateOnly) != tc.first || got[len(got)-1].Date.Format(time.DateOnly) != tc.last) {
				t.Errorf("bookings from %s to %s, want %s to %s", got[0].Date.Format(time.DateOnly), got[len(got)-1].Date.Format(time.DateOnly), tc.first, tc.last)
			}
		})
	}
	if got := collections.WindowEnd(asOf, 0); got.Format(time.DateOnly) != "2026-10-05" {
		// 30 June 2026 is a Tuesday: the first week starts Monday 6 July, 13 weeks end 4 October.
		t.Errorf("WindowEnd = %s, want 2026-10-05", got.Format(time.DateOnly))
	}
}

// TestBookingProbs checks the bookings chain by hand: terms weighted by invoice amount, and
// the booking-to-first-invoice lag with a booking that never got an invoice.
func TestBookingProbs(t *testing.T) {
	in := handInput() // days late 0, 7, 7, 14: f_pop = 1/4, 1/2, 1/4 at 0, 7, 14
	// Invoices 1 and 2 on 30-day terms worth 1 each, 3 and 4 on 44-day terms worth 3 each:
	// amount-weighted P(30) = 2/8, P(44) = 6/8, while the median of the four is 30.
	for i := range in.Delays {
		terms, amount := 30, 1.0
		if i >= 2 {
			terms, amount = 44, 3
		}
		in.Delays[i].Invoiced = in.Delays[i].Due.AddDate(0, 0, -terms)
		in.Delays[i].Amount = amount
	}
	// Won bookings: two invoiced the same day, one after 7 days, one never (400 days ago,
	// censored beyond MaxLag = 365). Kaplan-Meier: P(0) = 1/2, P(7) = 1/4, beyond = 1/4.
	in.BookingLags = []collections.LagObs{
		{Ordered: days(-100), Invoiced: days(-100)}, {Ordered: days(-90), Invoiced: days(-90)},
		{Ordered: days(-80), Invoiced: days(-73)}, {Ordered: days(-400)},
	}
	m, err := collections.Fit(in, collections.Options{K: 2, Weeks: 10})
	if err != nil {
		t.Fatal(err)
	}
	if m.TermsDays != 30 || !m.BookingLagFromHistory {
		t.Errorf("median terms %d, booking lag from history %v; want 30, true", m.TermsDays, m.BookingLagFromHistory)
	}
	// Expected: a booking on the as-of Monday is paid on day L + T + D, in week (L+T+D)/7.
	want := make([]float64, 10+3)
	for _, l := range []struct{ d, p float64 }{{0, 0.5}, {7, 0.25}} {
		for _, tm := range []struct{ d, p float64 }{{30, 0.25}, {44, 0.75}} {
			for _, dl := range []struct{ d, p float64 }{{0, 0.25}, {7, 0.5}, {14, 0.25}} {
				want[1+int(l.d+tm.d+dl.d)/7] += l.p * tm.p * dl.p
			}
		}
	}
	want[len(want)-1] = 0.25 // never invoiced: not collected
	got := m.BookingProbs(collections.Booking{Date: days(0), Amount: 1})
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("bucket %d: %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
	t.Run("without booking history", func(t *testing.T) {
		in.BookingLags = nil
		m, err := collections.Fit(in, collections.Options{K: 2, Weeks: 10})
		if err != nil {
			t.Fatal(err)
		}
		// Then the order-to-invoice Lag (2 or 9 days) is used, and everything is collected.
		got := m.BookingProbs(collections.Booking{Date: days(0), Amount: 1})
		if m.BookingLagFromHistory || got[len(got)-1] != 0 {
			t.Errorf("from history %v, not collected %v; want false, 0", m.BookingLagFromHistory, got[len(got)-1])
		}
	})
}
