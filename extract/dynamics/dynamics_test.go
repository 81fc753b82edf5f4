package dynamics_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/dynamics"
	"github.com/revcast/revcast/extract/httpx"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
)

var (
	companyOnce sync.Once
	company     *fixtures.Company
	companyErr  error
)

// smallCompany is the generator's company at 2,000 opportunities (seed 1); every
// environment loads it whole (sandbox.WholeCompany), so ids can be compared with every
// record the generator made.
func smallCompany(t testing.TB) *fixtures.Company {
	t.Helper()
	companyOnce.Do(func() {
		company, companyErr = fixtures.Generate(fixtures.Options{Seed: 1, Opportunities: fixtures.ScaleSmall})
	})
	if companyErr != nil {
		t.Fatal(companyErr)
	}
	return company
}

// newOrg starts a Dynamics sandbox holding c on a loopback server; wrap, when not nil,
// wraps its handler.
func newOrg(t testing.TB, c *fixtures.Company, opts sandbox.DynamicsOptions, wrap func(http.Handler) http.Handler) (*sandbox.DynamicsOrg, *httptest.Server) {
	t.Helper()
	d := sandbox.NewDynamicsOrg(opts)
	if err := d.LoadCompany(c, sandbox.WholeCompany(sandbox.CRMDynamics).Holds(sandbox.CRMDynamics)); err != nil {
		t.Fatal(err)
	}
	var h http.Handler = d
	if wrap != nil {
		h = wrap(d)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return d, srv
}

func newSource(t testing.TB, srv *httptest.Server, edit func(*dynamics.Source)) *dynamics.Source {
	t.Helper()
	s := dynamics.New()
	s.OrgURL = srv.URL
	s.AuthorityURL = srv.URL
	s.TenantID = sandbox.DynamicsDemoTenantID
	s.ClientID = sandbox.DynamicsDemoClientID
	s.Getenv = func(name string) string {
		if name == "DYNAMICS_CLIENT_SECRET" {
			return sandbox.DynamicsDemoClientSecret
		}
		return ""
	}
	s.HTTP = httpx.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, RetryMax: 30}
	s.PageSize = 100
	if edit != nil {
		edit(s)
	}
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	return s
}

func stream(t testing.TB, s *dynamics.Source, name string) extract.Stream {
	t.Helper()
	streams, err := s.Streams(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range streams {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no stream %s", name)
	return extract.Stream{}
}

type version struct {
	id string
	v  int64 // versionnumber
}

type landing struct {
	versions []version
	deleted  []string
	rows     int
	cursor   json.RawMessage
	schemas  []*arrow.Schema
	rejects  []extract.Reject
	last     map[string]map[string]string
}

func (l *landing) add(t testing.TB, key string, b extract.Batch) {
	t.Helper()
	l.rejects = append(l.rejects, b.Rejects...)
	if b.Record != nil {
		rec := b.Record
		l.schemas = append(l.schemas, rec.Schema())
		ids := rec.Column(rec.Schema().FieldIndices(key)[0]).(*array.String)
		vs := rec.Column(rec.Schema().FieldIndices("versionnumber")[0]).(*array.Int64)
		if l.last == nil {
			l.last = map[string]map[string]string{}
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			l.versions = append(l.versions, version{ids.Value(i), vs.Value(i)})
			row := map[string]string{}
			for c := 0; c < int(rec.NumCols()); c++ {
				if !rec.Column(c).IsNull(i) {
					row[rec.Schema().Field(c).Name] = rec.Column(c).ValueStr(i)
				}
			}
			l.last[ids.Value(i)] = row
		}
		l.rows += int(rec.NumRows())
		rec.Release()
	}
	l.deleted = append(l.deleted, b.Deleted...)
	if len(b.Cursor) > 0 {
		l.cursor = b.Cursor
	}
}

// drain reads stream from cursor to the end like the Runner does; with stopEvery > 0 the
// reader is closed after every stopEvery-th batch that landed something and reopened
// from the cursor saved so far, as if the process had been killed right after landing it.
func drain(t testing.TB, s *dynamics.Source, st extract.Stream, cursor json.RawMessage, stopEvery int) (*landing, error) {
	t.Helper()
	ctx := context.Background()
	l := &landing{cursor: cursor}
	rd, err := s.Read(ctx, st, l.cursor)
	if err != nil {
		return l, err
	}
	n := 0
	for batches := 0; ; batches++ {
		if batches > 100000 {
			t.Fatal("the reader never ends")
		}
		b, err := rd.Next(ctx)
		if err == io.EOF {
			rd.Close()
			return l, nil
		}
		if err != nil {
			rd.Close()
			return l, err
		}
		landed := (b.Record != nil && b.Record.NumRows() > 0) || len(b.Deleted) > 0
		l.add(t, st.Key[0], b)
		if landed {
			n++
		}
		if landed && stopEvery > 0 && n%stopEvery == 0 {
			rd.Close()
			if rd, err = s.Read(ctx, st, l.cursor); err != nil {
				return l, err
			}
		}
	}
}

// state is the latest version per id minus ids with a tombstone after it.
func (l *landing) state() map[string]int64 {
	out := map[string]int64{}
	for _, v := range l.versions {
		if v.v >= out[v.id] {
			out[v.id] = v.v
		}
	}
	for _, id := range l.deleted {
		delete(out, id)
	}
	return out
}

// assertMirrors checks that the landing reproduces the environment's live rows (ids and
// versions) and that no version landed twice. With deletesSeen false (modifiedon mode,
// which cannot see deletions) landed rows deleted in the environment are tolerated.
func assertMirrors(t *testing.T, d *sandbox.DynamicsOrg, set string, l *landing, deletesSeen bool) {
	t.Helper()
	want, gone := map[string]int64{}, map[string]bool{}
	for _, r := range d.Records(set) {
		if r.Deleted {
			gone[r.ID] = true
		} else {
			want[r.ID] = r.Version
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s: the sandbox has no rows; the test proves nothing", set)
	}
	seen := map[version]bool{}
	for _, v := range l.versions {
		if seen[v] {
			t.Errorf("%s %s version %d landed twice", set, v.id, v.v)
		}
		seen[v] = true
	}
	got := l.state()
	for id, v := range want {
		if g, ok := got[id]; !ok {
			t.Errorf("%s %s (live) is missing", set, id)
		} else if g != v {
			t.Errorf("%s %s landed at version %d, the environment has %d", set, id, g, v)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok && (deletesSeen || !gone[id]) {
			t.Errorf("%s %s landed but is not live in the environment", set, id)
		}
	}
}

func TestDynamics_EveryRowExactlyOnce(t *testing.T) {
	c := smallCompany(t)
	d, srv := newOrg(t, c, sandbox.DynamicsOptions{}, nil)
	for _, mode := range []string{dynamics.ModeDelta, dynamics.ModeModifiedOn} {
		src := newSource(t, srv, func(s *dynamics.Source) { s.Mode = mode })
		for _, set := range dynamics.DefaultEntities {
			for _, stop := range []int{0, 1, 5} {
				t.Run(fmt.Sprintf("%s/%s/kill-every=%d", mode, set, stop), func(t *testing.T) {
					l, err := drain(t, src, stream(t, src, set), nil, stop)
					if err != nil {
						t.Fatal(err)
					}
					assertMirrors(t, d, set, l, true)
					if len(l.versions) != len(l.state()) || len(l.deleted) != 0 || len(l.rejects) != 0 {
						t.Errorf("%d versions for %d rows, %d tombstones, %d rejects on a first read", len(l.versions), len(l.state()), len(l.deleted), len(l.rejects))
					}
				})
			}
		}
	}
	t.Run("generator ids", func(t *testing.T) {
		src := newSource(t, srv, nil)
		l, err := drain(t, src, stream(t, src, "opportunities"), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.versions) != len(c.Opportunities) {
			t.Fatalf("%d opportunities landed, the generator made %d", len(l.versions), len(c.Opportunities))
		}
		for i := range c.Opportunities {
			o := &c.Opportunities[i]
			row := l.last[sandbox.DynamicsOpportunityID(o.ID)]
			state := map[bool]string{true: "0"}[!o.IsClosed()]
			if o.IsClosed() {
				state = map[bool]string{true: "1", false: "2"}[o.IsWon()]
			}
			if row["rc_revcastid"] != o.ID.String() || row["_parentaccountid_value"] != sandbox.DynamicsAccountID(o.Account) || row["statecode"] != state {
				t.Fatalf("opportunity %s = %v, want rc_revcastid %s, account %s, statecode %s", o.ID, row, o.ID, sandbox.DynamicsAccountID(o.Account), state)
			}
		}
	})
}

func TestDynamics_Incremental(t *testing.T) {
	c := smallCompany(t)
	for _, mode := range []string{dynamics.ModeDelta, dynamics.ModeModifiedOn} {
		t.Run(mode, func(t *testing.T) {
			d, srv := newOrg(t, c, sandbox.DynamicsOptions{}, nil)
			src := newSource(t, srv, func(s *dynamics.Source) { s.Mode = mode })
			st := stream(t, src, "opportunities")
			first, err := drain(t, src, st, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			second, err := drain(t, src, st, first.cursor, 0)
			if err != nil {
				t.Fatal(err)
			}
			if second.rows != 0 || len(second.deleted) != 0 {
				t.Fatalf("second run with no changes: %d rows, %d tombstones; want 0", second.rows, len(second.deleted))
			}
			// 150 changes share one modifiedon second: more ties than a page holds.
			res, err := d.Mutate(sandbox.DynOpportunities, 150, 9, 42)
			if err != nil {
				t.Fatal(err)
			}
			for _, stop := range []int{0, 1} {
				third, err := drain(t, src, st, second.cursor, stop)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, v := range third.versions {
					got = append(got, v.id)
				}
				slices.Sort(got)
				if want := slices.Sorted(slices.Values(res.Changed)); !slices.Equal(got, want) {
					t.Errorf("kill-every=%d: changed run landed %d rows, want exactly the %d changed", stop, len(got), len(want))
				}
				wantDel := slices.Sorted(slices.Values(res.Deleted))
				if mode == dynamics.ModeModifiedOn {
					wantDel = nil // modifiedon cannot see deletions
				}
				if dels := slices.Sorted(slices.Values(third.deleted)); !slices.Equal(dels, wantDel) {
					t.Errorf("kill-every=%d: tombstones %v, want %v", stop, dels, wantDel)
				}
				all := &landing{versions: append(slices.Clone(first.versions), third.versions...), deleted: third.deleted}
				assertMirrors(t, d, sandbox.DynOpportunities, all, mode == dynamics.ModeDelta)
				fourth, err := drain(t, src, st, third.cursor, 0)
				if err != nil {
					t.Fatal(err)
				}
				if fourth.rows != 0 || len(fourth.deleted) != 0 {
					t.Errorf("run after the changes: %d rows, %d tombstones; want 0", fourth.rows, len(fourth.deleted))
				}
			}
		})
	}
}

const allFaults = "429:0.05,503:0.05,limit:0.05,retry-after:0,expire-token:every=7,slow:2ms:0.05,fail-page-once,dup-ts-at-page-boundary,mutate-during-extract"

func TestDynamics_Faults(t *testing.T) {
	c := smallCompany(t)
	for _, tc := range []struct {
		mode string
		seed uint64
	}{{dynamics.ModeDelta, 5}, {dynamics.ModeDelta, 13}, {dynamics.ModeDelta, 31}, {dynamics.ModeModifiedOn, 5}, {dynamics.ModeModifiedOn, 13}} {
		mode, seed := tc.mode, tc.seed
		t.Run(fmt.Sprintf("%s/seed=%d", mode, seed), func(t *testing.T) {
			f, err := sandbox.ParseFaults(allFaults, seed)
			if err != nil {
				t.Fatal(err)
			}
			d, srv := newOrg(t, c, sandbox.DynamicsOptions{Faults: f}, nil)
			src := newSource(t, srv, func(s *dynamics.Source) { s.Mode = mode })
			st := stream(t, src, "opportunities")
			l, err := drain(t, src, st, nil, 3)
			if err != nil {
				t.Fatal(err)
			}
			f.MutateDuringExtract = false
			more, err := drain(t, src, st, l.cursor, 0)
			if err != nil {
				t.Fatal(err)
			}
			all := &landing{versions: append(l.versions, more.versions...), deleted: append(l.deleted, more.deleted...)}
			assertMirrors(t, d, sandbox.DynOpportunities, all, mode == dynamics.ModeDelta)
			counts := d.RequestCounts()
			for _, k := range []string{"fault 429", "fault 503", "fault limit", "401 expired"} {
				if seed == 5 && counts[k] == 0 {
					t.Errorf("fault %q never happened: %v", k, counts)
				}
			}
			if _, del := d.Count(sandbox.DynOpportunities); del == 0 || (mode == dynamics.ModeDelta && len(all.deleted) == 0) {
				t.Errorf("no deletion during the extraction (%d deleted, %d tombstones)", del, len(all.deleted))
			}
		})
	}
}

func TestDynamics_WebAPI(t *testing.T) {
	c := smallCompany(t)
	_, srv := newOrg(t, c, sandbox.DynamicsOptions{}, nil)
	src := newSource(t, srv, nil)
	// A token the way the connector gets one.
	form := "grant_type=client_credentials&client_id=" + sandbox.DynamicsDemoClientID + "&client_secret=" + sandbox.DynamicsDemoClientSecret + "&scope=" + srv.URL + "/.default"
	resp, err := http.Post(srv.URL+"/"+sandbox.DynamicsDemoTenantID+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.AccessToken == "" || tok.ExpiresIn <= 0 || tok.TokenType != "Bearer" {
		t.Fatalf("token response %+v", tok)
	}
	get := func(path string, prefer string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/data/v9.2/"+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if prefer != "" {
			req.Header.Set("Prefer", prefer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc map[string]any
		json.NewDecoder(resp.Body).Decode(&doc)
		return resp, doc
	}
	r, doc := get("opportunities?$select=name&$skip=10", "")
	if r.StatusCode != http.StatusBadRequest || doc["error"] == nil {
		t.Errorf("$skip: HTTP %d %v, want 400 with an OData error", r.StatusCode, doc)
	}
	r, doc = get("opportunities?$select=name,estimatedvalue&$filter=statecode%20eq%201%20and%20modifiedon%20ge%202024-01-01T00:00:00Z", "odata.maxpagesize=7")
	if r.Header.Get("Preference-Applied") != "odata.maxpagesize=7" || len(doc["value"].([]any)) != 7 || doc["@odata.nextLink"] == nil {
		t.Errorf("maxpagesize: Preference-Applied %q, %d rows, nextLink %v", r.Header.Get("Preference-Applied"), len(doc["value"].([]any)), doc["@odata.nextLink"])
	}
	row := doc["value"].([]any)[0].(map[string]any)
	if row["@odata.etag"] == nil || row["opportunityid"] == nil || !strings.Contains(doc["@odata.context"].(string), "$metadata#opportunities(name,estimatedvalue)") {
		t.Errorf("row %v, context %v", row, doc["@odata.context"])
	}
	r, _ = get("opportunities?$select=name&$filter=modifiedon%20ge%202024-01-01T00:00:00Z", "odata.track-changes")
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("change tracking with $filter: HTTP %d, want 400", r.StatusCode)
	}
	// Write-back: PATCH answers 204 and the change is visible.
	id := sandbox.DynamicsOpportunityID(c.Opportunities[0].ID)
	if err := src.Update(context.Background(), "opportunities", id, map[string]any{"description": "scored by revcast"}, ""); err != nil {
		t.Fatal(err)
	}
	_, doc = get("opportunities?$select=description&$filter=opportunityid%20eq%20"+id, "")
	if v := doc["value"].([]any); len(v) != 1 || v[0].(map[string]any)["description"] != "scored by revcast" {
		t.Errorf("after PATCH: %v", doc)
	}
}

func TestDynamics_SchemaDrift(t *testing.T) {
	c := smallCompany(t)
	d, srv := newOrg(t, c, sandbox.DynamicsOptions{}, nil)
	src := newSource(t, srv, nil)
	st := stream(t, src, "opportunities")
	if err := d.AddAttribute(sandbox.DynOpportunities, "rc_renewalrisk", "String"); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveAttribute(sandbox.DynOpportunities, "description"); err != nil {
		t.Fatal(err)
	}
	l, err := drain(t, src, st, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sc := l.schemas[0]; !sc.HasField("rc_renewalrisk") || !sc.HasField("description") {
		t.Fatalf("schema %v: want the new rc_renewalrisk and the removed description (nulls)", sc)
	}
	if err := d.SetAttributeType(sandbox.DynOpportunities, "estimatedvalue", "String"); err != nil {
		t.Fatal(err)
	}
	_, err = drain(t, src, st, l.cursor, 0)
	var se *dynamics.SchemaError
	if !errors.As(err, &se) || se.Entity != "opportunities" || se.Column != "estimatedvalue" {
		t.Fatalf("err = %v, want a SchemaError naming opportunities.estimatedvalue", err)
	}
}

func TestDynamics_AuthAndQuota(t *testing.T) {
	c := smallCompany(t)
	t.Run("wrong secret", func(t *testing.T) {
		_, srv := newOrg(t, c, sandbox.DynamicsOptions{}, nil)
		src := newSource(t, srv, func(s *dynamics.Source) { s.Getenv = func(string) string { return "not-the-secret" } })
		_, err := drain(t, src, stream(t, src, "opportunities"), nil, 0)
		var ae *dynamics.AuthError
		if !errors.As(err, &ae) || ae.Code != "invalid_client" || !strings.Contains(err.Error(), "DYNAMICS_CLIENT_SECRET") || strings.Contains(err.Error(), "not-the-secret") {
			t.Fatalf("err = %v, want an invalid_client AuthError naming the env var and not the secret", err)
		}
	})
	t.Run("service protection", func(t *testing.T) {
		// After 8 API requests every request is throttled: the reader stops cleanly.
		var n atomic.Int64
		var limit atomic.Bool
		limit.Store(true)
		throttle := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/api/") && limit.Load() && n.Add(1) > 8 {
					w.Header().Set("Retry-After", "0")
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusTooManyRequests)
					fmt.Fprint(w, `{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}`)
					return
				}
				h.ServeHTTP(w, r)
			})
		}
		d, srv := newOrg(t, c, sandbox.DynamicsOptions{}, throttle)
		src := newSource(t, srv, func(s *dynamics.Source) { s.HTTP.RetryMax = 3 })
		st := stream(t, src, "opportunities")
		l, err := drain(t, src, st, nil, 0)
		if !errors.Is(err, dynamics.ErrQuota) || l.rows == 0 {
			t.Fatalf("err = %v after %d rows, want a quota stop after some pages", err, l.rows)
		}
		limit.Store(false)
		rest, err := drain(t, src, st, l.cursor, 0)
		if err != nil {
			t.Fatal(err)
		}
		all := &landing{versions: append(l.versions, rest.versions...), deleted: rest.deleted}
		assertMirrors(t, d, sandbox.DynOpportunities, all, true)
	})
}

func TestDynamics_Medium(t *testing.T) {
	if testing.Short() {
		t.Skip("medium scale (50,000 opportunities) runs without -short")
	}
	c, err := fixtures.Generate(fixtures.Options{Seed: 2, Opportunities: fixtures.ScaleMedium})
	if err != nil {
		t.Fatal(err)
	}
	d, srv := newOrg(t, c, sandbox.DynamicsOptions{}, nil)
	src := newSource(t, srv, func(s *dynamics.Source) { s.PageSize = 5000 })
	for _, set := range []string{"opportunities", "accounts"} {
		l, err := drain(t, src, stream(t, src, set), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		assertMirrors(t, d, set, l, true)
	}
}

// BenchmarkDynamics_Opportunities measures extracting opportunities through change
// tracking (pages of 5000) from the sandbox over loopback.
func BenchmarkDynamics_Opportunities(b *testing.B) {
	c, err := fixtures.Generate(fixtures.Options{Seed: 2, Opportunities: 20000})
	if err != nil {
		b.Fatal(err)
	}
	d, srv := newOrg(b, c, sandbox.DynamicsOptions{}, nil)
	src := newSource(b, srv, func(s *dynamics.Source) { s.PageSize = 5000 })
	st := stream(b, src, "opportunities")
	live, _ := d.Count(sandbox.DynOpportunities)
	b.ResetTimer()
	start := time.Now()
	rows := 0
	for i := 0; i < b.N; i++ {
		ctx := context.Background()
		rd, err := src.Read(ctx, st, nil)
		if err != nil {
			b.Fatal(err)
		}
		for {
			bt, err := rd.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if bt.Record != nil {
				rows += int(bt.Record.NumRows())
				bt.Record.Release()
			}
		}
		rd.Close()
	}
	if rows != live*b.N {
		b.Fatalf("%d rows, want %d", rows, live*b.N)
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "records/s")
}
