package extract_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
)

func TestSchemaFor(t *testing.T) {
	tbl, ok := revcast.LookupTable("opportunities")
	if !ok {
		t.Fatal("no opportunities table")
	}
	s := extract.SchemaFor(tbl)
	if s.NumFields() != len(tbl.Columns) {
		t.Fatalf("fields = %d, want %d", s.NumFields(), len(tbl.Columns))
	}
	want := map[string]string{
		"opportunity_id": "utf8",
		"amount":         "decimal(18, 2)",
		"close_date":     "date32",
		"modified_at":    "timestamp[us, tz=UTC]",
		"is_won":         "bool",
		"probability":    "float64",
	}
	for name, typ := range want {
		i := s.FieldIndices(name)
		if len(i) != 1 {
			t.Fatalf("no field %s", name)
		}
		if got := s.Field(i[0]).Type.String(); got != typ {
			t.Errorf("%s: type %s, want %s", name, got, typ)
		}
	}
	if v, _ := s.Metadata().GetValue(extract.SchemaKeyTable); v != "opportunities" {
		t.Errorf("metadata table = %q", v)
	}
}

var testCols = []revcast.Column{
	{Name: "id", Type: revcast.String, Required: true},
	{Name: "amount", Type: revcast.Decimal},
	{Name: "qty", Type: revcast.Int64},
	{Name: "p", Type: revcast.Float64},
	{Name: "day", Type: revcast.Date},
	{Name: "at", Type: revcast.Timestamp},
	{Name: "ok", Type: revcast.Bool},
	{Name: "note", Type: revcast.String},
}

func TestRowBuilder_RowIsAllOrNothing(t *testing.T) {
	rb := extract.NewRowBuilder(nil, "t", testCols, extract.Parser{})
	defer rb.Release()
	set := func(vals ...string) error {
		for i, v := range vals {
			rb.SetString(i, v)
		}
		return rb.EndRow()
	}
	if err := set("a", "1.50", "3", "0.5", "2026-01-02", "2026-01-02T03:04:05Z", "yes", "x"); err != nil {
		t.Fatal(err)
	}
	err := set("b", "1.505", "3", "0.5", "2026-01-02", "", "", "")
	var fe *extract.FieldError
	if !errors.As(err, &fe) || fe.Field != "amount" || fe.Value != "1.505" {
		t.Fatalf("bad amount: err = %v, want a FieldError on amount", err)
	}
	if got := err.Error(); got != `amount "1.505": more than 2 decimal places (money is kept exact to the cent; fix the source or round it there)` {
		t.Errorf("message = %s", got)
	}
	if err := set("", "1"); err == nil || !errors.As(err, &fe) || fe.Field != "id" || fe.Reason != "missing required value" {
		t.Fatalf("missing id: err = %v", err)
	}
	if err := set("c", "", "", "", "", "", "", ""); err != nil { // every optional value empty: nulls
		t.Fatal(err)
	}
	if rb.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (rejected rows must not be appended)", rb.Len())
	}
	rec := rb.NewRecord()
	defer rec.Release()
	if rec.NumRows() != 2 {
		t.Fatalf("rows = %d", rec.NumRows())
	}
	for c := 0; c < int(rec.NumCols()); c++ {
		if rec.Column(c).Len() != 2 {
			t.Fatalf("column %d has %d values: a rejected row leaked into the builders", c, rec.Column(c).Len())
		}
	}
	if got := rec.Column(1).(*array.Decimal128).Value(0).ToString(2); got != "1.50" {
		t.Errorf("amount = %s", got)
	}
	for c := 1; c < int(rec.NumCols()); c++ {
		if !rec.Column(c).IsNull(1) {
			t.Errorf("column %s of row c should be null", testCols[c].Name)
		}
	}
}

func TestRowBuilder_TypedSetters(t *testing.T) {
	at := time.Date(2026, 5, 27, 23, 30, 0, 0, time.FixedZone("x", -2*3600)) // 2026-05-28 01:30 UTC
	tests := []struct {
		name    string
		col     int // index in testCols
		set     func(rb *extract.RowBuilder, i int) error
		want    string // ValueStr of the landed value; "" when an error is expected
		wantErr string
	}{
		{"float to decimal", 1, func(rb *extract.RowBuilder, i int) error { return rb.SetFloat64(i, 1234.56) }, "1234.56", ""},
		{"float with 3 decimals to decimal", 1, func(rb *extract.RowBuilder, i int) error { return rb.SetFloat64(i, 0.125) }, "", "more than 2 decimal places"},
		{"decimal(10,4) exact", 1, func(rb *extract.RowBuilder, i int) error { return rb.SetDecimal(i, decimal128.FromI64(123400), 4) }, "12.34", ""},
		{"decimal(10,4) inexact", 1, func(rb *extract.RowBuilder, i int) error { return rb.SetDecimal(i, decimal128.FromI64(123456), 4) }, "", "more than 2 decimal places"},
		{"int to decimal", 1, func(rb *extract.RowBuilder, i int) error { return rb.SetInt64(i, -7) }, "-7.00", ""},
		{"integral float to int", 2, func(rb *extract.RowBuilder, i int) error { return rb.SetFloat64(i, 42) }, "42", ""},
		{"fractional float to int", 2, func(rb *extract.RowBuilder, i int) error { return rb.SetFloat64(i, 4.2) }, "", "not an integer"},
		{"int to float", 3, func(rb *extract.RowBuilder, i int) error { return rb.SetInt64(i, 3) }, "3", ""},
		{"time to date uses its own calendar day", 4, func(rb *extract.RowBuilder, i int) error { return rb.SetTime(i, at) }, "2026-05-27", ""},
		{"time to timestamp is the instant", 5, func(rb *extract.RowBuilder, i int) error { return rb.SetTime(i, at) }, "2026-05-28 01:30:00Z", ""},
		{"int 1 to bool", 6, func(rb *extract.RowBuilder, i int) error { return rb.SetInt64(i, 1) }, "true", ""},
		{"int 2 to bool", 6, func(rb *extract.RowBuilder, i int) error { return rb.SetInt64(i, 2) }, "", "not a boolean"},
		{"number to date", 4, func(rb *extract.RowBuilder, i int) error { return rb.SetInt64(i, 20260527) }, "", "an integer is not a date"},
		{"bool to string", 7, func(rb *extract.RowBuilder, i int) error { return rb.SetBool(i, false) }, "false", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb := extract.NewRowBuilder(nil, "", testCols, extract.Parser{})
			defer rb.Release()
			rb.SetString(0, "k")
			tt.set(rb, tt.col)
			err := rb.EndRow()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rec := rb.NewRecord()
			defer rec.Release()
			if got := valueStr(rec.Column(tt.col), 0); got != tt.want {
				t.Errorf("value = %q, want %q", got, tt.want)
			}
		})
	}
}

func valueStr(a arrow.Array, i int) string {
	if d, ok := a.(*array.Decimal128); ok {
		return d.Value(i).ToString(d.DataType().(*arrow.Decimal128Type).Scale)
	}
	if ts, ok := a.(*array.Timestamp); ok {
		return ts.Value(i).ToTime(arrow.Microsecond).Format("2006-01-02 15:04:05Z07:00")
	}
	return a.ValueStr(i)
}
