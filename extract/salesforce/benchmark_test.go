package salesforce

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/revcast/revcast/fixtures/sandbox"
)

// benchPageRecords is the page size of BenchmarkDecodePage: Salesforce's largest batchSize,
// the connector's default.
const benchPageRecords = 2000

// benchOpportunityPage returns the first queryAll page of an org holding benchPageRecords
// opportunities, exactly as the sandbox serves it to the connector (fields per describe,
// SELECT order, batchSize 2000), and the reader that asked for it. The HTTP round trip
// happens here, once, outside any timer.
func benchOpportunityPage(b *testing.B) ([]byte, *reader) {
	b.Helper()
	org := sandbox.NewSalesforceOrg(sandbox.SalesforceOptions{DailyLimit: 1 << 40})
	pop := sandbox.DefaultPopulation(benchPageRecords, 1)
	pop.Contacts, pop.Cases, pop.Contracts, pop.LinesPerOpportunity, pop.HistoryPerOpportunity = 0, 0, 0, 0, 0
	if err := org.Populate(pop); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(org)
	b.Cleanup(srv.Close)
	s := New()
	s.InstanceURL = srv.URL
	s.ClientID = sandbox.SalesforceDemoClientID
	s.Getenv = func(name string) string {
		if name == DefaultClientSecretEnv {
			return sandbox.SalesforceDemoClientSecret
		}
		return ""
	}
	s.Objects = []string{"Opportunity"}
	s.BatchSize = benchPageRecords
	if err := s.Init(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	streams, err := s.Streams(ctx)
	if err != nil {
		b.Fatal(err)
	}
	rd, err := s.Read(ctx, streams[0], nil)
	if err != nil {
		b.Fatal(err)
	}
	r := rd.(*reader)
	b.Cleanup(func() { r.Close() })
	body, _, err := r.fetch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return body, r
}

// BenchmarkDecodePage measures the connector's decode of one query response page of
// 2,000 Opportunity records (the bytes the sandbox served, no HTTP) into an Arrow record
// batch: the single-pass JSON scan, type conversion, the cursor's per-record check and
// the Arrow builders, as reader.Next runs them. MB/s is of response JSON.
func BenchmarkDecodePage(b *testing.B) {
	body, r := benchOpportunityPage(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		r.cur = &cursor{max: r.s.maxCursIDs} // a full read: every record is new
		r.deleted = nil
		_, rejects, err := r.dec.decodePage(body, r.decide)
		if err != nil {
			b.Fatal(err)
		}
		if len(rejects) > 0 || len(r.dec.unknown) > 0 {
			b.Fatalf("%d rejects, unknown fields %v", len(rejects), r.dec.unknown)
		}
		rec := r.dec.flush()
		if rec == nil {
			b.Fatal("no rows")
		}
		rows += int(rec.NumRows())
		rec.Release()
	}
	if rows != benchPageRecords*b.N {
		b.Fatalf("%d rows, want %d", rows, benchPageRecords*b.N)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "records/s")
}
