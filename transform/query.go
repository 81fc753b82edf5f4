package transform

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// Result is a query result with every value rendered as text (NULL as nil), ready to print.
type Result struct {
	Columns []string
	Rows    [][]*string
}

// Query runs q and renders the result. On a read-only warehouse a write statement fails
// with a message saying so.
func (w *Warehouse) Query(ctx context.Context, q string) (*Result, error) {
	rows, err := w.DB.QueryContext(ctx, q)
	if err != nil {
		if w.ReadOnly && strings.Contains(err.Error(), "read-only") {
			return nil, fmt.Errorf("%w: revcast sql only reads; writes go through revcast commands (DuckDB said: %v)", ErrReadOnly, err)
		}
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: cols}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]*string, len(cols))
		for i, v := range vals {
			if v != nil {
				s := render(v)
				row[i] = &s
			}
		}
		res.Rows = append(res.Rows, row)
	}
	return res, rows.Err()
}

// render prints a scanned DuckDB value the way an analyst expects: dates as YYYY-MM-DD,
// instants in RFC 3339 UTC, decimals exactly.
func render(v any) string {
	switch x := v.(type) {
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.UTC().Format(time.RFC3339)
	case duckdb.Decimal:
		return decimalString(x)
	case []byte:
		return string(x)
	case float64:
		return fmt.Sprintf("%.6g", x)
	}
	return fmt.Sprint(v)
}

func decimalString(d duckdb.Decimal) string {
	if d.Value == nil {
		return "0"
	}
	r := new(big.Rat).SetFrac(d.Value, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil))
	return r.FloatString(int(d.Scale))
}

// TableInfo describes one table or view for `revcast tables`.
type TableInfo struct {
	Schema, Name, Kind, Comment string
	Rows                        int64
}

// Tables lists the warehouse's tables and views outside meta, with their comments.
func (w *Warehouse) Tables(ctx context.Context) ([]TableInfo, error) {
	rows, err := w.DB.QueryContext(ctx, `
		select * from (
			select schema_name, table_name as name, 'table' as kind, coalesce(comment, '') as comment, estimated_size
			from duckdb_tables() where not internal and schema_name <> 'meta'
			union all
			select schema_name, view_name, 'view', coalesce(comment, ''), null
			from duckdb_views() where not internal and schema_name not in ('meta', 'information_schema', 'pg_catalog')
		) order by schema_name <> 'main', schema_name, name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TableInfo
	for rows.Next() {
		var t TableInfo
		var n sql.NullInt64
		if err := rows.Scan(&t.Schema, &t.Name, &t.Kind, &t.Comment, &n); err != nil {
			return nil, err
		}
		t.Rows = n.Int64
		out = append(out, t)
	}
	return out, rows.Err()
}
