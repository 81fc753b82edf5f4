package writeback_test

import (
	"context"
	"testing"

	"github.com/revcast/revcast/reports/writeback"
)

// BenchmarkWriteback_FirstRun: a first write-back of 15,000 scored deals (and the period
// forecasts and tasks) into an empty sandbox org over loopback, 4 requests in flight, the
// warehouse a DuckDB file; reports records written per second. The org runs in the
// benchmark's process and shares its CPU, as the sandbox does in `make bench`. At large
// scale a first run writes some 550k records: this is the path that logs their answers.
// The warehouse is opened with DuckDB's defaults, not transform.Open's settings; its
// ~10 MB of log stay under either checkpoint threshold.
func BenchmarkWriteback_FirstRun(b *testing.B) {
	const scored = 15_000
	c := generate(b, 150_000)
	written := 0
	for b.Loop() {
		b.StopTimer()
		e := newCompanyEnv(b, c, scored)
		w := &writeback.Writer{DB: e.db, Target: e.target, Policy: policy(writeback.ModeAuto)}
		b.StartTimer()
		rep, err := w.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if n := rep.Written(); n < scored {
			b.Fatalf("%d records written, want at least the %d scored deals", n, scored)
		}
		written += rep.Written()
	}
	b.ReportMetric(float64(written)/b.Elapsed().Seconds(), "records/s")
}
