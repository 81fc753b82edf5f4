package extract

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/revcast/revcast"
)

// FieldError says why one field of a source row could not be stored: the column, the
// offending text and the reason. Connectors turn it into a Reject.
type FieldError struct {
	Field  string // canonical (landed) column name
	Value  string // the source text, or the value as text
	Reason string // what is wrong, e.g. "not a number"
}

// Error renders `amount "12,x": not a number`.
func (e *FieldError) Error() string {
	if e.Value == "" {
		return e.Field + ": " + e.Reason
	}
	v := e.Value
	if len(v) > 80 {
		v = v[:77] + "..."
	}
	return fmt.Sprintf("%s %q: %s", e.Field, v, e.Reason)
}

// RowBuilder assembles Arrow record batches row by row from loosely typed source values
// (CSV text, JSON strings, Parquet values of any type), converting each to the column's
// canonical type. A row is all or nothing: fields are staged with the Set methods and
// EndRow appends the row only if every field converted and every Required column is set;
// otherwise it returns the first *FieldError and the row is dropped, leaving the builders
// untouched. Columns not set in a row are null.
//
// A RowBuilder is not safe for concurrent use. Release it when done.
type RowBuilder struct {
	p      Parser
	cols   []revcast.Column
	index  map[string]int
	schema *arrow.Schema
	rb     *array.RecordBuilder
	bs     []colBuilder
	cells  []cell
	err    *FieldError
	rows   int
}

type colBuilder struct {
	s  *array.StringBuilder
	i  *array.Int64Builder
	f  *array.Float64Builder
	d  *array.Decimal128Builder
	dt *array.Date32Builder
	ts *array.TimestampBuilder
	b  *array.BooleanBuilder
}

// cell is one staged value; which field is meaningful depends on the column type.
type cell struct {
	set bool
	s   string
	i   int64 // Int64, Date (days), Timestamp (µs)
	f   float64
	d   decimal128.Num
	b   bool
}

// NewRowBuilder returns a builder for cols (typically a canonical table's columns, then
// extra source columns typed revcast.String). table names the canonical table in the
// schema metadata; it may be empty. p converts text values. mem may be nil.
func NewRowBuilder(mem memory.Allocator, table string, cols []revcast.Column, p Parser) *RowBuilder {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	schema := SchemaForColumns(table, cols)
	b := &RowBuilder{
		p:      p,
		cols:   append([]revcast.Column(nil), cols...),
		index:  make(map[string]int, len(cols)),
		schema: schema,
		rb:     array.NewRecordBuilder(mem, schema),
		bs:     make([]colBuilder, len(cols)),
		cells:  make([]cell, len(cols)),
	}
	for i, c := range cols {
		b.index[c.Name] = i
		switch fb := b.rb.Field(i).(type) {
		case *array.StringBuilder:
			b.bs[i].s = fb
		case *array.Int64Builder:
			b.bs[i].i = fb
		case *array.Float64Builder:
			b.bs[i].f = fb
		case *array.Decimal128Builder:
			b.bs[i].d = fb
		case *array.Date32Builder:
			b.bs[i].dt = fb
		case *array.TimestampBuilder:
			b.bs[i].ts = fb
		case *array.BooleanBuilder:
			b.bs[i].b = fb
		}
	}
	return b
}

// Schema is the schema of the records NewRecord returns.
func (b *RowBuilder) Schema() *arrow.Schema { return b.schema }

// Columns returns the builder's columns; do not modify the slice.
func (b *RowBuilder) Columns() []revcast.Column { return b.cols }

// Index returns the position of the named column, or -1.
func (b *RowBuilder) Index(name string) int {
	if i, ok := b.index[name]; ok {
		return i
	}
	return -1
}

// Len is the number of rows appended since the last NewRecord.
func (b *RowBuilder) Len() int { return b.rows }

// Reserve makes room for n more rows.
func (b *RowBuilder) Reserve(n int) { b.rb.Reserve(n) }

// IsSet reports whether column i has a non-null value staged in the current row.
func (b *RowBuilder) IsSet(i int) bool { return b.cells[i].set }

// Err returns the first field error of the current row, or nil.
func (b *RowBuilder) Err() error {
	if b.err == nil {
		return nil
	}
	return b.err
}

func (b *RowBuilder) fail(i int, value string, reason string) error {
	if b.err == nil {
		b.err = &FieldError{Field: b.cols[i].Name, Value: value, Reason: reason}
	}
	return b.err
}

// SetNull stages a null for column i.
func (b *RowBuilder) SetNull(i int) { b.cells[i] = cell{} }

// SetString parses s into column i's type with the builder's Parser. An empty string is
// null (CSV cannot tell them apart); strings are stored verbatim, other types are parsed
// after trimming spaces. It returns the *FieldError, which EndRow will also return.
func (b *RowBuilder) SetString(i int, s string) error {
	if b.err != nil {
		return nil
	}
	c := &b.cells[i]
	if s == "" {
		*c = cell{}
		return nil
	}
	var err error
	switch b.cols[i].Type {
	case revcast.String:
		c.s = s
	case revcast.Int64:
		c.i, err = b.p.ParseInt64(s)
	case revcast.Float64:
		c.f, err = b.p.ParseFloat64(s)
	case revcast.Decimal:
		var cents int64
		cents, err = parseCents(s, b.p.decSep(), b.p.ThousandsSeparator)
		if err == errEmptyNumber {
			*c = cell{}
			return nil
		}
		c.d = decimal128.FromI64(cents)
	case revcast.Date:
		var d arrow.Date32
		d, err = b.p.ParseDate(s)
		c.i = int64(d)
	case revcast.Timestamp:
		var t arrow.Timestamp
		t, err = b.p.ParseTimestamp(s)
		c.i = int64(t)
	case revcast.Bool:
		c.b, err = ParseBool(s)
	}
	if err != nil {
		c.set = false
		return b.fail(i, s, err.Error())
	}
	c.set = true
	return nil
}

// SetInt64 stores v in column i, converting it to the column's type (exactly for Decimal
// and String; 0/1 for Bool). Dates and timestamps cannot come from an integer.
func (b *RowBuilder) SetInt64(i int, v int64) error {
	if b.err != nil {
		return nil
	}
	c := &b.cells[i]
	switch b.cols[i].Type {
	case revcast.Int64:
		c.i = v
	case revcast.Float64:
		c.f = float64(v)
	case revcast.Decimal:
		if v > 9999999999999999 || v < -9999999999999999 {
			return b.fail(i, strconv.FormatInt(v, 10), errTooLarge.Error())
		}
		c.d = decimal128.FromI64(v * 100)
	case revcast.String:
		c.s = strconv.FormatInt(v, 10)
	case revcast.Bool:
		if v != 0 && v != 1 {
			return b.fail(i, strconv.FormatInt(v, 10), errNotBool.Error())
		}
		c.b = v == 1
	default:
		return b.fail(i, strconv.FormatInt(v, 10), "an integer is not a "+typeName(b.cols[i].Type))
	}
	c.set = true
	return nil
}

// SetFloat64 stores v in column i. For a Decimal column v is taken at its shortest
// decimal representation (1234.56, not 1234.5599999) and must have at most 2 decimals.
func (b *RowBuilder) SetFloat64(i int, v float64) error {
	if b.err != nil {
		return nil
	}
	c := &b.cells[i]
	txt := func() string { return strconv.FormatFloat(v, 'f', -1, 64) }
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return b.fail(i, txt(), errNotFinite.Error())
	}
	switch b.cols[i].Type {
	case revcast.Float64:
		c.f = v
	case revcast.Int64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return b.fail(i, txt(), errNotInteger.Error())
		}
		c.i = int64(v)
	case revcast.Decimal:
		cents, err := parseCents(txt(), '.', 0)
		if err != nil {
			return b.fail(i, txt(), err.Error())
		}
		c.d = decimal128.FromI64(cents)
	case revcast.String:
		c.s = txt()
	default:
		return b.fail(i, txt(), "a number is not a "+typeName(b.cols[i].Type))
	}
	c.set = true
	return nil
}

// SetDecimal stores the decimal n with the given scale in column i; a Decimal column
// takes it exactly (rescaled to 2 decimals) or rejects it.
func (b *RowBuilder) SetDecimal(i int, n decimal128.Num, scale int32) error {
	if b.err != nil {
		return nil
	}
	c := &b.cells[i]
	switch b.cols[i].Type {
	case revcast.Decimal:
		r, err := n.Rescale(scale, DecimalScale)
		if err != nil {
			return b.fail(i, n.ToString(scale), errTooManyDec.Error())
		}
		if !r.FitsInPrecision(18) {
			return b.fail(i, n.ToString(scale), errTooLarge.Error())
		}
		c.d = r
	case revcast.Float64:
		c.f = n.ToFloat64(scale)
	case revcast.Int64:
		r, err := n.Rescale(scale, 0)
		if err != nil || !r.FitsInPrecision(18) {
			return b.fail(i, n.ToString(scale), errNotInteger.Error())
		}
		c.i = int64(r.LowBits())
	case revcast.String:
		c.s = n.ToString(scale)
	default:
		return b.fail(i, n.ToString(scale), "a number is not a "+typeName(b.cols[i].Type))
	}
	c.set = true
	return nil
}

// SetTime stores t in column i: the instant for Timestamp, the calendar date of t in its
// own location for Date, RFC 3339 for String.
func (b *RowBuilder) SetTime(i int, t time.Time) error {
	if b.err != nil {
		return nil
	}
	c := &b.cells[i]
	switch b.cols[i].Type {
	case revcast.Timestamp:
		c.i = t.UnixMicro()
	case revcast.Date:
		c.i = int64(DateOf(t))
	case revcast.String:
		c.s = t.UTC().Format(time.RFC3339Nano)
	default:
		return b.fail(i, t.Format(time.RFC3339Nano), "a time is not a "+typeName(b.cols[i].Type))
	}
	c.set = true
	return nil
}

// SetBool stores v in column i (Bool, or "true"/"false" in a String column, 0/1 in Int64).
func (b *RowBuilder) SetBool(i int, v bool) error {
	if b.err != nil {
		return nil
	}
	c := &b.cells[i]
	switch b.cols[i].Type {
	case revcast.Bool:
		c.b = v
	case revcast.String:
		c.s = strconv.FormatBool(v)
	case revcast.Int64:
		c.i = 0
		if v {
			c.i = 1
		}
	default:
		return b.fail(i, strconv.FormatBool(v), "a boolean is not a "+typeName(b.cols[i].Type))
	}
	c.set = true
	return nil
}

func typeName(t revcast.Type) string {
	switch t {
	case revcast.String:
		return "string"
	case revcast.Int64:
		return "integer"
	case revcast.Float64:
		return "number"
	case revcast.Decimal:
		return "decimal"
	case revcast.Date:
		return "date"
	case revcast.Timestamp:
		return "timestamp"
	case revcast.Bool:
		return "boolean"
	}
	return t.String()
}

// DiscardRow drops the staged row.
func (b *RowBuilder) DiscardRow() {
	clear(b.cells)
	b.err = nil
}

// EndRow appends the staged row, or drops it and returns the first *FieldError: a field
// that did not convert, or a Required column left null ("missing required value").
func (b *RowBuilder) EndRow() error {
	if b.err != nil {
		err := b.err
		b.DiscardRow()
		return err
	}
	for i := range b.cols {
		if b.cols[i].Required && !b.cells[i].set {
			err := &FieldError{Field: b.cols[i].Name, Reason: "missing required value"}
			b.DiscardRow()
			return err
		}
	}
	for i := range b.cells {
		c := &b.cells[i]
		cb := &b.bs[i]
		switch b.cols[i].Type {
		case revcast.String:
			if c.set {
				cb.s.Append(c.s)
			} else {
				cb.s.AppendNull()
			}
		case revcast.Int64:
			if c.set {
				cb.i.Append(c.i)
			} else {
				cb.i.AppendNull()
			}
		case revcast.Float64:
			if c.set {
				cb.f.Append(c.f)
			} else {
				cb.f.AppendNull()
			}
		case revcast.Decimal:
			if c.set {
				cb.d.Append(c.d)
			} else {
				cb.d.AppendNull()
			}
		case revcast.Date:
			if c.set {
				cb.dt.Append(arrow.Date32(c.i))
			} else {
				cb.dt.AppendNull()
			}
		case revcast.Timestamp:
			if c.set {
				cb.ts.Append(arrow.Timestamp(c.i))
			} else {
				cb.ts.AppendNull()
			}
		case revcast.Bool:
			if c.set {
				cb.b.Append(c.b)
			} else {
				cb.b.AppendNull()
			}
		}
		*c = cell{}
	}
	b.rows++
	return nil
}

// NewRecord returns the rows appended so far as a record batch and resets the builder.
// The caller owns the record (Release it, or hand it to the Runner in a Batch).
func (b *RowBuilder) NewRecord() arrow.RecordBatch {
	b.rows = 0
	return b.rb.NewRecordBatch()
}

// Release frees the builders' memory.
func (b *RowBuilder) Release() { b.rb.Release() }
