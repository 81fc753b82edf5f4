package sap_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/sap"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
)

// benchStream reads one stream in full from a sandbox over loopback, either through the
// reader alone or landed by a Runner, and reports records per second.
func benchStream(b *testing.B, stream string, land bool) {
	c := company(b, fixtures.ScaleMedium)
	_, srv := newSystem(b, c, sandbox.SAPOptions{PageSize: sap.MaxPageSize})
	src := newSource(b, srv, func(s *sap.Source) { s.PageSize = sap.MaxPageSize; s.StreamNames = []string{stream} })
	streams, _ := src.Streams(context.Background())
	var rows int64
	var elapsed time.Duration
	for b.Loop() {
		start := time.Now()
		if land {
			r := &extract.Runner{DataDir: b.TempDir()}
			res, err := r.Extract(context.Background(), "sap", src, extract.ExtractOptions{})
			if err != nil {
				b.Fatal(err)
			}
			rows += res.Rows()
		} else {
			rd, err := src.Read(context.Background(), streams[0], nil)
			if err != nil {
				b.Fatal(err)
			}
			for {
				bt, err := rd.Next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				if bt.Record != nil {
					rows += bt.Record.NumRows()
					bt.Record.Release()
				}
			}
			rd.Close()
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "records/s")
}

func BenchmarkRead_SalesOrderItems(b *testing.B) { benchStream(b, sap.StreamSalesOrderItem, false) }
func BenchmarkRead_ARItems(b *testing.B)         { benchStream(b, sap.StreamARItem, false) }
func BenchmarkLand_SalesOrderItems(b *testing.B) { benchStream(b, sap.StreamSalesOrderItem, true) }
func BenchmarkLand_ARItems(b *testing.B)         { benchStream(b, sap.StreamARItem, true) }
