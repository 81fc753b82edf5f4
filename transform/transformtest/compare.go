// Package transformtest holds test helpers for code that builds warehouses.
package transformtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/revcast/revcast/transform"
)

// Diff is how one table differs between two warehouses.
type Diff struct {
	Table        string // schema.name
	OnlyA, OnlyB int64  // rows (counted with multiplicity) in one warehouse's table and not the other's
	Missing      string // "a" or "b" when the table exists in one warehouse only
}

// String describes the difference in one line.
func (d Diff) String() string {
	if d.Missing != "" {
		return fmt.Sprintf("%s: missing in warehouse %s", d.Table, d.Missing)
	}
	return fmt.Sprintf("%s: %d rows only in a, %d only in b", d.Table, d.OnlyA, d.OnlyB)
}

// Compare compares every table of schemas (default: staging and main) of warehouse a with
// the same table of the warehouse file bPath (which no one else may have open) as
// multisets of rows (EXCEPT ALL both ways), and returns the tables that differ.
func Compare(ctx context.Context, a *transform.Warehouse, bPath string, schemas ...string) ([]Diff, error) {
	if len(schemas) == 0 {
		schemas = []string{"staging", "main"}
	}
	conn, err := a.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `attach '`+strings.ReplaceAll(bPath, "'", "''")+`' as cmp_b (read_only)`); err != nil {
		return nil, err
	}
	defer conn.ExecContext(ctx, `detach cmp_b`) //nolint:errcheck // best effort
	in := "'" + strings.Join(schemas, "', '") + "'"
	rows, err := conn.QueryContext(ctx, `select schema_name, table_name, list(database_name) from duckdb_tables()
		where schema_name in (`+in+`) and database_name in (current_database(), 'cmp_b')
		group by all order by all`)
	if err != nil {
		return nil, err
	}
	type table struct {
		schema, name string
		dbs          []any
	}
	var tables []table
	for rows.Next() {
		var t table
		if err := rows.Scan(&t.schema, &t.name, &t.dbs); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var diffs []Diff
	for _, t := range tables {
		name := t.schema + "." + t.name
		if len(t.dbs) == 1 {
			missing := "b"
			if fmt.Sprint(t.dbs[0]) == "cmp_b" {
				missing = "a"
			}
			diffs = append(diffs, Diff{Table: name, Missing: missing})
			continue
		}
		ta := fmt.Sprintf(`%s."%s"`, t.schema, t.name)
		tb := "cmp_b." + ta
		var d Diff
		d.Table = name
		q := fmt.Sprintf(`select (select count(*) from (select * from %[1]s except all select * from %[2]s)),
			(select count(*) from (select * from %[2]s except all select * from %[1]s))`, ta, tb)
		if err := conn.QueryRowContext(ctx, q).Scan(&d.OnlyA, &d.OnlyB); err != nil {
			return nil, fmt.Errorf("compare %s: %w", name, err)
		}
		if d.OnlyA != 0 || d.OnlyB != 0 {
			diffs = append(diffs, d)
		}
	}
	return diffs, nil
}

// MustMatch fails t with every table of schemas (default staging and main) that differs
// between a and the warehouse file bPath.
func MustMatch(t testing.TB, a *transform.Warehouse, bPath string, schemas ...string) {
	t.Helper()
	diffs, err := Compare(context.Background(), a, bPath, schemas...)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("%s", d)
	}
}
