package transform_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/revcast/revcast"
	revsql "github.com/revcast/revcast/sql"
	"github.com/revcast/revcast/transform"
)

// mustOpen opens a fresh warehouse in a temp dir.
func mustOpen(t *testing.T) *transform.Warehouse {
	t.Helper()
	w, err := transform.Open(context.Background(), filepath.Join(t.TempDir(), "warehouse.duckdb"), false)
	if err != nil {
		t.Fatal(err)
	}
	w.Now = func() time.Time { return time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { w.Close() })
	return w
}

// landParquet writes a lake file with DuckDB itself, as a connector would land it.
func landParquet(t *testing.T, w *transform.Warehouse, lake, source, stream, name, selectSQL string) {
	t.Helper()
	dir := filepath.Join(lake, source, stream, "dt=2026-06-30")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	q := fmt.Sprintf(`copy (%s) to '%s' (format parquet)`, selectSQL, filepath.Join(dir, name))
	if _, err := w.DB.Exec(q); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, w *transform.Warehouse, q string) int64 {
	t.Helper()
	var n int64
	if err := w.DB.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

const accountsV1 = `select * from (values
	('A1', 'Acme Inc', 'US', timestamptz '2026-06-01 10:00:00+00'),
	('A2', 'Globex GmbH', 'DE', timestamptz '2026-06-01 10:00:00+00')) t(account_id, account_name, country, modified_at)`

func TestLoad(t *testing.T) {
	ctx := context.Background()
	w := mustOpen(t)
	lake := t.TempDir()
	srcs := []transform.LakeSource{{Name: "exports", Type: "files"}}
	landParquet(t, w, lake, "exports", "accounts", "r1-000001.parquet", accountsV1)

	res, err := w.Load(ctx, lake, srcs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 1 || res.Rows != 2 {
		t.Fatalf("first load: got %d files %d rows, want 1 and 2", res.Files, res.Rows)
	}
	t.Run("idempotent", func(t *testing.T) {
		res, err := w.Load(ctx, lake, srcs)
		if err != nil || res.Files != 0 || res.Rows != 0 {
			t.Fatalf("second load: %+v %v, want nothing new", res, err)
		}
		if n := count(t, w, `select count(*) from raw.files__accounts`); n != 2 {
			t.Fatalf("raw rows = %d, want 2", n)
		}
	})
	t.Run("schema drift adds a column", func(t *testing.T) {
		landParquet(t, w, lake, "exports", "accounts", "r2-000002.parquet",
			`select 'A1' as account_id, 'Acme Incorporated' as account_name, 'US' as country, timestamptz '2026-06-02 10:00:00+00' as modified_at, 'gold' as loyalty_tier`)
		if _, err := w.Load(ctx, lake, srcs); err != nil {
			t.Fatal(err)
		}
		if n := count(t, w, `select count(*) from raw.files__accounts where loyalty_tier = 'gold'`); n != 1 {
			t.Fatalf("drift column rows = %d, want 1", n)
		}
	})
	t.Run("type change is an error naming the column", func(t *testing.T) {
		landParquet(t, w, lake, "exports", "accounts", "r3-000003.parquet",
			`select 'A3' as account_id, 'Initech' as account_name, 42 as country, timestamptz '2026-06-02 10:00:00+00' as modified_at`)
		_, err := w.Load(ctx, lake, srcs)
		if err == nil || !strings.Contains(err.Error(), "country") {
			t.Fatalf("got %v, want an error naming column country", err)
		}
		os.Remove(filepath.Join(lake, "exports", "accounts", "dt=2026-06-30", "r3-000003.parquet"))
	})
	t.Run("staging keeps the latest version", func(t *testing.T) {
		models, err := transform.ParseModels(revsql.FS)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Build(ctx, models, transform.Settings{}); err != nil {
			t.Fatal(err)
		}
		var name string
		if err := w.DB.QueryRow(`select account_name from accounts where account_id = 'A1'`).Scan(&name); err != nil {
			t.Fatal(err)
		}
		if name != "Acme Incorporated" {
			t.Fatalf("A1 name = %q, want the later version", name)
		}
		if n := count(t, w, `select count(*) from accounts`); n != 2 {
			t.Fatalf("accounts = %d, want 2", n)
		}
	})
	t.Run("a moved lake loads only its new files", func(t *testing.T) {
		// The project restored under another directory: the same files at other paths.
		moved := filepath.Join(t.TempDir(), "elsewhere", "lake")
		if err := os.CopyFS(moved, os.DirFS(lake)); err != nil {
			t.Fatal(err)
		}
		before := count(t, w, `select count(*) from raw.files__accounts`)
		res, err := w.Load(ctx, moved, srcs)
		if err != nil || res.Files != 0 || res.Rows != 0 {
			t.Fatalf("load after the move: %+v %v, want nothing new", res, err)
		}
		landParquet(t, w, moved, "exports", "accounts", "r4-000004.parquet",
			`select 'A4' as account_id, 'Umbrella' as account_name, 'GB' as country, timestamptz '2026-06-03 10:00:00+00' as modified_at`)
		if res, err = w.Load(ctx, moved, srcs); err != nil || res.Files != 1 || res.Rows != 1 {
			t.Fatalf("load of a file landed after the move: %+v %v, want 1 file and 1 row", res, err)
		}
		if n := count(t, w, `select count(*) from raw.files__accounts`); n != before+1 {
			t.Fatalf("raw rows = %d, want %d", n, before+1)
		}
	})
}

func TestParseModels(t *testing.T) {
	models, err := transform.ParseModels(revsql.FS)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range models {
		pos[m.Name] = i
	}
	for _, tb := range revcast.Tables {
		if _, ok := pos[tb.Name]; !ok {
			t.Errorf("no core model for canonical table %s", tb.Name)
		}
	}
	for _, m := range models {
		for _, d := range m.Deps {
			if pos[d] >= pos[m.Name] {
				t.Errorf("%s runs before its dependency %s", m.Name, d)
			}
		}
	}
	for _, r := range [][2]string{{"fx_rates", "fx_rates_daily"}, {"fx_rates_daily", "opportunities"}, {"fx_rates_daily", "opportunity_history"}, {"fx_rates_daily", "reconciliation_variances"}} {
		if pos[r[0]] > pos[r[1]] {
			t.Errorf("%s must build before %s", r[0], r[1])
		}
	}
}

func TestOrderModels(t *testing.T) {
	model := func(name, sql string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("-- " + name + ": test.\n-- grain: one\n-- key: k\n" + sql)}
	}
	tests := []struct {
		name    string
		fs      fstest.MapFS
		want    string // names in order
		wantErr string
	}{
		{"chain", fstest.MapFS{
			"staging/README.md": {},
			"core/c.sql":        model("c", "select * from b -- a is only in a comment"),
			"core/b.sql":        model("b", "select * from a where x = 'c'"),
			"marts/a.sql":       model("a", "select 1 as k"),
		}, "a b c", ""},
		{"cycle", fstest.MapFS{
			"staging/x.sql": model("x", "select * from y"),
			"core/y.sql":    model("y", "select * from staging.x"),
			"marts/z.sql":   model("z", "select 1"),
		}, "", "cycle among x, y"},
		{"missing header", fstest.MapFS{
			"staging/README.md": {}, "marts/z.sql": {Data: []byte("select 1")}, "core/a.sql": model("a", "select 1"),
		}, "", "header must start"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := transform.ParseModels(tc.fs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Name)
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("order = %v, want %s", got, tc.want)
			}
		})
	}
}

func TestRunTests(t *testing.T) {
	ctx := context.Background()
	w := mustOpen(t)
	if _, err := w.DB.Exec(`create table t as select * from (values ('k1'), ('k1'), ('k2')) v(k)`); err != nil {
		t.Fatal(err)
	}
	fails, err := w.RunTests(ctx, []transform.DataTest{
		{Name: "unique_t_k", Table: "t", SQL: `select k, count(*) from t group by k having count(*) > 1`},
		{Name: "not_null_t_k", Table: "t", SQL: `select k from t where k is null`},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(fails) != 1 || fails[0].Test.Name != "unique_t_k" || fails[0].Count != 1 || fails[0].Samples[0] != "k1" {
		t.Fatalf("failures = %+v, want unique_t_k with sample k1", fails)
	}
}

func TestReadOnlyRejectsWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "warehouse.duckdb")
	w, err := transform.Open(ctx, path, false)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	ro, err := transform.Open(ctx, path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Query(ctx, `create table x (a int)`); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("write on read-only warehouse: err = %v, want a read-only error", err)
	}
	res, err := ro.Query(ctx, `select 1 + 1 as two`)
	if err != nil || *res.Rows[0][0] != "2" {
		t.Fatalf("read query: %v %v", res, err)
	}
}

func TestOpenWith_SettingsReachDuckDB(t *testing.T) {
	ctx := context.Background()
	w, err := transform.OpenWith(ctx, filepath.Join(t.TempDir(), "w.duckdb"), false, transform.DBSettings{MemoryLimit: "256MB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var limit, asof string
	var threads int
	if err := w.DB.QueryRowContext(ctx, `select current_setting('memory_limit'), current_setting('threads'), current_setting('asof_loop_join_threshold')`).Scan(&limit, &threads, &asof); err != nil {
		t.Fatal(err)
	}
	// DuckDB reports 256MB (10^6 bytes) as 244.1 MiB.
	if !strings.HasPrefix(limit, "244") || threads != 1 || asof != "0" {
		t.Fatalf("memory_limit %q threads %d asof_loop_join_threshold %q; want 244.1 MiB, 1, 0", limit, threads, asof)
	}
}

// TestBuild_InsertionOrderScoped: models are built with DuckDB's preserve_insertion_order
// off (bulk writes then compress their row groups once), and the warehouse has it on again
// after the load and the build, as the forecast's paged outcomes read needs
// (TestReadOutcomes_Pages).
func TestBuild_InsertionOrderScoped(t *testing.T) {
	ctx := context.Background()
	w := mustOpen(t)
	models, err := transform.ParseModels(fstest.MapFS{
		"staging/README.md": {},
		"core/README.md":    {},
		"marts/setting.sql": {Data: []byte("-- setting: the setting while building.\n-- grain: one\n-- key: v\nselect current_setting('preserve_insertion_order') as v")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Load(ctx, t.TempDir(), nil); err != nil { // an empty lake: the raw tables
		t.Fatal(err)
	}
	if _, err := w.Build(ctx, models, transform.Settings{}); err != nil {
		t.Fatal(err)
	}
	var during, after bool
	if err := w.DB.QueryRow(`select v from main.setting`).Scan(&during); err != nil {
		t.Fatal(err)
	}
	if err := w.DB.QueryRow(`select current_setting('preserve_insertion_order')`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if during || !after {
		t.Errorf("preserve_insertion_order during the build %v, after it %v; want false, then true", during, after)
	}
}
