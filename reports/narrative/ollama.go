package narrative

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
)

// maxReply bounds the reply; a paragraph is far shorter.
const maxReply = 8 << 10

// callError is a failed exchange with Ollama. A sticky one means Ollama is unusable for
// the rest of the run.
type callError struct {
	msg    string
	sticky bool
}

func (e *callError) Error() string { return e.msg }

// DefaultHost is Ollama's address when Options.Host is empty.
const DefaultHost = "http://127.0.0.1:11434"

// baseURL parses Options.Host the way Ollama reads OLLAMA_HOST: without a scheme it is
// http on port 11434 unless a port is given; with a scheme, the URL as written.
func baseURL(host string) (*url.URL, error) {
	host = strings.TrimSpace(host)
	if host == "" {
		host = DefaultHost
	}
	if !strings.Contains(host, "://") {
		hostport, path, _ := strings.Cut(host, "/")
		if _, _, err := net.SplitHostPort(hostport); err != nil {
			hostport = net.JoinHostPort(strings.Trim(hostport, "[]"), "11434")
		}
		host = "http://" + hostport + "/" + path
	}
	u, err := url.Parse(host)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("narrative.host %q is not a URL like %s", host, DefaultHost)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// modelKey normalises a model name for comparison: lower case, ":latest" when untagged.
func modelKey(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if i := strings.LastIndex(name, ":"); i < 0 || i < strings.LastIndex(name, "/") {
		name += ":latest"
	}
	return name
}

var thinkRE = regexp.MustCompile(`(?s)<think>.*?</think>`)

// chat lists the installed models, then streams the model's reply to p. The whole
// exchange is bounded by Options.Timeout.
func (w *Writer) chat(ctx context.Context, p Prompt) (string, error) {
	base, err := baseURL(w.Host)
	if err != nil {
		return "", &callError{msg: err.Error(), sticky: true}
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	hc := w.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := api.NewClient(base, hc)
	fail := func(op string, err error) error {
		return classify(parent, ctx, base, w.Model, timeout, op, err)
	}

	list, err := client.List(ctx)
	if err != nil {
		return "", fail("list models", err)
	}
	want, found := modelKey(w.Model), false
	for _, m := range list.Models {
		if modelKey(m.Name) == want || modelKey(m.Model) == want {
			found = true
			break
		}
	}
	if !found {
		return "", missingModel(w.Model, base)
	}

	stream := true
	req := &api.ChatRequest{
		Model: w.Model,
		Messages: []api.Message{
			{Role: "system", Content: p.System},
			{Role: "user", Content: p.User},
		},
		Stream: &stream,
		// Temperature 0 and a fixed seed: the same facts give the same paragraph.
		Options: map[string]any{"temperature": 0, "seed": 1},
	}
	var b strings.Builder
	done, reason := false, ""
	err = client.Chat(ctx, req, func(r api.ChatResponse) error {
		b.WriteString(r.Message.Content)
		if b.Len() > maxReply {
			return errTooLong
		}
		if r.Done {
			done, reason = true, r.DoneReason
		}
		return nil
	})
	// The client stops reading quietly when the context ends mid-stream, so look at the
	// context before trusting a nil error.
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	switch {
	case errors.Is(err, errTooLong):
		return "", &callError{msg: fmt.Sprintf("the reply exceeded %d bytes", maxReply)}
	case err != nil:
		return "", fail("chat", err)
	case !done:
		return "", &callError{msg: "the reply stream ended before the final message (done: true)"}
	case reason == "length":
		return "", &callError{msg: "the reply was cut off at the model's token limit (done_reason: length)"}
	}
	reply := strings.TrimSpace(thinkRE.ReplaceAllString(b.String(), ""))
	if len(reply) >= 2 && reply[0] == '"' && reply[len(reply)-1] == '"' {
		reply = strings.TrimSpace(reply[1 : len(reply)-1])
	}
	return reply, nil
}

var errTooLong = errors.New("reply too long")

func missingModel(model string, base *url.URL) error {
	return &callError{
		msg:    fmt.Sprintf("model %s not installed; run `ollama pull %s` (ollama at %s)", model, model, base.Redacted()),
		sticky: true,
	}
}

// classify turns an error from the Ollama client into what the report says and whether
// Ollama is unusable for the rest of the run.
func classify(parent, ctx context.Context, base *url.URL, model string, timeout time.Duration, op string, err error) error {
	host := base.Redacted()
	var se api.StatusError
	switch {
	case parent.Err() != nil:
		return &callError{msg: fmt.Sprintf("ollama %s: canceled: %v", op, parent.Err())}
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return &callError{
			msg:    fmt.Sprintf("ollama at %s timed out after %s (%s); raise narrative.timeout or use a smaller model", host, timeout, op),
			sticky: true,
		}
	case errors.As(err, &se) && se.StatusCode == http.StatusNotFound && op == "chat":
		return missingModel(model, base)
	case errors.As(err, &se):
		return &callError{msg: fmt.Sprintf("ollama at %s: %s: HTTP %d: %s", host, op, se.StatusCode, se.Error()), sticky: true}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &callError{
			msg:    fmt.Sprintf("ollama unreachable at %s (%s: %v); start it with `ollama serve` or set narrative.enabled: false", host, op, ue.Err),
			sticky: true,
		}
	}
	return &callError{msg: fmt.Sprintf("ollama at %s: %s: %v", host, op, err)}
}
