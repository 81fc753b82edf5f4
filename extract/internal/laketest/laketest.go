// Package laketest reads a landed lake back for tests of extract and its connectors:
// the part files of a stream, their rows and footer metadata, and leftovers of
// interrupted runs.
package laketest

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/revcast/revcast/extract"
)

// Files returns the landed part files of source's stream, sorted by path.
func Files(t testing.TB, dataDir, source, stream string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dataDir, "lake", source, stream, "dt=*", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

// ReadTable reads a whole Parquet file.
func ReadTable(t testing.TB, path string) arrow.Table {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return tbl
}

// Rows reads the files and returns their rows as column → value text (arrow ValueStr);
// null values are absent from the map.
func Rows(t testing.TB, paths ...string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, p := range paths {
		tbl := ReadTable(t, p)
		n := int(tbl.NumRows())
		rows := make([]map[string]string, n)
		for i := range rows {
			rows[i] = map[string]string{}
		}
		for c := 0; c < int(tbl.NumCols()); c++ {
			name := tbl.Schema().Field(c).Name
			r := 0
			for _, ch := range tbl.Column(c).Data().Chunks() {
				for i := 0; i < ch.Len(); i++ {
					if !ch.IsNull(i) {
						rows[r][name] = Text(ch, i)
					}
					r++
				}
			}
		}
		tbl.Release()
		out = append(out, rows...)
	}
	return out
}

// Column returns one column's values across the files, in order (null as "").
func Column(t testing.TB, col string, paths ...string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		tbl := ReadTable(t, p)
		idx := tbl.Schema().FieldIndices(col)
		if len(idx) == 0 {
			tbl.Release()
			t.Fatalf("%s has no column %q", p, col)
		}
		for _, ch := range tbl.Column(idx[0]).Data().Chunks() {
			for i := 0; i < ch.Len(); i++ {
				if ch.IsNull(i) {
					out = append(out, "")
				} else {
					out = append(out, Text(ch, i))
				}
			}
		}
		tbl.Release()
	}
	return out
}

// Text renders value i of a for comparisons: decimals with their scale ("-7.00"),
// timestamps in RFC 3339 UTC, dates as YYYY-MM-DD, anything else as arrow's ValueStr.
func Text(a arrow.Array, i int) string {
	switch v := a.(type) {
	case *array.Decimal128:
		return v.Value(i).ToString(v.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Timestamp:
		return v.Value(i).ToTime(v.DataType().(*arrow.TimestampType).Unit).UTC().Format(time.RFC3339Nano)
	case *array.Date32:
		return v.Value(i).FormattedString()
	}
	return a.ValueStr(i)
}

// Meta returns the footer key-value metadata of a Parquet file.
func Meta(t testing.TB, path string) map[string]string {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer pf.Close()
	kv := pf.MetaData().KeyValueMetadata()
	out := map[string]string{}
	for i, k := range kv.Keys() {
		out[k] = kv.Values()[i]
	}
	return out
}

// Temps lists every *.tmp file under dataDir.
func Temps(t testing.TB, dataDir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".tmp") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// Orphans lists part files of a stream (or of its tombstones when deleted is true) numbered
// above the committed seq in the state file.
func Orphans(t testing.TB, dataDir, source, stream string, deleted bool) []string {
	t.Helper()
	st, err := extract.LoadState(dataDir, source, stream)
	if err != nil {
		t.Fatal(err)
	}
	lake, committed := stream, st.Seq
	if deleted {
		lake, committed = stream+extract.DeletedSuffix, st.DeletedSeq
	}
	var out []string
	for _, p := range Files(t, dataDir, source, lake) {
		if Seq(t, p) > committed {
			out = append(out, p)
		}
	}
	return out
}

// Seq parses the part number from a landed file name.
func Seq(t testing.TB, path string) int64 {
	t.Helper()
	base := strings.TrimSuffix(filepath.Base(path), ".parquet")
	seq, err := strconv.ParseInt(base[strings.LastIndexByte(base, '-')+1:], 10, 64)
	if err != nil {
		t.Fatalf("part name %s: %v", path, err)
	}
	return seq
}

// MustExist fails the test if path does not exist.
func MustExist(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
