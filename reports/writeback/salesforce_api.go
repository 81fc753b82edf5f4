package writeback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/revcast/revcast/extract/httpx"
	"github.com/revcast/revcast/extract/salesforce"
)

// NewSalesforceAPI returns the SalesforceAPI of a configured (Init'ed) Salesforce source.
// Upserts go through the connector's own Upsert. The connector has no SOQL query or
// update-by-Id collection call yet, so those two are made here with the source's
// settings (its own token, from the same connected app and secret environment variable);
// if the connector grows them (a type that already implements SalesforceAPI), it is used
// as is.
func NewSalesforceAPI(src *salesforce.Source) SalesforceAPI {
	if api, ok := any(src).(SalesforceAPI); ok {
		return api
	}
	c := &sfREST{src: src}
	c.tokens = &httpx.CachedToken{Fetch: c.fetchToken}
	c.http = httpx.New(c.tokens, src.HTTP)
	c.auth = httpx.New(nil, src.HTTP)
	return c
}

// sfREST is the part of the Salesforce REST API write-back needs beyond the connector.
type sfREST struct {
	src    *salesforce.Source
	http   *httpx.Client
	auth   *httpx.Client
	tokens *httpx.CachedToken

	mu       sync.Mutex
	instance string
}

// Upsert implements SalesforceAPI through the connector.
func (c *sfREST) Upsert(ctx context.Context, object, extIDField string, records []map[string]any, allOrNone bool) ([]salesforce.UpsertResult, error) {
	return c.src.Upsert(ctx, object, extIDField, records, allOrNone)
}

// fetchToken runs the OAuth 2.0 client credentials flow like the connector does. The
// secret is read from the environment variable the config names and never printed.
func (c *sfREST) fetchToken(ctx context.Context) (string, error) {
	s := c.src
	getenv := s.Getenv
	if getenv == nil {
		return "", errors.New("salesforce: the source is not initialised")
	}
	secret := getenv(s.ClientSecretEnv)
	if secret == "" {
		return "", fmt.Errorf("salesforce: token request not sent: the environment variable %s (named by client_secret_env) is not set", s.ClientSecretEnv)
	}
	base := s.LoginURL
	if base == "" {
		base = s.InstanceURL
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {secret}}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"application/json"}}
	resp, err := c.auth.Do(ctx, http.MethodPost, base+"/services/oauth2/token", h, []byte(form.Encode()))
	if err != nil {
		var se *httpx.StatusError
		if errors.As(err, &se) {
			var oe struct {
				Error string `json:"error"`
			}
			json.Unmarshal(se.Body, &oe)
			return "", fmt.Errorf("salesforce: token request failed: HTTP %d %s — check client_id and the env var named in client_secret_env (%s)", se.Status, oe.Error, s.ClientSecretEnv)
		}
		return "", fmt.Errorf("salesforce: token request failed: %w", err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil || tok.AccessToken == "" {
		return "", errors.New("salesforce: token request failed: the response has no access_token")
	}
	c.mu.Lock()
	c.instance = strings.TrimRight(tok.InstanceURL, "/")
	c.mu.Unlock()
	return tok.AccessToken, nil
}

func (c *sfREST) dataURL(ctx context.Context, rest string) (string, error) {
	if _, err := c.tokens.Token(ctx, false); err != nil {
		return "", err
	}
	c.mu.Lock()
	base := c.instance
	c.mu.Unlock()
	if base == "" {
		base = c.src.InstanceURL
	}
	return base + "/services/data/v" + strings.TrimPrefix(c.src.APIVersion, "v") + "/" + rest, nil
}

// sfErr renders a Salesforce error answer as "400 INVALID_FIELD: message".
func sfErr(op string, err error) error {
	var se *httpx.StatusError
	if errors.As(err, &se) {
		var arr []struct {
			Message   string `json:"message"`
			ErrorCode string `json:"errorCode"`
		}
		if json.Unmarshal(se.Body, &arr) == nil && len(arr) > 0 {
			if arr[0].ErrorCode == "REQUEST_LIMIT_EXCEEDED" {
				// The org's API quota: a stop for the run (errors.Is salesforce.ErrQuota), as
				// the connector's own calls report it, not a record error to retry.
				return fmt.Errorf("salesforce: %s: %w", op, &salesforce.QuotaError{Code: arr[0].ErrorCode})
			}
			return fmt.Errorf("salesforce: %s: %d %s: %s", op, se.Status, arr[0].ErrorCode, strings.Join(strings.Fields(arr[0].Message), " "))
		}
	}
	return fmt.Errorf("salesforce: %s: %w", op, err)
}

// UpdateCollection implements SalesforceAPI: PATCH /composite/sobjects with up to 200
// records, each with attributes.type and Id; SaveResults in record order.
func (c *sfREST) UpdateCollection(ctx context.Context, records []map[string]any, allOrNone bool) ([]salesforce.UpsertResult, error) {
	if len(records) > salesforce.MaxCollection {
		return nil, fmt.Errorf("salesforce: update collection: %d records, at most %d", len(records), salesforce.MaxCollection)
	}
	u, err := c.dataURL(ctx, "composite/sobjects")
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]any{"allOrNone": allOrNone, "records": records})
	if err != nil {
		return nil, fmt.Errorf("salesforce: update collection: %w", err)
	}
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	resp, err := c.http.Do(ctx, http.MethodPatch, u, h, body)
	if err != nil {
		return nil, sfErr(fmt.Sprintf("update %d records", len(records)), err)
	}
	var res []salesforce.UpsertResult
	if err := json.Unmarshal(resp.Body, &res); err != nil || len(res) != len(records) {
		return nil, fmt.Errorf("salesforce: update collection: malformed response (%d results for %d records)", len(res), len(records))
	}
	return res, nil
}

// Query implements SalesforceAPI: GET query?q=, following nextRecordsUrl. Records come
// back as field → JSON value (numbers as float64), without attributes.
func (c *sfREST) Query(ctx context.Context, soql string) ([]map[string]any, error) {
	u, err := c.dataURL(ctx, "query?q="+url.QueryEscape(soql))
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for u != "" {
		resp, err := c.http.Do(ctx, http.MethodGet, u, http.Header{"Accept": {"application/json"}}, nil)
		if err != nil {
			return nil, sfErr("query", err)
		}
		var page struct {
			Done           bool             `json:"done"`
			NextRecordsURL string           `json:"nextRecordsUrl"`
			Records        []map[string]any `json:"records"`
		}
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return nil, fmt.Errorf("salesforce: query: malformed response: %w", err)
		}
		for _, r := range page.Records {
			delete(r, "attributes")
			out = append(out, r)
		}
		u = ""
		if !page.Done && page.NextRecordsURL != "" {
			c.mu.Lock()
			base := c.instance
			c.mu.Unlock()
			if base == "" {
				base = c.src.InstanceURL
			}
			u = base + page.NextRecordsURL
		}
	}
	return out, nil
}
