// Package narrative writes the short paragraph under each section of the report: by a
// local LLM through Ollama when it is enabled, reachable and faithful to the numbers, and
// by a deterministic template otherwise.
//
// For each section the caller builds Facts — the figures the section shows — and calls
// Writer.Generate. The prompt is rendered from a versioned template (PromptVersion,
// PromptSHA256) with people's names, e-mails and phone numbers replaced by placeholders
// (Masker), so no personal data leaves the process; the reply is streamed from Ollama's
// /api/chat, checked so that every number, percentage, amount and date in it is one of the
// facts or a rounding of one (Check), and only then has the placeholders restored. Any
// failure — Ollama down, model not pulled, timeout, an ungrounded figure — gives the
// template narrative (TemplateText) instead, and the Narrative says which one it is and why.
package narrative

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Narrative sources.
const (
	SourceLLM      = "llm"      // written by the model and checked
	SourceTemplate = "template" // TemplateText
)

// DefaultTimeout bounds one section's exchange with Ollama when Options.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// Options configure narrative generation; Enabled, Host, Model and Timeout are the
// config's narrative section.
type Options struct {
	Enabled    bool          // use the LLM at all; false gives template narratives without any request
	Host       string        // Ollama's base URL, e.g. http://127.0.0.1:11434 (no scheme: http; no port: 11434)
	Model      string        // the Ollama model, e.g. llama3.1:8b
	Timeout    time.Duration // for one section: listing models and the whole streamed reply; 0 means DefaultTimeout
	KnownNames []string      // people who may appear in the facts (owners, contacts): masked before sending
	RunID      string        // copied to Narrative.RunID
}

// Narrative is one section's paragraph and where it came from: one row of the
// `narratives` table (see Columns and TableDDL).
type Narrative struct {
	RunID         string    // the run the report belongs to
	Section       string    // the section key (Facts.Section)
	Source        string    // SourceLLM or SourceTemplate: which text the report shows
	Text          string    // the paragraph the report shows, with names restored
	Model         string    // the Ollama model asked, "" when none was (disabled, no facts)
	PromptVersion string    // PromptVersion
	PromptSHA256  string    // PromptSHA256(): the exact template text
	FactsSHA256   string    // Facts.SHA256(): the exact figures narrated
	Rejected      []string  // why the model's text is not shown; empty when Source is SourceLLM
	Draft         string    // the model's reply as received, placeholders not restored; "" when there was none
	CreatedAt     time.Time // when the narrative was generated
}

// Columns are the columns of the narratives table, in the order of Values.
var Columns = []string{
	"run_id", "section", "source", "text", "model", "prompt_version", "prompt_sha256",
	"facts_sha256", "rejected", "draft", "created_at",
}

// TableDDL creates the narratives table (DuckDB): one row per run and section.
const TableDDL = `create table if not exists narratives (
    run_id         varchar   not null, -- the run the report belongs to
    section        varchar   not null, -- section key: headline, collections, ...
    source         varchar   not null, -- llm or template: which text the report shows
    text           varchar   not null, -- the paragraph shown
    model          varchar   not null, -- Ollama model asked, '' when none was
    prompt_version varchar   not null, -- e.g. narrative/v1
    prompt_sha256  varchar   not null, -- hex SHA-256 of the prompt template
    facts_sha256   varchar   not null, -- hex SHA-256 of the canonical facts
    rejected       varchar   not null, -- JSON array of reasons the LLM text was not used
    draft          varchar   not null, -- the model's masked reply, '' when none
    created_at     timestamptz not null,
    primary key (run_id, section)
)`

// Values returns the row for the narratives table, in Columns order; Rejected is a JSON
// array ("[]" when empty).
func (n Narrative) Values() []any {
	rej := n.Rejected
	if rej == nil {
		rej = []string{}
	}
	b, _ := json.Marshal(rej) // a []string always marshals
	return []any{n.RunID, n.Section, n.Source, n.Text, n.Model, n.PromptVersion, n.PromptSHA256,
		n.FactsSHA256, string(b), n.Draft, n.CreatedAt}
}

// Writer generates the narratives of one report. Once Ollama proves unusable — not
// reachable, the model not pulled, a timeout, a server error — the Writer stops asking it
// and the remaining sections get the template at once with the same reason, so a report
// of a dozen sections never waits a dozen timeouts. A rejected reply does not stop it.
// A Writer is safe for concurrent use.
type Writer struct {
	Options
	HTTPClient *http.Client     // nil: a plain client; Options.Timeout bounds every exchange
	Now        func() time.Time // nil: time.Now

	mu   sync.Mutex
	down string // why the LLM is not asked any more; "" while it is
}

// NewWriter returns a Writer with the given options.
func NewWriter(opts Options) *Writer { return &Writer{Options: opts} }

// Generate returns the narrative of facts with a one-off Writer.
func Generate(ctx context.Context, facts Facts, opts Options) Narrative {
	return NewWriter(opts).Generate(ctx, facts)
}

// Generate returns the narrative of one section. It never fails: whatever goes wrong with
// the LLM, the result is the template narrative with the reasons in Rejected.
func (w *Writer) Generate(ctx context.Context, facts Facts) Narrative {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	n := Narrative{
		RunID:         w.RunID,
		Section:       facts.Section,
		Source:        SourceTemplate,
		Text:          TemplateText(facts),
		PromptVersion: PromptVersion,
		PromptSHA256:  PromptSHA256(),
		FactsSHA256:   facts.SHA256(),
		CreatedAt:     now().UTC(),
	}
	reject := func(reasons ...string) Narrative {
		n.Rejected = append(n.Rejected, reasons...)
		return n
	}
	switch {
	case len(facts.Items) == 0:
		return reject("no facts for this section")
	case !w.Enabled:
		return reject("LLM narrative is off (narrative.enabled: false)")
	case strings.TrimSpace(w.Model) == "":
		return reject("no model configured: set narrative.model, e.g. llama3.1:8b")
	}
	n.Model = w.Model
	if why := w.unavailable(); why != "" {
		return reject(why + " (earlier in this run; not asked again)")
	}

	m := NewMasker(w.KnownNames)
	p, err := BuildPrompt(facts, m)
	if err != nil {
		return reject(fmt.Sprintf("prompt: %v", err))
	}
	reply, err := w.chat(ctx, p)
	if err != nil {
		var ce *callError
		if errors.As(err, &ce) && ce.sticky {
			w.markDown(ce.msg)
		}
		return reject(err.Error())
	}
	n.Draft = reply
	if strings.TrimSpace(reply) == "" {
		return reject("the model returned an empty reply")
	}
	var reasons []string
	for _, f := range Check(reply, facts) {
		reasons = append(reasons, f.String())
	}
	text, unknown := m.Restore(reply)
	for _, u := range unknown {
		reasons = append(reasons, fmt.Sprintf("unknown placeholder %q: the model made up a person or contact", u))
	}
	if len(reasons) > 0 {
		return reject(reasons...)
	}
	n.Source, n.Text = SourceLLM, text
	return n
}

func (w *Writer) unavailable() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.down
}

func (w *Writer) markDown(why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down == "" {
		w.down = why
	}
}
