package narrative_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/revcast/revcast/reports/narrative"
)

const model = "llama3.1:8b"

// The people in headlineFacts; none of these strings may reach the LLM server.
var (
	knownNames = []string{"Jane Doe", "Raj Patel"}
	piiStrings = []string{"Jane", "Doe", "jane.doe", "acme-corp.com", "415 555 0100", "555 0100", "Raj", "Patel"}
)

func headlineFacts() narrative.Facts {
	return narrative.Facts{Section: narrative.SectionHeadline, Items: []narrative.Fact{
		narrative.Money("p50", "P50 bookings forecast", 12_345_678, "USD"),
		narrative.Money("target", "Bookings target", 15_000_000, "USD"),
		narrative.Ratio("attainment", "P50 as share of target", 0.823),
		narrative.Money("p10", "P10 bookings", 10_100_000, "USD"),
		narrative.Money("p90", "P90 bookings", 14_420_000, "USD"),
		narrative.Money("change", "Change in P50 since the last run", -412_000, "USD"),
		narrative.Date("period_end", "Quarter end", time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)),
		narrative.Count("open_deals", "Open deals", 148),
		narrative.Text("top_owner", "Owner of the largest open deal", "Jane Doe"),
		narrative.Text("top_contact", "Customer contact", "jane.doe@acme-corp.com, +1 415 555 0100"),
		narrative.Text("second_owner", "Owner of the second largest deal", "Raj Patel"),
	}}
}

// goodReply uses only the facts, in the forms the prompt shows, and the placeholders the
// masker issues for headlineFacts (PERSON_1 Jane Doe, EMAIL_1, PHONE_1, PERSON_2 Raj Patel).
const goodReply = "The P50 bookings forecast stands at $12.3M against a $15M target, or 82.3% of target, " +
	"within a range of $10.1M (P10) to $14.4M (P90). It is down $412K since the last run, with 148 open deals " +
	"to close by June 30, 2026. PERSON_1 owns the largest open deal (EMAIL_1, PHONE_1), ahead of PERSON_2."

// inventedReply states $4.5M, which is in no fact.
const inventedReply = "The P50 bookings forecast is $12.3M against a $15M target; Q3 new-logo bookings add $4.5M."

func opts(host string) narrative.Options {
	return narrative.Options{Enabled: true, Host: host, Model: model, Timeout: 5 * time.Second, KnownNames: knownNames, RunID: "20260527T141503Z-3f9a1c"}
}

func fixedNow() time.Time { return time.Date(2026, 5, 27, 14, 15, 3, 0, time.UTC) }

func newWriter(o narrative.Options) *narrative.Writer {
	w := narrative.NewWriter(o)
	w.Now = fixedNow
	return w
}

func wantTemplate(t *testing.T, n narrative.Narrative, facts narrative.Facts, reasonPart string) {
	t.Helper()
	t.Logf("rejected: %q", n.Rejected)
	if n.Source != narrative.SourceTemplate {
		t.Fatalf("Source = %q, want template; text %q", n.Source, n.Text)
	}
	if n.Text != narrative.TemplateText(facts) {
		t.Errorf("Text = %q, want the template narrative", n.Text)
	}
	if !strings.Contains(strings.Join(n.Rejected, "\n"), reasonPart) {
		t.Errorf("Rejected = %q, want a reason containing %q", n.Rejected, reasonPart)
	}
}

func TestGenerate(t *testing.T) {
	facts := headlineFacts()

	t.Run("good reply is used", func(t *testing.T) {
		f := newFakeOllama(t, []string{"qwen2.5:7b", model}, goodReply)
		n := newWriter(opts(f.URL())).Generate(context.Background(), facts)
		if n.Source != narrative.SourceLLM || len(n.Rejected) != 0 {
			t.Fatalf("Source = %q, Rejected = %q, want llm and none", n.Source, n.Rejected)
		}
		want := strings.NewReplacer("PERSON_1", "Jane Doe", "EMAIL_1", "jane.doe@acme-corp.com",
			"PHONE_1", "+1 415 555 0100", "PERSON_2", "Raj Patel").Replace(goodReply)
		if n.Text != want {
			t.Errorf("Text =\n%s\nwant\n%s", n.Text, want)
		}
		if n.Draft != goodReply {
			t.Errorf("Draft = %q, want the masked reply", n.Draft)
		}
		if n.Model != model || n.Section != narrative.SectionHeadline || n.RunID != "20260527T141503Z-3f9a1c" || !n.CreatedAt.Equal(fixedNow()) {
			t.Errorf("got %+v", n)
		}
	})

	t.Run("invented number is rejected", func(t *testing.T) {
		f := newFakeOllama(t, []string{model}, inventedReply)
		w := newWriter(opts(f.URL()))
		n := w.Generate(context.Background(), facts)
		wantTemplate(t, n, facts, `"$4.5M"`)
		if len(n.Rejected) != 1 {
			t.Errorf("Rejected = %q, want only $4.5M (Q3 is a quarter name)", n.Rejected)
		}
		if n.Draft != inventedReply || n.Model != model {
			t.Errorf("Draft = %q, Model = %q", n.Draft, n.Model)
		}
		// A rejection does not stop the writer from asking for the next section.
		w.Generate(context.Background(), facts)
		if got := len(f.chatBodies()); got != 2 {
			t.Errorf("%d chat requests after a rejection, want 2", got)
		}
	})

	t.Run("server down", func(t *testing.T) {
		srv := httptest.NewServer(nil)
		url := srv.URL
		srv.Close()
		w := newWriter(opts(url))
		n := w.Generate(context.Background(), facts)
		wantTemplate(t, n, facts, "ollama unreachable at "+url)
		wantTemplate(t, n, facts, "ollama serve")
		// The next section does not try again.
		n2 := w.Generate(context.Background(), facts)
		wantTemplate(t, n2, facts, "not asked again")
	})

	t.Run("model missing", func(t *testing.T) {
		f := newFakeOllama(t, []string{"qwen2.5:7b"}, goodReply)
		n := newWriter(opts(f.URL())).Generate(context.Background(), facts)
		wantTemplate(t, n, facts, "model llama3.1:8b not installed; run `ollama pull llama3.1:8b`")
		if got := len(f.chatBodies()); got != 0 {
			t.Errorf("%d chat requests, want none once the tags lack the model", got)
		}
	})

	t.Run("untagged model name matches :latest", func(t *testing.T) {
		f := newFakeOllama(t, []string{"llama3.1:latest"}, goodReply)
		o := opts(f.URL())
		o.Model = "llama3.1"
		n := newWriter(o).Generate(context.Background(), facts)
		if n.Source != narrative.SourceLLM {
			t.Fatalf("Source = %q, Rejected %q", n.Source, n.Rejected)
		}
	})

	t.Run("slow before headers", func(t *testing.T) {
		f := newFakeOllama(t, []string{model}, goodReply)
		f.stallFirst = 10 * time.Second
		o := opts(f.URL())
		o.Timeout = 200 * time.Millisecond
		w := newWriter(o)
		start := time.Now()
		n := w.Generate(context.Background(), facts)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v with a 200ms timeout", d)
		}
		wantTemplate(t, n, facts, "timed out after 200ms")
		n2 := w.Generate(context.Background(), facts)
		wantTemplate(t, n2, facts, "not asked again")
		if got := len(f.chatBodies()); got != 1 {
			t.Errorf("%d chat requests, want 1: a timeout stops the writer asking", got)
		}
	})

	t.Run("slow mid-stream", func(t *testing.T) {
		// The first chunk arrives, then the stream stalls: the client library stops
		// reading without an error when the context ends, so the partial text must not
		// be taken for a reply.
		f := newFakeOllama(t, []string{model}, goodReply)
		f.delay = 10 * time.Second
		o := opts(f.URL())
		o.Timeout = 300 * time.Millisecond
		n := newWriter(o).Generate(context.Background(), facts)
		wantTemplate(t, n, facts, "timed out")
	})

	t.Run("stream without done", func(t *testing.T) {
		f := newFakeOllama(t, []string{model}, goodReply)
		f.noDone = true
		n := newWriter(opts(f.URL())).Generate(context.Background(), facts)
		wantTemplate(t, n, facts, "ended before the final message")
	})

	t.Run("cut off at token limit", func(t *testing.T) {
		f := newFakeOllama(t, []string{model}, goodReply)
		f.doneReason = "length"
		n := newWriter(opts(f.URL())).Generate(context.Background(), facts)
		wantTemplate(t, n, facts, "done_reason: length")
	})

	t.Run("made-up placeholder", func(t *testing.T) {
		f := newFakeOllama(t, []string{model}, "PERSON_3 expects $12.3M against a $15M target.")
		n := newWriter(opts(f.URL())).Generate(context.Background(), facts)
		wantTemplate(t, n, facts, `unknown placeholder "PERSON_3"`)
	})

	t.Run("disabled sends nothing", func(t *testing.T) {
		f := newFakeOllama(t, []string{model}, goodReply)
		o := opts(f.URL())
		o.Enabled = false
		n := newWriter(o).Generate(context.Background(), facts)
		wantTemplate(t, n, facts, "narrative.enabled: false")
		if f.tags() != 0 || len(f.chatBodies()) != 0 || n.Model != "" {
			t.Errorf("requests made while disabled (tags %d, chat %d), Model %q", f.tags(), len(f.chatBodies()), n.Model)
		}
	})

	t.Run("no facts", func(t *testing.T) {
		f := newFakeOllama(t, []string{model}, goodReply)
		empty := narrative.Facts{Section: narrative.SectionRenewals}
		n := newWriter(opts(f.URL())).Generate(context.Background(), empty)
		wantTemplate(t, n, empty, "no facts")
		if len(f.chatBodies()) != 0 {
			t.Error("asked the model about no facts")
		}
	})
}

func TestGenerate_PIINeverSent(t *testing.T) {
	f := newFakeOllama(t, []string{model}, goodReply)
	n := newWriter(opts(f.URL())).Generate(context.Background(), headlineFacts())
	bodies := f.chatBodies()
	if len(bodies) != 1 {
		t.Fatalf("%d chat requests, want 1", len(bodies))
	}
	body := bodies[0]
	var req struct {
		Model    string `json:"model"`
		Stream   *bool  `json:"stream"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("request body: %v\n%s", err, body)
	}
	var decoded strings.Builder
	for _, m := range req.Messages {
		decoded.WriteString(m.Content)
	}
	for _, s := range piiStrings {
		for _, hay := range []string{string(body), decoded.String()} {
			if strings.Contains(strings.ToLower(hay), strings.ToLower(s)) {
				t.Errorf("request to the LLM contains %q:\n%s", s, hay)
			}
		}
	}
	if req.Model != model || req.Stream == nil || !*req.Stream || len(req.Messages) != 2 ||
		req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
		t.Errorf("request = %s", body)
	}
	for _, tok := range []string{"PERSON_1", "EMAIL_1", "PHONE_1", "PERSON_2", "$12,345,678 (short form: $12.3M)", "82.3%", "2026-06-30"} {
		if !strings.Contains(req.Messages[1].Content, tok) {
			t.Errorf("user message lacks %q:\n%s", tok, req.Messages[1].Content)
		}
	}
	// And the names are back in what the report shows.
	for _, s := range []string{"Jane Doe", "jane.doe@acme-corp.com", "+1 415 555 0100", "Raj Patel"} {
		if !strings.Contains(n.Text, s) {
			t.Errorf("final text lacks %q: %s", s, n.Text)
		}
	}
	if regexp.MustCompile(`(PERSON|EMAIL|PHONE)_\d`).MatchString(n.Text) {
		t.Errorf("placeholder left in final text: %s", n.Text)
	}
}

func TestGenerate_PromptAndFactsHashes(t *testing.T) {
	f := newFakeOllama(t, []string{model}, goodReply)
	facts := headlineFacts()
	sum := sha256.Sum256([]byte(narrative.PromptTemplate))
	wantPrompt := hex.EncodeToString(sum[:])
	llm := newWriter(opts(f.URL())).Generate(context.Background(), facts)
	tmpl := newWriter(narrative.Options{}).Generate(context.Background(), facts)
	for _, n := range []narrative.Narrative{llm, tmpl} {
		if n.PromptVersion != "narrative/v1" || n.PromptSHA256 != wantPrompt || n.PromptSHA256 != narrative.PromptSHA256() {
			t.Errorf("%s: PromptVersion %q, PromptSHA256 %q, want narrative/v1 and %s", n.Source, n.PromptVersion, n.PromptSHA256, wantPrompt)
		}
		if n.FactsSHA256 != facts.SHA256() || len(n.FactsSHA256) != 64 {
			t.Errorf("%s: FactsSHA256 %q, want %q", n.Source, n.FactsSHA256, facts.SHA256())
		}
	}
	changed := headlineFacts()
	changed.Items[0].Num++
	if changed.SHA256() == facts.SHA256() {
		t.Error("facts hash ignores a changed value")
	}
	if headlineFacts().SHA256() != facts.SHA256() {
		t.Error("facts hash is not stable")
	}
	// The row for the narratives table.
	vals := llm.Values()
	if len(vals) != len(narrative.Columns) {
		t.Fatalf("%d values for %d columns", len(vals), len(narrative.Columns))
	}
	for i, c := range narrative.Columns {
		if !strings.Contains(narrative.TableDDL, "    "+c+" ") {
			t.Errorf("TableDDL lacks column %s", c)
		}
		if c == "rejected" && vals[i] != "[]" {
			t.Errorf("rejected = %v, want []", vals[i])
		}
	}
}

func TestGenerate_ParentCanceled(t *testing.T) {
	f := newFakeOllama(t, []string{model}, goodReply)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := newWriter(opts(f.URL()))
	n := w.Generate(ctx, headlineFacts())
	wantTemplate(t, n, headlineFacts(), "canceled")
	// A canceled caller says nothing about Ollama: the next section asks again.
	n = w.Generate(context.Background(), headlineFacts())
	if n.Source != narrative.SourceLLM {
		t.Errorf("after a canceled call: Source %q, Rejected %q", n.Source, n.Rejected)
	}
}
