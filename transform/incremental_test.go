package transform_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/revcast/revcast/transform"
	"github.com/revcast/revcast/transform/transformtest"
)

// incModelFiles are a small model graph over raw.src__items (versions and tombstones) and
// raw.src__groups: a staging model partitioned by group whose records can move between
// groups, a core model partitioned the same way that also reads a whole input (groups), a
// mart partitioned by group and a mart without a partition.
var incModelFiles = map[string]string{
	"staging/src__items.sql": `-- src__items: items, latest version, deleted ones dropped; next_ts is the next item's ts in its group.
-- grain: one row per item
-- key: item_id
-- incremental: grp = raw.src__items(grp) by id
with latest as (
    select * from raw.src__items
    qualify row_number() over (partition by id order by ts desc, _file desc) = 1
), tombstones as (
    select key, max(deleted_at) as deleted_at from raw.src__items__deleted group by key
)
select l.id as item_id, l.grp, l.ts, l.amount,
       lead(l.ts) over (partition by l.grp order by l.ts, l.id) as next_ts
from latest l
left join tombstones t on t.key = cast(l.id as varchar) and t.deleted_at >= l.ts
where t.key is null`,
	"core/groups.sql": `-- groups: group labels.
-- grain: one row per group
-- key: grp
select grp, label from raw.src__groups qualify row_number() over (partition by grp order by _file desc) = 1`,
	"core/items.sql": `-- items: items with their group's label.
-- grain: one row per item
-- key: item_id
-- incremental: grp = staging.src__items
select i.item_id, i.grp, i.amount, i.next_ts, g.label
from staging.src__items i
left join groups g on g.grp = i.grp`,
	"marts/totals.sql": `-- totals: amount per group.
-- grain: one row per group
-- key: grp
-- incremental: grp = items
select grp, sum(amount) as amount, count(*) as n from items group by grp`,
	"marts/other_count.sql": `-- other_count: rows of a table no model builds.
-- grain: one row
-- key: n
select count(*) as n from other_table`,
	"marts/item_count.sql": `-- item_count: how many items.
-- grain: one row
-- key: n
select count(*) as n from items`,
}

func incModels(t *testing.T, replace map[string]string) []transform.Model {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, sql := range incModelFiles {
		if r, ok := replace[name]; ok {
			sql = r
		}
		fsys[name] = &fstest.MapFile{Data: []byte(sql)}
	}
	ms, err := transform.ParseModels(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func items(rows ...string) string {
	return `select * from (values ` + strings.Join(rows, ", ") + `) v(id, grp, ts, amount)`
}

func tombstones(rows ...string) string {
	return `select * from (values ` + strings.Join(rows, ", ") + `) v(key, deleted_at)`
}

// ts is an instant on day d after 2026-06-10.
func ts(d int) string { return fmt.Sprintf("timestamptz '2026-06-%02d 10:00:00+00'", 10+d) }

// TestBuildWith_IncrementalMatchesFullRebuild lands batches of changes — updates, an older
// version arriving late, a record moving between partitions, inserts, deletes, a stale
// tombstone, a change to a whole input, schema drift, SQL changes, an interrupted and a
// failed build — and after each incremental build compares every table with a warehouse
// built from scratch from the same lake.
func TestBuildWith_IncrementalMatchesFullRebuild(t *testing.T) {
	ctx := context.Background()
	w := mustOpen(t)
	lake := t.TempDir()
	srcs := []transform.LakeSource{{Name: "src", Type: "src"}}
	settings := transform.Settings{BaseCurrency: "USD"}
	batch := 0
	land := func(t *testing.T, stream, selectSQL string) {
		t.Helper()
		batch++
		landParquet(t, w, lake, "src", stream, fmt.Sprintf("r%03d.parquet", batch), selectSQL)
	}
	// build loads the lake and builds models incrementally; want maps model → mode.
	build := func(t *testing.T, models []transform.Model, want map[string]string) {
		t.Helper()
		if _, err := w.Load(ctx, lake, srcs); err != nil {
			t.Fatal(err)
		}
		res, err := w.BuildWith(ctx, models, settings, transform.BuildOptions{Incremental: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Models {
			if mode, ok := want[m.Name]; ok && m.Mode != mode {
				t.Errorf("%s built %s (%s), want %s", m.Name, m.Mode, m.Reason, mode)
			}
		}
	}
	// matchesFull builds a fresh warehouse from the whole lake and compares.
	matchesFull := func(t *testing.T, models []transform.Model) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "full.duckdb")
		ref, err := transform.Open(ctx, path, false)
		if err != nil {
			t.Fatal(err)
		}
		ref.Now = w.Now
		if _, err := ref.DB.Exec(`create table other_table as select 1 as x`); err != nil {
			t.Fatal(err)
		}
		if _, err := ref.Load(ctx, lake, srcs); err != nil {
			t.Fatal(err)
		}
		if _, err := ref.Build(ctx, models, settings); err != nil {
			t.Fatal(err)
		}
		if err := ref.Close(); err != nil {
			t.Fatal(err)
		}
		transformtest.MustMatch(t, w, path)
	}
	models := incModels(t, nil)
	full, inc, skip := transform.ModeFull, transform.ModeIncremental, transform.ModeSkipped
	if _, err := w.DB.Exec(`create table other_table as select 1 as x`); err != nil {
		t.Fatal(err)
	}

	land(t, "items", items(
		fmt.Sprintf("(1, 'a', %s, 10)", ts(1)), fmt.Sprintf("(2, 'a', %s, 20)", ts(1)), fmt.Sprintf("(3, 'a', %s, 30)", ts(2)),
		fmt.Sprintf("(4, 'b', %s, 40)", ts(1)), fmt.Sprintf("(5, 'b', %s, 50)", ts(1)), fmt.Sprintf("(6, 'c', %s, 60)", ts(1))))
	land(t, "items__deleted", tombstones(fmt.Sprintf("('99', %s)", ts(1))))
	land(t, "groups", `select * from (values ('a', 'A'), ('b', 'B'), ('c', 'C')) v(grp, label)`)
	build(t, models, map[string]string{"src__items": full, "groups": full, "items": full, "totals": full, "item_count": full})
	matchesFull(t, models)

	t.Run("updates, a late older version, a move, an insert and deletes", func(t *testing.T) {
		land(t, "items", items(
			fmt.Sprintf("(1, 'a', %s, 11)", ts(3)),  // update
			fmt.Sprintf("(2, 'a', %s, 99)", ts(0)),  // an older version arriving late: loses
			fmt.Sprintf("(3, 'b', %s, 30)", ts(3)),  // moves from a to b
			fmt.Sprintf("(7, 'c', %s, 70)", ts(3)))) // insert
		land(t, "items__deleted", tombstones(
			fmt.Sprintf("('4', %s)", ts(3)),  // delete
			fmt.Sprintf("('5', %s)", ts(0)))) // learned before item 5's version: no effect
		build(t, models, map[string]string{"src__items": inc, "groups": skip, "items": inc, "totals": inc, "item_count": full})
		matchesFull(t, models)
	})
	t.Run("only a late older version: the partition is recomputed, nothing changes", func(t *testing.T) {
		land(t, "items", items(fmt.Sprintf("(6, 'c', %s, 1)", ts(0))))
		build(t, models, map[string]string{"src__items": inc, "items": skip, "totals": skip, "item_count": skip})
		matchesFull(t, models)
	})
	t.Run("a record moving alone", func(t *testing.T) {
		land(t, "items", items(fmt.Sprintf("(6, 'b', %s, 60)", ts(3)))) // from c: c is recomputed too
		build(t, models, map[string]string{"src__items": inc, "items": inc, "totals": inc})
		matchesFull(t, models)
	})
	t.Run("a delete alone", func(t *testing.T) {
		land(t, "items__deleted", tombstones(fmt.Sprintf("('7', %s)", ts(4))))
		build(t, models, map[string]string{"src__items": inc, "items": inc, "totals": inc})
		matchesFull(t, models)
	})
	t.Run("a tombstone of a record never landed", func(t *testing.T) {
		land(t, "items__deleted", tombstones(fmt.Sprintf("('999', %s)", ts(4))))
		build(t, models, map[string]string{"src__items": inc, "items": skip, "totals": skip})
		matchesFull(t, models)
	})
	t.Run("a whole input changed", func(t *testing.T) {
		land(t, "groups", `select 'b' as grp, 'Bee' as label`)
		build(t, models, map[string]string{"src__items": skip, "groups": full, "items": full, "totals": full, "item_count": full})
		matchesFull(t, models)
	})
	t.Run("nothing changed", func(t *testing.T) {
		// other_count reads a table the build does not track: it is rebuilt every time
		build(t, models, map[string]string{"src__items": skip, "groups": skip, "items": skip, "totals": skip, "item_count": skip, "other_count": full})
	})
	t.Run("SQL changed", func(t *testing.T) {
		models = incModels(t, map[string]string{"marts/totals.sql": strings.Replace(incModelFiles["marts/totals.sql"], "count(*) as n", "count(*) as n, max(amount) as top", 1)})
		build(t, models, map[string]string{"src__items": skip, "items": skip, "totals": full, "item_count": skip})
		matchesFull(t, models)
	})
	t.Run("schema drift", func(t *testing.T) {
		land(t, "items", fmt.Sprintf(`select 6 as id, 'c' as grp, %s as ts, 66 as amount, 'red' as color`, ts(4)))
		build(t, models, map[string]string{"src__items": full, "items": full, "totals": full})
		matchesFull(t, models)
	})
	t.Run("a build of some models, then of all", func(t *testing.T) {
		land(t, "items", items(fmt.Sprintf("(1, 'a', %s, 12)", ts(5))))
		var staging []transform.Model
		for _, m := range models {
			if m.Layer == "staging" {
				staging = append(staging, m)
			}
		}
		build(t, staging, map[string]string{"src__items": inc})
		// items missed the change's rows: it rebuilds in full, and so do its readers
		build(t, models, map[string]string{"src__items": skip, "items": full, "totals": full})
		matchesFull(t, models)
	})
	t.Run("a failed build", func(t *testing.T) {
		land(t, "items", items(fmt.Sprintf("(2, 'a', %s, 21)", ts(6))))
		broken := incModels(t, map[string]string{"core/items.sql": incModelFiles["core/items.sql"] + " where no_such_column"})
		if _, err := w.Load(ctx, lake, srcs); err != nil {
			t.Fatal(err)
		}
		_, err := w.BuildWith(ctx, broken, settings, transform.BuildOptions{Incremental: true})
		if err == nil || !strings.Contains(err.Error(), "model items") {
			t.Fatalf("err = %v, want one naming model items", err)
		}
		build(t, models, map[string]string{"src__items": skip, "items": full, "totals": full})
		matchesFull(t, models)
	})
	t.Run("full build", func(t *testing.T) {
		res, err := w.BuildWith(ctx, models, settings, transform.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Models {
			if m.Mode != full {
				t.Errorf("%s built %s, want full", m.Name, m.Mode)
			}
		}
		matchesFull(t, models)
	})
}

func TestParseModels_Incremental(t *testing.T) {
	model := func(header, sql string) fstest.MapFS {
		return fstest.MapFS{
			"staging/README.md": {},
			"core/README.md":    {},
			"marts/m.sql":       {Data: []byte("-- m: test.\n-- grain: one\n-- key: k\n" + header + "\n" + sql)},
		}
	}
	const sql = `select * from raw.a join raw.b using (k) join raw.a__deleted d on d.key = a.k`
	tests := []struct {
		name, header string
		want         *transform.Incremental
		wantErr      string
	}{
		{"none", "", nil, ""},
		{"same columns", "-- incremental: k = raw.a", &transform.Incremental{Partition: []string{"k"},
			Inputs: []transform.IncrementalInput{{Table: "raw.a", Exprs: []string{"k"}}}}, ""},
		{"expressions and a record key", "-- incremental: k, s = raw.a(coalesce(x, y), _source) by (_source, id), raw.b(upper(k), 's, t')",
			&transform.Incremental{Partition: []string{"k", "s"}, Inputs: []transform.IncrementalInput{
				{Table: "raw.a", Exprs: []string{"coalesce(x, y)", "_source"}, By: []string{"_source", "id"}},
				{Table: "raw.b", Exprs: []string{"upper(k)", "'s, t'"}}}}, ""},
		{"single record key", "-- incremental: k = raw.a(k2) by Id", &transform.Incremental{Partition: []string{"k"},
			Inputs: []transform.IncrementalInput{{Table: "raw.a", Exprs: []string{"k2"}, By: []string{"Id"}}}}, ""},
		{"no equals", "-- incremental: k", nil, "want '<column>"},
		{"too few expressions", "-- incremental: k, s = raw.a(k)", nil, "1 expressions for 2 partition columns"},
		{"not read", "-- incremental: k = raw.c", nil, "input raw.c is not a table the model reads"},
		{"by on a model", "-- incremental: k = m2 by id", nil, "is not a table the model reads"},
		{"junk after input", "-- incremental: k = raw.a(k) where x", nil, "unexpected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := transform.ParseModels(model(tc.header, sql))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fmt.Sprintf("%+v", ms[0].Incremental), fmt.Sprintf("%+v", tc.want); got != want {
				t.Fatalf("incremental = %s, want %s", got, want)
			}
			if got := strings.Join(ms[0].Raw, " "); got != "a a__deleted b" {
				t.Fatalf("raw = %q, want a a__deleted b", got)
			}
		})
	}
}

// TestParseModels_CTEIsNoDependency: a query's CTE named like a model is not that model.
func TestParseModels_CTEIsNoDependency(t *testing.T) {
	ms, err := transform.ParseModels(fstest.MapFS{
		"staging/README.md":  {},
		"core/customers.sql": {Data: []byte("-- customers: test.\n-- grain: one\n-- key: k\nselect 1 as k")},
		"marts/m.sql": {Data: []byte("-- m: test.\n-- grain: one\n-- key: k\n" +
			"with customers as (select 2 as k), other as (select 3 as k) select * from customers union all select * from other")},
		"marts/n.sql": {Data: []byte("-- n: test.\n-- grain: one\n-- key: k\nwith x as (select 1) select * from main.customers")},
	})
	if err != nil {
		t.Fatal(err)
	}
	deps := map[string]string{}
	for _, m := range ms {
		deps[m.Name] = strings.Join(m.Deps, " ")
	}
	if deps["m"] != "" || deps["n"] != "customers" {
		t.Fatalf("deps = %v, want m none and n customers", deps)
	}
}
