package collections

import (
	"fmt"
	"math"
	"time"
)

// BookingPeriod is a period's expected bookings not booked yet: Amount (base currency, the
// expected value of what is still to close won in the period, e.g. a bookings forecast's
// expected minus closed) over the days Start through End, both included.
type BookingPeriod struct {
	Start, End time.Time
	Amount     float64
}

// SpreadBookings turns expected bookings per period into Input.Bookings: one Booking per
// day from max(Start, asOf) through min(End, until - 1 day), each carrying
//
//	Amount / (days from max(Start, asOf) through End)
//
// so a period's amount is spread uniformly over its days still to come, and the days at or
// after until (typically the end of the forecast window: bookings made later cannot be
// collected within it) are dropped rather than moved. Periods that end before asOf, or have
// a non-positive or non-finite amount, give nothing; overlapping periods add up. It panics
// if a period ends before it starts.
func SpreadBookings(asOf, until time.Time, periods []BookingPeriod) []Booking {
	a, u := day(asOf), day(until)
	var out []Booking
	for _, p := range periods {
		s, e := day(p.Start), day(p.End)
		if e < s {
			panic(fmt.Sprintf("collections: booking period %s ends before it starts (%s)", p.Start.Format(time.DateOnly), p.End.Format(time.DateOnly)))
		}
		if !(p.Amount > 0) || math.IsInf(p.Amount, 0) || e < a {
			continue
		}
		s = max(s, a)
		perDay := p.Amount / float64(e-s+1)
		for d := s; d <= e && d < u; d++ {
			out = append(out, Booking{Date: dayTime(d), Amount: perDay})
		}
	}
	return out
}

// WindowEnd returns the first day after the forecast window of a forecast as of asOf with
// the given number of weeks (0 means 13): FirstMonday(asOf) + 7 weeks days.
func WindowEnd(asOf time.Time, weeks int) time.Time {
	if weeks <= 0 {
		weeks = 13
	}
	return FirstMonday(asOf).AddDate(0, 0, 7*weeks)
}
