package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/revcast/revcast/extract"
)

// newProgress returns the extraction progress display: a live bar per stream (rows and
// rows/s) when stderr is a terminal, and plain log lines otherwise (or with --log-format
// json), so logs from cron and CI stay readable.
//
// Bars are drawn only when one source is extracted: each bar redraws its terminal line on
// its own timer, and the bars of sources extracted at the same time would draw over each
// other, so concurrent sources report in log lines.
func (m *Main) newProgress(sources int) extract.Progress {
	if f, ok := m.Stderr.(*os.File); ok && sources <= 1 && isatty.IsTerminal(f.Fd()) && m.logFormat == "text" {
		return &barProgress{out: f, bars: map[string]*progressbar.ProgressBar{}}
	}
	return &logProgress{log: m.Logger, every: 10 * time.Second, last: map[string]time.Time{}, rows: map[string]int64{}}
}

type barProgress struct {
	out  io.Writer
	mu   sync.Mutex
	bars map[string]*progressbar.ProgressBar
}

func (p *barProgress) Add(source, stream string, rows int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := source + "/" + stream
	b, ok := p.bars[key]
	if !ok {
		b = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(p.out),
			progressbar.OptionSetDescription(key),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		p.bars[key] = b
	}
	b.Add64(rows)
}

func (p *barProgress) Done(source, stream string, res extract.StreamResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b, ok := p.bars[source+"/"+stream]; ok {
		b.Finish()
	}
	fmt.Fprintln(p.out, streamLine(source, res))
}

type logProgress struct {
	log   *slog.Logger
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
	rows  map[string]int64
}

func (p *logProgress) Add(source, stream string, rows int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := source + "/" + stream
	p.rows[key] += rows
	if _, seen := p.last[key]; !seen {
		p.last[key] = time.Now() // the first line comes after `every`, so short streams stay quiet
	}
	if time.Since(p.last[key]) >= p.every {
		p.last[key] = time.Now()
		p.log.Info("extracting", "source", source, "stream", stream, "rows", p.rows[key])
	}
}

// Done logs failures only: the runner already logs every landed stream.
func (p *logProgress) Done(source, stream string, res extract.StreamResult) {
	if res.Err == nil {
		return
	}
	attrs := []any{"source", source, "stream", stream, "rows", res.Rows, "rejected", res.Rejected,
		"deleted", res.Deleted, "files", res.Files, "seconds", fmt.Sprintf("%.2f", res.Duration.Seconds()),
		"rows_per_s", rate(res.Rows, res.Duration), "incremental", res.Incremental}
	p.log.Error("stream failed", append(attrs, "err", res.Err)...)
}

func streamLine(source string, res extract.StreamResult) string {
	s := fmt.Sprintf("%s/%s: %d rows in %.1fs (%d rows/s)", source, res.Stream, res.Rows, res.Duration.Seconds(), rate(res.Rows, res.Duration))
	if res.Rejected > 0 {
		s += fmt.Sprintf(", %d rejected (see %s)", res.Rejected, res.RejectsFile)
	}
	if res.Err != nil {
		s += ": FAILED: " + res.Err.Error()
	}
	return s
}

func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}
