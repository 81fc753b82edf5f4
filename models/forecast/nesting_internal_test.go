package forecast

import (
	"reflect"
	"testing"
	"time"
)

func TestNesting(t *testing.T) {
	d := func(s string) Day {
		tm, err := time.Parse("2006-01-02", s)
		if err != nil {
			panic(err)
		}
		return DayOf(tm)
	}
	names := func(ps []Period, idx []int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, ps[i].Name)
		}
		return out
	}
	// The forecast's own horizons nest: months from the as-of month, each in its quarter.
	for _, c := range []struct {
		start   int
		asOf    string
		leaves  []string
		rollups [][]string
	}{
		{1, "2026-05-15", []string{"2026-05", "2026-06", "2026-07", "2026-08", "2026-09"},
			[][]string{{"2026-Q2"}, {"2026-Q2"}, {"2026-Q3"}, {"2026-Q3"}, {"2026-Q3"}}},
		{1, "2026-04-01", []string{"2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09"},
			[][]string{{"2026-Q2"}, {"2026-Q2"}, {"2026-Q2"}, {"2026-Q3"}, {"2026-Q3"}, {"2026-Q3"}}},
		{2, "2026-11-29", []string{"2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04"},
			[][]string{{"FY2027-Q4"}, {"FY2027-Q4"}, {"FY2027-Q4"}, {"FY2028-Q1"}, {"FY2028-Q1"}, {"FY2028-Q1"}}},
	} {
		ps := Calendar{FiscalYearStartMonth: c.start}.Horizon(d(c.asOf), 2)
		leaves, rollups, ok := nesting(ps, d(c.asOf))
		if !ok || !reflect.DeepEqual(names(ps, leaves), c.leaves) || !reflect.DeepEqual(rollups, c.rollups) {
			t.Errorf("fiscal start %d, as of %s: ok %v, leaves %v, rollups %v; want %v, %v", c.start, c.asOf, ok, names(ps, leaves), rollups, c.leaves, c.rollups)
		}
	}
	// Periods that do not nest are drawn independently.
	cal := Calendar{FiscalYearStartMonth: 1}
	q2, q3 := cal.Quarter(d("2026-05-15")), cal.Quarter(d("2026-08-15"))
	may, jul := cal.month(monthIndex(d("2026-05-15"))), cal.month(monthIndex(d("2026-07-15")))
	half := Period{Name: "2026-H", Kind: "custom", Start: d("2026-06-01"), End: d("2026-08-31")}
	for _, c := range []struct {
		name    string
		periods []Period
	}{
		{"a month missing from its quarter", []Period{may, q2}},
		{"overlapping leaves", []Period{half, q3}},
		{"a quarter without months after the as-of date", []Period{may, jul, q3}},
		{"a period listed twice", []Period{may, may, q2}},
	} {
		if _, _, ok := nesting(c.periods, d("2026-05-15")); ok {
			t.Errorf("%s: nesting reports the periods nest", c.name)
		}
	}
	// Only leaves (no rollups): they nest, with nothing to roll up into.
	if leaves, rollups, ok := nesting([]Period{jul, may}, d("2026-05-15")); !ok || !reflect.DeepEqual(leaves, []int{1, 0}) || rollups[0] != nil || rollups[1] != nil {
		t.Errorf("two months: ok %v leaves %v rollups %v", ok, leaves, rollups)
	}
}
