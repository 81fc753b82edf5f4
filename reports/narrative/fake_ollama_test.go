package narrative_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fakeOllama is a local server speaking Ollama's wire format (docs/api.md, v0.17.4):
// GET /api/tags returns {"models":[…]}; POST /api/chat streams NDJSON chunks
// {"model","created_at","message":{"role":"assistant","content"},"done":false} and a final
// {"done":true,"done_reason":"stop", durations in ns, token counts}; an unknown model gets
// 404 {"error":"model \"x\" not found, try pulling it first"}, as the real server answers.
type fakeOllama struct {
	srv *httptest.Server

	// Behaviour, set before the first request.
	models     []string      // installed models, as /api/tags names them
	reply      string        // the assistant's reply, streamed a few runes per chunk
	delay      time.Duration // before each chunk after the first
	stallFirst time.Duration // before the response headers
	noDone     bool          // end the stream without the final done message
	doneReason string        // "" means "stop"

	mu        sync.Mutex
	chatReqs  [][]byte // request bodies received at /api/chat
	tagsCalls int
}

func newFakeOllama(t *testing.T, models []string, reply string) *fakeOllama {
	t.Helper()
	f := &fakeOllama{models: models, reply: reply}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOllama) URL() string { return f.srv.URL }

func (f *fakeOllama) chatBodies() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.chatReqs...)
}

func (f *fakeOllama) tags() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tagsCalls
}

// created is a fixed timestamp in the format the server writes.
const created = "2026-05-27T14:15:03.123456789Z"

func (f *fakeOllama) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/tags":
		f.mu.Lock()
		f.tagsCalls++
		f.mu.Unlock()
		type details struct {
			ParentModel       string   `json:"parent_model"`
			Format            string   `json:"format"`
			Family            string   `json:"family"`
			Families          []string `json:"families"`
			ParameterSize     string   `json:"parameter_size"`
			QuantizationLevel string   `json:"quantization_level"`
		}
		type model struct {
			Name       string  `json:"name"`
			Model      string  `json:"model"`
			ModifiedAt string  `json:"modified_at"`
			Size       int64   `json:"size"`
			Digest     string  `json:"digest"`
			Details    details `json:"details"`
		}
		out := struct {
			Models []model `json:"models"`
		}{Models: []model{}}
		for _, m := range f.models {
			out.Models = append(out.Models, model{
				Name: m, Model: m, ModifiedAt: "2025-05-04T17:37:44.706015396-07:00", Size: 4920753328,
				Digest:  "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
				Details: details{Format: "gguf", Family: "llama", Families: []string{"llama"}, ParameterSize: "8.0B", QuantizationLevel: "Q4_K_M"},
			})
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(out)

	case r.Method == http.MethodPost && r.URL.Path == "/api/chat":
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.chatReqs = append(f.chatReqs, body)
		f.mu.Unlock()
		var req struct {
			Model string `json:"model"`
		}
		_ = json.Unmarshal(body, &req)
		installed := false
		for _, m := range f.models {
			installed = installed || m == req.Model || m == req.Model+":latest" // the server resolves untagged names
		}
		if !installed {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": `model "` + req.Model + `" not found, try pulling it first`})
			return
		}
		if !sleep(r, f.stallFirst) {
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		enc := json.NewEncoder(w)
		fl, _ := w.(http.Flusher)
		type message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		}
		for i, c := range chunks(f.reply, 3) {
			if i > 0 && !sleep(r, f.delay) {
				return
			}
			_ = enc.Encode(struct {
				Model     string  `json:"model"`
				CreatedAt string  `json:"created_at"`
				Message   message `json:"message"`
				Done      bool    `json:"done"`
			}{req.Model, created, message{"assistant", c}, false})
			if fl != nil {
				fl.Flush()
			}
		}
		if f.noDone {
			return
		}
		reason := f.doneReason
		if reason == "" {
			reason = "stop"
		}
		_ = enc.Encode(map[string]any{
			"model": req.Model, "created_at": created,
			"message": message{"assistant", ""},
			"done":    true, "done_reason": reason,
			"total_duration": 4883583458, "load_duration": 1334875,
			"prompt_eval_count": 26, "prompt_eval_duration": 342546000,
			"eval_count": 282, "eval_duration": 4535599000,
		})

	default:
		http.NotFound(w, r)
	}
}

// sleep waits d or until the client goes away; it reports whether to go on.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

// chunks splits s into pieces of n runes, as a model streams tokens.
func chunks(s string, n int) []string {
	var out []string
	for s != "" {
		i, k := 0, 0
		for k < n && i < len(s) {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			k++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}
