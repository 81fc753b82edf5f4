package transform_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/revcast/revcast/transform"
)

// TestBuild_KeepsPreviousBuild: before order_status_updates is rebuilt, its previous rows are
// kept in meta.order_status_updates_previous (empty before the first build), so the model can
// say what changed.
func TestBuild_KeepsPreviousBuild(t *testing.T) {
	ctx := context.Background()
	w := mustOpen(t)
	if _, err := w.Load(ctx, t.TempDir(), nil); err != nil { // creates the canonical raw tables
		t.Fatal(err)
	}
	status := "picked"
	model := func() []transform.Model {
		ms, err := transform.ParseModels(fstest.MapFS{
			"staging/README.md": {},
			"core/README.md":    {},
			"marts/order_status_updates.sql": {Data: []byte(`-- order_status_updates: test.
-- grain: one row per opportunity
-- key: opportunity_id
select 'OPP-1' as opportunity_id, 'SO-1' as order_id, '` + status + `' as erp_status, date '2026-06-29' as status_date,
       null as tracking_numbers, date '2026-06-30' as as_of,
       (select count(*) from meta.order_status_updates_previous) as previous_rows,
       (select max(erp_status) from meta.order_status_updates_previous) as previous_status`)},
		})
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	check := func(wantRows int64, wantPrev string) {
		t.Helper()
		var n int64
		var prev *string
		if err := w.DB.QueryRow(`select previous_rows, previous_status from order_status_updates`).Scan(&n, &prev); err != nil {
			t.Fatal(err)
		}
		got := ""
		if prev != nil {
			got = *prev
		}
		if n != wantRows || got != wantPrev {
			t.Fatalf("previous build seen as %d rows, status %q; want %d, %q", n, got, wantRows, wantPrev)
		}
	}
	if _, err := w.Build(ctx, model(), transform.Settings{}); err != nil {
		t.Fatal(err)
	}
	check(0, "")
	status = "shipped"
	if _, err := w.Build(ctx, model(), transform.Settings{}); err != nil {
		t.Fatal(err)
	}
	check(1, "picked")
}
