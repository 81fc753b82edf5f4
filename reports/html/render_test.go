package html_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"

	rh "github.com/revcast/revcast/reports/html"
	"github.com/revcast/revcast/reports/narrative"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// templateWriter gives deterministic template narratives (no LLM, fixed clock).
func templateWriter() *narrative.Writer {
	w := narrative.NewWriter(narrative.Options{RunID: "20260630T060000Z-abc123"})
	w.Now = func() time.Time { return time.Date(2026, 6, 30, 7, 0, 0, 0, time.UTC) }
	return w
}

// TestRenderSection_Golden renders each section of the sample report from plain data and
// compares it with testdata/sections/<key>.html (refresh with -update).
func TestRenderSection_Golden(t *testing.T) {
	r := sampleReport()
	r.Narrate(context.Background(), templateWriter())
	for _, s := range r.Sections {
		t.Run(s.Key, func(t *testing.T) {
			got := string(rh.RenderSection(s, r.Currency))
			path := filepath.Join("testdata", "sections", s.Key+".html")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestRenderSection_Golden -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the golden file; diff it, and run with -update if the change is intended\n--- got ---\n%s", path, got)
			}
			checkWellFormed(t, got, false)
		})
	}
}

// TestRender_SelfContained checks the whole page: well-formed, ECharts inlined, every
// chart initialised by a script, and not one reference to anything outside the file.
func TestRender_SelfContained(t *testing.T) {
	r := sampleReport()
	ns := r.Narrate(context.Background(), templateWriter())
	if len(ns) != len(r.Sections)-1 {
		t.Fatalf("%d narratives for %d sections with data", len(ns), len(r.Sections)-1)
	}
	var buf bytes.Buffer
	if err := r.Render(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	checkWellFormed(t, page, true)
	checkNoNetwork(t, page)
	if !strings.Contains(page, `version="`+rh.EChartsVersion+`"`) {
		t.Errorf("the page does not carry ECharts %s", rh.EChartsVersion)
	}
	if n := len(page); n < 1_000_000 {
		t.Errorf("page is %d bytes: ECharts (about 1 MB) cannot be inlined", n)
	}
	for _, id := range []string{"chart_forecast", "chart_pipeline_changes", "chart_ar_aging", "chart_collections", "chart_reconciliation", "chart_accuracy_by_week", "chart_calibration"} {
		if !strings.Contains(page, `id="`+id+`"`) || !strings.Contains(page, "echarts.init(document.getElementById('"+id+"')") {
			t.Errorf("chart %s is missing or never initialised", id)
		}
	}
	for _, want := range []string{
		"As of <b>2026-06-30</b>", "run <b>20260630T060000Z-abc123</b>", "amounts in <b>USD</b>",
		"crm 2026-06-30 05:00 UTC", "erp 2026-06-30 05:10 UTC", // freshness
		"narrative: template (no LLM text used)", "Narrative: template",
		"no data yet: renewal_forecast, written by revcast forecast (renewal model)",
		"$4M", "$3.2M – $5.1M", // headline P50 and range
		`<table class="sortable">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestRender_NarrativeSource: the page says "written by <model>" for LLM narratives.
func TestRender_NarrativeSource(t *testing.T) {
	r := sampleReport()
	r.Narrate(context.Background(), templateWriter())
	r.Sections[0].Narrative.Source = narrative.SourceLLM
	r.Sections[0].Narrative.Model = "llama3.1:8b"
	if got, want := r.NarrativeSummary(), "written by llama3.1:8b (1 sections); template (9 sections)"; got != want {
		t.Errorf("NarrativeSummary = %q, want %q", got, want)
	}
	if html := string(rh.RenderSection(r.Sections[0], "USD")); !strings.Contains(html, "Narrative: written by llama3.1:8b") {
		t.Errorf("section does not say which model wrote it:\n%s", html)
	}
}

// TestRender_HostileStrings: text from the warehouse cannot close a script or inject markup.
func TestRender_HostileStrings(t *testing.T) {
	evil := `</script><script>alert(1)</script><img src=x onerror=alert(2)>`
	r := &rh.Report{AsOf: date("2026-06-30"), RunID: "r", Currency: "EUR", Sections: []*rh.Section{
		{Key: "reconciliation", Title: evil, Content: &rh.Reconciliation{
			ByKind: []rh.VarianceKind{{Kind: evil, Count: 1, Amount: 5}},
			Top:    &rh.Table{Total: 1, Columns: []rh.Column{{Label: evil}}, Rows: [][]rh.Cell{{rh.TextCell(evil)}}},
		}},
	}}
	r.Narrate(context.Background(), templateWriter())
	var buf bytes.Buffer
	if err := r.Render(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	checkWellFormed(t, page, true)
	if countElements(page, "img") > 0 || strings.Contains(page, "<script>alert(1)") {
		t.Errorf("warehouse text was written unescaped: the parser sees its markup")
	}
	// The parser must see exactly the page's own scripts: ECharts, the helpers, one chart.
	if n := countElements(page, "script"); n != 3 {
		t.Errorf("the parser sees %d script elements, want 3", n)
	}
	if !strings.Contains(page, "€5") {
		t.Errorf("amounts not written in the report currency (EUR)")
	}
}

// countElements counts the start tags of an element as an HTML parser tokenises them.
func countElements(s, name string) int {
	z := xhtml.NewTokenizer(strings.NewReader(s))
	n := 0
	for tt := z.Next(); tt != xhtml.ErrorToken; tt = z.Next() {
		if tt == xhtml.StartTagToken {
			if tn, _ := z.TagName(); string(tn) == name {
				n++
			}
		}
	}
	return n
}

var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// checkWellFormed tokenises s and checks that every element is closed in order and, for
// a page, that it starts with a doctype and every id is unique.
func checkWellFormed(t *testing.T, s string, page bool) {
	t.Helper()
	z := xhtml.NewTokenizer(strings.NewReader(s))
	var stack []string
	ids := map[string]bool{}
	sawDoctype := false
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatalf("tokenise: %v", z.Err())
			}
			if len(stack) > 0 {
				t.Errorf("elements left open at the end: %v", stack)
			}
			if page && !sawDoctype {
				t.Errorf("no <!DOCTYPE html>")
			}
			return
		case xhtml.DoctypeToken:
			sawDoctype = true
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			tok := z.Token()
			for _, a := range tok.Attr {
				if a.Key == "id" {
					if ids[a.Val] {
						t.Errorf("duplicate id %q", a.Val)
					}
					ids[a.Val] = true
				}
			}
			if tt == xhtml.StartTagToken && !voidElements[tok.Data] {
				stack = append(stack, tok.Data)
			}
		case xhtml.EndTagToken:
			tok := z.Token()
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				t.Errorf("</%s> does not close the open element (open: %v)", tok.Data, stack)
				return
			}
			stack = stack[:len(stack)-1]
		}
	}
}

var externalRef = regexp.MustCompile(`(?i)<(script|link|img|iframe|source|video|audio|embed|object|frame)\b[^>]*\b(src|href|data|srcset)\s*=\s*["']?\s*(https?:)?//`)

// checkNoNetwork fails on any script or link source, or any other element or CSS rule
// that would fetch something: the page must open with the network off.
func checkNoNetwork(t *testing.T, page string) {
	t.Helper()
	if m := externalRef.FindString(page); m != "" {
		t.Errorf("the page refers to the network: %s", m)
	}
	if m := regexp.MustCompile(`(?i)<script\b[^>]*\bsrc\s*=`).FindString(page); m != "" {
		t.Errorf("a script is loaded from a file instead of inlined: %s", m)
	}
	if m := regexp.MustCompile(`(?i)<link\b[^>]*\bhref\s*=`).FindString(page); m != "" {
		t.Errorf("a stylesheet or other resource is linked: %s", m)
	}
	if m := regexp.MustCompile(`(?i)(@import|url\(\s*["']?(https?:)?//)`).FindString(page); m != "" {
		t.Errorf("CSS fetches from the network: %s", m)
	}
	if strings.Contains(page, "go-echarts.github.io") || strings.Contains(page, "cdn.jsdelivr") {
		t.Errorf("the page still names go-echarts' CDN")
	}
}
