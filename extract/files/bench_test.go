package files_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/revcast/revcast/extract"
)

// BenchmarkLandCSV measures the files source on a 200k-row opportunities export (17
// columns, ~24 MB): "arrow" is CSV → typed Arrow batches only, "parquet" the whole
// landing (CSV → Arrow → zstd Parquet, fsync, rename, state). Reports rows/s.
func BenchmarkLandCSV(b *testing.B) {
	const rows = 200_000
	dir := b.TempDir()
	genOpportunities(b, filepath.Join(dir, "opportunities.csv"), 0, rows)
	f := newSource(b, dir, nil)
	stream := extract.Stream{Name: "opportunities"}

	b.Run("arrow", func(b *testing.B) {
		b.ReportAllocs()
		var n int64
		for b.Loop() {
			rd, err := f.Read(context.Background(), stream, nil)
			if err != nil {
				b.Fatal(err)
			}
			for {
				batch, err := rd.Next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				if batch.Record != nil {
					n += batch.Record.NumRows()
					batch.Record.Release()
				}
			}
			rd.Close()
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	})

	b.Run("parquet", func(b *testing.B) {
		b.ReportAllocs()
		var n int64
		for b.Loop() {
			res := extractAll(b, f, b.TempDir(), "bench", extract.ExtractOptions{Full: true})
			n += res.Rows()
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	})
}
