package html

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/reports/narrative"
)

// Report is everything the page shows, as plain data: Load fills it from the warehouse,
// Narrate adds the paragraphs, Render writes it. Tests build one by hand.
type Report struct {
	Title       string
	AsOf        time.Time   // the date the numbers are as of
	RunID       string      // the forecast run shown, or the report's own run id when there is none
	Currency    string      // ISO 4217 code of the base currency every amount is in
	GeneratedAt time.Time   // when the report was made
	Freshness   []Freshness // when each source was last loaded
	People      []string    // names that may appear in the facts (deal owners): masked before any LLM call
	Sections    []*Section
}

// Freshness is when one source's data last reached the warehouse.
type Freshness struct {
	Source   string    // the configured source name (meta.loaded_files.source)
	LoadedAt time.Time // max(loaded_at)
	Files    int       // lake files loaded from it
}

// Section is one part of the report.
type Section struct {
	Key       string               // narrative section key (narrative.Section*); also the HTML id
	Title     string               // heading
	Missing   string               // set when there is no data: "no data yet: <what produces it>"
	Content   Content              // the section's data; nil when Missing is set
	Narrative *narrative.Narrative // the paragraph; nil before Narrate
}

// Content is a section's plain data: it knows its figures and how to draw itself.
type Content interface {
	// Facts returns the figures the section shows, for its narrative, amounts in currency.
	Facts(currency string) []narrative.Fact
	// Body returns the section's charts and tables, amounts written in currency.
	Body(currency string) template.HTML
}

// Facts returns the section's facts for reports/narrative (none when data is missing).
func (s *Section) Facts(currency string) narrative.Facts {
	f := narrative.Facts{Section: s.Key}
	if s.Content != nil {
		f.Items = s.Content.Facts(currency)
	}
	return f
}

// Section returns the section with the given key, or nil.
func (r *Report) Section(key string) *Section {
	for _, s := range r.Sections {
		if s.Key == key {
			return s
		}
	}
	return nil
}

// Narrate writes each section's paragraph with w (LLM or template, see reports/narrative)
// and returns them in section order, for StoreNarratives. Sections without data get none.
func (r *Report) Narrate(ctx context.Context, w *narrative.Writer) []narrative.Narrative {
	var out []narrative.Narrative
	for _, s := range r.Sections {
		if s.Content == nil {
			s.Narrative = nil
			continue
		}
		n := w.Generate(ctx, s.Facts(r.Currency))
		s.Narrative = &n
		out = append(out, n)
	}
	return out
}

// NarrativeSummary says which narratives the report shows: "template", "written by
// <model>", or both with counts; "" when there are none.
func (r *Report) NarrativeSummary() string {
	llm, tmpl := map[string]int{}, 0
	var models []string
	for _, s := range r.Sections {
		if s.Narrative == nil {
			continue
		}
		if s.Narrative.Source == narrative.SourceLLM {
			if llm[s.Narrative.Model] == 0 {
				models = append(models, s.Narrative.Model)
			}
			llm[s.Narrative.Model]++
		} else {
			tmpl++
		}
	}
	var parts []string
	for _, m := range models {
		parts = append(parts, fmt.Sprintf("written by %s (%d sections)", m, llm[m]))
	}
	if tmpl > 0 {
		if len(parts) == 0 {
			parts = append(parts, "template (no LLM text used)")
		} else {
			parts = append(parts, fmt.Sprintf("template (%d sections)", tmpl))
		}
	}
	return strings.Join(parts, "; ")
}

// Render writes the report as one self-contained HTML page.
func (r *Report) Render(w io.Writer) error {
	page := pageData{
		Title:       r.Title,
		AsOf:        r.AsOf.Format(revcast.DateLayout),
		RunID:       r.RunID,
		Currency:    r.Currency,
		Generated:   r.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC"),
		Narratives:  r.NarrativeSummary(),
		ECharts:     template.JS(inlineScript(echartsJS)),
		MoneyPrefix: moneyPrefix(r.Currency),
	}
	if page.Title == "" {
		page.Title = "revcast report"
	}
	for _, f := range r.Freshness {
		page.Freshness = append(page.Freshness, fmt.Sprintf("%s %s", f.Source, f.LoadedAt.UTC().Format("2006-01-02 15:04 UTC")))
	}
	for _, s := range r.Sections {
		page.Nav = append(page.Nav, navItem{Key: s.Key, Title: s.Title, Missing: s.Missing != ""})
		page.Sections = append(page.Sections, RenderSection(s, r.Currency))
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, page); err != nil {
		return fmt.Errorf("report: render page: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// RenderSection returns one section's HTML: heading, narrative (or the missing-data
// line) and body. Amounts are written in currency.
func RenderSection(s *Section, currency string) template.HTML {
	var buf bytes.Buffer
	d := sectionData{Key: s.Key, Title: s.Title, Missing: s.Missing}
	if s.Content != nil {
		d.Body = s.Content.Body(currency)
	}
	if n := s.Narrative; n != nil {
		d.Text = n.Text
		if n.Source == narrative.SourceLLM {
			d.Source = "written by " + n.Model
		} else {
			d.Source = "template"
			d.Why = strings.Join(n.Rejected, "; ")
		}
	}
	if err := sectionTemplate.Execute(&buf, d); err != nil {
		// The template is fixed and its data plain strings: a failure is a bug.
		panic(fmt.Sprintf("report: render section %s: %v", s.Key, err))
	}
	return template.HTML(buf.String())
}

// moneyPrefix is the symbol narrative.FormatMoney writes before an amount in currency.
func moneyPrefix(currency string) string {
	s := narrative.FormatMoney(0, currency) // "$0", "CHF 0"
	return strings.TrimSuffix(s, "0")
}

type pageData struct {
	Title, AsOf, RunID, Currency, Generated, Narratives string
	Freshness                                           []string
	Nav                                                 []navItem
	Sections                                            []template.HTML
	ECharts                                             template.JS
	MoneyPrefix                                         string
}

type navItem struct {
	Key, Title string
	Missing    bool
}

type sectionData struct {
	Key, Title, Missing string
	Text, Source, Why   string
	Body                template.HTML
}
