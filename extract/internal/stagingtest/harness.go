package stagingtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
	revsql "github.com/revcast/revcast/sql"
	"github.com/revcast/revcast/transform"
)

// errKilled stops a Runner at a chosen durability step, like a crash.
var errKilled = errors.New("killed")

// ExtractKilled runs the Runner over src (landed as source name) into dir until it
// completes, killing it (cancelling its context) at a durability step chosen by rng in each
// of the first kills attempts.
func ExtractKilled(t *testing.T, dir, name string, src extract.Source, rng *rand.Rand, kills int) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithCancelCause(context.Background())
		steps, at := 0, -1
		if attempt < kills {
			at = 1 + rng.IntN(12)
		}
		r := &extract.Runner{DataDir: dir, PartRows: 300, CommitInterval: -1, RunID: revcast.RunID(fmt.Sprintf("run%03d", attempt)),
			Trace: func(ev extract.TraceEvent) {
				if steps++; steps == at {
					cancel(errKilled)
				}
			}}
		_, err := r.Extract(ctx, name, src, extract.ExtractOptions{})
		cancel(nil)
		if err == nil {
			return
		}
		if !errors.Is(err, errKilled) && !strings.Contains(err.Error(), "killed") {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		if attempt > 200 {
			t.Fatal("extraction never completed")
		}
	}
}

// StageViews loads dir's lake of source name (connector typ) into a warehouse and creates
// the connector's staging views from sql/staging/<typ>__*.sql, wantViews of them. Load
// creates the raw and tombstone tables the connector declares (transform.DeclaredRawSpecs)
// when nothing landed in them.
func StageViews(t *testing.T, dir, name, typ string, wantViews int) *transform.Warehouse {
	t.Helper()
	ctx := context.Background()
	w, err := transform.Open(ctx, filepath.Join(dir, "warehouse.duckdb"), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.Load(ctx, filepath.Join(dir, "lake"), []transform.LakeSource{{Name: name, Type: typ}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.ExecContext(ctx, `create or replace table meta.settings as select 'USD'::varchar as base_currency, date '2026-05-15' as as_of`); err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Glob(revsql.FS, "staging/"+typ+"__*.sql")
	if len(files) != wantViews {
		t.Fatalf("staging files %v, want %d", files, wantViews)
	}
	for _, f := range files {
		text, _ := fs.ReadFile(revsql.FS, f)
		view := strings.TrimSuffix(filepath.Base(f), ".sql")
		if _, err := w.DB.ExecContext(ctx, "create or replace view staging."+view+" as "+string(text)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return w
}

// AssertCanonical checks that a staging view has exactly the canonical table's columns,
// then _source.
func AssertCanonical(t *testing.T, w *transform.Warehouse, view, table string) {
	t.Helper()
	rows, err := w.DB.Query("select * from staging." + view + " limit 0")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	rows.Close()
	var want []string
	if tb, ok := revcast.LookupTable(table); ok {
		for _, c := range tb.Columns {
			want = append(want, c.Name)
		}
	}
	want = append(want, "_source")
	if !slices.Equal(cols, want) {
		t.Errorf("staging.%s columns %v, want %v", view, cols, want)
	}
}

// QueryStrings returns the first column of q's rows.
func QueryStrings(t *testing.T, w *transform.Warehouse, q string) []string {
	t.Helper()
	rows, err := w.DB.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}
