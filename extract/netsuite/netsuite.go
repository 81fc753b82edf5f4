// Package netsuite is the "netsuite" source: NetSuite records read with SuiteQL over REST
// (POST /services/rest/query/v1/suiteql, Prefer: transient) into Arrow record batches,
// incrementally.
//
//   - name: erp
//     type: netsuite
//     account_id: "1234567"                  # the account (realm) id; 1234567_SB1 for a sandbox
//     client_id: 8f1c...                      # the integration record's client id
//     certificate_id: Lx2...                  # OAuth 2.0 Client Credentials (M2M) certificate id
//     private_key_env: NETSUITE_PRIVATE_KEY   # env var holding the certificate's private key (PEM)
//     # private_key_file: /etc/revcast/netsuite.pem
//     algorithm: PS256                        # PS256 (default), PS384, PS512, RS256, ES256
//     time_zone: America/Los_Angeles          # the integration user's time zone preference
//     date_format: M/D/YYYY                   # the user's date format preference
//     streams: [customer, sales_order, sales_order_line, invoice, payment]
//     page_size: 1000                         # limit per request, at most 1000
//
// Authentication is OAuth 2.0 client credentials with a JWT client assertion
// (client_assertion_type urn:ietf:params:oauth:client-assertion-type:jwt-bearer) signed with
// the certificate's private key: header {typ JWT, alg, kid certificate_id}, claims {iss
// client_id, scope rest_webservices, aud the token endpoint, iat, exp}. The JWS is built
// with the standard library (crypto/rsa PSS or PKCS #1 v1.5, crypto/ecdsa): go.mod has no
// JOSE library and x/oauth2's jwt package implements the JWT-bearer *grant*, not a client
// assertion for client_credentials. The token request goes through extract/httpx (retries;
// a 401 from the API fetches a new token once).
//
// Streams: customer, item, sales_order (transaction type SalesOrd), sales_order_line
// (transactionline joined to its sales order, mainline and tax lines excluded), invoice
// (CustInvc), payment (CustPymt), return_authorization (RtnAuth), and the snapshots
// inventory_item_location, currency, term, location. Columns are NetSuite's field names;
// every value arrives as a string and lands typed: amounts decimal(18,2) exactly ("14.5",
// ".5"), 'T'/'F' as booleans, dates in the account's date format as dates, and date/times —
// which SuiteQL renders as a date only — selected again as TO_CHAR(field, 'YYYY-MM-DD
// HH24:MI:SS') in the user's time zone and converted to UTC.
//
// Incremental reads page by keyset, each page a new query from the cursor, so no query
// ever pages past SuiteQL's 100,000-result cap and no row shifts between pages:
//
//	SELECT t.*, TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS revcast_ts_lastmodifieddate
//	FROM transaction t WHERE t.type = 'SalesOrd'
//	  AND t.lastmodifieddate >= TO_TIMESTAMP('2024-05-20 13:49:32', 'YYYY-MM-DD HH24:MI:SS')
//	ORDER BY t.lastmodifieddate, t.id
//
// The cursor keeps the last change instant (UTC, seconds: NetSuite's precision) and the ids
// landed at it; those are skipped, so ties at page and run boundaries are neither lost nor
// doubled. The literal is the cursor in the user's time zone; where that wall time occurs
// twice (the hour a DST change repeats) the literal is taken an hour earlier, so it never
// starts after the cursor whichever instant NetSuite reads it as; returned wall times in that
// hour are placed by their order (rows arrive in instant order). Setting the integration
// user's time zone to GMT avoids the question altogether. If a page brings nothing new (more
// rows share one second than a page holds) the same query pages on by offset.
//
// Deletions: transaction, customer and item streams read deletedrecord after their rows
// and emit the ids as tombstones (Batch.Deleted).
//
// Schema drift: queries select t.*, so fields added to a record land as extra text columns
// and fields removed land as null; a field whose values no longer parse as the type it has
// landed as stops the stream with a *SchemaError naming table and field.
package netsuite

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"math/big"
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
const TypeName = "netsuite"

// Defaults.
const (
	DefaultPrivateKeyEnv = "NETSUITE_PRIVATE_KEY"
	DefaultAlgorithm     = "PS256"
	DefaultScope         = "rest_webservices"
	DefaultTimeZone      = "America/Los_Angeles"
	DefaultDateFormat    = "M/D/YYYY"
	DefaultPageSize      = 1000
	MaxPageSize          = 1000
	// TokenPath and SuiteQLPath are the REST resources the connector uses.
	TokenPath   = "/services/rest/auth/oauth2/v1/token"
	SuiteQLPath = "/services/rest/query/v1/suiteql"
)

func init() {
	extract.Register(TypeName, func() extract.Source { return New() })
}

// New returns a Source with its defaults set.
func New() *Source {
	return &Source{PrivateKeyEnv: DefaultPrivateKeyEnv, Algorithm: DefaultAlgorithm, Scope: DefaultScope, TimeZone: DefaultTimeZone,
		DateFormat: DefaultDateFormat, PageSize: DefaultPageSize}
}

// Source is the NetSuite connector and its configuration (decoded from YAML, then Init).
type Source struct {
	// AccountID is the account id (1234567, or 1234567_SB1 for a sandbox account).
	AccountID string `yaml:"account_id"`
	// URL overrides the REST base URL, https://<account-id>.suitetalk.api.netsuite.com.
	URL string `yaml:"url"`
	// ClientID is the integration record's client id (the assertion's iss).
	ClientID string `yaml:"client_id"`
	// CertificateID is the certificate id from the OAuth 2.0 Client Credentials (M2M)
	// setup (the assertion's kid).
	CertificateID string `yaml:"certificate_id"`
	// PrivateKeyEnv names the environment variable holding the certificate's private key
	// in PEM (PKCS #8, PKCS #1 or SEC 1). Default NETSUITE_PRIVATE_KEY.
	PrivateKeyEnv string `yaml:"private_key_env"`
	// PrivateKeyFile is a file holding the PEM key, used instead of PrivateKeyEnv when set.
	PrivateKeyFile string `yaml:"private_key_file"`
	// Algorithm signs the assertion: PS256 (default), PS384, PS512, RS256, ES256.
	Algorithm string `yaml:"algorithm"`
	// Scope of the token request; default rest_webservices.
	Scope string `yaml:"scope"`
	// TimeZone is the integration user's time zone preference (IANA name): NetSuite
	// renders and reads date/times in it. Default America/Los_Angeles.
	TimeZone string `yaml:"time_zone"`
	// DateFormat is the user's date format preference as NetSuite shows it (M/D/YYYY,
	// D/M/YYYY, MM/DD/YYYY, DD.MM.YYYY, YYYY-MM-DD, ...). Default M/D/YYYY.
	DateFormat string `yaml:"date_format"`
	// StreamNames to extract; default all of the catalog.
	StreamNames []string `yaml:"streams"`
	// PageSize is the limit of each request, 1..1000. Default 1000.
	PageSize int `yaml:"page_size"`

	// Now is the clock of token claims and snapshot stamps; default time.Now.
	Now func() time.Time `yaml:"-"`
	// Getenv reads the key's environment variable; default os.Getenv.
	Getenv func(string) string `yaml:"-"`
	// HTTP configures retries and the transport; zero values take httpx's defaults.
	HTTP httpx.Options `yaml:"-"`
	// Logger receives debug and warning messages; default discard.
	Logger *slog.Logger `yaml:"-"`
	// Allocator for Arrow buffers; default memory.DefaultAllocator.
	Allocator memory.Allocator `yaml:"-"`

	streams  []stream
	loc      *time.Location
	goLayout string // DateFormat as a Go layout
	api      *httpx.Client
	auth     *httpx.Client
	tokens   *httpx.CachedToken
}

// Init validates the configuration and builds the HTTP clients. It does not touch the
// network and does not read the private key.
func (s *Source) Init() error {
	bad := func(format string, args ...any) error { return fmt.Errorf("netsuite: "+format, args...) }
	if s.AccountID == "" && s.URL == "" {
		return bad("account_id is required (Setup > Company > Company Information > Account ID)")
	}
	if s.URL == "" {
		s.URL = "https://" + strings.ReplaceAll(strings.ToLower(s.AccountID), "_", "-") + ".suitetalk.api.netsuite.com"
	}
	if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return bad("url %q is not an http(s) URL", s.URL)
	}
	s.URL = strings.TrimRight(s.URL, "/")
	if s.ClientID == "" {
		return bad("client_id is required (the integration record's client id)")
	}
	if s.CertificateID == "" {
		return bad("certificate_id is required (Setup > Integration > OAuth 2.0 Client Credentials (M2M) Setup)")
	}
	if s.PrivateKeyEnv == "" && s.PrivateKeyFile == "" {
		s.PrivateKeyEnv = DefaultPrivateKeyEnv
	}
	if s.PrivateKeyFile != "" {
		if _, err := os.Stat(s.PrivateKeyFile); err != nil {
			return bad("private_key_file: %v", err)
		}
	}
	if s.Algorithm == "" {
		s.Algorithm = DefaultAlgorithm
	}
	switch s.Algorithm {
	case "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "ES256":
	default:
		return bad("algorithm %q: want PS256, PS384, PS512, RS256 or ES256", s.Algorithm)
	}
	if s.Scope == "" {
		s.Scope = DefaultScope
	}
	if s.TimeZone == "" {
		s.TimeZone = DefaultTimeZone
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return bad("time_zone %q: %v (want an IANA name like America/Los_Angeles, matching the integration user's preference)", s.TimeZone, err)
	}
	s.loc = loc
	if s.DateFormat == "" {
		s.DateFormat = DefaultDateFormat
	}
	if s.goLayout, err = goDateLayout(s.DateFormat); err != nil {
		return bad("date_format %q: %v", s.DateFormat, err)
	}
	if s.PageSize == 0 {
		s.PageSize = DefaultPageSize
	}
	if s.PageSize < 1 || s.PageSize > MaxPageSize {
		return bad("page_size %d: SuiteQL accepts a limit of 1 to %d", s.PageSize, MaxPageSize)
	}
	sel, err := extract.SelectNamed("streams", "stream", s.StreamNames, DefaultStreams, DefaultStreams, lookup,
		func(d stream) string { return d.Name })
	if err != nil {
		return bad("%v", err)
	}
	s.streams = sel
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
	s.tokens = &httpx.CachedToken{Fetch: s.fetchToken}
	s.auth = httpx.New(nil, opts)
	s.api = httpx.New(s.tokens, opts)
	return nil
}

// goDateLayout converts a NetSuite date format (M/D/YYYY, DD.MM.YYYY, ...) to a Go layout.
func goDateLayout(f string) (string, error) {
	r := strings.NewReplacer("YYYY", "2006", "MM", "01", "DD", "02", "M", "1", "D", "2")
	l := r.Replace(strings.ToUpper(f))
	if !strings.Contains(l, "2006") || !strings.Contains(l, "1") || !strings.Contains(l, "2") {
		return "", errors.New("want day, month and year, like M/D/YYYY or DD.MM.YYYY")
	}
	return l, nil
}

// Streams lists one stream per configured catalog entry.
func (s *Source) Streams(ctx context.Context) ([]extract.Stream, error) {
	list := s.streams
	if len(list) == 0 {
		// Not initialised (the warehouse asks every connector type for its declared
		// streams so the staging models compile): the whole catalog.
		list = catalog
	}
	out := make([]extract.Stream, len(list))
	for i, st := range list {
		out[i] = extract.Stream{Name: st.Name, Schema: extract.SchemaForColumns("", st.columns()), Key: st.Keys}
	}
	return out, nil
}

// AuthError is a failed authentication; its message says which setting to check.
type AuthError struct {
	Status int
	Code   string
	msg    string
}

// Error returns the message, which names the setting to check.
func (e *AuthError) Error() string { return e.msg }

// APIError is a REST error answer: the HTTP status and the first of NetSuite's
// o:errorDetails.
type APIError struct {
	Status int
	Code   string // o:errorCode, like INVALID_PARAMETER
	Detail string
}

// Error renders "HTTP 400 <o:errorCode>: <detail>".
func (e *APIError) Error() string { return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Detail) }

// SchemaError is a field whose values no longer parse as the type it has landed as.
type SchemaError struct {
	Table, Field string
	Landed       string
	Value        string
}

// Error names table, field, the landed type and the value, and what to do.
func (e *SchemaError) Error() string {
	return fmt.Sprintf("netsuite: %s.%s changed type: landed as %s, now %q; fix the field definition or re-extract the stream with --full after moving its lake folder aside",
		e.Table, e.Field, e.Landed, e.Value)
}

// privateKey reads the certificate's private key.
func (s *Source) privateKey() (crypto.Signer, error) {
	var data []byte
	where := ""
	if s.PrivateKeyFile != "" {
		b, err := os.ReadFile(s.PrivateKeyFile)
		if err != nil {
			return nil, &AuthError{msg: fmt.Sprintf("netsuite: private_key_file: %v", err)}
		}
		data, where = b, "private_key_file "+s.PrivateKeyFile
	} else {
		v := s.Getenv(s.PrivateKeyEnv)
		if v == "" {
			return nil, &AuthError{msg: fmt.Sprintf("netsuite: token request not sent: the environment variable %s (named by private_key_env) is not set; set it to the PEM private key of certificate %s", s.PrivateKeyEnv, s.CertificateID)}
		}
		data, where = []byte(v), "the env var "+s.PrivateKeyEnv
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		return nil, &AuthError{msg: fmt.Sprintf("netsuite: %s does not hold a PEM private key", where)}
	}
	var key any
	var err error
	switch blk.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	}
	if err != nil {
		return nil, &AuthError{msg: fmt.Sprintf("netsuite: %s: cannot parse the private key (%v)", where, err)}
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, &AuthError{msg: fmt.Sprintf("netsuite: %s: unsupported key type %T", where, key)}
	}
	return signer, nil
}

// assertion builds the signed JWT client assertion.
func (s *Source) assertion(key crypto.Signer, tokenURL string) (string, error) {
	now := s.Now().Unix()
	hdr, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": s.Algorithm, "kid": s.CertificateID})
	claims, _ := json.Marshal(map[string]any{"iss": s.ClientID, "scope": s.Scope, "aud": tokenURL, "iat": now, "exp": now + 30*60})
	input := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(claims)
	var h hash.Hash
	var ch crypto.Hash
	switch s.Algorithm[2:] {
	case "256":
		h, ch = sha256.New(), crypto.SHA256
	case "384":
		h, ch = sha512.New384(), crypto.SHA384
	default:
		h, ch = sha512.New(), crypto.SHA512
	}
	h.Write([]byte(input))
	digest := h.Sum(nil)
	var sig []byte
	var err error
	switch k := key.(type) {
	case *rsa.PrivateKey:
		switch s.Algorithm[:2] {
		case "PS":
			sig, err = rsa.SignPSS(rand.Reader, k, ch, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		case "RS":
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, ch, digest)
		default:
			err = fmt.Errorf("algorithm %s needs an EC key, the key is RSA", s.Algorithm)
		}
	case *ecdsa.PrivateKey:
		if s.Algorithm != "ES256" {
			return "", fmt.Errorf("algorithm %s needs an RSA key, the key is EC", s.Algorithm)
		}
		var r, sv *big.Int
		if r, sv, err = ecdsa.Sign(rand.Reader, k, digest); err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			sv.FillBytes(sig[32:])
		}
	default:
		err = fmt.Errorf("unsupported key type %T", key)
	}
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// fetchToken runs the client credentials grant with a fresh JWT assertion.
func (s *Source) fetchToken(ctx context.Context) (string, error) {
	key, err := s.privateKey()
	if err != nil {
		return "", err
	}
	tokenURL := s.URL + TokenPath
	jwt, err := s.assertion(key, tokenURL)
	if err != nil {
		return "", &AuthError{msg: fmt.Sprintf("netsuite: cannot sign the client assertion: %v — check algorithm against the certificate's key", err)}
	}
	form := url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {jwt}}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"application/json"}}
	resp, err := s.auth.Do(ctx, http.MethodPost, tokenURL, h, []byte(form.Encode()))
	if err != nil {
		var se *httpx.StatusError
		if !errors.As(err, &se) {
			return "", &AuthError{msg: fmt.Sprintf("netsuite: token request failed: %v — check account_id / url", err)}
		}
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		json.Unmarshal(se.Body, &oe)
		hint := "check client_id, certificate_id and the key"
		switch oe.Error {
		case "invalid_client":
			hint = "check client_id, certificate_id and that the key belongs to the mapped certificate"
		case "invalid_grant":
			hint = "check the machine's clock (the assertion's iat/exp)"
		case "invalid_scope":
			hint = "check scope and the integration record's scopes (REST Web Services)"
		}
		return "", &AuthError{Status: se.Status, Code: oe.Error, msg: fmt.Sprintf("netsuite: token request failed: %d %s (%s) — %s", se.Status, oe.Error, oe.Description, hint)}
	}
	var tok struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"` // NetSuite sends a string
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil || tok.AccessToken == "" {
		return "", &AuthError{msg: "netsuite: token request failed: the response has no access_token"}
	}
	return tok.AccessToken, nil
}

// query runs one SuiteQL page.
func (s *Source) query(ctx context.Context, q string, limit, offset int) ([]byte, error) {
	body, _ := json.Marshal(map[string]string{"q": q})
	u := s.URL + SuiteQLPath + "?limit=" + strconv.Itoa(limit) + "&offset=" + strconv.Itoa(offset)
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}, "Prefer": {"transient"}}
	resp, err := s.api.Do(ctx, http.MethodPost, u, h, body)
	if err == nil {
		return resp.Body, nil
	}
	var se *httpx.StatusError
	if !errors.As(err, &se) {
		return nil, err
	}
	var doc struct {
		Details []struct {
			Detail string `json:"detail"`
			Code   string `json:"o:errorCode"`
		} `json:"o:errorDetails"`
	}
	json.Unmarshal(se.Body, &doc)
	if se.Status == http.StatusUnauthorized {
		return nil, &AuthError{Status: 401, Code: "INVALID_LOGIN", msg: "netsuite: 401 INVALID_LOGIN: the access token was rejected twice — check the integration role's permissions (REST Web Services, SuiteAnalytics Workbook) and the Login Audit Trail"}
	}
	if len(doc.Details) > 0 {
		return nil, &APIError{Status: se.Status, Code: doc.Details[0].Code, Detail: doc.Details[0].Detail}
	}
	return nil, err
}

// wrap prefixes err with the operation, leaving errors with a complete message alone.
func wrap(op string, err error) error {
	var ae *AuthError
	var sc *SchemaError
	if errors.As(err, &ae) || errors.As(err, &sc) {
		return err
	}
	return fmt.Errorf("netsuite: %s: %w", op, err)
}
