// Package sap is the "sap" source: SAP S/4HANA OData v2 services (sales orders and items,
// billing documents and items, material stock, customer receivables, customers) read into
// Arrow record batches, incrementally.
//
//   - name: erp
//     type: sap
//     url: https://my-s4.example.com          # host; services live under /sap/opu/odata/sap/
//     sap_client: "100"                       # optional sap-client
//     auth: basic                             # basic (communication user) or oauth (client credentials)
//     user: REVCAST_COMM_USER
//     password_env: SAP_PASSWORD              # env var holding the password (never the password)
//     # auth: oauth
//     # token_url: https://my-s4.example.com/sap/bc/sec/oauth2/token
//     # client_id: revcast
//     # client_secret_env: SAP_CLIENT_SECRET
//     streams: [a_sales_order, a_sales_order_item, a_billing_document, a_operational_acctg_doc_item_cube]
//     page_size: 1000                         # $top per request
//
// Streams (see the catalog): a_sales_order, a_sales_order_item, a_billing_document,
// a_billing_document_item, a_matl_stk_in_acct_mod, a_operational_acctg_doc_item_cube,
// a_customer. Columns are SAP's property names; amounts land as decimal(18,2) exactly,
// quantities as double, Edm.DateTime as date and Edm.DateTimeOffset (\/Date(ms+0000)\/) as a
// UTC timestamp.
//
// Incremental reads are keyed on (LastChangeDateTime, key) with ">=":
//
//	$filter=LastChangeDateTime ge datetimeoffset'2024-05-20T20:49:32.123Z'
//	$orderby=LastChangeDateTime,SalesOrder&$top=<page_size + keys in the cursor>
//
// The cursor keeps the last LastChangeDateTime (UTC, milliseconds) and the keys already
// landed at that instant; those are skipped, so records sharing a timestamp at a page or
// run boundary are neither lost nor landed twice, and one committed late with the same
// timestamp still arrives. Each page is a new keyset query rather than a __next link:
// SAP's $skiptoken is a position in a re-executed query, so records that change while a
// read pages would shift and be skipped. __next is followed only when a page brings
// nothing new (more records share one instant than a page holds). Item streams
// (a_sales_order_item, a_billing_document_item) read the header with $expand=to_Item and
// carry the header's LastChangeDateTime: SAP items have no change timestamp of their own.
// a_matl_stk_in_acct_mod has none either: it is read in full each run (following __next),
// stamped with SnapshotAt, and its cursor is saved only at the end.
//
// Deletions: OData v2 has no tombstones. SAP cancels rather than deletes (rejected orders,
// cancelled billing documents, cleared items), and those are changes the reader sees; a
// record deleted outright is noticed only by a full re-read (--full).
//
// Schema drift: before reading, the connector fetches the service's $metadata. Catalog
// properties the system lacks land as null; properties the entity type has beyond the
// catalog land as extra columns typed from their EDM type; a catalog property whose EDM type
// no longer fits its column stops the stream with a *SchemaError naming entity and field.
package sap

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
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
const TypeName = "sap"

// Defaults.
const (
	DefaultPasswordEnv     = "SAP_PASSWORD"
	DefaultClientSecretEnv = "SAP_CLIENT_SECRET"
	DefaultPageSize        = 1000
	MaxPageSize            = 5000
	// ODataPath is where S/4HANA serves OData v2 services.
	ODataPath = "/sap/opu/odata/sap/"
	// DefaultTokenPath is the OAuth 2.0 token endpoint of an S/4HANA system.
	DefaultTokenPath = "/sap/bc/sec/oauth2/token"
)

func init() {
	extract.Register(TypeName, func() extract.Source { return New() })
}

// New returns a Source with its defaults set.
func New() *Source {
	return &Source{Auth: "basic", PasswordEnv: DefaultPasswordEnv, ClientSecretEnv: DefaultClientSecretEnv, PageSize: DefaultPageSize}
}

// Source is the SAP connector and its configuration (decoded from YAML, then Init).
type Source struct {
	// URL is the system's base URL (scheme and host); the OData services are under
	// /sap/opu/odata/sap/.
	URL string `yaml:"url"`
	// SAPClient is sent as the sap-client query parameter when set.
	SAPClient string `yaml:"sap_client"`
	// Auth is "basic" (a communication user and password) or "oauth" (OAuth 2.0 client
	// credentials). Default basic.
	Auth string `yaml:"auth"`
	// User is the communication user (basic auth).
	User string `yaml:"user"`
	// PasswordEnv names the environment variable holding the user's password. Default
	// SAP_PASSWORD.
	PasswordEnv string `yaml:"password_env"`
	// TokenURL is the OAuth token endpoint; default <url>/sap/bc/sec/oauth2/token.
	TokenURL string `yaml:"token_url"`
	// ClientID is the OAuth client (oauth auth).
	ClientID string `yaml:"client_id"`
	// ClientSecretEnv names the environment variable holding the OAuth client secret.
	// Default SAP_CLIENT_SECRET.
	ClientSecretEnv string `yaml:"client_secret_env"`
	// Streams to extract (names from the catalog); default all of them.
	StreamNames []string `yaml:"streams"`
	// PageSize is the $top of each request, 1..5000. Default 1000.
	PageSize int `yaml:"page_size"`

	// Now is the clock of snapshot stamps; default time.Now.
	Now func() time.Time `yaml:"-"`
	// Getenv reads the secrets' environment variables; default os.Getenv.
	Getenv func(string) string `yaml:"-"`
	// HTTP configures retries and the transport; zero values take httpx's defaults.
	HTTP httpx.Options `yaml:"-"`
	// Logger receives debug and warning messages; default discard.
	Logger *slog.Logger `yaml:"-"`
	// Allocator for Arrow buffers; default memory.DefaultAllocator.
	Allocator memory.Allocator `yaml:"-"`

	entities []entity
	api      *httpx.Client
	auth     *httpx.Client
	tokens   *httpx.CachedToken
}

// Init validates the configuration and builds the HTTP clients. It does not touch the
// network and does not read secrets (that happens at the first request).
func (s *Source) Init() error {
	bad := func(format string, args ...any) error { return fmt.Errorf("sap: "+format, args...) }
	u, err := url.Parse(s.URL)
	if s.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return bad("url %q: want the system's base URL, like https://my-s4.example.com", s.URL)
	}
	s.URL = strings.TrimRight(s.URL, "/")
	switch s.Auth {
	case "", "basic":
		s.Auth = "basic"
		if s.User == "" {
			return bad("user is required with auth: basic (the communication user)")
		}
		if s.PasswordEnv == "" {
			s.PasswordEnv = DefaultPasswordEnv
		}
	case "oauth":
		if s.ClientID == "" {
			return bad("client_id is required with auth: oauth")
		}
		if s.ClientSecretEnv == "" {
			s.ClientSecretEnv = DefaultClientSecretEnv
		}
		if s.TokenURL == "" {
			s.TokenURL = s.URL + DefaultTokenPath
		}
		if tu, err := url.Parse(s.TokenURL); err != nil || tu.Host == "" {
			return bad("token_url %q is not an http(s) URL", s.TokenURL)
		}
	default:
		return bad("auth %q: want basic or oauth", s.Auth)
	}
	if s.PageSize == 0 {
		s.PageSize = DefaultPageSize
	}
	if s.PageSize < 1 || s.PageSize > MaxPageSize {
		return bad("page_size %d: want 1 to %d", s.PageSize, MaxPageSize)
	}
	sel, err := extract.SelectNamed("streams", "stream", s.StreamNames, DefaultStreams, DefaultStreams, lookup,
		func(d entity) string { return d.Stream })
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
	opts := s.HTTP
	if opts.Logger == nil {
		opts.Logger = s.Logger
	}
	s.auth = httpx.New(nil, opts)
	if s.Auth == "oauth" {
		s.tokens = &httpx.CachedToken{Fetch: s.fetchToken}
		s.api = httpx.New(s.tokens, opts)
	} else {
		s.api = httpx.New(nil, opts)
	}
	return nil
}

// Streams lists one stream per configured entity.
func (s *Source) Streams(ctx context.Context) ([]extract.Stream, error) {
	list := s.entities
	if len(list) == 0 {
		// Not initialised (the warehouse asks every connector type for its declared
		// streams so the staging models compile): the whole catalog.
		list = catalog
	}
	out := make([]extract.Stream, len(list))
	for i, e := range list {
		out[i] = extract.Stream{Name: e.Stream, Schema: extract.SchemaForColumns("", e.columns()), Key: e.Keys}
	}
	return out, nil
}

// AuthError is a failed authentication; its message says which setting to check.
type AuthError struct {
	Status int
	msg    string
}

// Error returns the message, which names the setting to check.
func (e *AuthError) Error() string { return e.msg }

// fetchToken runs the OAuth client credentials flow (client id and secret in the Basic
// header, as SAP's token endpoint expects). It goes through httpx for retries rather than
// x/oauth2, and turns OAuth errors into messages naming the setting to fix.
func (s *Source) fetchToken(ctx context.Context) (string, error) {
	secret := s.Getenv(s.ClientSecretEnv)
	if secret == "" {
		return "", &AuthError{msg: fmt.Sprintf("sap: token request not sent: the environment variable %s (named by client_secret_env) is not set", s.ClientSecretEnv)}
	}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"application/json"},
		"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(s.ClientID)+":"+url.QueryEscape(secret)))}}
	resp, err := s.auth.Do(ctx, http.MethodPost, s.TokenURL, h, []byte("grant_type=client_credentials"))
	if err != nil {
		var se *httpx.StatusError
		if errors.As(err, &se) {
			var oe struct {
				Error string `json:"error"`
			}
			json.Unmarshal(se.Body, &oe)
			if oe.Error == "invalid_client" {
				return "", &AuthError{Status: se.Status, msg: fmt.Sprintf("sap: token request failed: %d invalid_client — check client_id and the env var named in client_secret_env (%s)", se.Status, s.ClientSecretEnv)}
			}
			return "", &AuthError{Status: se.Status, msg: fmt.Sprintf("sap: token request failed: HTTP %d %s — check token_url", se.Status, oe.Error)}
		}
		return "", &AuthError{msg: fmt.Sprintf("sap: token request failed: %v — check token_url", err)}
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil || tok.AccessToken == "" {
		return "", &AuthError{msg: "sap: token request failed: the response has no access_token"}
	}
	return tok.AccessToken, nil
}

// headers returns the request headers, with Basic credentials for basic auth.
func (s *Source) headers() (http.Header, error) {
	h := http.Header{"Accept": {"application/json"}}
	if s.Auth == "basic" {
		pw := s.Getenv(s.PasswordEnv)
		if pw == "" {
			return nil, &AuthError{msg: fmt.Sprintf("sap: request not sent: the environment variable %s (named by password_env) is not set; set it to the password of user %s", s.PasswordEnv, s.User)}
		}
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s.User+":"+pw)))
	}
	return h, nil
}

// get sends a GET and maps errors: SAP's error envelope becomes an *APIError, 401 an
// *AuthError naming the credentials to check.
func (s *Source) get(ctx context.Context, u string) (*httpx.Response, error) {
	h, err := s.headers()
	if err != nil {
		return nil, err
	}
	resp, err := s.api.Do(ctx, http.MethodGet, u, h, nil)
	if err == nil {
		return resp, nil
	}
	var se *httpx.StatusError
	if !errors.As(err, &se) {
		return nil, err
	}
	if se.Status == http.StatusUnauthorized {
		if s.Auth == "basic" {
			return nil, &AuthError{Status: 401, msg: fmt.Sprintf("sap: 401 logon failed for user %s — check user and the env var named in password_env (%s)", s.User, s.PasswordEnv)}
		}
		return nil, &AuthError{Status: 401, msg: "sap: 401 the access token was rejected twice — check the OAuth client's scopes for the OData services"}
	}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message struct {
				Value string `json:"value"`
			} `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(se.Body, &env) == nil && env.Error.Code != "" {
		return nil, &APIError{Status: se.Status, Code: env.Error.Code, Message: env.Error.Message.Value}
	}
	return nil, err
}

// APIError is an OData error answer: the HTTP status and SAP's error code and message.
type APIError struct {
	Status  int
	Code    string
	Message string
}

// Error renders "HTTP 400 <code>: <message>".
func (e *APIError) Error() string { return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message) }

// SchemaError is a property whose EDM type no longer fits the column it lands in.
type SchemaError struct {
	Entity, Field string
	Landed        string // the column's type in the lake
	Now           string // the EDM type $metadata reports now
}

// Error names entity, field and both types, and what to do.
func (e *SchemaError) Error() string {
	return fmt.Sprintf("sap: %s.%s changed type: landed as %s, $metadata now says %s; fix the extension field or re-extract the stream with --full after moving its lake folder aside",
		e.Entity, e.Field, e.Landed, e.Now)
}

// serviceURL returns the URL of a service resource with the sap-client parameter.
func (s *Source) serviceURL(service, resource string, q url.Values) string {
	if s.SAPClient != "" {
		if q == nil {
			q = url.Values{}
		}
		q.Set("sap-client", s.SAPClient)
	}
	u := s.URL + ODataPath + service + "/" + resource
	if len(q) > 0 {
		u += "?" + encodeQuery(q)
	}
	return u
}

// encodeQuery keeps '$', ',' and '\” readable in query options (SAP Gateway accepts both).
func encodeQuery(q url.Values) string {
	e := q.Encode()
	return strings.NewReplacer("%24", "$", "%2C", ",", "%27", "'", "+", "%20").Replace(e)
}

// edmProperty is one property of an entity type in $metadata.
type edmProperty struct {
	Name    string `xml:"Name,attr"`
	Type    string `xml:"Type,attr"`
	Scale   string `xml:"Scale,attr"`
	Display string `xml:"http://www.sap.com/Protocols/SAPData display-format,attr"`
}

// metadata returns the entity types of a service from $metadata, read at every Read so
// drift between runs is seen.
func (s *Source) metadata(ctx context.Context, service string) (map[string]map[string]edmProperty, error) {
	resp, err := s.get(ctx, s.serviceURL(service, "$metadata", nil))
	if err != nil {
		return nil, wrap(service+" $metadata", err)
	}
	var doc struct {
		Schemas []struct {
			Types []struct {
				Name  string        `xml:"Name,attr"`
				Props []edmProperty `xml:"Property"`
			} `xml:"EntityType"`
		} `xml:"DataServices>Schema"`
	}
	if err := xml.Unmarshal(resp.Body, &doc); err != nil {
		return nil, fmt.Errorf("sap: %s $metadata: malformed EDMX: %w", service, err)
	}
	out := map[string]map[string]edmProperty{}
	for _, sc := range doc.Schemas {
		for _, t := range sc.Types {
			props := map[string]edmProperty{}
			for _, p := range t.Props {
				props[p.Name] = p
			}
			out[t.Name] = props
		}
	}
	return out, nil
}

// wrap prefixes err with the operation, leaving errors that carry a complete message alone.
func wrap(op string, err error) error {
	var ae *AuthError
	var sc *SchemaError
	if errors.As(err, &ae) || errors.As(err, &sc) {
		return err
	}
	return fmt.Errorf("sap: %s: %w", op, err)
}

func scaleOf(p edmProperty) int {
	n, err := strconv.Atoi(p.Scale)
	if err != nil {
		return 0
	}
	return n
}
