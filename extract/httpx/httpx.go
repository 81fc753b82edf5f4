// Package httpx is the HTTP plumbing every API connector shares: retries with exponential
// backoff that honour Retry-After on 429 and 503 (hashicorp/go-retryablehttp), bearer
// tokens that are fetched again once when the server answers 401 (an expired session), and
// error bodies kept for the message. Connectors add only what is vendor-specific.
package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// TokenSource returns a bearer token; with refresh it must fetch a new one rather than
// return a cached token (the server has just rejected the cached one).
type TokenSource interface {
	Token(ctx context.Context, refresh bool) (string, error)
}

// Options configure a Client.
type Options struct {
	// RetryMax is how many times a request is retried after a transient failure
	// (connection error, 429, 5xx). Default 8.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff 2^attempt × min when the
	// server gives no Retry-After. Defaults 200ms and 30s.
	RetryWaitMin, RetryWaitMax time.Duration
	// Timeout bounds one attempt. Default 2 minutes.
	Timeout time.Duration
	Logger  *slog.Logger
	// Transport is the underlying transport (tests inject one); default a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// Client sends authorised requests with retries.
type Client struct {
	http   *retryablehttp.Client
	tokens TokenSource
	log    *slog.Logger
}

// New returns a Client; tokens may be nil for unauthenticated or basic-auth APIs.
func New(tokens TokenSource, opt Options) *Client {
	if opt.RetryMax == 0 {
		opt.RetryMax = 8
	}
	if opt.RetryWaitMin == 0 {
		opt.RetryWaitMin = 200 * time.Millisecond
	}
	if opt.RetryWaitMax == 0 {
		opt.RetryWaitMax = 30 * time.Second
	}
	if opt.Timeout == 0 {
		opt.Timeout = 2 * time.Minute
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	rc := retryablehttp.NewClient()
	rc.RetryMax = opt.RetryMax
	rc.RetryWaitMin, rc.RetryWaitMax = opt.RetryWaitMin, opt.RetryWaitMax
	rc.HTTPClient.Timeout = opt.Timeout
	if opt.Transport != nil {
		rc.HTTPClient.Transport = opt.Transport
	}
	rc.Logger = nil
	log := opt.Logger
	rc.RequestLogHook = func(_ retryablehttp.Logger, r *http.Request, attempt int) {
		if attempt > 0 {
			log.Debug("retrying request", "method", r.Method, "path", r.URL.Path, "attempt", attempt)
		}
	}
	// Give up with the last response rather than a generic error, so callers can read the
	// vendor's error body.
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &Client{http: rc, tokens: tokens, log: log}
}

// Response is a fully read HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// StatusError is a non-2xx answer; Body holds the vendor's error document.
type StatusError struct {
	Method, URL string
	Status      int
	Body        []byte
}

func (e *StatusError) Error() string {
	body := e.Body
	if len(body) > 512 {
		body = body[:512]
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.URL, e.Status, bytes.TrimSpace(body))
}

// Do sends a request with the given headers and body, retrying transient failures and
// refreshing the bearer token once on 401. A non-2xx final answer is a *StatusError.
func (c *Client) Do(ctx context.Context, method, url string, header http.Header, body []byte) (*Response, error) {
	refreshed := false
	for {
		req, err := retryablehttp.NewRequestWithContext(ctx, method, url, body)
		if err != nil {
			return nil, err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		if c.tokens != nil {
			tok, err := c.tokens.Token(ctx, refreshed)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, url, err)
		}
		data, err := readBody(resp)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%s %s: read body: %w", method, url, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && c.tokens != nil && !refreshed {
			c.log.Debug("token rejected; fetching a new one", "path", req.URL.Path)
			refreshed = true
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, &StatusError{Method: method, URL: url, Status: resp.StatusCode, Body: data}
		}
		return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
	}
}

// readBody reads a response body into one buffer sized from Content-Length when the server
// sent it (io.ReadAll starts at 512 bytes and regrows, copying a multi-megabyte page about
// a dozen times: some 10% of the SAP client's CPU in pprof). The declared length is only
// a starting capacity, capped at 64 MiB, so a wrong header cannot over-allocate or truncate.
func readBody(resp *http.Response) ([]byte, error) {
	const maxPrealloc = 64 << 20
	n := resp.ContentLength
	if n <= 0 || n > maxPrealloc {
		return io.ReadAll(resp.Body)
	}
	// The loop of io.ReadAll, from a buffer that already fits the body.
	buf := make([]byte, 0, n+bytes.MinRead)
	for {
		m, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// CachedToken caches a token from fetch until refresh is asked for.
type CachedToken struct {
	Fetch func(ctx context.Context) (string, error)

	mu  sync.Mutex
	tok string
}

// Token implements TokenSource.
func (c *CachedToken) Token(ctx context.Context, refresh bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != "" && !refresh {
		return c.tok, nil
	}
	tok, err := c.Fetch(ctx)
	if err != nil {
		return "", err
	}
	if tok == "" {
		return "", errors.New("token endpoint returned an empty token")
	}
	c.tok = tok
	return tok, nil
}
