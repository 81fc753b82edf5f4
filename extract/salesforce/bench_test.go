package salesforce_test

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/revcast/revcast/extract/salesforce"
	"github.com/revcast/revcast/fixtures/sandbox"
)

// BenchmarkExtractOpportunity measures extraction of 200,000 Opportunity records from the
// sandbox over loopback: query, 100 pages of 2000, JSON decode into Arrow. Sandbox and
// connector share the machine, as in `revcast demo`. cpu-ns/record is their CPU time per
// record, which other load on the machine does not change.
func BenchmarkExtractOpportunity(b *testing.B) {
	const n = 200_000
	org := sandbox.NewSalesforceOrg(sandbox.SalesforceOptions{DailyLimit: 1 << 40})
	pop := sandbox.DefaultPopulation(n, 1)
	pop.Contacts, pop.Cases, pop.Contracts, pop.LinesPerOpportunity, pop.HistoryPerOpportunity = 0, 0, 0, 0, 0
	pop.Accounts, pop.PerSecond = 5000, 20
	if err := org.Populate(pop); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(org)
	defer srv.Close()
	src := newSource(b, srv, func(s *salesforce.Source) { s.Objects = []string{"Opportunity"}; s.BatchSize = 2000 })
	st := stream(b, src, "opportunity")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	rows := 0
	for i := 0; i < b.N; i++ {
		rd, err := src.Read(ctx, st, nil)
		if err != nil {
			b.Fatal(err)
		}
		for {
			bt, err := rd.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if bt.Record != nil {
				rows += int(bt.Record.NumRows())
				bt.Record.Release()
			}
		}
		rd.Close()
	}
	el, cpu := time.Since(start), cpuTime()-cpu0
	if rows != n*b.N {
		b.Fatalf("%d rows, want %d", rows, n*b.N)
	}
	b.ReportMetric(float64(rows)/el.Seconds(), "records/s")
	// CPU per record (sandbox and connector together) does not depend on what else the
	// machine is running, unlike records/s.
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(rows), "cpu-ns/record")
	}
}
