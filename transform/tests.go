package transform

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/revcast/revcast"
)

// DataTest is one check over the warehouse: a query returning offending rows, key first.
type DataTest struct {
	Name  string // e.g. unique_opportunities_opportunity_id or tests/orders_have_customers
	Table string // the table it guards
	SQL   string
	// Warn marks a test whose failures are reported but do not fail the transform
	// (header "-- severity: warn"): findings about the source data, not broken models.
	Warn bool
}

// TestFailure is a data test that found rows.
type TestFailure struct {
	Test    DataTest
	Count   int64
	Samples []string // up to 5 offending keys
}

func (f TestFailure) String() string {
	return fmt.Sprintf("%s on %s: %d rows (e.g. %s)", f.Test.Name, f.Test.Table, f.Count, strings.Join(f.Samples, ", "))
}

// GenericTests derives from the canonical contract a unique-key test and a not-null test
// for every required column of every core table.
func GenericTests() []DataTest {
	var tests []DataTest
	for _, t := range revcast.Tables {
		keys := make([]string, len(t.Key))
		for i, k := range t.Key {
			keys[i] = ident(k)
		}
		kexpr := strings.Join(keys, " || '|' || ")
		tests = append(tests, DataTest{
			Name:  "unique_" + t.Name + "_" + strings.Join(t.Key, "_"),
			Table: t.Name,
			SQL:   fmt.Sprintf(`select %s as k, count(*) as n from main.%s group by all having count(*) > 1`, kexpr, ident(t.Name)),
		})
		for _, c := range t.Columns {
			if !c.Required {
				continue
			}
			tests = append(tests, DataTest{
				Name:  "not_null_" + t.Name + "_" + c.Name,
				Table: t.Name,
				SQL:   fmt.Sprintf(`select %s as k from main.%s where %s is null`, kexpr, ident(t.Name), ident(c.Name)),
			})
		}
	}
	return tests
}

// ParseTests reads tests/*.sql: each file's header "-- <name>: what it checks" and
// "-- table: <table>", then a query returning offending rows with the key first.
func ParseTests(fsys fs.FS) ([]DataTest, error) {
	entries, err := fs.ReadDir(fsys, "tests")
	if err != nil {
		return nil, fmt.Errorf("tests: %w", err)
	}
	var tests []DataTest
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join("tests", e.Name()))
		if err != nil {
			return nil, err
		}
		t := DataTest{Name: "tests/" + strings.TrimSuffix(e.Name(), ".sql"), SQL: strings.TrimSpace(string(data))}
		for _, line := range strings.Split(string(data), "\n") {
			sub := headerRE.FindStringSubmatch(strings.TrimSpace(line))
			switch {
			case sub == nil:
			case sub[1] == "table":
				t.Table = sub[2]
			case sub[1] == "severity":
				t.Warn = sub[2] == "warn"
			}
		}
		if t.Table == "" {
			return nil, fmt.Errorf("test %s: header needs a '-- table: <name>' line", e.Name())
		}
		tests = append(tests, t)
	}
	return tests, nil
}

// RunTests runs every test and returns the failures; err is for tests that could not run.
func (w *Warehouse) RunTests(ctx context.Context, tests []DataTest) ([]TestFailure, error) {
	var fails []TestFailure
	for _, t := range tests {
		var n int64
		q := strings.TrimRight(t.SQL, "; \n")
		if err := w.DB.QueryRowContext(ctx, fmt.Sprintf(`select count(*) from (%s)`, q)).Scan(&n); err != nil {
			return fails, fmt.Errorf("data test %s: %w", t.Name, err)
		}
		if n == 0 {
			continue
		}
		f := TestFailure{Test: t, Count: n}
		rows, err := w.DB.QueryContext(ctx, fmt.Sprintf(`select * from (%s) limit 5`, q))
		if err != nil {
			return fails, fmt.Errorf("data test %s: %w", t.Name, err)
		}
		f.Samples = firstColumn(rows)
		fails = append(fails, f)
	}
	return fails, nil
}

func firstColumn(rows *sql.Rows) []string {
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if rows.Scan(ptrs...) == nil {
			out = append(out, fmt.Sprint(vals[0]))
		}
	}
	return out
}
