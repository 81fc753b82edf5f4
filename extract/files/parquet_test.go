package files_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/files"
	"github.com/revcast/revcast/extract/internal/laketest"
)

// writeExportParquet writes a Parquet export the way other tools do: their own types
// (decimal(12,4), dictionary strings, timestamp[ms] without zone, float32, int32) and an
// extra column.
func writeExportParquet(t *testing.T, path string) {
	t.Helper()
	mem := memory.DefaultAllocator
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "opportunity_id", Type: arrow.BinaryTypes.String},
		{Name: "account_id", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
		{Name: "stage", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 4}, Nullable: true},
		{Name: "currency", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "close_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "created_date", Type: &arrow.TimestampType{Unit: arrow.Millisecond}},
		{Name: "is_closed", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "is_won", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "probability", Type: arrow.PrimitiveTypes.Int32},
		{Name: "discount_pct", Type: arrow.PrimitiveTypes.Float32},
		{Name: "modified_at", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
		{Name: "region_code", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	created := time.Date(2026, 1, 5, 23, 0, 0, 0, time.UTC)
	for i, amt := range []int64{123456000, 123456, 5000} { // 12345.6000, 12.3456 (inexact), 0.5000
		rb.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("P-%d", i+1))
		rb.Field(1).(*array.BinaryDictionaryBuilder).AppendString(fmt.Sprintf("A-%d", i%2))
		rb.Field(2).(*array.StringBuilder).Append("Proposal")
		rb.Field(3).(*array.Decimal128Builder).Append(decimal128.FromI64(amt))
		if i == 2 {
			rb.Field(4).AppendNull()
		} else {
			rb.Field(4).(*array.StringBuilder).Append("EUR")
		}
		rb.Field(5).(*array.Date32Builder).Append(arrow.Date32FromTime(time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)))
		rb.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(created.UnixMilli()))
		rb.Field(7).(*array.BooleanBuilder).Append(false)
		rb.Field(8).(*array.BooleanBuilder).Append(false)
		rb.Field(9).(*array.Int32Builder).Append(40)
		rb.Field(10).(*array.Float32Builder).Append(2.3)
		rb.Field(11).(*array.TimestampBuilder).Append(arrow.Timestamp(time.Date(2026, 1, 6, 8, 0, 0, 123456789, time.UTC).UnixNano()))
		rb.Field(12).(*array.Int64Builder).Append(int64(7 + i))
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFiles_ParquetExport(t *testing.T) {
	dir, dataDir := t.TempDir(), t.TempDir()
	writeExportParquet(t, filepath.Join(dir, "opportunities.parquet"))
	f := newSource(t, dir, func(f *files.Files) { f.Currency = "USD" })
	sr := streamResult(t, extractAll(t, f, dataDir, "r1", extract.ExtractOptions{}), "opportunities")
	if sr.Rows != 2 || sr.Rejected != 1 {
		t.Fatalf("rows = %d, rejected = %d (%+v)", sr.Rows, sr.Rejected, sr.Rejects)
	}
	if r := sr.Rejects[0]; r.Line != 2 || r.Field != "amount" || r.Reason != `"12.3456": more than 2 decimal places (money is kept exact to the cent; fix the source or round it there)` {
		t.Errorf("reject = %+v", r)
	}
	paths := laketest.Files(t, dataDir, "exports", "opportunities")
	tbl := laketest.ReadTable(t, paths[0])
	defer tbl.Release()
	for name, typ := range map[string]string{"amount": "decimal(18, 2)", "created_date": "date32", "probability": "float64",
		"discount_pct": "float64", "modified_at": "timestamp[us, tz=UTC]", "account_id": "utf8", "region_code": "utf8"} {
		idx := tbl.Schema().FieldIndices(name)
		if len(idx) != 1 || tbl.Schema().Field(idx[0]).Type.String() != typ {
			t.Errorf("%s: landed as %v, want %s", name, tbl.Schema().FieldIndices(name), typ)
			continue
		}
	}
	rows := laketest.Rows(t, paths...)
	want := []map[string]string{
		{"opportunity_id": "P-1", "account_id": "A-0", "amount": "12345.60", "currency": "EUR", "created_date": "2026-01-05",
			"probability": "40", "discount_pct": "2.3", "modified_at": "2026-01-06T08:00:00.123456Z", "region_code": "7"},
		{"opportunity_id": "P-3", "account_id": "A-0", "amount": "0.50", "currency": "USD", "created_date": "2026-01-05",
			"probability": "40", "discount_pct": "2.3", "modified_at": "2026-01-06T08:00:00.123456Z", "region_code": "9"},
	}
	for i, w := range want {
		for col, v := range w {
			if rows[i][col] != v {
				t.Errorf("row %d %s = %q, want %q", i, col, rows[i][col], v)
			}
		}
	}
}
