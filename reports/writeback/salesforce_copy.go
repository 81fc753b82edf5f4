package writeback

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/revcast/revcast/extract/salesforce"
	"github.com/revcast/revcast/internal/duckx"
	"github.com/revcast/revcast/transform"
)

// Copy implements CopyReader for records addressed by Id: the latest version (by
// SystemModstamp, then file) of each record this source landed in
// raw.salesforce__<object> and in its echo table (transform.EchoRule: revcast's own
// writes, landed again). It vouches only when every field was landed.
func (s *Salesforce) Copy(ctx context.Context, db *sql.DB, object, keyField string, fields []string, fn func(key string, cur Current)) (bool, error) {
	types := sfFieldTypes[object]
	if !strings.EqualFold(keyField, "Id") || types == nil {
		return false, nil
	}
	table := transform.RawTable(salesforce.TypeName, salesforce.StreamName(object))
	need := append([]string{"Id", salesforce.VersionField, "_file", "_source"}, fields...)
	var parts []string
	for _, t := range []string{table, table + transform.EchoSuffix} {
		cols, err := tableColumns(ctx, db, "raw", t)
		if err != nil {
			return false, err
		}
		if len(cols) == 0 && t != table {
			continue // no echo table yet
		}
		sel := make([]string, 0, len(need))
		for _, f := range need {
			c, ok := cols[strings.ToLower(f)]
			if !ok {
				return false, nil // not landed (an older lake, or an org without the field)
			}
			sel = append(sel, duckx.Ident(c)+" as "+duckx.Ident(f))
		}
		parts = append(parts, fmt.Sprintf(`select %s from raw.%s where _source = %s`, strings.Join(sel, ", "), duckx.Ident(t), duckx.Literal(s.name)))
	}
	out := make([]string, 0, len(fields)+1)
	out = append(out, `cast("Id" as varchar)`)
	for _, f := range fields {
		q := duckx.Ident(f)
		switch types[f] {
		case TypeCurrency, TypePercent, TypeNumber:
			out = append(out, "cast("+q+" as double)")
		case TypeDateTime:
			out = append(out, "strftime(timezone('UTC', cast("+q+" as timestamptz)), '%Y-%m-%dT%H:%M:%SZ')")
		case TypeDate:
			out = append(out, "strftime(cast("+q+" as date), '%Y-%m-%d')")
		default:
			out = append(out, "cast("+q+" as varchar)")
		}
	}
	q := fmt.Sprintf(`select %s from (%s)
qualify row_number() over (partition by "Id" order by %s desc, _file desc) = 1`,
		strings.Join(out, ", "), strings.Join(parts, " union all "), duckx.Ident(salesforce.VersionField))
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	vals := make([]any, len(fields)+1)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return false, err
		}
		id, _ := vals[0].(string)
		cur := Current{ID: id, Fields: make(map[string]any, len(fields))}
		for i, f := range fields {
			v := vals[i+1]
			if t, ok := v.(time.Time); ok { // not expected after the casts above; kept comparable
				v = t.UTC().Format(time.RFC3339)
			}
			cur.Fields[f] = v
		}
		fn(id, cur)
	}
	return true, rows.Err()
}

// tableColumns returns the columns of schema.table, lower-case name → name; none when the
// table does not exist.
func tableColumns(ctx context.Context, db *sql.DB, schema, table string) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, `select column_name from duckdb_columns()
		where database_name = current_database() and schema_name = ? and table_name = ?`, schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := map[string]string{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols[strings.ToLower(c)] = c
	}
	return cols, rows.Err()
}
