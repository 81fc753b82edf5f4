// Package dynamics is the "dynamics" source: Dynamics 365 (Dataverse) tables read
// through the Web API (OData v4) into Arrow record batches, incrementally.
//
//   - name: dynamics
//     type: dynamics
//     org_url: https://contoso.crm.dynamics.com     # the environment URL
//     tenant_id: 7c0d4f1e-...                        # Azure AD (Entra ID) tenant
//     client_id: 3f2a1b0c-...                        # app registration (application user)
//     client_secret_env: DYNAMICS_CLIENT_SECRET      # env var holding the client secret
//     entities: [opportunities, accounts, systemusers, transactioncurrencies]
//     mode: delta                                    # or modifiedon
//     page_size: 5000                                # Prefer: odata.maxpagesize, 1..5000
//     full_refresh_every: 7d
//
// Authentication is the OAuth 2.0 client credentials grant against
// <authority_url>/<tenant_id>/oauth2/v2.0/token with scope <org_url>/.default. The token
// is reused until a minute before expires_in, and fetched again once when the API
// answers 401 (extract/httpx). The secret is never logged.
//
// Streams are entity sets (opportunities, accounts, ...), keyed by the primary key
// (opportunityid, ...), with the columns of a fixed list named as the Web API names them
// (lookups as _parentaccountid_value). Before reading, the connector asks the entity's
// attribute metadata which columns exist: listed columns the table lacks land as null,
// custom columns beyond the list land as extra text columns (unless
// ignore_new_columns), and a listed column whose type changed stops the stream with a
// *SchemaError naming it.
//
// Incremental reads use change tracking (mode: delta, the default): the first read sends
// Prefer: odata.track-changes and pages with @odata.nextLink to an @odata.deltaLink;
// later runs follow the delta link and get the rows changed since (their current state)
// and {"@odata.context":"…$deletedEntity","id":…,"reason":"deleted"} entries, which land
// as tombstones (Batch.Deleted). Change tracking is chosen over a modifiedon filter
// because it is the only way the Web API reports deletions, it orders changes by the
// table's row version (modifiedon has one-second precision, so ties are common) and its
// paging is server-side and stable while rows change. Each page's batch carries the
// cursor: the query of the next page, then of the delta link, so a killed run resumes
// at the page after the last landed one.
//
// mode: modifiedon is for tables without change tracking enabled: $filter=modifiedon ge
// <cursor second> with $orderby=modifiedon asc,<key> asc, following @odata.nextLink; the
// cursor keeps the ids landed in its last second, which are skipped, so ties at page and
// run boundaries are neither lost nor landed twice. Deletions are not seen in this mode.
//
// Throttling: 429 and 503 are retried honouring Retry-After (service protection limits).
// When retries run out on 429, the reader stops with a *QuotaError (errors.Is ErrQuota)
// after the pages already returned; their cursors are valid.
package dynamics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/httpx"
)

// TypeName is the source type under which the connector registers.
const TypeName = "dynamics"

// Defaults.
const (
	DefaultAuthorityURL    = "https://login.microsoftonline.com"
	DefaultClientSecretEnv = "DYNAMICS_CLIENT_SECRET"
	DefaultAPIVersion      = "9.2"
	DefaultPageSize        = 5000
	// MaxCursorIDs bounds the ids a modifiedon cursor keeps for its last second.
	MaxCursorIDs = 10000
)

// Read modes.
const (
	ModeDelta      = "delta"
	ModeModifiedOn = "modifiedon"
)

func init() {
	extract.Register(TypeName, func() extract.Source { return New() })
}

// New returns a Source with its defaults set.
func New() *Source {
	return &Source{AuthorityURL: DefaultAuthorityURL, ClientSecretEnv: DefaultClientSecretEnv, APIVersion: DefaultAPIVersion,
		Mode: ModeDelta, PageSize: DefaultPageSize}
}

// Source is the Dynamics 365 connector and its configuration (decoded from YAML, then Init).
type Source struct {
	// OrgURL is the environment URL (https://contoso.crm.dynamics.com).
	OrgURL string `yaml:"org_url"`
	// TenantID is the Azure AD tenant (GUID or domain) of the app registration.
	TenantID string `yaml:"tenant_id"`
	// ClientID is the app registration's application (client) id.
	ClientID string `yaml:"client_id"`
	// ClientSecretEnv names the environment variable holding the client secret (never the
	// secret itself). Default DYNAMICS_CLIENT_SECRET.
	ClientSecretEnv string `yaml:"client_secret_env"`
	// AuthorityURL is the identity platform, https://login.microsoftonline.com by default.
	AuthorityURL string `yaml:"authority_url"`
	// APIVersion is the Web API version, "9.2" by default.
	APIVersion string `yaml:"api_version"`
	// Entities are the entity sets to extract; default DefaultEntities.
	Entities []string `yaml:"entities"`
	// Mode is delta (change tracking, the default) or modifiedon; see the package doc.
	Mode string `yaml:"mode"`
	// PageSize is the odata.maxpagesize asked for, 1..5000. Default 5000.
	PageSize int `yaml:"page_size"`
	// FullRefreshEvery re-reads each table in full this often ("7d", "36h"; empty: never).
	FullRefreshEvery string `yaml:"full_refresh_every"`
	// IgnoreNewColumns stops custom columns added since the list was written from landing
	// as extra columns.
	IgnoreNewColumns bool `yaml:"ignore_new_columns"`

	// Now is the clock for token expiry and full refreshes; default time.Now.
	Now func() time.Time `yaml:"-"`
	// Getenv reads the secret's environment variable; default os.Getenv.
	Getenv func(string) string `yaml:"-"`
	// HTTP configures retries and the transport; zero values take httpx's defaults.
	HTTP httpx.Options `yaml:"-"`
	// Logger receives debug and warning messages; default discard.
	Logger *slog.Logger `yaml:"-"`
	// Allocator for Arrow buffers; default memory.DefaultAllocator.
	Allocator memory.Allocator `yaml:"-"`

	entities   []entityDef
	fullEvery  time.Duration
	api        *httpx.Client
	auth       *httpx.Client
	tokens     *tokenCache
	maxCursIDs int
}

var versionRE = regexp.MustCompile(`^[0-9]\.[0-9]$`)

// Init validates the configuration and builds the HTTP clients. It touches neither the
// network nor the secret.
func (s *Source) Init() error {
	bad := func(format string, args ...any) error { return fmt.Errorf("dynamics: "+format, args...) }
	if s.OrgURL == "" {
		return bad("org_url is required (the environment URL, like https://contoso.crm.dynamics.com)")
	}
	for key, v := range map[string]*string{"org_url": &s.OrgURL, "authority_url": &s.AuthorityURL} {
		if *v == "" {
			*v = DefaultAuthorityURL
		}
		u, err := url.Parse(*v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bad("%s %q is not an http(s) URL", key, *v)
		}
		*v = strings.TrimRight(*v, "/")
	}
	if s.TenantID == "" {
		return bad("tenant_id is required (the Azure AD tenant of the app registration)")
	}
	if s.ClientID == "" {
		return bad("client_id is required (the app registration's application id)")
	}
	if s.ClientSecretEnv == "" {
		s.ClientSecretEnv = DefaultClientSecretEnv
	}
	if s.APIVersion == "" {
		s.APIVersion = DefaultAPIVersion
	}
	s.APIVersion = strings.TrimPrefix(s.APIVersion, "v")
	if !versionRE.MatchString(s.APIVersion) {
		return bad("api_version %q: want a version like \"9.2\"", s.APIVersion)
	}
	switch s.Mode {
	case "":
		s.Mode = ModeDelta
	case ModeDelta, ModeModifiedOn:
	default:
		return bad("mode %q: want delta or modifiedon", s.Mode)
	}
	if s.PageSize == 0 {
		s.PageSize = DefaultPageSize
	}
	if s.PageSize < 1 || s.PageSize > 5000 {
		return bad("page_size %d: Dataverse pages hold 1 to 5000 rows", s.PageSize)
	}
	s.fullEvery = 0
	if s.FullRefreshEvery != "" {
		d, err := extract.ParseEvery(s.FullRefreshEvery)
		if err != nil {
			return bad("full_refresh_every %q: %v", s.FullRefreshEvery, err)
		}
		s.fullEvery = d
	}
	sel, err := extract.SelectNamed("entities", "entity set", s.Entities, DefaultEntities, knownEntities(), lookupEntity,
		func(d entityDef) string { return d.Set })
	if err != nil {
		return bad("%v", err)
	}
	s.entities = sel
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
	s.tokens = &tokenCache{s: s}
	s.auth = httpx.New(nil, opts)
	s.api = httpx.New(s.tokens, opts)
	return nil
}

// Streams lists one stream per configured entity set, with its schema before drift. An
// unconfigured Source (no Init) lists every entity set it knows, so the warehouse can
// declare their raw tables before the first extraction.
func (s *Source) Streams(ctx context.Context) ([]extract.Stream, error) {
	entities := s.entities
	if entities == nil {
		for _, n := range DefaultEntities {
			e, _ := lookupEntity(n)
			entities = append(entities, e)
		}
	}
	out := make([]extract.Stream, len(entities))
	for i, e := range entities {
		out[i] = extract.Stream{Name: e.Set, Schema: extract.SchemaForColumns("", e.columns(nil)), Key: []string{e.Key}}
	}
	return out, nil
}

// tokenCache holds the access token until shortly before it expires.
type tokenCache struct {
	s   *Source
	mu  sync.Mutex
	tok string
	exp time.Time
}

// Token implements httpx.TokenSource.
func (c *tokenCache) Token(ctx context.Context, refresh bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != "" && !refresh && c.s.Now().Before(c.exp) {
		return c.tok, nil
	}
	tok, life, err := c.s.fetchToken(ctx)
	if err != nil {
		return "", err
	}
	c.tok, c.exp = tok, c.s.Now().Add(life-time.Minute)
	return tok, nil
}

// AuthError is a failed token request; its message says which setting to check and
// never contains the secret.
type AuthError struct {
	Status int
	Code   string // the identity platform's error, like invalid_client
	msg    string
}

// Error returns the message, which names the setting to check.
func (e *AuthError) Error() string { return e.msg }

// fetchToken runs the client credentials grant and returns the token and its lifetime.
func (s *Source) fetchToken(ctx context.Context) (string, time.Duration, error) {
	secret := s.Getenv(s.ClientSecretEnv)
	if secret == "" {
		return "", 0, &AuthError{msg: fmt.Sprintf("dynamics: token request not sent: the environment variable %s (named by client_secret_env) is not set; set it to the app registration's client secret", s.ClientSecretEnv)}
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {secret}, "scope": {s.OrgURL + "/.default"}}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"application/json"}}
	endpoint := s.AuthorityURL + "/" + url.PathEscape(s.TenantID) + "/oauth2/v2.0/token"
	resp, err := s.auth.Do(ctx, http.MethodPost, endpoint, h, []byte(form.Encode()))
	if err != nil {
		var se *httpx.StatusError
		if !errors.As(err, &se) {
			return "", 0, &AuthError{msg: fmt.Sprintf("dynamics: token request failed: %v", err)}
		}
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		json.Unmarshal(se.Body, &oe)
		code, _, _ := strings.Cut(oe.Description, ":")
		ae := &AuthError{Status: se.Status, Code: oe.Error}
		switch oe.Error {
		case "invalid_client":
			ae.msg = fmt.Sprintf("dynamics: token request failed: %d invalid_client (%s) — check the env var named in client_secret_env (%s)", se.Status, code, s.ClientSecretEnv)
		case "unauthorized_client":
			ae.msg = fmt.Sprintf("dynamics: token request failed: %d unauthorized_client (%s) — check client_id and tenant_id", se.Status, code)
		case "invalid_scope":
			ae.msg = fmt.Sprintf("dynamics: token request failed: %d invalid_scope (%s) — check org_url (the scope is <org_url>/.default)", se.Status, code)
		case "invalid_request":
			ae.msg = fmt.Sprintf("dynamics: token request failed: %d invalid_request (%s) — check tenant_id and authority_url", se.Status, code)
		default:
			ae.msg = fmt.Sprintf("dynamics: token request failed: HTTP %d %s %s — check authority_url, tenant_id and client_id", se.Status, oe.Error, code)
		}
		return "", 0, ae
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil || tok.AccessToken == "" {
		return "", 0, &AuthError{msg: "dynamics: token request failed: the response has no access_token"}
	}
	life := time.Duration(tok.ExpiresIn) * time.Second
	if life < 2*time.Minute {
		life = 2 * time.Minute
	}
	return tok.AccessToken, life, nil
}

// APIError is an error answer of the Web API: the HTTP status and the OData error.
type APIError struct {
	Status  int
	Code    string // like 0x80060888
	Message string
}

// Error renders the status, code and message.
func (e *APIError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, strings.Join(strings.Fields(e.Message), " "))
}

func apiError(err error) error {
	var se *httpx.StatusError
	if !errors.As(err, &se) {
		return err
	}
	var doc struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(se.Body, &doc) != nil || doc.Error.Code == "" {
		return err
	}
	return &APIError{Status: se.Status, Code: doc.Error.Code, Message: doc.Error.Message}
}

// ErrQuota is matched by errors.Is for every quota stop.
var ErrQuota = errors.New("dynamics: service protection limit reached")

// QuotaError stops extraction cleanly when Dataverse keeps refusing requests with 429
// (service protection limits) after every retry. Pages returned before it are complete
// and their cursors valid.
type QuotaError struct {
	Entity string
	Code   string // like 0x80072322
}

// Error says why extraction stopped and that the next run resumes.
func (e *QuotaError) Error() string {
	return fmt.Sprintf("dynamics: %s: 429 %s: service protection limits still exceeded after retries; stopped cleanly, the next run resumes from the saved cursor", e.Entity, e.Code)
}

// Is makes errors.Is(err, ErrQuota) true.
func (e *QuotaError) Is(target error) bool { return target == ErrQuota }

// SchemaError is a column whose type in the environment no longer matches the type it
// has been landed as.
type SchemaError struct {
	Entity, Column string
	Landed         string // the column's type in the lake
	Now            string // the AttributeType now
}

// Error names the column, both types and what to do.
func (e *SchemaError) Error() string {
	return fmt.Sprintf("dynamics: %s.%s changed type: landed as %s, the environment now has %s; restore the column in Dataverse, or re-extract %s with --full after moving its lake folder aside",
		e.Entity, e.Column, e.Landed, e.Now, e.Entity)
}

func (s *Source) apiURL(rest string) string {
	return s.OrgURL + "/api/data/v" + s.APIVersion + "/" + rest
}

// get sends a GET and maps failures: 429 after retries is a *QuotaError, 401 after the
// token refresh an *AuthError, OData errors *APIError.
func (s *Source) get(ctx context.Context, entity, u string, prefer []string) (*httpx.Response, error) {
	h := http.Header{"Accept": {"application/json"}, "OData-MaxVersion": {"4.0"}, "OData-Version": {"4.0"}}
	if len(prefer) > 0 {
		h.Set("Prefer", strings.Join(prefer, ","))
	}
	resp, err := s.api.Do(ctx, http.MethodGet, u, h, nil)
	if err == nil {
		return resp, nil
	}
	var ae *AuthError
	if errors.As(err, &ae) {
		return nil, err
	}
	var se *httpx.StatusError
	if errors.As(err, &se) {
		switch se.Status {
		case http.StatusTooManyRequests:
			code := ""
			if api, ok := apiError(err).(*APIError); ok {
				code = api.Code
			}
			return nil, &QuotaError{Entity: entity, Code: code}
		case http.StatusUnauthorized:
			return nil, &AuthError{Status: 401, msg: fmt.Sprintf("dynamics: %s: 401 from the Web API with a fresh token — check that the app registration has an application user with a security role in the environment %s", entity, s.OrgURL)}
		}
	}
	return nil, fmt.Errorf("dynamics: GET %s: %w", entity, apiError(err))
}

// Update sets columns of one row (PATCH {set}({id}), 204); etag, when not empty, must
// match the row's current version (If-Match). Used by write-back.
func (s *Source) Update(ctx context.Context, set, id string, fields map[string]any, etag string) error {
	body, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	h := http.Header{"Content-Type": {"application/json"}, "OData-MaxVersion": {"4.0"}, "OData-Version": {"4.0"}}
	if etag != "" {
		h.Set("If-Match", etag)
	}
	_, err = s.api.Do(ctx, http.MethodPatch, s.apiURL(set+"("+id+")"), h, body)
	if err != nil {
		return fmt.Errorf("dynamics: update %s(%s): %w", set, id, apiError(err))
	}
	return nil
}

// attribute is one column as the metadata describes it.
type attribute struct {
	Type   string
	Custom bool
}

// metadata returns the entity's columns by Web API name (lookups as _x_value).
func (s *Source) metadata(ctx context.Context, e entityDef) (map[string]attribute, error) {
	u := s.apiURL("EntityDefinitions(LogicalName='" + e.Logical + "')/Attributes?$select=LogicalName,AttributeType,IsCustomAttribute")
	resp, err := s.get(ctx, e.Set, u, nil)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Value []struct {
			LogicalName       string `json:"LogicalName"`
			AttributeType     string `json:"AttributeType"`
			IsCustomAttribute bool   `json:"IsCustomAttribute"`
		} `json:"value"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return nil, fmt.Errorf("dynamics: metadata of %s: malformed response: %w", e.Logical, err)
	}
	out := make(map[string]attribute, len(doc.Value))
	for _, a := range doc.Value {
		name := a.LogicalName
		switch a.AttributeType {
		case "Lookup", "Owner", "Customer":
			name = "_" + name + "_value"
		}
		out[name] = attribute{Type: a.AttributeType, Custom: a.IsCustomAttribute}
	}
	return out, nil
}

// accepts reports whether a column of AttributeType at still lands in a column of type t.
func accepts(t revcast.Type, at string) bool {
	switch at {
	case "String", "Memo", "EntityName", "Lookup", "Owner", "Customer", "Uniqueidentifier":
		return t == revcast.String
	case "Money", "Decimal", "Double":
		return t == revcast.Decimal || t == revcast.Float64
	case "Integer", "BigInt", "Picklist", "State", "Status":
		return t == revcast.Int64 || t == revcast.Float64 || t == revcast.Decimal
	case "Boolean":
		return t == revcast.Bool
	case "DateTime":
		return t == revcast.Timestamp || t == revcast.Date
	}
	return false
}

// selectable reports whether a new custom column of AttributeType at can be selected and
// landed as text.
func selectable(at string) bool {
	switch at {
	case "Virtual", "ManagedProperty", "CalendarRules", "PartyList", "File", "Image", "MultiSelectPicklist":
		return false
	}
	return true
}
