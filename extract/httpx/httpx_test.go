package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revcast/revcast/extract/httpx"
)

func TestClient_Do(t *testing.T) {
	var calls, issued atomic.Int32
	valid := atomic.Value{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case n == 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		case n == 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.Header.Get("Authorization") != "Bearer "+valid.Load().(string):
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)
		case r.URL.Path == "/missing":
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"no such thing"}`)
		default:
			fmt.Fprint(w, `{"ok":true}`)
		}
	}))
	defer srv.Close()
	valid.Store("t2")
	tokens := &httpx.CachedToken{Fetch: func(context.Context) (string, error) {
		return fmt.Sprintf("t%d", issued.Add(1)), nil
	}}
	c := httpx.New(tokens, httpx.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	ctx := context.Background()

	resp, err := c.Do(ctx, "GET", srv.URL+"/ok", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != `{"ok":true}` {
		t.Fatalf("body %s", resp.Body)
	}
	// 429, 503, 401 with token t1, then 200 with t2.
	if calls.Load() != 4 || issued.Load() != 2 {
		t.Fatalf("calls=%d tokens issued=%d, want 4 and 2", calls.Load(), issued.Load())
	}

	_, err = c.Do(ctx, "GET", srv.URL+"/missing", nil, nil)
	var se *httpx.StatusError
	if !errors.As(err, &se) || se.Status != 404 || string(se.Body) != `{"error":"no such thing"}` {
		t.Fatalf("err = %v, want a StatusError 404 with the body", err)
	}
}
