package hubspot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/httpx"
	"github.com/revcast/revcast/extract/hubspot"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
)

var (
	companyOnce sync.Once
	company     *fixtures.Company
	companyErr  error
)

// smallCompany is the generator's company at 2,000 opportunities (seed 1), shared by the
// tests: every portal loads it whole (sandbox.WholeCompany), so ids can be compared with
// every record the generator made.
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

// newPortal starts a HubSpot sandbox holding c on a loopback server.
func newPortal(t testing.TB, c *fixtures.Company, opts sandbox.HubSpotOptions) (*sandbox.HubSpotPortal, *httptest.Server) {
	t.Helper()
	p := sandbox.NewHubSpotPortal(opts)
	if err := p.LoadCompany(c, sandbox.WholeCompany(sandbox.CRMHubSpot).Holds(sandbox.CRMHubSpot)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv
}

var testEnv = map[string]string{
	"HUBSPOT_ACCESS_TOKEN":  sandbox.HubSpotDemoToken,
	"HUBSPOT_CLIENT_SECRET": sandbox.HubSpotDemoClientSecret,
	"HUBSPOT_REFRESH_TOKEN": sandbox.HubSpotDemoRefreshToken,
}

// newSource returns an initialised connector pointed at srv.
func newSource(t testing.TB, srv *httptest.Server, edit func(*hubspot.Source)) *hubspot.Source {
	t.Helper()
	s := hubspot.New()
	s.BaseURL = srv.URL
	s.Getenv = func(name string) string { return testEnv[name] }
	s.HTTP = httpx.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, RetryMax: 30}
	if edit != nil {
		edit(s)
	}
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	return s
}

func stream(t testing.TB, s *hubspot.Source, name string) extract.Stream {
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

// version is one landed record version.
type version struct {
	id string
	ts int64 // hs_lastmodifieddate (owners: updated_at), microseconds
}

// landing is what a simulated Runner landed: versions and tombstones in landing order,
// and the cursor saved after the last batch that carried one.
type landing struct {
	versions []version
	deleted  []string
	batches  int
	rows     int
	cursor   json.RawMessage
	schemas  []*arrow.Schema
	rejects  []extract.Reject
	last     map[string]map[string]string // id → column → value text of the last version
}

func (l *landing) add(t testing.TB, b extract.Batch) {
	t.Helper()
	l.batches++
	l.rejects = append(l.rejects, b.Rejects...)
	if b.Record != nil {
		rec := b.Record
		l.schemas = append(l.schemas, rec.Schema())
		tsName := "hs_lastmodifieddate"
		if rec.Schema().HasField("updated_at") {
			tsName = "updated_at"
		}
		ids := rec.Column(rec.Schema().FieldIndices("id")[0]).(*array.String)
		tss := rec.Column(rec.Schema().FieldIndices(tsName)[0]).(*array.Timestamp)
		if l.last == nil {
			l.last = map[string]map[string]string{}
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			l.versions = append(l.versions, version{ids.Value(i), int64(tss.Value(i))})
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

// drain reads stream from cursor to the end like the Runner does. With stopEvery > 0 the
// reader is closed after every stopEvery-th batch that carried a cursor and reopened from
// the cursor saved so far, as if the process had been killed right after landing it.
func drain(t testing.TB, s *hubspot.Source, st extract.Stream, cursor json.RawMessage, stopEvery int) (*landing, error) {
	t.Helper()
	ctx := context.Background()
	l := &landing{cursor: cursor}
	// Rows of batches without a cursor are committed with the next batch that has one;
	// a kill in between loses them from the lake, so the simulated runner holds them back.
	var pending []extract.Batch
	rd, err := s.Read(ctx, st, l.cursor)
	if err != nil {
		return l, err
	}
	n := 0
	for {
		b, err := rd.Next(ctx)
		if err == io.EOF {
			for _, p := range pending {
				l.add(t, p)
			}
			rd.Close()
			return l, nil
		}
		if err != nil {
			for _, p := range pending {
				if p.Record != nil {
					p.Record.Release()
				}
			}
			rd.Close()
			return l, err
		}
		if len(b.Cursor) == 0 {
			pending = append(pending, b)
			continue
		}
		for _, p := range pending {
			l.add(t, p)
		}
		pending = nil
		// Only a batch that landed something is followed by a simulated crash: a fresh
		// reader always ends with a cursor-only batch, and restarting after it would
		// read it again forever.
		landed := (b.Record != nil && b.Record.NumRows() > 0) || len(b.Deleted) > 0
		l.add(t, b)
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

// state is the final state a landing implies: the latest version per id minus ids whose
// tombstone came after it (the staging views' rule).
func (l *landing) state() map[string]int64 {
	out := map[string]int64{}
	for _, v := range l.versions {
		if v.ts >= out[v.id] {
			out[v.id] = v.ts
		}
	}
	for _, id := range l.deleted {
		delete(out, id)
	}
	return out
}

// assertMirrors checks that the landing reproduces the portal's live records of object
// (ids and hs_lastmodifieddate) and that no version landed twice.
func assertMirrors(t *testing.T, p *sandbox.HubSpotPortal, object string, l *landing) {
	t.Helper()
	want := map[string]int64{}
	for _, r := range p.Records(object) {
		if !r.Archived {
			want[r.ID] = r.Modified * 1000
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s: the sandbox has no records; the test proves nothing", object)
	}
	seen := map[version]bool{}
	for _, v := range l.versions {
		if seen[v] {
			t.Errorf("%s %s landed twice at the same hs_lastmodifieddate", object, v.id)
		}
		seen[v] = true
	}
	got := l.state()
	for id, ts := range want {
		g, ok := got[id]
		switch {
		case !ok:
			t.Errorf("%s %s (live) is missing", object, id)
		case g != ts:
			t.Errorf("%s %s landed at %d, the portal has %d", object, id, g, ts)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s %s landed but is not live in the portal", object, id)
		}
	}
}

func TestHubSpot_EveryRecordExactlyOnce(t *testing.T) {
	c := smallCompany(t)
	p, srv := newPortal(t, c, sandbox.HubSpotOptions{})
	src := newSource(t, srv, func(s *hubspot.Source) { s.PageSize = 100 })
	for _, object := range []string{"deals", "companies"} {
		for _, stop := range []int{0, 1, 7} {
			t.Run(fmt.Sprintf("%s/kill-every=%d", object, stop), func(t *testing.T) {
				l, err := drain(t, src, stream(t, src, object), nil, stop)
				if err != nil {
					t.Fatal(err)
				}
				assertMirrors(t, p, object, l)
				if len(l.versions) != len(l.state()) {
					t.Errorf("%d versions landed for %d records on a first read of an unchanging portal", len(l.versions), len(l.state()))
				}
				if len(l.rejects) > 0 {
					t.Errorf("rejects: %v", l.rejects[:min(3, len(l.rejects))])
				}
			})
		}
	}
	// The generator's ids: every opportunity and account arrives, under its HubSpot id.
	t.Run("generator ids", func(t *testing.T) {
		l, err := drain(t, src, stream(t, src, "deals"), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.versions) != len(c.Opportunities) {
			t.Fatalf("%d deals landed, the generator made %d opportunities", len(l.versions), len(c.Opportunities))
		}
		for i := range c.Opportunities {
			o := &c.Opportunities[i]
			row, ok := l.last[sandbox.HubSpotDealID(o.ID)]
			if !ok {
				t.Fatalf("opportunity %s (deal %s) missing", o.ID, sandbox.HubSpotDealID(o.ID))
			}
			if row["revcast_id"] != o.ID.String() || row["company_id"] != sandbox.HubSpotCompanyID(o.Account) || row["amount"] != strconv.FormatFloat(o.Amount.Float64(), 'f', -1, 64) {
				t.Fatalf("deal %s = %v, want revcast_id %s, company %s, amount %s", sandbox.HubSpotDealID(o.ID), row, o.ID, sandbox.HubSpotCompanyID(o.Account), o.Amount)
			}
		}
	})
	t.Run("owners", func(t *testing.T) {
		l, err := drain(t, src, stream(t, src, "owners"), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.versions) != len(c.Users) || len(l.state()) != len(c.Users) {
			t.Fatalf("%d owners landed (%d distinct), the generator made %d users", len(l.versions), len(l.state()), len(c.Users))
		}
		again, err := drain(t, src, stream(t, src, "owners"), l.cursor, 0)
		if err != nil {
			t.Fatal(err)
		}
		if again.rows != 0 {
			t.Errorf("second owners run landed %d rows, want 0", again.rows)
		}
	})
}

func TestHubSpot_Incremental(t *testing.T) {
	c := smallCompany(t)
	p, srv := newPortal(t, c, sandbox.HubSpotOptions{})
	src := newSource(t, srv, func(s *hubspot.Source) { s.PageSize = 100 })
	st := stream(t, src, "deals")
	first, err := drain(t, src, st, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	second, err := drain(t, src, st, first.cursor, 0)
	if err != nil {
		t.Fatal(err)
	}
	if second.rows != 0 || len(second.deleted) != 0 {
		t.Fatalf("second run with no changes: %d rows, %d tombstones; want 0 and 0", second.rows, len(second.deleted))
	}
	// 250 changes share one hs_lastmodifieddate: more ties than a page holds.
	res, err := p.Mutate(sandbox.HSDeals, 250, 7, 42)
	if err != nil {
		t.Fatal(err)
	}
	for _, stop := range []int{0, 1} {
		t.Run(fmt.Sprintf("kill-every=%d", stop), func(t *testing.T) {
			third, err := drain(t, src, st, second.cursor, stop)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range third.versions {
				got = append(got, v.id)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(res.Changed))
			if !slices.Equal(got, want) {
				t.Errorf("changed run landed %d deals, want exactly the %d changed (first diffs: %v)", len(got), len(want), firstDiff(got, want))
			}
			dels := slices.Sorted(slices.Values(third.deleted))
			if wantDel := slices.Sorted(slices.Values(res.Archived)); !slices.Equal(dels, wantDel) {
				t.Errorf("tombstones %v, want the archived %v", dels, wantDel)
			}
			all := &landing{versions: append(slices.Clone(first.versions), third.versions...), deleted: third.deleted}
			assertMirrors(t, p, sandbox.HSDeals, all)
			fourth, err := drain(t, src, st, third.cursor, 0)
			if err != nil {
				t.Fatal(err)
			}
			if fourth.rows != 0 || len(fourth.deleted) != 0 {
				t.Errorf("run after the changes: %d rows, %d tombstones; want 0", fourth.rows, len(fourth.deleted))
			}
		})
	}
}

func firstDiff(a, b []string) []string {
	var out []string
	ma := map[string]bool{}
	for _, x := range a {
		ma[x] = true
	}
	mb := map[string]bool{}
	for _, x := range b {
		mb[x] = true
		if !ma[x] {
			out = append(out, "missing "+x)
		}
	}
	for _, x := range a {
		if !mb[x] {
			out = append(out, "extra "+x)
		}
	}
	return out[:min(len(out), 5)]
}

// TestHubSpot_SearchCap lowers the sandbox's search cap (HubSpotOptions.SearchCap, 10,000
// in HubSpot) to 300 so that 2,000 deals cross it many times: the sandbox answers 400
// past the cap, and the connector, whose every page is a new keyset search, never pages
// that far.
func TestHubSpot_SearchCap(t *testing.T) {
	c := smallCompany(t)
	p, srv := newPortal(t, c, sandbox.HubSpotOptions{SearchCap: 300})
	body := `{"filterGroups":[{"filters":[{"propertyName":"hs_lastmodifieddate","operator":"GTE","value":"0"}]}],"limit":100,"after":"300"}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/crm/v3/objects/deals/search", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+sandbox.HubSpotDemoToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("search after the cap: HTTP %d, want 400", resp.StatusCode)
	}
	src := newSource(t, srv, nil)
	l, err := drain(t, src, stream(t, src, "deals"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	assertMirrors(t, p, sandbox.HSDeals, l)
	if n := len(l.versions); n < 3*300 {
		t.Fatalf("only %d deals: the cap was not crossed", n)
	}
}

// allFaults is every fault kind of the sandbox. The OAuth app is used so that
// expire-token has a token to expire (a private app token does not).
const allFaults = "429:0.05,503:0.05,limit:0.05,retry-after:0,expire-token:every=9,slow:2ms:0.05,fail-page-once,dup-ts-at-page-boundary,mutate-during-extract"

func TestHubSpot_Faults(t *testing.T) {
	c := smallCompany(t)
	for _, tc := range []struct {
		object string
		seed   uint64
	}{{"deals", 3}, {"deals", 11}, {"deals", 29}, {"companies", 3}} {
		object, seed := tc.object, tc.seed
		t.Run(fmt.Sprintf("%s/seed=%d", object, seed), func(t *testing.T) {
			f, err := sandbox.ParseFaults(allFaults, seed)
			if err != nil {
				t.Fatal(err)
			}
			p, srv := newPortal(t, c, sandbox.HubSpotOptions{Faults: f})
			src := newSource(t, srv, func(s *hubspot.Source) { s.PageSize = 150; s.ClientID = sandbox.HubSpotDemoClientID })
			st := stream(t, src, object)
			l, err := drain(t, src, st, nil, 3)
			if err != nil {
				t.Fatal(err)
			}
			// mutate-during-extract keeps changing records while pages are read; once the
			// faults stop, one more run catches up and the lake mirrors the portal.
			f.MutateDuringExtract = false
			more, err := drain(t, src, st, l.cursor, 0)
			if err != nil {
				t.Fatal(err)
			}
			all := &landing{versions: append(l.versions, more.versions...), deleted: append(l.deleted, more.deleted...)}
			assertMirrors(t, p, object, all)
			counts := p.RequestCounts()
			for _, k := range []string{"fault 429", "fault 503", "fault limit", "401 expired"} {
				if object == "deals" && seed == 3 && counts[k] == 0 {
					t.Errorf("fault %q never happened: %v", k, counts)
				}
			}
			if _, arch := p.Count(object); arch == 0 || len(all.deleted) == 0 {
				t.Errorf("no record archived during the extraction (%d archived, %d tombstones)", arch, len(all.deleted))
			}
		})
	}
}

func TestHubSpot_SchemaDrift(t *testing.T) {
	c := smallCompany(t)
	p, srv := newPortal(t, c, sandbox.HubSpotOptions{})
	src := newSource(t, srv, nil)
	st := stream(t, src, "deals")
	if err := p.AddProperty(sandbox.HSDeals, "renewal_risk", "string"); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveProperty(sandbox.HSDeals, "description"); err != nil {
		t.Fatal(err)
	}
	l, err := drain(t, src, st, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	sc := l.schemas[0]
	if !sc.HasField("renewal_risk") || !sc.HasField("description") {
		t.Fatalf("schema %v: want the new property renewal_risk and the removed description (as nulls)", sc)
	}
	for id, row := range l.last {
		if _, ok := row["description"]; ok {
			t.Fatalf("deal %s has a description after the property was removed", id)
		}
	}
	if err := p.SetPropertyType(sandbox.HSDeals, "amount", "string"); err != nil {
		t.Fatal(err)
	}
	_, err = drain(t, src, st, l.cursor, 0)
	var se *hubspot.SchemaError
	if !errors.As(err, &se) || se.Object != "deals" || se.Property != "amount" {
		t.Fatalf("err = %v, want a SchemaError naming deals.amount", err)
	}
}

func TestHubSpot_AuthAndQuota(t *testing.T) {
	c := smallCompany(t)
	p, srv := newPortal(t, c, sandbox.HubSpotOptions{DailyLimit: 1000})
	t.Run("wrong token", func(t *testing.T) {
		src := newSource(t, srv, func(s *hubspot.Source) {
			s.Getenv = func(string) string { return "pat-na1-wrong" }
		})
		_, err := drain(t, src, stream(t, src, "deals"), nil, 0)
		var ae *hubspot.AuthError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), "HUBSPOT_ACCESS_TOKEN") || strings.Contains(err.Error(), "pat-na1-wrong") {
			t.Fatalf("err = %v, want an AuthError naming the env var and not the token", err)
		}
	})
	t.Run("quota", func(t *testing.T) {
		src := newSource(t, srv, func(s *hubspot.Source) { s.PageSize = 100; s.QuotaShare = 0.5 })
		st := stream(t, src, "deals")
		p.SetUsage(495)
		l, err := drain(t, src, st, nil, 0)
		if !errors.Is(err, hubspot.ErrQuota) {
			t.Fatalf("err = %v, want a quota stop", err)
		}
		if l.rows == 0 || len(l.cursor) == 0 {
			t.Fatalf("the quota stop kept nothing: %d rows, cursor %s", l.rows, l.cursor)
		}
		p.SetUsage(0)
		rest, err := drain(t, src, st, l.cursor, 0)
		if err != nil {
			t.Fatal(err)
		}
		all := &landing{versions: append(l.versions, rest.versions...), deleted: rest.deleted}
		assertMirrors(t, p, sandbox.HSDeals, all)
		if len(all.versions) != len(all.state()) {
			t.Errorf("%d versions for %d deals: the resumed run doubled rows", len(all.versions), len(all.state()))
		}
	})
}

func TestHubSpot_Medium(t *testing.T) {
	if testing.Short() {
		t.Skip("medium scale (50,000 opportunities) runs without -short")
	}
	c, err := fixtures.Generate(fixtures.Options{Seed: 2, Opportunities: fixtures.ScaleMedium})
	if err != nil {
		t.Fatal(err)
	}
	p, srv := newPortal(t, c, sandbox.HubSpotOptions{})
	src := newSource(t, srv, nil)
	for _, object := range []string{"deals", "companies"} {
		l, err := drain(t, src, stream(t, src, object), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		assertMirrors(t, p, object, l)
	}
}

// BenchmarkHubSpot_Deals measures extracting deals (search pages of 200 plus their
// associations) from the sandbox over loopback.
func BenchmarkHubSpot_Deals(b *testing.B) {
	c, err := fixtures.Generate(fixtures.Options{Seed: 2, Opportunities: 20000})
	if err != nil {
		b.Fatal(err)
	}
	p, srv := newPortal(b, c, sandbox.HubSpotOptions{})
	src := newSource(b, srv, nil)
	st := stream(b, src, "deals")
	live, _ := p.Count(sandbox.HSDeals)
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
