package extract

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/revcast/revcast"
)

// Arrow types of the canonical column types (revcast.Type). Money is decimal128(18,2),
// instants are timestamp[us, UTC], calendar dates are date32.
var (
	DecimalType   = &arrow.Decimal128Type{Precision: 18, Scale: 2}
	TimestampType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
)

// DecimalScale is the number of decimal places of a revcast.Decimal value.
const DecimalScale = 2

// ArrowType returns the Arrow type a column of logical type t is landed as. It panics on
// an unknown Type (a programming error).
func ArrowType(t revcast.Type) arrow.DataType {
	switch t {
	case revcast.String:
		return arrow.BinaryTypes.String
	case revcast.Int64:
		return arrow.PrimitiveTypes.Int64
	case revcast.Float64:
		return arrow.PrimitiveTypes.Float64
	case revcast.Decimal:
		return DecimalType
	case revcast.Date:
		return arrow.FixedWidthTypes.Date32
	case revcast.Timestamp:
		return TimestampType
	case revcast.Bool:
		return arrow.FixedWidthTypes.Boolean
	}
	panic(fmt.Sprintf("extract: unknown revcast.Type %d", int(t)))
}

// SchemaKeyTable is the Arrow schema metadata key naming the canonical table a schema
// was derived from.
const SchemaKeyTable = "revcast.table"

// SchemaFor returns the landed Arrow schema of canonical table t: one field per column,
// in the table's order, typed by ArrowType. Every field is nullable — a Required column is
// enforced by rejecting rows at extraction (RowBuilder), not by the Parquet schema, so files
// from different connectors stay union-compatible. The schema metadata carries the table
// name under SchemaKeyTable.
func SchemaFor(t revcast.Table) *arrow.Schema {
	return SchemaForColumns(t.Name, t.Columns)
}

// SchemaForColumns is SchemaFor for an explicit column list (a canonical table's columns
// followed by extra source columns, for instance). table may be empty.
func SchemaForColumns(table string, cols []revcast.Column) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: ArrowType(c.Type), Nullable: true}
	}
	if table == "" {
		return arrow.NewSchema(fields, nil)
	}
	md := arrow.NewMetadata([]string{SchemaKeyTable}, []string{table})
	return arrow.NewSchema(fields, &md)
}

// DeletedSuffix is appended to a stream's name to form the lake folder of its tombstones.
const DeletedSuffix = "__deleted"

// DeletedSchema is the schema of a tombstone stream (<stream>__deleted): the source key
// of a deleted record and the instant revcast learned of the deletion.
var DeletedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.String},
	{Name: "deleted_at", Type: TimestampType},
}, nil)

// ParseEvery parses a connector's refresh interval: a Go duration ("36h") or a whole
// number of days ("7d"), which Go's time.ParseDuration does not accept.
func ParseEvery(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 {
			return 0, errors.New("want a duration like 7d or 36h")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, errors.New("want a duration like 7d or 36h")
	}
	return d, nil
}
