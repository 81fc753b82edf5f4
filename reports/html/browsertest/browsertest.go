// Package browsertest opens a report file in a real headless Chromium with the network
// off, for tests: it waits for every chart to draw, and returns the charts' state, the
// console messages, any network request the page tried, and a screenshot.
//
// Chromium is the Debian package (/usr/bin/chromium). Without it, Open skips the test —
// except under CI=true, where it fails, so that CI never passes without the browser test.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// Chart is one chart container of the page after rendering.
type Chart struct {
	ID       string `json:"id"`
	Instance bool   `json:"instance"` // echarts.getInstanceByDom returns an instance
	Drawn    bool   `json:"drawn"`    // the container holds a <canvas> or an <svg>
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

// Result is what the page did.
type Result struct {
	EChartsVersion string   // echarts.version, "" when ECharts did not load
	Charts         []Chart  // every .chart .item container
	Console        []string // every console message, as "type: text"
	Errors         []string // console errors, uncaught exceptions, failed loads
	Requests       []string // URLs the page requested other than file:, data: and about:
	Sorted         bool     // clicking a numeric table header sorted its column (true when the page has no such table)
	Screenshot     []byte   // PNG of the whole page
	Took           time.Duration
}

// Open loads the HTML file at path in headless Chromium with the network emulated
// offline and every URL blocked, waits up to 30 s for all charts to draw, and returns
// what happened. It skips t when Chromium is absent (fails under CI=true) and fails t
// when the browser cannot be driven.
func Open(t testing.TB, path string) Result {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: the browser test needs Chromium at %s (Debian: apt-get install -y chromium; .ci/run installs it)", ChromiumPath)
		}
		t.Skipf("headless-browser test skipped: %s not found — install Debian's chromium (apt-get install -y chromium) to run it; under CI=true it fails instead", ChromiumPath)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	var mu sync.Mutex
	var res Result
	// Network requests: anything but the file itself and inline data is a failure.
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			u := e.Request.URL
			if !strings.HasPrefix(u, "file:") && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "about:") {
				res.Requests = append(res.Requests, u)
			}
		case *network.EventLoadingFailed:
			res.Errors = append(res.Errors, fmt.Sprintf("loading failed: request %s %s (blocked: %s)", e.RequestID, e.ErrorText, e.BlockedReason))
		}
	}); err != nil {
		t.Fatalf("browsertest: start Chromium: %v", err)
	}
	messages := chromedp.Console(bctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			res.Console = append(res.Console, m.String())
			if m.Type == chromedp.ConsoleError || m.IsException() {
				s := m.String()
				if m.Exception != nil && m.Exception.Exception != nil {
					s += " " + m.Exception.Exception.Description
				}
				res.Errors = append(res.Errors, s)
			}
			mu.Unlock()
		}
	}()

	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("browsertest: Network.enable: %v", err)
	}
	if _, err := chromedp.Call(bctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Offline: true}},
	}); err != nil {
		t.Fatalf("browsertest: Network.emulateNetworkConditionsByRule offline: %v", err)
	}
	if _, err := chromedp.Call(bctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: true}); err != nil {
		t.Fatalf("browsertest: Network.overrideNetworkState offline: %v", err)
	}
	if _, err := chromedp.Call(bctx, network.SetBlockedURLs, network.SetBlockedURLsParams{
		URLPatterns: []*network.BlockPattern{{URLPattern: "http://*:*/*", Block: true}, {URLPattern: "https://*:*/*", Block: true}},
	}); err != nil {
		t.Logf("browsertest: Network.setBlockedURLs: %v (offline emulation still applies)", err)
	}

	if err := chromedp.Do(bctx, chromedp.Navigate("file://"+abs)); err != nil {
		t.Fatalf("browsertest: open file://%s: %v", abs, err)
	}
	// Every chart container has an ECharts instance and something drawn in it.
	// (Without ECharts there is nothing to wait for: Check reports the missing version.)
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`typeof echarts === "undefined" ||
		Array.from(document.querySelectorAll(".chart .item")).every(function (el) {
			return echarts.getInstanceByDom(el) && el.querySelector("canvas, svg");
		})`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Errorf("browsertest: charts did not all render within 30s: %v", err)
	}
	charts, err := chromedp.Run(bctx, chromedp.Evaluate[[]Chart](`Array.from(document.querySelectorAll(".chart .item")).map(function (el) {
		return {id: el.id, instance: typeof echarts !== "undefined" && !!echarts.getInstanceByDom(el),
			drawn: !!el.querySelector("canvas, svg"), width: el.clientWidth, height: el.clientHeight};
	})`))
	if err != nil {
		t.Fatalf("browsertest: read charts: %v", err)
	}
	version, err := chromedp.Run(bctx, chromedp.Evaluate[string](`typeof echarts === "undefined" ? "" : echarts.version`))
	if err != nil {
		t.Fatalf("browsertest: read echarts.version: %v", err)
	}
	// Click the first numeric header of the first table with at least three rows, twice
	// (descending then ascending is what the second click gives after the first
	// ascending), and check its column is ordered.
	sorted, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(function () {
		var tables = Array.from(document.querySelectorAll("table.sortable")).filter(function (t) { return t.tBodies[0].rows.length >= 3; });
		for (var i = 0; i < tables.length; i++) {
			var ths = Array.from(tables[i].querySelectorAll("th"));
			var col = ths.findIndex(function (th) { return th.getAttribute("data-type") === "num"; });
			if (col < 0) { continue; }
			ths[col].click();
			var vals = Array.from(tables[i].tBodies[0].rows).map(function (r) { return r.cells[col].getAttribute("data-v"); })
				.filter(function (v) { return v !== ""; }).map(parseFloat);
			for (var j = 1; j < vals.length; j++) { if (vals[j - 1] > vals[j]) { return false; } }
			ths[col].click();
			vals = Array.from(tables[i].tBodies[0].rows).map(function (r) { return r.cells[col].getAttribute("data-v"); })
				.filter(function (v) { return v !== ""; }).map(parseFloat);
			for (var k = 1; k < vals.length; k++) { if (vals[k - 1] < vals[k]) { return false; } }
			return true;
		}
		return true;
	})()`))
	if err != nil {
		t.Fatalf("browsertest: sort a table: %v", err)
	}
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browsertest: screenshot: %v", err)
	}
	bcancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	res.Charts, res.EChartsVersion, res.Sorted, res.Screenshot = charts, version, sorted, png
	res.Took = time.Since(start)
	return res
}

// Check reports the failures of r through t: ECharts missing or not the wanted version,
// no chart, a chart not drawn, any console error or exception, any network request,
// tables not sorting.
func (r Result) Check(t testing.TB, wantVersion string, minCharts int) {
	t.Helper()
	if r.EChartsVersion != wantVersion {
		t.Errorf("echarts.version = %q, want %q (the inlined script did not load?)", r.EChartsVersion, wantVersion)
	}
	if len(r.Charts) < minCharts {
		t.Errorf("%d charts on the page, want at least %d", len(r.Charts), minCharts)
	}
	for _, c := range r.Charts {
		if !c.Instance || !c.Drawn || c.Width == 0 || c.Height == 0 {
			t.Errorf("chart %s not rendered: instance=%v drawn=%v size=%dx%d", c.ID, c.Instance, c.Drawn, c.Width, c.Height)
		}
	}
	for _, e := range r.Errors {
		t.Errorf("browser error: %s", e)
	}
	for _, u := range r.Requests {
		t.Errorf("the page requested %s: it must need no network", u)
	}
	if !r.Sorted {
		t.Errorf("clicking a numeric column header did not sort the table")
	}
}

// SaveScreenshot writes the screenshot into dir as name, and also to the path in the
// environment variable env when it is set, and returns the path in dir.
func (r Result) SaveScreenshot(t testing.TB, dir, name, env string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, r.Screenshot, 0o644); err != nil {
		t.Fatal(err)
	}
	if extra := os.Getenv(env); extra != "" {
		if err := os.MkdirAll(filepath.Dir(extra), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(extra, r.Screenshot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot also written to %s (%s)", extra, env)
	}
	return p
}
