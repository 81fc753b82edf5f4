package salesforce_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/httpx"
	"github.com/revcast/revcast/extract/salesforce"
	"github.com/revcast/revcast/fixtures/sandbox"
)

// newOrg starts a sandbox org with a synthetic population of about n opportunities.
func newOrg(t testing.TB, n int, opts sandbox.SalesforceOptions) (*sandbox.SalesforceOrg, *httptest.Server) {
	t.Helper()
	org := sandbox.NewSalesforceOrg(opts)
	if n > 0 {
		if err := org.Populate(sandbox.DefaultPopulation(n, 7)); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(org)
	t.Cleanup(srv.Close)
	return org, srv
}

// newSource returns an initialised connector pointed at srv.
func newSource(t testing.TB, srv *httptest.Server, edit func(*salesforce.Source)) *salesforce.Source {
	t.Helper()
	s := salesforce.New()
	s.InstanceURL = srv.URL
	s.ClientID = sandbox.SalesforceDemoClientID
	s.Getenv = func(name string) string {
		if name == "SF_CLIENT_SECRET" {
			return sandbox.SalesforceDemoClientSecret
		}
		return ""
	}
	s.HTTP = httpx.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, RetryMax: 20}
	s.BatchSize = 200
	if edit != nil {
		edit(s)
	}
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	return s
}

func stream(t testing.TB, s *salesforce.Source, name string) extract.Stream {
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
	id      string
	ts      int64 // SystemModstamp, microseconds
	deleted bool  // IsDeleted
}

// landing is what a simulated Runner landed: record versions and tombstones in landing
// order, plus the cursor saved after the last batch.
type landing struct {
	versions        []version // live record versions
	deletedVersions []version // versions with IsDeleted true
	deleted         []string  // tombstones
	batches         int
	cursor          json.RawMessage
	schemas         []*arrow.Schema
}

func (l *landing) add(t testing.TB, b extract.Batch) {
	t.Helper()
	l.batches++
	if b.Record != nil {
		defer rec(b)()
		rec := b.Record
		l.schemas = append(l.schemas, rec.Schema())
		ids := rec.Column(rec.Schema().FieldIndices("Id")[0]).(*array.String)
		tss := rec.Column(rec.Schema().FieldIndices("SystemModstamp")[0]).(*array.Timestamp)
		dels := rec.Column(rec.Schema().FieldIndices("IsDeleted")[0]).(*array.Boolean)
		for i := 0; i < int(rec.NumRows()); i++ {
			v := version{id: ids.Value(i), ts: int64(tss.Value(i)), deleted: dels.IsValid(i) && dels.Value(i)}
			if v.deleted {
				l.deletedVersions = append(l.deletedVersions, v)
			} else {
				l.versions = append(l.versions, v)
			}
		}
	}
	l.deleted = append(l.deleted, b.Deleted...)
	if len(b.Cursor) > 0 {
		l.cursor = b.Cursor
	}
}

// rec returns the release of b's record, deferred until the caller has looked at it.
func rec(b extract.Batch) func() { return func() { b.Record.Release() } }

// drain reads stream from cursor to the end like the Runner does. With restart, the
// reader is closed after every batch and reopened from that batch's cursor, as if the
// process had been killed right after the batch was landed.
func drain(t testing.TB, s *salesforce.Source, st extract.Stream, cursor json.RawMessage, restart bool) (*landing, error) {
	t.Helper()
	ctx := context.Background()
	l := &landing{cursor: cursor}
	rd, err := s.Read(ctx, st, l.cursor)
	if err != nil {
		return l, err
	}
	for {
		b, err := rd.Next(ctx)
		if err == io.EOF {
			rd.Close()
			return l, nil
		}
		if err != nil {
			rd.Close()
			return l, err
		}
		l.add(t, b)
		// A batch without rows may be the re-read of records the cursor already covers;
		// restarting after it would read it again forever, so only batches that landed
		// something are followed by a simulated crash.
		landed := (b.Record != nil && b.Record.NumRows() > 0) || len(b.Deleted) > 0
		if restart && landed {
			rd.Close()
			if rd, err = s.Read(ctx, st, l.cursor); err != nil {
				return l, err
			}
		}
	}
}

// assertExactlyOnce checks that the live records of object arrived once each and
// nothing else arrived.
func assertExactlyOnce(t *testing.T, org *sandbox.SalesforceOrg, object string, l *landing) {
	t.Helper()
	want := map[string]bool{}
	for _, r := range org.Records(object) {
		if !r.IsDeleted {
			want[r.ID] = true
		}
	}
	got := map[string]int{}
	for _, v := range l.versions {
		got[v.id]++
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("%s %s arrived %d times", object, id, n)
		}
		if !want[id] {
			t.Errorf("%s %s arrived but is not a live record", object, id)
		}
	}
	for id := range want {
		if got[id] == 0 {
			t.Errorf("%s %s never arrived", object, id)
		}
	}
	if len(want) == 0 {
		t.Errorf("%s: the sandbox has no records; the test proves nothing", object)
	}
}

func TestRead_EveryObjectExactlyOnce(t *testing.T) {
	org, srv := newOrg(t, 1500, sandbox.SalesforceOptions{})
	src := newSource(t, srv, nil)
	for _, object := range salesforce.DefaultObjects {
		for _, restart := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/restart=%v", object, restart), func(t *testing.T) {
				l, err := drain(t, src, stream(t, src, salesforce.StreamName(object)), nil, restart)
				if err != nil {
					t.Fatal(err)
				}
				assertExactlyOnce(t, org, object, l)
				if len(l.deleted) != 0 {
					t.Errorf("tombstones %v on a first read of an org without deletions", l.deleted)
				}
			})
		}
	}
}

// TestRead_ContextPerCall checks that a page requested ahead belongs to the reader, not
// to the call that requested it: a caller that cancels each Next's context once the
// batch is back still gets every record exactly once, and a Next whose own context is
// cancelled returns at once and leaves nothing running behind Close.
func TestRead_ContextPerCall(t *testing.T) {
	faults, err := sandbox.ParseFaults("slow:20ms:1", 1)
	if err != nil {
		t.Fatal(err)
	}
	org, srv := newOrg(t, 1500, sandbox.SalesforceOptions{Faults: faults})
	src := newSource(t, srv, nil)
	st := stream(t, src, salesforce.StreamName("Opportunity"))

	t.Run("cancelled after each call", func(t *testing.T) {
		rd, err := src.Read(context.Background(), st, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		l := &landing{}
		for {
			ctx, cancel := context.WithCancel(context.Background())
			b, err := rd.Next(ctx)
			cancel() // the page requested ahead, 20 ms from its answer, is cancelled with it
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("batch %d: %v", l.batches+1, err)
			}
			l.add(t, b)
		}
		if l.batches < 3 {
			t.Fatalf("%d batches: want several pages to exercise the read-ahead", l.batches)
		}
		assertExactlyOnce(t, org, "Opportunity", l)
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		rd, err := src.Read(context.Background(), st, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := rd.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b.Record.Release()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		if _, err := rd.Next(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Next with a cancelled context: %v, want context.Canceled", err)
		}
		if err := rd.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Next and Close took %v with the context cancelled", d)
		}
	})
}

func TestRead_Types(t *testing.T) {
	org, srv := newOrg(t, 0, sandbox.SalesforceOptions{})
	acc, err := org.Insert("Account", map[string]any{"Name": "Zürich \"Quoted\" \\ AG"})
	if err != nil {
		t.Fatal(err)
	}
	mod := time.Date(2024, 5, 20, 20, 49, 32, 123e6, time.UTC)
	id, err := org.Insert("Opportunity", map[string]any{
		"AccountId": acc, "Name": "Big\nDeal", "StageName": "Commit", "Amount": 12500000.0, "Probability": 90,
		"CloseDate": "2024-06-30", "IsWon": false, "IsClosed": false, "CurrencyIsoCode": "EUR", "SystemModstamp": mod,
		"Revcast_Scored_At__c": "2024-05-20T22:49:32+02:00",
	})
	if err != nil {
		t.Fatal(err)
	}
	src := newSource(t, srv, func(s *salesforce.Source) { s.Objects = []string{"Account", "Opportunity"} })
	rd, err := src.Read(context.Background(), stream(t, src, "opportunity"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	b, err := rd.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rec := b.Record
	defer rec.Release()
	col := func(name string) arrow.Array {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("no column %s in %s", name, rec.Schema())
		}
		return rec.Column(idx[0])
	}
	checks := []struct {
		field string
		typ   arrow.DataType
		want  string
	}{
		{"Id", arrow.BinaryTypes.String, id},
		{"Name", arrow.BinaryTypes.String, "Big\nDeal"},
		{"Amount", extract.DecimalType, "12500000"},
		{"Probability", arrow.PrimitiveTypes.Float64, "90"},
		{"CloseDate", arrow.FixedWidthTypes.Date32, "2024-06-30"},
		{"IsWon", arrow.FixedWidthTypes.Boolean, "false"},
		{"SystemModstamp", extract.TimestampType, "2024-05-20T20:49:32.123Z"},
		{"Revcast_Scored_At__c", extract.TimestampType, "2024-05-20T20:49:32Z"},
		{"ContractId", arrow.BinaryTypes.String, "(null)"},
	}
	for _, c := range checks {
		a := col(c.field)
		if !arrow.TypeEqual(a.DataType(), c.typ) {
			t.Errorf("%s: type %s, want %s", c.field, a.DataType(), c.typ)
		}
		if got := a.ValueStr(0); got != c.want {
			t.Errorf("%s = %q, want %q", c.field, got, c.want)
		}
	}
	if got := col("Amount").(*array.Decimal128).Value(0).ToString(2); got != "12500000.00" {
		t.Errorf("Amount = %s, want 12500000.00 exactly", got)
	}
	// The account's name went through JSON escaping.
	l, err := drain(t, src, stream(t, src, "account"), nil, false)
	if err != nil || len(l.versions) != 1 {
		t.Fatalf("account: %v, %d rows", err, len(l.versions))
	}
}

func TestRead_TiesAtPageBoundary(t *testing.T) {
	for _, maxIDs := range []int{salesforce.MaxCursorIDs, 50} {
		t.Run(fmt.Sprintf("max_cursor_ids=%d", maxIDs), func(t *testing.T) {
			org, srv := newOrg(t, 0, sandbox.SalesforceOptions{})
			acc, _ := org.Insert("Account", map[string]any{"Name": "A"})
			base := time.Date(2024, 5, 20, 20, 49, 32, 0, time.UTC)
			// 1000 records in four tie groups of 300, 250, 50 and 400 sharing a
			// SystemModstamp (two groups in one second), so ties cross every page of 200.
			groups := []struct {
				n  int
				at time.Time
			}{{300, base}, {250, base.Add(time.Second)}, {50, base.Add(time.Second + 500*time.Millisecond)}, {400, base.Add(time.Hour)}}
			for _, g := range groups {
				for i := 0; i < g.n; i++ {
					if _, err := org.Insert("Opportunity", map[string]any{"AccountId": acc, "Name": "tie", "StageName": "Prospecting",
						"CloseDate": "2024-06-30", "SystemModstamp": g.at}); err != nil {
						t.Fatal(err)
					}
				}
			}
			src := newSource(t, srv, func(s *salesforce.Source) { s.Objects = []string{"Opportunity"}; s.SetMaxCursorIDs(maxIDs) })
			l, err := drain(t, src, stream(t, src, "opportunity"), nil, true)
			if err != nil {
				t.Fatal(err)
			}
			assertExactlyOnce(t, org, "Opportunity", l)
			if len(l.versions) != 1000 {
				t.Errorf("%d records, want 1000", len(l.versions))
			}
			var c struct {
				IDs      []string `json:"ids"`
				Overflow bool     `json:"overflow"`
			}
			json.Unmarshal(l.cursor, &c)
			if maxIDs == 50 && (!c.Overflow || len(c.IDs) != 0) {
				t.Errorf("cursor %s: want the overflow form", l.cursor)
			}
			if maxIDs > 1000 && len(c.IDs) != 400 {
				t.Errorf("cursor keeps %d ids, want the 400 of the last second", len(c.IDs))
			}
		})
	}
}

func TestRead_IncrementalAndMutations(t *testing.T) {
	org, srv := newOrg(t, 1200, sandbox.SalesforceOptions{})
	src := newSource(t, srv, nil)
	ctx := context.Background()
	for _, object := range []string{"Opportunity", "Account", "OpportunityLineItem"} {
		t.Run(object, func(t *testing.T) {
			st := stream(t, src, salesforce.StreamName(object))
			first, err := drain(t, src, st, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			second, err := drain(t, src, st, first.cursor, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(second.versions)+len(second.deletedVersions)+len(second.deleted) != 0 {
				t.Fatalf("second run with no changes: %d records, %d deletions, want none", len(second.versions), len(second.deleted))
			}
			res, err := org.Mutate(object, 37, 11, 99)
			if err != nil {
				t.Fatal(err)
			}
			third, err := drain(t, src, st, second.cursor, true)
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
				t.Errorf("after changing 37: got %d records %v\nwant %v", len(got), got, want)
			}
			slices.Sort(third.deleted)
			wantDel := slices.Sorted(slices.Values(res.Deleted))
			if !slices.Equal(third.deleted, wantDel) {
				t.Errorf("tombstones %v, want %v", third.deleted, wantDel)
			}
			var delVersions []string
			for _, v := range third.deletedVersions {
				delVersions = append(delVersions, v.id)
			}
			if slices.Sort(delVersions); !slices.Equal(delVersions, wantDel) {
				t.Errorf("deleted versions %v, want %v", delVersions, wantDel)
			}
			fourth, err := drain(t, src, st, third.cursor, false)
			if err != nil || len(fourth.versions)+len(fourth.deletedVersions)+len(fourth.deleted) != 0 {
				t.Errorf("run after the changes landed: %v, %d records, %d deletions", err, len(fourth.versions), len(fourth.deleted))
			}
		})
	}
	_ = ctx
}

// TestRead_Faults extracts with every fault kind until a run completes, restarting from
// the saved cursor after each stop, then checks that what landed (record versions,
// newest wins; tombstones) is exactly what the org holds, and that no record version
// landed twice.
func TestRead_Faults(t *testing.T) {
	spec := "429:0.1,503:0.1,retry-after:0,limit:0.03,expire-token:every=7,slow:2ms:0.05,fail-page-once,dup-ts-at-page-boundary,mutate-during-extract"
	statuses := map[int]int{}
	deletedTotal := 0
	for _, object := range []string{"Opportunity", "Account", "OpportunityLineItem"} {
		t.Run(object, func(t *testing.T) {
			faults, err := sandbox.ParseFaults(spec, 42)
			if err != nil {
				t.Fatal(err)
			}
			org, srv := newOrg(t, 3000, sandbox.SalesforceOptions{Faults: faults})
			src := newSource(t, srv, nil)
			st := stream(t, src, salesforce.StreamName(object))
			type state struct {
				ts      int64
				deleted bool
			}
			wh := map[string]*state{}
			seen := map[version]bool{}
			var cursor json.RawMessage
			quiet, stops := 0, 0
			for run := 0; quiet < 2; run++ {
				if run > 200 {
					t.Fatal("extraction does not converge")
				}
				l, err := drain(t, src, st, cursor, run%3 == 2)
				for _, v := range append(l.versions, l.deletedVersions...) {
					if seen[v] {
						t.Errorf("%s version %d landed twice", v.id, v.ts)
					}
					seen[v] = true
					if s := wh[v.id]; s == nil || v.ts >= s.ts {
						wh[v.id] = &state{ts: v.ts, deleted: v.deleted}
					}
				}
				for _, id := range l.deleted {
					if wh[id] == nil {
						wh[id] = &state{}
					}
					wh[id].deleted = true
				}
				cursor = l.cursor
				switch {
				case errors.Is(err, salesforce.ErrQuota):
					stops++
					quiet = 0
					continue
				case err != nil:
					t.Fatalf("run %d: %v", run, err)
				}
				if len(l.versions)+len(l.deletedVersions)+len(l.deleted) == 0 {
					quiet++
				} else {
					quiet = 0
				}
			}
			live, deleted := 0, 0
			for _, r := range org.Records(object) {
				s := wh[r.ID]
				switch {
				case r.IsDeleted:
					deleted++
					if s != nil && !s.deleted {
						t.Errorf("%s deleted in the org but live in the lake", r.ID)
					}
				case s == nil || s.deleted:
					t.Errorf("%s live in the org but missing or deleted in the lake", r.ID)
				case s.ts != int64(r.SystemModstamp)*1000:
					t.Errorf("%s: lake has the version of %d, org %d", r.ID, s.ts, int64(r.SystemModstamp)*1000)
				default:
					live++
				}
			}
			these := map[int]int{}
			for _, r := range org.Requests(0) {
				these[r.Status]++
				statuses[r.Status]++
			}
			deletedTotal += deleted
			t.Logf("%s: %d live, %d deleted in the org; %d quota stops; responses by status %v", object, live, deleted, stops, these)
		})
	}
	// Every fault kind must have fired somewhere, or the test proves less than it claims.
	for _, code := range []int{429, 503, 403, 401, 500} {
		if statuses[code] == 0 {
			t.Errorf("no %d response: the fault spec did not fire", code)
		}
	}
	if deletedTotal == 0 {
		t.Error("mutate-during-extract deleted nothing")
	}
}

func TestRead_Quota(t *testing.T) {
	org, srv := newOrg(t, 1200, sandbox.SalesforceOptions{DailyLimit: 100})
	src := newSource(t, srv, func(s *salesforce.Source) { s.Objects = []string{"Opportunity"} })
	st := stream(t, src, "opportunity")

	org.SetUsage(86, 100) // token is free; describe makes 87, pages 88, 89, 90, 91 > 90
	l, err := drain(t, src, st, nil, false)
	var qe *salesforce.QuotaError
	if !errors.Is(err, salesforce.ErrQuota) || !errors.As(err, &qe) || qe.Used != 91 || qe.Limit != 100 {
		t.Fatalf("err = %v, want a QuotaError at 91/100", err)
	}
	if l.batches != 4 || len(l.versions) != 800 {
		t.Errorf("before stopping: %d batches, %d records; want 4 pages of 200", l.batches, len(l.versions))
	}
	if !strings.Contains(err.Error(), "stopped cleanly") {
		t.Errorf("message %q does not say the stop was clean", err)
	}

	org.SetUsage(100, 100) // the org refuses every call now
	_, err = drain(t, src, st, l.cursor, false)
	if !errors.As(err, &qe) || qe.Code != "REQUEST_LIMIT_EXCEEDED" {
		t.Fatalf("err = %v, want REQUEST_LIMIT_EXCEEDED as a QuotaError", err)
	}

	org.SetUsage(0, 100000) // a new day: resume from the saved cursor
	rest, err := drain(t, src, st, l.cursor, false)
	if err != nil {
		t.Fatal(err)
	}
	l.versions = append(l.versions, rest.versions...)
	assertExactlyOnce(t, org, "Opportunity", l)
}

func TestRead_Auth(t *testing.T) {
	_, srv := newOrg(t, 10, sandbox.SalesforceOptions{})
	tests := []struct {
		name string
		edit func(*salesforce.Source)
		want string
	}{
		{"wrong secret", func(s *salesforce.Source) { s.Getenv = func(string) string { return "nope" } },
			"salesforce: token request failed: 400 invalid_client — check the env var named in client_secret_env (SF_CLIENT_SECRET)"},
		{"unset secret", func(s *salesforce.Source) { s.Getenv = func(string) string { return "" } },
			"the environment variable SF_CLIENT_SECRET (named by client_secret_env) is not set"},
		{"wrong client id", func(s *salesforce.Source) { s.ClientID = "other" },
			"salesforce: token request failed: 400 invalid_client_id — check client_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newSource(t, srv, tt.edit)
			_, err := src.Read(context.Background(), stream(t, src, "opportunity"), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "nope") {
				t.Error("the error shows the secret")
			}
		})
	}
}

func TestRead_SchemaDrift(t *testing.T) {
	org, srv := newOrg(t, 300, sandbox.SalesforceOptions{})
	src := newSource(t, srv, func(s *salesforce.Source) { s.Objects = []string{"Opportunity"} })
	st := stream(t, src, "opportunity")
	first, err := drain(t, src, st, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := org.AddField("Opportunity", "Region__c", "picklist"); err != nil {
		t.Fatal(err)
	}
	if err := org.RemoveField("Opportunity", "NextStep"); err != nil {
		t.Fatal(err)
	}
	if _, err := org.Mutate("Opportunity", 5, 0, 1); err != nil {
		t.Fatal(err)
	}
	second, err := drain(t, src, st, first.cursor, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.versions) != 5 || len(second.schemas) == 0 {
		t.Fatalf("%d records after 5 changes", len(second.versions))
	}
	sch := second.schemas[0]
	if idx := sch.FieldIndices("Region__c"); len(idx) != 1 || !arrow.TypeEqual(sch.Field(idx[0]).Type, arrow.BinaryTypes.String) {
		t.Errorf("new field Region__c not landed as a text column: %s", sch)
	}
	if idx := sch.FieldIndices("NextStep"); len(idx) != 1 {
		t.Errorf("removed field NextStep should stay as a (null) column: %s", sch)
	}

	if err := org.RemoveField("Opportunity", "Amount"); err != nil {
		t.Fatal(err)
	}
	if err := org.AddField("Opportunity", "Amount", "string"); err != nil {
		t.Fatal(err)
	}
	_, err = drain(t, src, st, second.cursor, false)
	var se *salesforce.SchemaError
	if !errors.As(err, &se) || se.Object != "Opportunity" || se.Field != "Amount" || !strings.Contains(err.Error(), "Opportunity.Amount changed type") {
		t.Fatalf("err = %v, want a SchemaError naming Opportunity.Amount", err)
	}
}

func TestRead_FullRefreshEvery(t *testing.T) {
	org, srv := newOrg(t, 300, sandbox.SalesforceOptions{})
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	src := newSource(t, srv, func(s *salesforce.Source) {
		s.Objects = []string{"Opportunity"}
		s.FullRefreshEvery = "7d"
		s.Now = func() time.Time { return now }
	})
	st := stream(t, src, "opportunity")
	first, err := drain(t, src, st, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(6 * 24 * time.Hour)
	second, err := drain(t, src, st, first.cursor, false)
	if err != nil || len(second.versions) != 0 {
		t.Fatalf("six days later: %v, %d records, want an empty incremental run", err, len(second.versions))
	}
	now = now.Add(2 * 24 * time.Hour)
	third, err := drain(t, src, st, second.cursor, false)
	if err != nil {
		t.Fatal(err)
	}
	assertExactlyOnce(t, org, "Opportunity", third)
}

func TestInit(t *testing.T) {
	tests := []struct {
		name string
		edit func(*salesforce.Source)
		want string
	}{
		{"no url", func(s *salesforce.Source) { s.InstanceURL = "" }, "instance_url is required"},
		{"bad url", func(s *salesforce.Source) { s.InstanceURL = "acme.my.salesforce.com" }, "is not an http(s) URL"},
		{"no client id", func(s *salesforce.Source) { s.ClientID = "" }, "client_id is required"},
		{"bad version", func(s *salesforce.Source) { s.APIVersion = "62" }, `api_version "62"`},
		{"batch too small", func(s *salesforce.Source) { s.BatchSize = 100 }, "batch_size 100"},
		{"quota", func(s *salesforce.Source) { s.QuotaShare = 1.5 }, "quota_share 1.5"},
		{"unknown object", func(s *salesforce.Source) { s.Objects = []string{"Opportunity", "Lead"} }, `unknown object "Lead"`},
		{"refresh", func(s *salesforce.Source) { s.FullRefreshEvery = "weekly" }, `full_refresh_every "weekly"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := salesforce.New()
			s.InstanceURL, s.ClientID = "https://acme.my.salesforce.com", "id"
			tt.edit(s)
			if err := s.Init(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Init() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	src, err := extract.New("salesforce")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.(*salesforce.Source); !ok {
		t.Fatalf("extract.New(salesforce) = %T", src)
	}
}

func TestUpsert(t *testing.T) {
	org, srv := newOrg(t, 20, sandbox.SalesforceOptions{})
	src := newSource(t, srv, func(s *salesforce.Source) { s.Objects = []string{"Revenue_Forecast__c", "Opportunity"} })
	ctx := context.Background()
	var recs []map[string]any
	for i := range 250 {
		recs = append(recs, map[string]any{"Revcast_Key__c": fmt.Sprintf("run1|2024Q%d|%d", i%4+1, i), "Name": "forecast", "Expected_Amount__c": float64(i) * 10.5, "As_Of_Date__c": "2024-06-30"})
	}
	res, err := src.Upsert(ctx, "Revenue_Forecast__c", "Revcast_Key__c", recs, true)
	if err != nil || len(res) != 250 || !res[0].Success || !res[0].Created || !res[249].Created {
		t.Fatalf("first upsert: %v, %d results %+v", err, len(res), res[:1])
	}
	recs[3]["Expected_Amount__c"] = 1.25
	res, err = src.Upsert(ctx, "Revenue_Forecast__c", "Revcast_Key__c", recs, true)
	if err != nil || res[3].Created || !res[3].Success {
		t.Fatalf("second upsert (idempotent): %v %+v", err, res[3])
	}
	if live, _ := org.Count("Revenue_Forecast__c"); live != 250 {
		t.Errorf("%d forecast records after upserting 250 twice", live)
	}
	l, err := drain(t, src, stream(t, src, "revenue_forecast__c"), nil, false)
	if err != nil || len(l.versions) != 250 {
		t.Fatalf("read back: %v, %d records", err, len(l.versions))
	}
	opp := org.Records("Opportunity")[0].ID
	if err := src.Update(ctx, "Opportunity", opp, map[string]any{"Revcast_Win_Probability__c": 37.5}); err != nil {
		t.Fatal(err)
	}
	if got, _ := org.Get("Opportunity", opp); got["Revcast_Win_Probability__c"] != 37.5 {
		t.Errorf("update not applied: %v", got["Revcast_Win_Probability__c"])
	}
	err = src.Update(ctx, "Opportunity", opp, map[string]any{"IsWon": true})
	if err == nil || !strings.Contains(err.Error(), "salesforce: update Opportunity "+opp+": 400 INVALID_FIELD_FOR_INSERT_UPDATE") {
		t.Errorf("read-only field: %v", err)
	}
}
