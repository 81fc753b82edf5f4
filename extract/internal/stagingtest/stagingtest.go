// Package stagingtest holds the checks the connector packages share for their staging SQL:
// load a connector's landed lake into a fresh warehouse, materialise its staging models and
// compare them with the canonical contract and the generator's rows.
package stagingtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/transform"
)

// DuckType is how DuckDB describes a canonical column type.
func DuckType(t revcast.Type) string {
	if t == revcast.Timestamp {
		return "TIMESTAMP WITH TIME ZONE"
	}
	return t.String()
}

// BuildStaging loads the lake of source into a fresh warehouse and materialises every
// staging model of dir as staging.<name>, checking each produces exactly its canonical
// table's columns (names, order, types) plus _source.
func BuildStaging(t *testing.T, dataDir, source, dir string) *sql.DB {
	t.Helper()
	ctx := context.Background()
	w, err := transform.Open(ctx, filepath.Join(dataDir, "warehouse.duckdb"), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.Load(ctx, filepath.Join(dataDir, "lake"), []transform.LakeSource{{Name: source, Type: source}}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, source+"__*.sql"))
	if len(files) == 0 {
		t.Fatal("no staging models")
	}
	rawRE := regexp.MustCompile(`raw\.(\w+)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		name := strings.TrimSuffix(filepath.Base(f), ".sql")
		if !strings.HasPrefix(text, "-- "+name+": ") || !strings.Contains(text, "\n-- grain: ") || !strings.Contains(text, "\n-- key: ") {
			t.Errorf("%s: header must start with '-- %s: ' and have grain and key lines", f, name)
		}
		// Tombstone tables exist only once something was deleted.
		for _, m := range rawRE.FindAllStringSubmatch(text, -1) {
			if strings.HasSuffix(m[1], "__deleted") {
				w.DB.Exec(fmt.Sprintf(`create table if not exists raw.%s (key varchar, deleted_at timestamptz, _file varchar, _source varchar)`, m[1]))
			}
		}
		if _, err := w.DB.Exec(fmt.Sprintf("create or replace table staging.%s as\n%s", name, text)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		table, _ := strings.CutPrefix(name, source+"__")
		canon, ok := revcast.LookupTable(table)
		if !ok {
			t.Fatalf("%s: no canonical table %s", f, table)
		}
		rows, err := w.DB.Query(fmt.Sprintf(`select column_name, column_type from (describe staging.%s)`, name))
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for rows.Next() {
			var n, typ string
			rows.Scan(&n, &typ)
			got = append(got, n+" "+typ)
		}
		rows.Close()
		for _, c := range canon.Columns {
			want = append(want, c.Name+" "+DuckType(c.Type))
		}
		want = append(want, "_source VARCHAR")
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("staging.%s columns\n got %s\nwant %s", name, strings.Join(got, ", "), strings.Join(want, ", "))
		}
	}
	return w.DB
}

// column returns "key=value" strings of a query with two text columns.
func Pairs(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k, v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, k.String+"="+v.String)
	}
	sort.Strings(out)
	return out
}

func SameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		n := 0
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("%s: first difference at %d: got %s, want %s", what, i, got[i], want[i])
				n++
				break
			}
		}
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
	}
}
