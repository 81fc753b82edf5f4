package html_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rh "github.com/revcast/revcast/reports/html"
	"github.com/revcast/revcast/reports/html/browsertest"
)

// TestReport_Browser opens the sample report (every chart kind) from a file:// URL in
// headless Chromium with the network off: ECharts loads from the page itself, every
// chart draws, nothing is requested, the console stays clean and tables sort. The
// screenshot goes to the test's temp dir and, with REVCAST_SCREENSHOT_SAMPLE=path, there.
func TestReport_Browser(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sample-report.html")
	r := sampleReport()
	r.Narrate(context.Background(), templateWriter())
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Render(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	res := browsertest.Open(t, path)
	res.Check(t, rh.EChartsVersion, 7)
	shot := res.SaveScreenshot(t, dir, "sample-report.png", "REVCAST_SCREENSHOT_SAMPLE")
	t.Logf("%d charts rendered in %s; screenshot %s (%d bytes)", len(res.Charts), res.Took.Round(1e6), shot, len(res.Screenshot))
}

// TestBrowserTest_SeesFailures proves the harness would catch a broken report: a console
// error, an uncaught exception and a script from the network all show up.
func TestBrowserTest_SeesFailures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.html")
	page := `<!DOCTYPE html><html><head><meta charset="utf-8"><title>broken</title>
<script src="https://cdn.example.invalid/echarts.min.js"></script></head>
<body><script>console.error("boom"); undefinedFunction();</script></body></html>`
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	res := browsertest.Open(t, path)
	t.Logf("errors: %q\nrequests: %q\nconsole: %q", res.Errors, res.Requests, res.Console)
	var sawError, sawException bool
	for _, e := range res.Errors {
		sawError = sawError || (len(e) > 0 && containsAll(e, "error", "boom"))
		sawException = sawException || containsAll(e, "undefinedFunction")
	}
	if !sawError || !sawException {
		t.Errorf("console error seen %v, exception seen %v; want both", sawError, sawException)
	}
	if len(res.Requests) == 0 {
		t.Errorf("the request for the network script was not seen")
	}
	if res.EChartsVersion != "" {
		t.Errorf("echarts loaded from the network: %q", res.EChartsVersion)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
