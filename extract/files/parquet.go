package files

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/revcast/revcast/extract"
)

// parquetFile streams one Parquet file through the pqarrow record reader, converting each
// value to the canonical column type (so an amount stored as double, decimal(38,10) or
// text all land as decimal(18,2), or are rejected).
type parquetFile struct {
	t        task
	s        *streamSettings
	pf       *file.Reader
	rr       pqarrow.RecordReader
	lay      *layout
	rb       *extract.RowBuilder
	sum      string
	row      int64
	rows     int64
	rejected int64
	eof      bool
	raw      bytes.Buffer
	rawW     *csv.Writer
}

func openParquet(ctx context.Context, t task, s *streamSettings, batch int) (*parquetFile, error) {
	wrap := func(err error) error { return fmt.Errorf("files: %s: %w", t.rel, err) }
	sum, err := hashFile(t.abs)
	if err != nil {
		return nil, wrap(err)
	}
	pf, err := file.OpenParquetFile(t.abs, false)
	if err != nil {
		return nil, wrap(err)
	}
	c := &parquetFile{t: t, s: s, pf: pf, sum: sum}
	fail := func(err error) (*parquetFile, error) {
		pf.Close()
		return nil, err
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(batch)}, memory.DefaultAllocator)
	if err != nil {
		return fail(wrap(err))
	}
	sc, err := fr.Schema()
	if err != nil {
		return fail(wrap(err))
	}
	names := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		names[i] = f.Name
	}
	if c.lay, err = newLayout(s, t.rel, names); err != nil {
		return fail(err)
	}
	if pf.NumRows() == 0 || pf.NumRowGroups() == 0 || len(names) == 0 {
		c.eof = true
	} else if c.rr, err = fr.GetRecordReader(ctx, nil, nil); err != nil {
		return fail(wrap(err))
	}
	c.rb = extract.NewRowBuilder(nil, s.table.Name, c.lay.cols, s.parser)
	c.rawW = csv.NewWriter(&c.raw)
	return c, nil
}

func (c *parquetFile) read(ctx context.Context) (arrow.RecordBatch, []extract.Reject, bool, error) {
	if c.eof {
		return nil, nil, true, nil
	}
	if !c.rr.Next() {
		if err := c.rr.Err(); err != nil && err != io.EOF {
			return nil, nil, false, fmt.Errorf("files: %s: %w", c.t.rel, err)
		}
		c.eof = true
		return nil, nil, true, nil
	}
	rec := c.rr.RecordBatch()
	cols := rec.Columns()
	rb, lay := c.rb, c.lay
	var rejects []extract.Reject
	for i := 0; i < int(rec.NumRows()); i++ {
		c.row++
		for j, col := range cols {
			if k := lay.srcIdx[j]; k >= 0 {
				c.set(k, col, i)
			}
		}
		lay.fill(rb, c.s, c.t.mtime)
		if err := rb.EndRow(); err != nil {
			rejects = append(rejects, lay.reject(rb, c.row, err, c.rawRow(cols, i)))
		}
	}
	c.rejected += int64(len(rejects))
	var out arrow.RecordBatch
	if rb.Len() > 0 {
		c.rows += int64(rb.Len())
		out = rb.NewRecord()
	}
	return out, rejects, false, nil
}

// set converts value i of arr into landed column k.
func (c *parquetFile) set(k int, arr arrow.Array, i int) {
	rb := c.rb
	if arr.IsNull(i) {
		rb.SetNull(k)
		return
	}
	switch a := arr.(type) {
	case *array.String:
		rb.SetString(k, a.Value(i))
	case *array.LargeString:
		rb.SetString(k, a.Value(i))
	case *array.StringView:
		rb.SetString(k, a.Value(i))
	case *array.Binary:
		rb.SetString(k, string(a.Value(i)))
	case *array.Int8:
		rb.SetInt64(k, int64(a.Value(i)))
	case *array.Int16:
		rb.SetInt64(k, int64(a.Value(i)))
	case *array.Int32:
		rb.SetInt64(k, int64(a.Value(i)))
	case *array.Int64:
		rb.SetInt64(k, a.Value(i))
	case *array.Uint8:
		rb.SetInt64(k, int64(a.Value(i)))
	case *array.Uint16:
		rb.SetInt64(k, int64(a.Value(i)))
	case *array.Uint32:
		rb.SetInt64(k, int64(a.Value(i)))
	case *array.Uint64:
		if v := a.Value(i); v <= math.MaxInt64 {
			rb.SetInt64(k, int64(v))
		} else {
			rb.SetFloat64(k, float64(v))
		}
	case *array.Float32:
		// Through the shortest decimal form of the float32, so 1234.56f stays 1234.56.
		v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32), 64)
		rb.SetFloat64(k, v)
	case *array.Float64:
		rb.SetFloat64(k, a.Value(i))
	case *array.Decimal128:
		rb.SetDecimal(k, a.Value(i), a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Boolean:
		rb.SetBool(k, a.Value(i))
	case *array.Date32:
		rb.SetTime(k, a.Value(i).ToTime())
	case *array.Date64:
		rb.SetTime(k, a.Value(i).ToTime())
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		t := a.Value(i).ToTime(tt.Unit)
		if tt.TimeZone == "" && c.s.parser.Location != nil {
			// A zone-less (wall clock) timestamp is read in the configured zone.
			y, mo, d := t.Date()
			h, mi, s := t.Clock()
			t = time.Date(y, mo, d, h, mi, s, t.Nanosecond(), c.s.parser.Location)
		}
		rb.SetTime(k, t)
	case *array.Dictionary:
		c.set(k, a.Dictionary(), a.GetValueIndex(i))
	default:
		rb.SetString(k, arr.ValueStr(i))
	}
}

func (c *parquetFile) rawRow(cols []arrow.Array, i int) string {
	vals := make([]string, len(cols))
	for j, col := range cols {
		if !col.IsNull(i) {
			vals[j] = col.ValueStr(i)
		}
	}
	c.raw.Reset()
	c.rawW.Write(vals)
	c.rawW.Flush()
	return strings.TrimRight(c.raw.String(), "\r\n")
}

func (c *parquetFile) mark() fileMark {
	return fileMark{Size: c.t.size, ModTime: c.t.mtime, SHA256: c.sum, Rows: c.rows, Rejected: c.rejected}
}

func (c *parquetFile) close() error {
	if c.rr != nil {
		c.rr.Release()
		c.rr = nil
	}
	if c.rb != nil {
		c.rb.Release()
		c.rb = nil
	}
	if c.pf == nil {
		return nil
	}
	err := c.pf.Close()
	c.pf = nil
	return err
}
