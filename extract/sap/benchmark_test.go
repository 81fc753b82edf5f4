package sap

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
)

// benchSalesOrderPage returns the first page of the sales order item stream (DefaultPageSize
// sales orders with their items expanded, $format=json) exactly as the sandbox serves it
// for a company of 4,000 opportunities (about 1,700 sales orders), and the reader that
// asked for it. The HTTP round trip happens here,
// once, outside any timer.
func benchSalesOrderPage(b *testing.B) ([]byte, *reader) {
	b.Helper()
	c, err := fixtures.Generate(fixtures.Options{Seed: 5, Opportunities: 4000})
	if err != nil {
		b.Fatal(err)
	}
	sys := sandbox.NewSAPSystem(sandbox.SAPOptions{PageSize: MaxPageSize})
	if err := sys.Load(c); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sys)
	b.Cleanup(srv.Close)
	s := New()
	s.URL = srv.URL
	s.User = sandbox.SAPDemoUser
	s.Getenv = func(name string) string {
		if name == DefaultPasswordEnv {
			return sandbox.SAPDemoPassword
		}
		return ""
	}
	s.StreamNames = []string{StreamSalesOrderItem}
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
	u, _ := r.query()
	resp, err := s.get(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	return resp.Body, r
}

// BenchmarkDecodePage measures the connector's decode of one OData v2 JSON page of the
// sales order item stream (1,000 A_SalesOrder entities with their to_Item items, the
// bytes the sandbox served, no HTTP) into an Arrow record batch: the envelope, the
// per-header key/timestamp and cursor check, item staging and the row builder, in the
// one pass reader.Next runs. records/s counts item rows; MB/s is of response JSON.
func BenchmarkDecodePage(b *testing.B) {
	body, r := benchSalesOrderPage(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		r.cur, _ = parseCursor(nil) // a full read: every entity is new
		p, err := r.decodePage(body)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.rejects) > 0 || len(r.unknown) > 0 || p.n != DefaultPageSize || p.landed != p.n {
			b.Fatalf("%d entities, %d landed, %d rejects, unknown properties %v", p.n, p.landed, len(p.rejects), r.unknown)
		}
		rec := r.rb.NewRecord()
		rows += int(rec.NumRows())
		rec.Release()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(rows)/float64(b.N), "records/op")
}
