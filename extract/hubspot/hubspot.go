// Package hubspot is the "hubspot" source: CRM v3 objects (deals, companies) read through
// the search API on hs_lastmodifieddate, and owners, into Arrow record batches,
// incrementally.
//
//   - name: hubspot
//     type: hubspot
//     base_url: https://api.hubapi.com
//     access_token_env: HUBSPOT_ACCESS_TOKEN   # private app token (Authorization: Bearer)
//     # or an OAuth app: client_id, client_secret_env, refresh_token_env
//     objects: [deals, companies, owners]
//     page_size: 200                           # search limit, 1..200
//     quota_share: 0.9                         # stop when the daily allowance is this used
//     full_refresh_every: 7d                   # re-read everything this often
//
// Authentication is a private app access token read from the environment variable named
// by access_token_env, or, when client_id is set, the OAuth refresh-token grant against
// <base_url>/oauth/v1/token (client secret and refresh token from environment variables).
// A 401 fetches the token again once (extract/httpx); secrets are never logged.
//
// Streams: deals, companies and owners, keyed by id. deals and companies land the
// properties of the object's fixed list (typed: amount decimal(18,2), dates as timestamps,
// hs_deal_stage_probability 0-1 as a double, ...), then company_id (deals: the associated
// company, read with the associations batch API for each page), archived, and custom
// properties the portal has beyond the list as extra text columns. Before reading, the
// connector asks the properties API which properties exist: fixed properties the portal
// lacks land as null, and one whose type changed stops the object with a *SchemaError
// naming it.
//
// Incremental reads page through search with a keyset on hs_lastmodifieddate, never with
// the after offset: every page is a new search anchored at the last timestamp landed
//
//	filterGroups: [[hs_lastmodifieddate GTE <cursor ms>]]   sorts: hs_lastmodifieddate ASCENDING   limit: 200
//
// and records of the cursor's millisecond already landed (the cursor keeps their ids)
// are skipped. So the 10,000-result cap of search is never reached (each search window
// starts anew), records that change while the extraction runs cannot shift unread ones
// out of an offset window, and records sharing a timestamp at a page boundary are neither
// lost nor landed twice, in whatever order HubSpot returns ties. When a whole page is
// ties already landed, the reader walks that millisecond by id (hs_lastmodifieddate EQ t
// AND hs_object_id GT last, sorted by id), then continues with GT t. Every page is one
// batch carrying the cursor that covers it.
//
// Deletions: archived records never appear in search. After the search, the reader lists
// archived records (GET ...?archived=true) and emits those archived since the previous
// scan as Batch.Deleted (tombstones), with the cursor of the whole run on that last batch.
//
// Owners have no search: the owners stream lists them (active, then archived =
// deactivated) and lands those updated since the previous run; its cursor is saved on
// the last batch only.
//
// Quota: when X-HubSpot-RateLimit-Daily(-Remaining) shows more than quota_share of the
// daily allowance used, or the API still answers 429 with policyName DAILY after
// retries, the reader stops with a *QuotaError (errors.Is ErrQuota) after the pages
// already returned; their cursors are valid, so the next run resumes where this one
// stopped.
package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/httpx"
)

// TypeName is the source type under which the connector registers.
const TypeName = "hubspot"

// Defaults.
const (
	DefaultBaseURL         = "https://api.hubapi.com"
	DefaultAccessTokenEnv  = "HUBSPOT_ACCESS_TOKEN"
	DefaultClientSecretEnv = "HUBSPOT_CLIENT_SECRET"
	DefaultRefreshTokenEnv = "HUBSPOT_REFRESH_TOKEN"
	DefaultPageSize        = 200
	DefaultQuotaShare      = 0.9
	// MaxCursorIDs bounds the ids a cursor keeps for its last millisecond.
	MaxCursorIDs = 10000
)

func init() {
	extract.Register(TypeName, func() extract.Source { return New() })
}

// New returns a Source with its defaults set.
func New() *Source {
	return &Source{BaseURL: DefaultBaseURL, AccessTokenEnv: DefaultAccessTokenEnv, ClientSecretEnv: DefaultClientSecretEnv,
		RefreshTokenEnv: DefaultRefreshTokenEnv, PageSize: DefaultPageSize, QuotaShare: DefaultQuotaShare}
}

// Source is the HubSpot connector and its configuration (decoded from YAML, then Init).
type Source struct {
	// BaseURL is the API root, https://api.hubapi.com by default.
	BaseURL string `yaml:"base_url"`
	// AccessTokenEnv names the environment variable holding the private app access token
	// (never the token itself). Default HUBSPOT_ACCESS_TOKEN. Not used when ClientID is set.
	AccessTokenEnv string `yaml:"access_token_env"`
	// ClientID selects OAuth instead of a private app: the app's client id.
	ClientID string `yaml:"client_id"`
	// ClientSecretEnv and RefreshTokenEnv name the environment variables holding the OAuth
	// app's client secret and the portal's refresh token. Defaults HUBSPOT_CLIENT_SECRET,
	// HUBSPOT_REFRESH_TOKEN.
	ClientSecretEnv string `yaml:"client_secret_env"`
	RefreshTokenEnv string `yaml:"refresh_token_env"`
	// Objects are the objects to extract (deals, companies, owners); default all.
	Objects []string `yaml:"objects"`
	// PageSize is the search limit, 1..200. Default 200.
	PageSize int `yaml:"page_size"`
	// QuotaShare stops extraction cleanly once this share of the daily API allowance is
	// used (0 < share <= 1). Default 0.9.
	QuotaShare float64 `yaml:"quota_share"`
	// FullRefreshEvery re-reads each object in full this often ("7d", "36h"; empty: never),
	// for calculated properties that change without touching hs_lastmodifieddate.
	FullRefreshEvery string `yaml:"full_refresh_every"`
	// IgnoreNewProperties stops custom properties the portal added since the property list
	// was written from landing as extra columns.
	IgnoreNewProperties bool `yaml:"ignore_new_properties"`

	// Now is the clock for full refreshes; default time.Now.
	Now func() time.Time `yaml:"-"`
	// Getenv reads the secrets' environment variables; default os.Getenv.
	Getenv func(string) string `yaml:"-"`
	// HTTP configures retries and the transport; zero values take httpx's defaults.
	HTTP httpx.Options `yaml:"-"`
	// Logger receives debug and warning messages; default discard.
	Logger *slog.Logger `yaml:"-"`
	// Allocator for Arrow buffers; default memory.DefaultAllocator.
	Allocator memory.Allocator `yaml:"-"`

	objects    []objectDef
	fullEvery  time.Duration
	api        *httpx.Client
	auth       *httpx.Client
	tokens     *httpx.CachedToken
	maxCursIDs int
}

// Init validates the configuration and builds the HTTP clients. It touches neither the
// network nor the secrets (they are read when a token is first needed).
func (s *Source) Init() error {
	bad := func(format string, args ...any) error { return fmt.Errorf("hubspot: "+format, args...) }
	if s.BaseURL == "" {
		s.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(s.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return bad("base_url %q is not an http(s) URL", s.BaseURL)
	}
	s.BaseURL = strings.TrimRight(s.BaseURL, "/")
	if s.AccessTokenEnv == "" {
		s.AccessTokenEnv = DefaultAccessTokenEnv
	}
	if s.ClientSecretEnv == "" {
		s.ClientSecretEnv = DefaultClientSecretEnv
	}
	if s.RefreshTokenEnv == "" {
		s.RefreshTokenEnv = DefaultRefreshTokenEnv
	}
	if s.PageSize == 0 {
		s.PageSize = DefaultPageSize
	}
	if s.PageSize < 1 || s.PageSize > 200 {
		return bad("page_size %d: HubSpot search accepts 1 to 200", s.PageSize)
	}
	if s.QuotaShare == 0 {
		s.QuotaShare = DefaultQuotaShare
	}
	if s.QuotaShare < 0 || s.QuotaShare > 1 {
		return bad("quota_share %v: want a share between 0 and 1, like 0.9", s.QuotaShare)
	}
	s.fullEvery = 0
	if s.FullRefreshEvery != "" {
		d, err := extract.ParseEvery(s.FullRefreshEvery)
		if err != nil {
			return bad("full_refresh_every %q: %v", s.FullRefreshEvery, err)
		}
		s.fullEvery = d
	}
	sel, err := extract.SelectNamed("objects", "object", s.Objects, DefaultObjects, knownObjects(), lookupObject,
		func(d objectDef) string { return d.Name })
	if err != nil {
		return bad("%v", err)
	}
	s.objects = sel
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Getenv == nil {
		s.Getenv = os.Getenv
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Allocator == nil {
		s.Allocator = memory.DefaultAllocator
	}
	if s.maxCursIDs == 0 {
		s.maxCursIDs = MaxCursorIDs
	}
	opts := s.HTTP
	if opts.Logger == nil {
		opts.Logger = s.Logger
	}
	s.tokens = &httpx.CachedToken{Fetch: s.fetchToken}
	s.auth = httpx.New(nil, opts)
	s.api = httpx.New(s.tokens, opts)
	return nil
}

// Streams lists one stream per configured object, with its schema before drift. An
// unconfigured Source (no Init) lists every object it knows, so the warehouse can declare
// their raw tables before the first extraction.
func (s *Source) Streams(ctx context.Context) ([]extract.Stream, error) {
	objects := s.objects
	if objects == nil {
		for _, n := range DefaultObjects {
			o, _ := lookupObject(n)
			objects = append(objects, o)
		}
	}
	out := make([]extract.Stream, len(objects))
	for i, o := range objects {
		out[i] = extract.Stream{Name: o.Name, Schema: extract.SchemaForColumns("", o.columns(nil)), Key: []string{ColID}}
	}
	return out, nil
}

// AuthError is a failed authentication; its message says which setting to check and
// never contains a secret.
type AuthError struct {
	Status int
	Code   string // HubSpot's category or OAuth status, like INVALID_AUTHENTICATION
	msg    string
}

// Error returns the message, which names the setting to check.
func (e *AuthError) Error() string { return e.msg }

// fetchToken returns the private app token from the environment, or runs the OAuth
// refresh-token grant.
func (s *Source) fetchToken(ctx context.Context) (string, error) {
	if s.ClientID == "" {
		tok := s.Getenv(s.AccessTokenEnv)
		if tok == "" {
			return "", &AuthError{msg: fmt.Sprintf("hubspot: no access token: the environment variable %s (named by access_token_env) is not set; set it to the private app's access token", s.AccessTokenEnv)}
		}
		return tok, nil
	}
	secret, refresh := s.Getenv(s.ClientSecretEnv), s.Getenv(s.RefreshTokenEnv)
	if secret == "" || refresh == "" {
		return "", &AuthError{msg: fmt.Sprintf("hubspot: token request not sent: set the environment variables %s (client_secret_env) and %s (refresh_token_env)", s.ClientSecretEnv, s.RefreshTokenEnv)}
	}
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {s.ClientID}, "client_secret": {secret}, "refresh_token": {refresh}}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"application/json"}}
	resp, err := s.auth.Do(ctx, http.MethodPost, s.BaseURL+"/oauth/v1/token", h, []byte(form.Encode()))
	if err != nil {
		var se *httpx.StatusError
		if !errors.As(err, &se) {
			return "", &AuthError{msg: fmt.Sprintf("hubspot: token request failed: %v", err)}
		}
		var oe struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		}
		json.Unmarshal(se.Body, &oe)
		ae := &AuthError{Status: se.Status, Code: oe.Status}
		switch oe.Status {
		case "BAD_CLIENT_ID":
			ae.msg = fmt.Sprintf("hubspot: token request failed: %d BAD_CLIENT_ID — check client_id", se.Status)
		case "BAD_CLIENT_SECRET":
			ae.msg = fmt.Sprintf("hubspot: token request failed: %d BAD_CLIENT_SECRET — check the env var named in client_secret_env (%s)", se.Status, s.ClientSecretEnv)
		case "BAD_REFRESH_TOKEN":
			ae.msg = fmt.Sprintf("hubspot: token request failed: %d BAD_REFRESH_TOKEN — check the env var named in refresh_token_env (%s); re-authorise the app if the refresh token was revoked", se.Status, s.RefreshTokenEnv)
		default:
			ae.msg = fmt.Sprintf("hubspot: token request failed: HTTP %d %s — check base_url and the app's OAuth settings", se.Status, oe.Status)
		}
		return "", ae
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil || tok.AccessToken == "" {
		return "", &AuthError{msg: "hubspot: token request failed: the response has no access_token"}
	}
	return tok.AccessToken, nil
}

// APIError is an error answer of the CRM API: the HTTP status and HubSpot's error document.
type APIError struct {
	Status        int
	Category      string // VALIDATION_ERROR, RATE_LIMITS, OBJECT_NOT_FOUND, ...
	Message       string
	PolicyName    string // for 429: TEN_SECONDLY_ROLLING, DAILY, ...
	CorrelationID string
}

// Error renders the status, code and message.
func (e *APIError) Error() string {
	cat := e.Category
	if cat == "" && e.PolicyName != "" {
		cat = "RATE_LIMIT " + e.PolicyName
	}
	return fmt.Sprintf("%d %s: %s (correlation id %s)", e.Status, cat, strings.Join(strings.Fields(e.Message), " "), e.CorrelationID)
}

// apiError turns an httpx.StatusError with a HubSpot error document into an *APIError.
func apiError(err error) error {
	var se *httpx.StatusError
	if !errors.As(err, &se) {
		return err
	}
	var doc struct {
		Message       string `json:"message"`
		Category      string `json:"category"`
		PolicyName    string `json:"policyName"`
		CorrelationID string `json:"correlationId"`
	}
	if json.Unmarshal(se.Body, &doc) != nil || (doc.Message == "" && doc.Category == "") {
		return err
	}
	return &APIError{Status: se.Status, Category: doc.Category, Message: doc.Message, PolicyName: doc.PolicyName, CorrelationID: doc.CorrelationID}
}

// ErrQuota is matched by errors.Is for every quota stop.
var ErrQuota = errors.New("hubspot: API quota reached")

// QuotaError stops extraction cleanly when the portal's daily API allowance is (nearly)
// used up. Pages returned before it are complete and their cursors valid.
type QuotaError struct {
	Object      string
	Used, Limit int64   // from X-HubSpot-RateLimit-Daily(-Remaining), when known
	Share       float64 // the configured quota_share
	Refused     bool    // the API answered 429 DAILY
}

// Error says why extraction stopped and that the next run resumes.
func (e *QuotaError) Error() string {
	if e.Refused {
		return fmt.Sprintf("hubspot: %s: 429 DAILY: the portal's daily API limit is used up; stopped cleanly, the next run resumes from the saved cursor", e.Object)
	}
	return fmt.Sprintf("hubspot: %s: API usage %d/%d is over quota_share %.2f; stopped cleanly, the next run resumes from the saved cursor", e.Object, e.Used, e.Limit, e.Share)
}

// Is makes errors.Is(err, ErrQuota) true.
func (e *QuotaError) Is(target error) bool { return target == ErrQuota }

// overQuota returns a *QuotaError when the response's daily usage is above the share.
func (s *Source) overQuota(object string, h http.Header) error {
	limit, err1 := strconv.ParseInt(h.Get("X-HubSpot-RateLimit-Daily"), 10, 64)
	left, err2 := strconv.ParseInt(h.Get("X-HubSpot-RateLimit-Daily-Remaining"), 10, 64)
	if err1 != nil || err2 != nil || limit <= 0 {
		return nil
	}
	if used := limit - left; float64(used) > s.QuotaShare*float64(limit) {
		return &QuotaError{Object: object, Used: used, Limit: limit, Share: s.QuotaShare}
	}
	return nil
}

// call sends one API request and maps its failures: auth errors name the setting to
// check, 429 DAILY becomes a *QuotaError, other failures an *APIError.
func (s *Source) call(ctx context.Context, object, method, path string, body []byte) (*httpx.Response, error) {
	h := http.Header{"Accept": {"application/json"}}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	resp, err := s.api.Do(ctx, method, s.BaseURL+path, h, body)
	if err == nil {
		return resp, nil
	}
	var ae *AuthError
	if errors.As(err, &ae) {
		return nil, err
	}
	err = apiError(err)
	var api *APIError
	if errors.As(err, &api) {
		switch {
		case api.Status == http.StatusTooManyRequests && api.PolicyName == "DAILY":
			return nil, &QuotaError{Object: object, Share: s.QuotaShare, Refused: true}
		case api.Status == http.StatusUnauthorized:
			setting := fmt.Sprintf("the private app token in the env var named by access_token_env (%s)", s.AccessTokenEnv)
			if s.ClientID != "" {
				setting = "the OAuth app's scopes and refresh token"
			}
			return nil, &AuthError{Status: api.Status, Code: api.Category, msg: fmt.Sprintf("hubspot: %s %s: 401 %s — check %s", method, path, api.Category, setting)}
		case api.Status == http.StatusForbidden:
			return nil, fmt.Errorf("hubspot: %s %s: %w — the app lacks a scope (crm.objects.%s.read?)", method, path, err, object)
		}
	}
	return nil, fmt.Errorf("hubspot: %s %s: %w", method, path, err)
}

// Update sets properties of one record (PATCH /crm/v3/objects/{object}/{id}); used by
// write-back. An empty string clears a property.
func (s *Source) Update(ctx context.Context, object, id string, props map[string]string) error {
	body, err := json.Marshal(map[string]any{"properties": props})
	if err != nil {
		return err
	}
	_, err = s.call(ctx, object, http.MethodPatch, "/crm/v3/objects/"+url.PathEscape(object)+"/"+url.PathEscape(id), body)
	return err
}

// properties returns the portal's properties of object: name → (type, HubSpot-defined).
func (s *Source) properties(ctx context.Context, object string) (map[string]propInfo, http.Header, error) {
	resp, err := s.call(ctx, object, http.MethodGet, "/crm/v3/properties/"+object, nil)
	if err != nil {
		return nil, nil, err
	}
	var doc struct {
		Results []struct {
			Name           string `json:"name"`
			Type           string `json:"type"`
			HubSpotDefined bool   `json:"hubspotDefined"`
		} `json:"results"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return nil, nil, fmt.Errorf("hubspot: properties of %s: malformed response: %w", object, err)
	}
	out := make(map[string]propInfo, len(doc.Results))
	for _, p := range doc.Results {
		out[p.Name] = propInfo{Type: p.Type, Defined: p.HubSpotDefined}
	}
	return out, resp.Header, nil
}

type propInfo struct {
	Type    string
	Defined bool
}

// SchemaError is a property whose type in the portal no longer matches the type it has
// been landed as. Extraction of the object stops: mixing types in one column would
// corrupt it.
type SchemaError struct {
	Object, Property string
	Landed           string // the column's type in the lake
	Now              string // the property's HubSpot type now
}

// Error names the column, both types and what to do.
func (e *SchemaError) Error() string {
	return fmt.Sprintf("hubspot: %s.%s changed type: landed as %s, the portal now has type %s; restore the property's type in HubSpot, or re-extract %s with --full after moving its lake folder aside",
		e.Object, e.Property, e.Landed, e.Now, e.Object)
}

// serverTime returns the instant of the response's Date header (HubSpot's clock), or
// the local clock when it has none.
func serverTime(h http.Header, now func() time.Time) time.Time {
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		return t
	}
	return now()
}

// jsonBody marshals v; the connector's request bodies cannot fail to encode.
func jsonBody(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return bytes.TrimSpace(b.Bytes())
}
