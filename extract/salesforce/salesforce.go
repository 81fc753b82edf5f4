// Package salesforce is the "salesforce" source: sObjects read through the REST API
// (query/queryAll with nextRecordsUrl paging) into Arrow record batches, incrementally.
//
//   - name: crm
//     type: salesforce
//     instance_url: https://acme.my.salesforce.com   # My Domain URL (token endpoint and API)
//     client_id: 3MVG9...                              # connected app consumer key
//     client_secret_env: SF_CLIENT_SECRET              # env var holding the consumer secret
//     api_version: "62.0"
//     objects: [Account, Opportunity, OpportunityLineItem]
//     batch_size: 2000                                 # Sforce-Query-Options batchSize, 200..2000
//     quota_share: 0.9                                 # stop when api-usage passes this share of the daily limit
//     full_refresh_every: 7d                           # re-read everything this often (formula fields)
//
// Authentication is the OAuth 2.0 client credentials flow against
// <login_url or instance_url>/services/oauth2/token; the token is fetched again once when
// the API answers 401 (extract/httpx). The instance_url of the token response is the base
// of every API call.
//
// Each object is a stream named in lower_snake_case (OpportunityLineItem →
// opportunity_line_item), keyed by Id, with the object's fixed field list as its schema.
// Before reading, the connector asks describe which fields the org has: fixed fields the
// org lacks land as null, custom fields (__c) the org has beyond the list land as extra
// text columns (unless ignore_new_fields), and a fixed field whose type changed stops
// the object with a *SchemaError naming it.
//
// Incremental reads use the (SystemModstamp, Id) keyset through queryAll, so deletions
// arrive as IsDeleted rows. A deleted row lands both as a record version (IsDeleted true,
// ordered by Salesforce's own SystemModstamp like any other change, so a later undelete
// wins again) and as a tombstone (Batch.Deleted):
//
//	SELECT ... FROM Opportunity WHERE SystemModstamp >= <second of the cursor> ORDER BY SystemModstamp, Id
//
// The cursor keeps the last SystemModstamp and the ids already landed in its second, and
// records among them are skipped, so records sharing a timestamp at a page or run boundary
// are neither lost nor landed twice, and a record committed late with an older
// timestamp in that second still arrives. When more than MaxCursorIDs records share the
// second, the cursor keeps only the last id and skips by (SystemModstamp, Id) order.
// Every page is one batch carrying the cursor that covers it. The next page is requested
// as soon as a response's envelope names its nextRecordsUrl, before the records are
// decoded, so the org serves one page while the client decodes the one before, unless
// that response's Sforce-Limit-Info already puts usage over quota_share.
//
// Quota: when Sforce-Limit-Info reports api-usage above quota_share of the daily limit,
// or the API answers 403 REQUEST_LIMIT_EXCEEDED, the reader stops with a *QuotaError
// (errors.Is ErrQuota) after the pages already returned; their cursors are valid, so the
// next run resumes where this one stopped.
package salesforce

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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/httpx"
)

// TypeName is the source type under which the connector registers.
const TypeName = "salesforce"

// Defaults.
const (
	DefaultAPIVersion      = "62.0"
	DefaultClientSecretEnv = "SF_CLIENT_SECRET"
	DefaultBatchSize       = 2000
	DefaultQuotaShare      = 0.9
	// MaxCursorIDs bounds the ids a cursor keeps for its last second.
	MaxCursorIDs = 10000
)

func init() {
	extract.Register(TypeName, func() extract.Source { return New() })
}

// New returns a Source with its defaults set.
func New() *Source {
	return &Source{ClientSecretEnv: DefaultClientSecretEnv, APIVersion: DefaultAPIVersion, BatchSize: DefaultBatchSize, QuotaShare: DefaultQuotaShare}
}

// Source is the Salesforce connector and its configuration (decoded from YAML, then Init).
type Source struct {
	// InstanceURL is the org's My Domain URL (https://acme.my.salesforce.com).
	InstanceURL string `yaml:"instance_url"`
	// LoginURL is where the token is requested when it differs from InstanceURL.
	LoginURL string `yaml:"login_url"`
	// ClientID is the connected app's consumer key.
	ClientID string `yaml:"client_id"`
	// ClientSecretEnv names the environment variable holding the consumer secret (never
	// the secret itself). Default SF_CLIENT_SECRET.
	ClientSecretEnv string `yaml:"client_secret_env"`
	// APIVersion is the REST API version, "62.0" by default.
	APIVersion string `yaml:"api_version"`
	// Objects are the sObject types to extract; default DefaultObjects.
	Objects []string `yaml:"objects"`
	// BatchSize is the page size asked for (Sforce-Query-Options batchSize), 200..2000.
	BatchSize int `yaml:"batch_size"`
	// QuotaShare stops extraction cleanly once api-usage passes this share of the daily
	// limit (0 < share <= 1). Default 0.9.
	QuotaShare float64 `yaml:"quota_share"`
	// FullRefreshEvery re-reads each object in full this often ("7d", "36h"; empty: never),
	// for formula fields that change without touching SystemModstamp.
	FullRefreshEvery string `yaml:"full_refresh_every"`
	// IgnoreNewFields stops custom fields the org added since the field list was written
	// from landing as extra columns.
	IgnoreNewFields bool `yaml:"ignore_new_fields"`

	// Now is the clock for full refreshes; default time.Now.
	Now func() time.Time `yaml:"-"`
	// Getenv reads the secret's environment variable; default os.Getenv.
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
	mu         sync.Mutex
	instance   string // instance_url from the token response
	maxCursIDs int
}

var versionRE = regexp.MustCompile(`^[0-9]{2}\.0$`)

// Init validates the configuration and builds the HTTP clients. It does not touch the
// network, and does not read the secret (that happens when a token is first needed).
func (s *Source) Init() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("salesforce: "+format, args...)
	}
	if s.InstanceURL == "" && s.LoginURL == "" {
		return bad("instance_url is required (the org's My Domain URL, like https://acme.my.salesforce.com)")
	}
	for key, v := range map[string]string{"instance_url": s.InstanceURL, "login_url": s.LoginURL} {
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bad("%s %q is not an http(s) URL", key, v)
		}
	}
	s.InstanceURL = strings.TrimRight(s.InstanceURL, "/")
	s.LoginURL = strings.TrimRight(s.LoginURL, "/")
	if s.ClientID == "" {
		return bad("client_id is required (the connected app's consumer key)")
	}
	if s.ClientSecretEnv == "" {
		s.ClientSecretEnv = DefaultClientSecretEnv
	}
	if s.APIVersion == "" {
		s.APIVersion = DefaultAPIVersion
	}
	s.APIVersion = strings.TrimPrefix(s.APIVersion, "v")
	if !versionRE.MatchString(s.APIVersion) {
		return bad("api_version %q: want a version like \"62.0\"", s.APIVersion)
	}
	if s.BatchSize == 0 {
		s.BatchSize = DefaultBatchSize
	}
	if s.BatchSize < 200 || s.BatchSize > 2000 {
		return bad("batch_size %d: Salesforce accepts 200 to 2000", s.BatchSize)
	}
	if s.QuotaShare == 0 {
		s.QuotaShare = DefaultQuotaShare
	}
	if s.QuotaShare < 0 || s.QuotaShare > 1 {
		return bad("quota_share %v: want a share between 0 and 1, like 0.9", s.QuotaShare)
	}
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

// Streams lists one stream per configured object, with its fixed schema.
func (s *Source) Streams(ctx context.Context) ([]extract.Stream, error) {
	if len(s.objects) == 0 {
		// Not initialised (the warehouse asks every connector type for its declared
		// streams): every object of the catalog.
		return CatalogStreams(), nil
	}
	out := make([]extract.Stream, len(s.objects))
	for i, o := range s.objects {
		out[i] = extract.Stream{Name: StreamName(o.Name), Schema: o.schema(), Key: []string{"Id"}}
	}
	return out, nil
}

// AuthError is a failed token request; its message says which setting to check.
type AuthError struct {
	Status      int
	Code        string // OAuth error code, like invalid_client
	Description string
	msg         string
}

// Error says which setting to check; it never contains the secret.
func (e *AuthError) Error() string { return e.msg }

// fetchToken runs the client credentials flow. It is hand-written rather than
// x/oauth2/clientcredentials because what matters here is Salesforce-specific: the
// response's instance_url is the base of every later call, there is no expires_in (a
// token lives until the API answers 401, which httpx.CachedToken already handles), and the
// OAuth error must become a message naming the setting to fix.
func (s *Source) fetchToken(ctx context.Context) (string, error) {
	secret := s.Getenv(s.ClientSecretEnv)
	if secret == "" {
		return "", &AuthError{msg: fmt.Sprintf("salesforce: token request not sent: the environment variable %s (named by client_secret_env) is not set; set it to the connected app's consumer secret", s.ClientSecretEnv)}
	}
	base := s.LoginURL
	if base == "" {
		base = s.InstanceURL
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {secret}}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"application/json"}}
	resp, err := s.auth.Do(ctx, http.MethodPost, base+"/services/oauth2/token", h, []byte(form.Encode()))
	if err != nil {
		var se *httpx.StatusError
		if !errors.As(err, &se) {
			return "", &AuthError{msg: fmt.Sprintf("salesforce: token request failed: %v", err)}
		}
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		json.Unmarshal(se.Body, &oe)
		ae := &AuthError{Status: se.Status, Code: oe.Error, Description: oe.Description}
		switch oe.Error {
		case "invalid_client":
			ae.msg = fmt.Sprintf("salesforce: token request failed: %d invalid_client — check the env var named in client_secret_env (%s)", se.Status, s.ClientSecretEnv)
		case "invalid_client_id":
			ae.msg = fmt.Sprintf("salesforce: token request failed: %d invalid_client_id — check client_id (the connected app's consumer key)", se.Status)
		case "":
			ae.msg = fmt.Sprintf("salesforce: token request failed: HTTP %d from %s — check instance_url / login_url", se.Status, base)
		default:
			ae.msg = fmt.Sprintf("salesforce: token request failed: %d %s (%s) — check the connected app's client credentials flow settings", se.Status, oe.Error, oe.Description)
		}
		return "", ae
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil || tok.AccessToken == "" {
		return "", &AuthError{msg: "salesforce: token request failed: the response has no access_token"}
	}
	if tok.InstanceURL != "" {
		s.mu.Lock()
		s.instance = strings.TrimRight(tok.InstanceURL, "/")
		s.mu.Unlock()
	}
	return tok.AccessToken, nil
}

// base returns the API base URL: the token's instance_url, else the configured one.
func (s *Source) base(ctx context.Context) (string, error) {
	if _, err := s.tokens.Token(ctx, false); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.instance != "" {
		return s.instance, nil
	}
	return s.InstanceURL, nil
}

// APIError is an error answer of the REST API: the HTTP status and the first element of
// Salesforce's error array.
type APIError struct {
	Status  int
	Code    string // errorCode, like INVALID_FIELD
	Message string
	Fields  []string
}

// Error renders "400 INVALID_FIELD: message" on one line.
func (e *APIError) Error() string {
	msg := strings.Join(strings.Fields(e.Message), " ")
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, msg)
}

// apiError turns an httpx.StatusError with a Salesforce error array into an *APIError.
func apiError(err error) error {
	var se *httpx.StatusError
	if !errors.As(err, &se) {
		return err
	}
	var arr []struct {
		Message   string   `json:"message"`
		ErrorCode string   `json:"errorCode"`
		Fields    []string `json:"fields"`
	}
	if json.Unmarshal(se.Body, &arr) != nil || len(arr) == 0 {
		return err
	}
	return &APIError{Status: se.Status, Code: arr[0].ErrorCode, Message: arr[0].Message, Fields: arr[0].Fields}
}

// wrap prefixes err with the operation, leaving errors that already carry a complete
// message (auth, quota, schema) alone.
func wrap(op string, err error) error {
	var ae *AuthError
	var qe *QuotaError
	var sc *SchemaError
	if errors.As(err, &ae) || errors.As(err, &qe) || errors.As(err, &sc) {
		return err
	}
	return fmt.Errorf("salesforce: %s: %w", op, err)
}

// ErrQuota is matched by errors.Is for every quota stop.
var ErrQuota = errors.New("salesforce: API quota reached")

// QuotaError stops extraction cleanly when the org's daily API allowance is (nearly)
// used up. Pages returned before it are complete and their cursors valid.
type QuotaError struct {
	Object string
	Used   int64   // api-usage used, when known
	Limit  int64   // api-usage limit, when known
	Share  float64 // the configured quota_share
	Code   string  // REQUEST_LIMIT_EXCEEDED when the API refused the call
}

// Error says the stop was clean and that the next run resumes.
func (e *QuotaError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("salesforce: query %s: %s: the org's daily API limit is used up; stopped cleanly, the next run resumes from the saved cursor", e.Object, e.Code)
	}
	return fmt.Sprintf("salesforce: query %s: API usage %d/%d is over quota_share %.2f; stopped cleanly, the next run resumes from the saved cursor", e.Object, e.Used, e.Limit, e.Share)
}

// Is makes errors.Is(err, ErrQuota) true.
func (e *QuotaError) Is(target error) bool { return target == ErrQuota }

// limitInfo parses Sforce-Limit-Info: api-usage=N/M[; ...].
func limitInfo(h http.Header) (used, limit int64, ok bool) {
	for _, part := range strings.Split(h.Get("Sforce-Limit-Info"), ";") {
		v, found := strings.CutPrefix(strings.TrimSpace(part), "api-usage=")
		if !found {
			continue
		}
		a, b, found := strings.Cut(v, "/")
		if !found {
			return 0, 0, false
		}
		u, err1 := strconv.ParseInt(a, 10, 64)
		l, err2 := strconv.ParseInt(b, 10, 64)
		return u, l, err1 == nil && err2 == nil && l > 0
	}
	return 0, 0, false
}

// overQuota returns a *QuotaError when the response's usage is above the share.
func (s *Source) overQuota(object string, h http.Header) error {
	used, limit, ok := limitInfo(h)
	if ok && float64(used) > s.QuotaShare*float64(limit) {
		return &QuotaError{Object: object, Used: used, Limit: limit, Share: s.QuotaShare}
	}
	return nil
}

// isLimitExceeded reports whether err is Salesforce's 403 REQUEST_LIMIT_EXCEEDED.
func isLimitExceeded(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == "REQUEST_LIMIT_EXCEEDED"
}

func (s *Source) dataURL(base, rest string) string {
	return base + "/services/data/v" + s.APIVersion + "/" + rest
}

// describe returns the org's fields of object: name → Salesforce type.
func (s *Source) describe(ctx context.Context, object string) (map[string]string, http.Header, error) {
	base, err := s.base(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := s.api.Do(ctx, http.MethodGet, s.dataURL(base, "sobjects/"+object+"/describe"), http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		err = apiError(err)
		if isLimitExceeded(err) {
			return nil, nil, &QuotaError{Object: object, Code: "REQUEST_LIMIT_EXCEEDED", Share: s.QuotaShare}
		}
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return nil, nil, fmt.Errorf("salesforce: describe %s: %w — the org has no such object or the integration user cannot see it; check objects in the config", object, err)
		}
		return nil, nil, wrap("describe "+object, err)
	}
	var d struct {
		Fields []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(resp.Body, &d); err != nil {
		return nil, nil, fmt.Errorf("salesforce: describe %s: malformed response: %w", object, err)
	}
	out := make(map[string]string, len(d.Fields))
	for _, f := range d.Fields {
		out[f.Name] = f.Type
	}
	return out, resp.Header, nil
}
