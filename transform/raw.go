package transform

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/revcast/revcast/extract"
	_ "github.com/revcast/revcast/extract/all" // every connector's declared streams
)

// RawSpec declares a raw table that a connector lands, so the table exists (empty) before
// the connector's first extraction and every staging model compiles whether or not that
// connector is configured.
type RawSpec struct {
	Table   string // raw table name, RawTable(type, stream)
	Columns []RawColumn
}

// RawColumn is one column of a RawSpec, with its DuckDB type.
type RawColumn struct {
	Name, Type string
}

// RawSpecFromArrow declares table with the columns of schema (as landed in Parquet) plus
// the bookkeeping columns Load adds (_file, _source).
func RawSpecFromArrow(table string, schema *arrow.Schema) (RawSpec, error) {
	spec := RawSpec{Table: table}
	for _, f := range schema.Fields() {
		t, err := duckdbType(f.Type)
		if err != nil {
			return spec, fmt.Errorf("raw.%s column %s: %w", table, f.Name, err)
		}
		spec.Columns = append(spec.Columns, RawColumn{f.Name, t})
	}
	spec.Columns = append(spec.Columns, RawColumn{"_file", "VARCHAR"}, RawColumn{"_source", "VARCHAR"})
	return spec, nil
}

// duckdbType is the type DuckDB's Parquet reader gives an Arrow type written by pqarrow.
func duckdbType(t arrow.DataType) (string, error) {
	switch t := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType:
		return "VARCHAR", nil
	case *arrow.Int64Type:
		return "BIGINT", nil
	case *arrow.Int32Type:
		return "INTEGER", nil
	case *arrow.Float64Type:
		return "DOUBLE", nil
	case *arrow.BooleanType:
		return "BOOLEAN", nil
	case *arrow.Date32Type:
		return "DATE", nil
	case *arrow.Decimal128Type:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale), nil
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return "TIMESTAMPTZ", nil
		}
		return "TIMESTAMP", nil
	}
	return "", fmt.Errorf("no DuckDB type for Arrow %s", t)
}

// EnsureRaw creates every declared raw table that does not exist yet. Existing tables are
// left alone: Load adds columns that later files bring (schema drift).
func (w *Warehouse) EnsureRaw(ctx context.Context, specs []RawSpec) error {
	have, err := w.rawTables(ctx)
	if err != nil {
		return err
	}
	for _, s := range specs {
		if have[s.Table] {
			continue
		}
		cols := make([]string, len(s.Columns))
		for i, c := range s.Columns {
			cols[i] = ident(c.Name) + " " + c.Type
		}
		if err := w.exec(ctx, fmt.Sprintf(`create table raw.%s (%s)`, ident(s.Table), strings.Join(cols, ", "))); err != nil {
			return fmt.Errorf("create raw.%s: %w", s.Table, err)
		}
	}
	return nil
}

// rawTables returns the names of the tables in schema raw.
func (w *Warehouse) rawTables(ctx context.Context) (map[string]bool, error) {
	rows, err := w.DB.QueryContext(ctx, `select table_name from duckdb_tables() where schema_name = 'raw' and database_name = current_database()`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		have[t] = true
	}
	return have, rows.Err()
}

// DeclaredRawSpecs asks every registered connector type, unconfigured, for the streams it
// declares and returns their raw tables and tombstone tables, so the warehouse can create
// them empty and every connector's staging models compile. A connector whose Streams needs
// configuration or the network contributes nothing and its staging must not depend on it.
// The files connector's raw tables come from the canonical contract instead.
func DeclaredRawSpecs(ctx context.Context) ([]RawSpec, error) {
	var specs []RawSpec
	for _, typ := range extract.Types() {
		if typ == "files" {
			continue
		}
		src, err := extract.New(typ)
		if err != nil {
			return nil, err
		}
		streams, err := src.Streams(ctx)
		if err != nil {
			continue
		}
		for _, s := range streams {
			spec, err := RawSpecFromArrow(RawTable(typ, s.Name), s.Schema)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", typ, err)
			}
			del, err := RawSpecFromArrow(RawTable(typ, s.Name+extract.DeletedSuffix), extract.DeletedSchema)
			if err != nil {
				return nil, err
			}
			specs = append(specs, spec, del)
		}
	}
	return specs, nil
}
