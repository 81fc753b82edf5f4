package forecast_test

import (
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/models/forecast"
)

func day(s string) forecast.Day {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return forecast.DayOf(t)
}

func TestCalendar(t *testing.T) {
	cases := []struct {
		start      int
		d          string
		name       string
		first, end string
	}{
		{1, "2026-06-30", "2026-Q2", "2026-04-01", "2026-06-30"},
		{1, "2026-01-01", "2026-Q1", "2026-01-01", "2026-03-31"},
		// February start: the fiscal year Feb 2026 - Jan 2027 ends in 2027.
		{2, "2026-02-01", "FY2027-Q1", "2026-02-01", "2026-04-30"},
		{2, "2026-01-31", "FY2026-Q4", "2025-11-01", "2026-01-31"},
		{4, "2026-06-30", "FY2027-Q1", "2026-04-01", "2026-06-30"},
		{10, "2026-12-15", "FY2027-Q1", "2026-10-01", "2026-12-31"},
	}
	for _, c := range cases {
		q := forecast.Calendar{FiscalYearStartMonth: c.start}.Quarter(day(c.d))
		if q.Name != c.name || q.Start != day(c.first) || q.End != day(c.end) {
			t.Errorf("start %d, %s: got %s %s..%s, want %s %s..%s", c.start, c.d, q.Name, q.Start, q.End, c.name, c.first, c.end)
		}
	}
	h := forecast.Calendar{FiscalYearStartMonth: 1}.Horizon(day("2026-05-15"), 2)
	var names []string
	for _, p := range h {
		names = append(names, p.Name)
	}
	want := []string{"2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-Q2", "2026-Q3"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("Horizon = %v, want %v", names, want)
	}
	if got := forecast.ShiftMonths(day("2026-03-31"), -1); got != day("2026-02-28") {
		t.Errorf("ShiftMonths(2026-03-31, -1) = %s, want 2026-02-28", got)
	}
	for _, d := range forecast.TrainingDays(day("2026-06-30"), 730) {
		if d >= day("2026-06-30") || d < day("2026-06-30")-730 {
			t.Fatalf("TrainingDays: %s outside the window", d)
		}
	}
}

// small is the plain data of a small generated company (2,000 deals), built once.
var small struct {
	once     sync.Once
	snaps    []forecast.Snapshot
	outcomes []forecast.Outcome
	asOf     forecast.Day
}

func smallData(t *testing.T) ([]forecast.Snapshot, []forecast.Outcome, forecast.Day) {
	t.Helper()
	small.once.Do(func() {
		asOf := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
		c, err := fixtures.Generate(fixtures.Options{Seed: 3, Opportunities: fixtures.ScaleSmall, AsOf: asOf})
		if err != nil {
			t.Fatal(err)
		}
		small.asOf = forecast.DayOf(asOf)
		days := forecast.TrainingDays(small.asOf, 730)
		small.snaps, small.outcomes = plainData(c, append(days, small.asOf), 1)
	})
	return small.snaps, small.outcomes, small.asOf
}

func openAt(snaps []forecast.Snapshot, d forecast.Day) []forecast.Snapshot {
	var out []forecast.Snapshot
	for _, s := range snaps {
		if s.Day == d {
			out = append(out, s)
		}
	}
	return out
}

// TestForecast_SameSeedSameResult fits and forecasts twice and checks the results are
// identical, the segments add up and the quantiles are ordered.
func TestForecast_SameSeedSameResult(t *testing.T) {
	snaps, outcomes, asOf := smallData(t)
	open := openAt(snaps, asOf)
	var results [2]*forecast.Result
	for i := range results {
		m, err := forecast.Fit(snaps, outcomes, asOf, forecast.Options{Features: forecast.Full})
		if err != nil {
			t.Fatal(err)
		}
		results[i], err = m.Forecast(asOf, open, outcomes, forecast.ForecastOptions{Calendar: forecast.Calendar{FiscalYearStartMonth: 1}, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(results[0].Periods, results[1].Periods) || !reflect.DeepEqual(results[0].Deals, results[1].Deals) {
		t.Fatal("two fits and forecasts with the same data and seed differ")
	}
	total := map[string]float64{}
	regions := map[string]float64{}
	for _, p := range results[0].Periods {
		if !(p.P10 <= p.P50 && p.P50 <= p.P90) {
			t.Errorf("%s %s/%s: quantiles %v %v %v not ordered", p.Period.Name, p.SegmentType, p.Segment, p.P10, p.P50, p.P90)
		}
		switch p.SegmentType {
		case "total":
			total[p.Period.Name] = p.Expected
		case "region":
			regions[p.Period.Name] += p.Expected
		}
	}
	for k, v := range total {
		if math.Abs(v-regions[k]) > 1e-6*v {
			t.Errorf("%s: total %v, regions add up to %v", k, v, regions[k])
		}
	}
	for _, d := range results[0].Deals {
		if !(d.PWin >= 0 && d.PWin <= 1 && d.PCloseInPeriod >= 0 && d.PCloseInPeriod <= d.PWin+1e-12) {
			t.Fatalf("%s: p_win %v, p_close_in_period %v", d.OpportunityID, d.PWin, d.PCloseInPeriod)
		}
	}
}

// TestForecast_WonOutcomesWithDataStart: given ForecastOptions.DataStart, the won deals'
// outcomes give the forecast that every outcome gives (what transform.OpenSnapshots
// relies on): the same deals, periods, analog lags and growth.
func TestForecast_WonOutcomesWithDataStart(t *testing.T) {
	snaps, outcomes, asOf := smallData(t)
	open := openAt(snaps, asOf)
	m, err := forecast.Fit(snaps, outcomes, asOf, forecast.Options{Features: forecast.Full})
	if err != nil {
		t.Fatal(err)
	}
	// The deals created more than 450 days before asOf count as lost, so that the won ones
	// start later than the data: without DataStart the analog windows would differ.
	outcomes = slices.Clone(outcomes)
	first := outcomes[0].CreatedDay
	var won []forecast.Outcome
	for i := range outcomes {
		o := &outcomes[i]
		first = min(first, o.CreatedDay)
		if o.CreatedDay < asOf-450 {
			o.Won = false
		}
		if o.Won {
			won = append(won, *o)
		}
	}
	if len(won) == 0 || len(won) == len(outcomes) {
		t.Fatalf("%d of %d deals won: the test needs both kinds", len(won), len(outcomes))
	}
	opts := forecast.ForecastOptions{Calendar: forecast.Calendar{FiscalYearStartMonth: 1}, Seed: 9, Sims: 500}
	all, err := m.Forecast(asOf, open, outcomes, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.DataStart = first
	wonOnly, err := m.Forecast(asOf, open, won, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all.Periods, wonOnly.Periods) || !reflect.DeepEqual(all.Deals, wonOnly.Deals) ||
		!reflect.DeepEqual(all.Lags, wonOnly.Lags) || all.Growth != wonOnly.Growth {
		t.Error("the forecast from the won deals' outcomes and DataStart differs from the one from every outcome")
	}
}

// TestFit_UsesOnlyWhatWasKnown changes every outcome that was not known at the fit date
// (deals closed on or after it) and checks that the fitted model does not change.
func TestFit_UsesOnlyWhatWasKnown(t *testing.T) {
	snaps, outcomes, asOf := smallData(t)
	fitDay := asOf - 120
	m1, err := forecast.Fit(snaps, outcomes, fitDay, forecast.Options{Features: forecast.Full})
	if err != nil {
		t.Fatal(err)
	}
	changed := append([]forecast.Outcome(nil), outcomes...)
	n := 0
	for i := range changed {
		if !changed[i].Closed(fitDay) && changed[i].ClosedDay != 0 {
			changed[i].Won = !changed[i].Won
			changed[i].ClosedDay = fitDay + forecast.Day(i%50)
			n++
		}
	}
	if n == 0 {
		t.Fatal("no outcome after the fit day to change")
	}
	m2, err := forecast.Fit(snaps, changed, fitDay, forecast.Options{Features: forecast.Full})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m1.Win.Coef, m2.Win.Coef) || !reflect.DeepEqual(m1.Close.Coef, m2.Close.Coef) ||
		m1.CommonShock != m2.CommonShock || m1.SupplyFactor != m2.SupplyFactor {
		t.Errorf("changing %d outcomes unknown at the fit day changed the model", n)
	}
}

// TestForecast_CoupledMonthsSameMoments checks that drawing each open deal once over its
// months (the horizon's periods nest) gives every period the moments that one independent
// row per period gives: the same run with one extra period that breaks the nesting (the
// last quarter and the month after it, which no month of the horizon covers) falls back to
// independent rows for all periods. The extra period ends after every other, so it adds no
// earlier end to CloseBy's running maximum (one would change F there).
func TestForecast_CoupledMonthsSameMoments(t *testing.T) {
	snaps, outcomes, asOf := smallData(t)
	open := openAt(snaps, asOf)
	m, err := forecast.Fit(snaps, outcomes, asOf, forecast.Options{Features: forecast.Full})
	if err != nil {
		t.Fatal(err)
	}
	cal := forecast.Calendar{FiscalYearStartMonth: 1}
	horizon := cal.Horizon(asOf, 2)
	last := horizon[len(horizon)-1]
	odd := forecast.Period{Name: "odd", Kind: "custom", Start: last.Start, End: forecast.ShiftMonths(last.End, 1)}
	nested, err := m.Forecast(asOf, open, outcomes, forecast.ForecastOptions{Calendar: cal, Periods: horizon, Seed: 9, Sims: 500})
	if err != nil {
		t.Fatal(err)
	}
	apart, err := m.Forecast(asOf, open, outcomes, forecast.ForecastOptions{Calendar: cal, Periods: append(slices.Clone(horizon), odd), Seed: 9, Sims: 500})
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ period, typ, seg string }
	want := map[key]forecast.PeriodForecast{}
	for _, p := range apart.Periods {
		want[key{p.Period.Name, p.SegmentType, p.Segment}] = p
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	for _, p := range nested.Periods {
		w, ok := want[key{p.Period.Name, p.SegmentType, p.Segment}]
		if !ok {
			t.Fatalf("%s %s/%s: not in the independent run", p.Period.Name, p.SegmentType, p.Segment)
		}
		if !near(p.Expected, w.Expected) || !near(p.SD, w.SD) || p.NOpen != w.NOpen || p.Closed != w.Closed {
			t.Errorf("%s %s/%s: coupled expected %v sd %v open %d closed %v; independent %v %v %d %v",
				p.Period.Name, p.SegmentType, p.Segment, p.Expected, p.SD, p.NOpen, p.Closed, w.Expected, w.SD, w.NOpen, w.Closed)
		}
	}
	if len(nested.Periods)+countPeriod(apart.Periods, "odd") != len(apart.Periods) {
		t.Errorf("%d coupled results, %d independent (%d of them for the odd period)", len(nested.Periods), len(apart.Periods), countPeriod(apart.Periods, "odd"))
	}
	if m.SupplyFactor <= 1 {
		t.Logf("supply factor %v: no deal kept independent rows", m.SupplyFactor)
	}
}

func countPeriod(ps []forecast.PeriodForecast, name string) int {
	n := 0
	for _, p := range ps {
		if p.Period.Name == name {
			n++
		}
	}
	return n
}
