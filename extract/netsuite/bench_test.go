package netsuite_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/netsuite"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
)

// benchStream reads one stream in full from a sandbox over loopback, either through the
// reader alone or landed by a Runner, and reports records per second.
func benchStream(b *testing.B, stream string, land bool) {
	c := company(b, fixtures.ScaleMedium)
	_, srv := newAccount(b, c, sandbox.NetSuiteOptions{})
	src := newSource(b, srv, func(s *netsuite.Source) { s.PageSize = netsuite.MaxPageSize; s.StreamNames = []string{stream} })
	streams, _ := src.Streams(context.Background())
	var rows int64
	var elapsed time.Duration
	for b.Loop() {
		start := time.Now()
		if land {
			r := &extract.Runner{DataDir: b.TempDir()}
			res, err := r.Extract(context.Background(), "netsuite", src, extract.ExtractOptions{})
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

func BenchmarkRead_SalesOrderLines(b *testing.B) {
	benchStream(b, netsuite.StreamSalesOrderLine, false)
}
func BenchmarkRead_Invoices(b *testing.B)        { benchStream(b, netsuite.StreamInvoice, false) }
func BenchmarkLand_SalesOrderLines(b *testing.B) { benchStream(b, netsuite.StreamSalesOrderLine, true) }
func BenchmarkLand_Invoices(b *testing.B)        { benchStream(b, netsuite.StreamInvoice, true) }
