package backtest_test

import (
	"testing"
	"time"

	"github.com/revcast/revcast/models/backtest"
	"github.com/revcast/revcast/models/forecast"
)

func TestOriginsAndQuarters(t *testing.T) {
	cal := forecast.Calendar{FiscalYearStartMonth: 1}
	asOf := forecast.DayOf(time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC))
	qs := backtest.Quarters(cal, asOf, 4)
	want := []string{"2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"}
	for i, q := range qs {
		if q.Name != want[i] {
			t.Fatalf("Quarters = %v, want %v", qs, want)
		}
		o := backtest.Origins(q)
		if len(o) < 13 || len(o) > 14 || o[0]-q.Start > 6 || o[0]%7 != 0 || q.End-o[len(o)-1] > 6 {
			t.Errorf("%s: origins %v", q.Name, o)
		}
	}
	days := backtest.SnapshotDays(cal, asOf, 4, 730)
	seen := map[forecast.Day]bool{}
	for _, d := range days {
		seen[d] = true
	}
	for _, q := range qs {
		for _, d := range append(backtest.Origins(q), forecast.TrainingDays(backtest.Origins(q)[0], 730)...) {
			if !seen[d] {
				t.Fatalf("SnapshotDays lacks %s (origin or training day of %s)", d, q.Name)
			}
		}
	}
}
