package transform_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/revcast/revcast/transform"
)

// TestVacuumSchedule: with DBSettings.VacuumDays a checkpoint merges row groups thinned by
// deletes only on a date that many days after the last recorded vacuum. The table's first two of
// three full row groups (122,880 rows each) lose 80% of their rows, so their live rows fit
// in one row group: DuckDB's vacuum merges them (3 row groups become 2), a checkpoint
// without it keeps 3. Each step is an open, a delete and the close's checkpoint.
func TestVacuumSchedule(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "warehouse.duckdb")
	t0 := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
	open := func(t *testing.T, at time.Time) *transform.Warehouse {
		t.Helper()
		w, err := transform.OpenWith(ctx, path, false, transform.DBSettings{VacuumDays: 7, Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	openReadOnly := func(t *testing.T) *transform.Warehouse {
		t.Helper()
		w, err := transform.OpenWith(ctx, path, true, transform.DBSettings{})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	exec := func(t *testing.T, w *transform.Warehouse, q string) {
		t.Helper()
		if _, err := w.DB.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rowGroups := func(t *testing.T) int64 {
		t.Helper()
		w := openReadOnly(t)
		defer w.Close()
		return count(t, w, `select count(distinct row_group_id) from pragma_storage_info('t')`)
	}
	lastVacuum := func(t *testing.T) time.Time {
		t.Helper()
		w := openReadOnly(t)
		defer w.Close()
		var at time.Time
		if err := w.DB.QueryRow(`select max(vacuumed_at) from meta.vacuums`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at.UTC()
	}
	// A new warehouse starts the clock: no vacuum.
	w := open(t, t0)
	if w.Vacuum {
		t.Error("a fresh warehouse vacuums; want the clock started at its first open")
	}
	exec(t, w, `create table t as select i, 'name-' || i as s from range(3 * 122880) r(i)`)
	exec(t, w, `checkpoint`)
	exec(t, w, `delete from t where i < 2 * 122880 and i % 5 <> 0`)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := rowGroups(t); n != 3 {
		t.Fatalf("row groups after a checkpoint the day the clock started = %d, want 3 (not vacuumed)", n)
	}
	if at := lastVacuum(t); !at.Equal(t0) {
		t.Fatalf("meta.vacuums = %v, want the first open %v", at, t0)
	}

	// Six days later: still not due.
	w = open(t, t0.AddDate(0, 0, 6))
	exec(t, w, `delete from t where i = 5`)
	if w.Vacuum {
		t.Error("vacuum due after 6 days of 7")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := rowGroups(t); n != 3 {
		t.Fatalf("row groups after 6 days = %d, want 3 (not vacuumed)", n)
	}

	// Seven dates after the clock started, though an hour short of seven days: the close's
	// checkpoint vacuums and records it.
	due := t0.AddDate(0, 0, 7).Add(-time.Hour)
	w = open(t, due)
	exec(t, w, `delete from t where i = 10`)
	if !w.Vacuum {
		t.Error("vacuum not due after 7 days of 7")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := rowGroups(t); n != 2 {
		t.Fatalf("row groups after the due vacuum = %d, want 2 (the thinned two merged)", n)
	}
	if at := lastVacuum(t); !at.Equal(due) {
		t.Fatalf("meta.vacuums = %v, want the vacuum at %v", at, due)
	}
	w = open(t, due.Add(time.Hour))
	if w.Vacuum {
		t.Error("vacuum due an hour after the last one")
	}
	w.Close()
}
