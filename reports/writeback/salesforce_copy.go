package writeback

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/revcast/revcast/extract/salesforce"
	"github.com/revcast/revcast/internal/duckx"
	"github.com/revcast/revcast/transform"
)

// Copy implements CopyReader for records addressed by Id: the latest version (by
// SystemModstamp, then file) of each record this source landed in
// raw.salesforce__<object> and in its echo table (transform.EchoRule: revcast's own
// writes, landed again). It vouches for a record only when
//   - the version is alive (not IsDeleted, no tombstone at or after it): a deleted record
//     is read from the CRM, which says it is missing;
//   - the version's file carries every field (a field landed only since an upgrade is
//     null in older versions, which is not the CRM's value);
//   - revcast's last successful write of the record (writeback_log) came before the
//     extraction that landed the stream's newest file started: a write since then is not
//     in the copy yet (a write-back run twice without an extraction between).
func (s *Salesforce) Copy(ctx context.Context, db *sql.DB, object, keyField string, keys, fields []string, fn func(key string, cur Current)) (bool, error) {
	types := sfFieldTypes[object]
	if !strings.EqualFold(keyField, "Id") || types == nil || len(fields) == 0 {
		return false, nil // nothing to vouch for (a group writing provenance only is read from the CRM)
	}
	stream := salesforce.StreamName(object)
	table := transform.RawTable(salesforce.TypeName, stream)
	need := append([]string{"Id", salesforce.VersionField, "IsDeleted", "_file", "_source"}, fields...)
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
		parts = append(parts, fmt.Sprintf(`select %s from raw.%s where _source = %s and %s in (select key from wanted)`,
			strings.Join(sel, ", "), duckx.Ident(t), duckx.Literal(s.name), duckx.Ident(cols["id"])))
	}
	// The files that carry every field, and when the newest extraction started (its run
	// id opens the file name: <run-id>-<seq>.parquet).
	// files are the stream's landed files where they are now; located pairs each with the
	// path it was loaded from, which the rows' _file holds and a moved project no longer has.
	var files, located []string
	var newest sql.NullString
	rows, err := db.QueryContext(ctx, `select path, regexp_extract(path, '([0-9]{8}T[0-9]{6}Z)-[^/]*$', 1)
		from meta.loaded_files where source = ? and stream = ?`, s.name, stream)
	if err != nil {
		return false, err
	}
	for rows.Next() {
		var path, run string
		if err := rows.Scan(&path, &run); err != nil {
			rows.Close()
			return false, err
		}
		at, ok := s.locate(path, stream)
		if !ok {
			continue // removed from the lake: its rows are not vouched for
		}
		files = append(files, duckx.Literal(at))
		located = append(located, "("+duckx.Literal(at)+", "+duckx.Literal(path)+")")
		if run > newest.String {
			newest = sql.NullString{String: run, Valid: true}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	started, err := time.Parse("20060102T150405Z", newest.String)
	if len(files) == 0 || err != nil {
		return false, nil
	}
	fieldList := make([]string, len(fields))
	for i, f := range fields {
		fieldList[i] = duckx.Literal(f)
	}
	carrying := fmt.Sprintf(`select f.loaded_as as file_name
		from (select file_name from parquet_schema([%s]) where name in (%s) group by file_name having count(distinct name) = %d) s
		join (values %s) f(file_name, loaded_as) using (file_name)`,
		strings.Join(files, ", "), strings.Join(fieldList, ", "), len(fields), strings.Join(located, ", "))
	filters := []string{`not coalesce(c."IsDeleted", false)`, `c._file in (select file_name from carrying)`}
	with := []string{"wanted as (select unnest(?::varchar[]) as key)", "carrying as (" + carrying + ")"}
	if cols, err := tableColumns(ctx, db, "raw", table+"__deleted"); err != nil {
		return false, err
	} else if len(cols) > 0 {
		filters = append(filters, fmt.Sprintf(`not exists (select 1 from raw.%s t where t.key = c."Id" and t.deleted_at >= c.%s)`,
			duckx.Ident(table+"__deleted"), duckx.Ident(salesforce.VersionField)))
	}
	if cols, err := tableColumns(ctx, db, "main", "writeback_log"); err != nil {
		return false, err
	} else if len(cols) > 0 {
		with = append(with, fmt.Sprintf(`written as (select key, max("at") as at from writeback_log
			where target = %s and object = %s and status = 'ok' group by key)`, duckx.Literal(s.name), duckx.Literal(object)))
		filters = append(filters, fmt.Sprintf(`not exists (select 1 from written w where w.key = c."Id" and w.at >= %s)`,
			duckx.Literal(started.Format(time.RFC3339))+"::timestamptz"))
	}
	out := make([]string, 0, len(fields)+1)
	out = append(out, `cast(c."Id" as varchar)`)
	for _, f := range fields {
		q := "c." + duckx.Ident(f)
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
	// Only the versions of the records asked about: DuckDB materializes the result, and
	// its window holds every version it ranks (large: 560k of a million opportunities).
	q := fmt.Sprintf(`with %s,
latest as (
    select * from (%s)
    qualify row_number() over (partition by "Id" order by %s desc, _file desc) = 1
)
select %s from latest c where %s`,
		strings.Join(with, ",\n"), strings.Join(parts, " union all "), duckx.Ident(salesforce.VersionField),
		strings.Join(out, ", "), strings.Join(filters, " and "))
	rows, err = db.QueryContext(ctx, q, keys)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	vals := make([]any, len(fields)+1)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	// One map for every record: fn must not keep cur.Fields (CopyReader says so).
	cur := Current{Fields: make(map[string]any, len(fields))}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return false, err
		}
		id, _ := vals[0].(string)
		cur.ID = id
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

// locate returns where the landed file loaded from path is now: path itself, else its
// place in the lake (transform.LakeKey) under LakeDir; false when neither exists.
func (s *Salesforce) locate(path, stream string) (string, bool) {
	if _, err := os.Stat(path); err == nil {
		return path, true
	}
	if s.LakeDir == "" {
		return "", false
	}
	at, err := filepath.Abs(filepath.Join(s.LakeDir, filepath.FromSlash(transform.LakeKey(path, s.name, stream))))
	if err != nil {
		return "", false
	}
	if _, err := os.Stat(at); err != nil {
		return "", false
	}
	return at, true
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
