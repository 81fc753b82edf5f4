package forecast_test

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/models/forecast"
)

// BenchmarkForecastLarge measures the model part of `revcast forecast` at the large scale
// (fixtures.ScaleLarge, about 1M opportunities): fit the win and close-by models on the
// training snapshots (sampled as the command samples them, at most 1.5M snapshot rows),
// score every open deal and simulate the bookings of 3 months + 2 quarters for the total
// and every owner, team, region and family. The plain data are built from fixtures.Generate
// outside the timer (plainData). Reported: ns/op (wall time), fit and score+distribute
// seconds, the peak RSS of the process (dominated by generating the company), the heap
// holding the input (the company is released first: the snapshots and outcomes), the
// model part's peak heap above it (sampled every 50 ms) and the heap allocated per op.
//
//	go test -run '^$' -bench ForecastLarge -benchtime 1x ./models/forecast/
func BenchmarkForecastLarge(b *testing.B) {
	benchForecast(b, fixtures.ScaleLarge)
}

// BenchmarkForecastMedium is the same at the medium scale (about 50k opportunities).
func BenchmarkForecastMedium(b *testing.B) {
	benchForecast(b, fixtures.ScaleMedium)
}

func benchForecast(b *testing.B, n int) {
	asOfT := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	c, err := fixtures.Generate(fixtures.Options{Seed: 1, Opportunities: n, AsOf: asOfT})
	if err != nil {
		b.Fatal(err)
	}
	asOf := forecast.DayOf(asOfT)
	days := forecast.TrainingDays(asOf, 730)
	open := 0
	for i := range c.Opportunities {
		if !c.Opportunities[i].IsClosed() {
			open++
		}
	}
	sampleMod := (open*len(days) + 1_500_000 - 1) / 1_500_000
	snaps, outcomes := plainData(c, append(days, asOf), sampleMod)
	c = nil
	runtime.GC()
	var openSnaps []forecast.Snapshot
	for _, s := range snaps {
		if s.Day == asOf {
			openSnaps = append(openSnaps, s)
		}
	}
	b.ReportMetric(float64(len(snaps)), "snapshots")
	b.ReportMetric(float64(len(openSnaps)), "open_deals")
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	// Sample the heap while the model runs: its peak above the input data is the model
	// part's own memory.
	peak := before.HeapInuse
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	}()
	b.ResetTimer()
	var res *forecast.Result
	var fitTime, fcTime time.Duration
	for i := 0; i < b.N; i++ {
		t := time.Now()
		m, err := forecast.Fit(snaps, outcomes, asOf, forecast.Options{Features: forecast.Full})
		if err != nil {
			b.Fatal(err)
		}
		fitTime = time.Since(t)
		t = time.Now()
		res, err = m.Forecast(asOf, openSnaps, outcomes, forecast.ForecastOptions{Calendar: forecast.Calendar{FiscalYearStartMonth: 1}, Quarters: 2, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		fcTime = time.Since(t)
	}
	b.StopTimer()
	close(stop)
	<-done
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(fitTime.Seconds(), "fit_s")
	b.ReportMetric(fcTime.Seconds(), "score+distribute_s")
	b.ReportMetric(float64(res.Sims), "sims")
	b.ReportMetric(float64(len(res.Periods)), "period_rows")
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak_rss_MiB")
	b.ReportMetric(float64(before.HeapInuse)/(1<<20), "input_heap_MiB")
	b.ReportMetric(float64(peak-before.HeapInuse)/(1<<20), "model_peak_heap_MiB")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "alloc_MiB/op")
	fmt.Printf("forecast bench n=%d: %d snapshots, %d open deals, fit %.1fs, score+distribute %.1fs (%d sims), peak RSS %d MiB (process), input heap %d MiB, model peak heap +%d MiB\n",
		n, len(snaps), len(openSnaps), fitTime.Seconds(), fcTime.Seconds(), res.Sims, ru.Maxrss/1024, before.HeapInuse>>20, (peak-before.HeapInuse)>>20)
}
