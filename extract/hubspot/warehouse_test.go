package hubspot_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/hubspot"
	"github.com/revcast/revcast/extract/internal/laketest"
	"github.com/revcast/revcast/extract/internal/stagingtest"
	"github.com/revcast/revcast/fixtures/sandbox"
	revsql "github.com/revcast/revcast/sql"
	"github.com/revcast/revcast/transform"
)

// TestHubSpot_RunnerToStaging extracts through the real Runner, killed at random
// durability steps and restarted, changes and archives records, extracts again, and
// checks the lake and the staging views against the portal.
func TestHubSpot_RunnerToStaging(t *testing.T) {
	c := smallCompany(t)
	p, srv := newPortal(t, c, sandbox.HubSpotOptions{})
	src := newSource(t, srv, func(s *hubspot.Source) { s.PageSize = 100 })
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	stagingtest.ExtractKilled(t, dir, "hubspot", src, rng, 8)

	// Every committed part together holds each deal exactly once.
	for _, object := range []string{"deals", "companies", "owners"} {
		rows := laketest.Rows(t, laketest.Files(t, dir, "hubspot", object)...)
		seen := map[string]bool{}
		for _, r := range rows {
			if seen[r["id"]] {
				t.Errorf("%s %s landed twice", object, r["id"])
			}
			seen[r["id"]] = true
		}
		want := len(c.Users)
		if object != "owners" {
			want, _ = p.Count(object)
		}
		if len(seen) != want {
			t.Errorf("%s: %d landed, the portal has %d", object, len(seen), want)
		}
	}

	dres, err := p.Mutate(sandbox.HSDeals, 40, 6, 9)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Mutate(sandbox.HSCompanies, 5, 2, 9); err != nil {
		t.Fatal(err)
	}
	r := &extract.Runner{DataDir: dir, RunID: "run-incr", Now: func() time.Time { return time.Now().Add(time.Second) }}
	res, err := r.Extract(context.Background(), "hubspot", src, extract.ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sr := range res.Streams {
		switch sr.Stream {
		case "deals":
			if sr.Rows != 40 || sr.Deleted != 6 {
				t.Errorf("incremental deals: %d rows, %d tombstones; want 40 and 6", sr.Rows, sr.Deleted)
			}
		case "owners":
			if sr.Rows != 0 {
				t.Errorf("incremental owners: %d rows, want 0", sr.Rows)
			}
		}
	}

	w := stagingtest.StageViews(t, dir, "hubspot", "hubspot", 3)
	stagingtest.AssertCanonical(t, w, "hubspot__deals", "opportunities")
	stagingtest.AssertCanonical(t, w, "hubspot__companies", "accounts")
	stagingtest.AssertCanonical(t, w, "hubspot__owners", "users")
	for _, tc := range []struct{ view, key, object string }{
		{"hubspot__deals", "opportunity_id", sandbox.HSDeals},
		{"hubspot__companies", "account_id", sandbox.HSCompanies},
	} {
		got := stagingtest.QueryStrings(t, w, fmt.Sprintf("select %s from staging.%s order by 1", tc.key, tc.view))
		var want []string
		for _, r := range p.Records(tc.object) {
			if !r.Archived {
				want = append(want, r.ID)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("staging.%s has %d ids, the portal %d live (diff %v)", tc.view, len(got), len(want), firstDiff(got, want))
		}
	}
	for _, id := range dres.Archived {
		if n := stagingtest.QueryStrings(t, w, "select opportunity_id from staging.hubspot__deals where opportunity_id = '"+id+"'"); len(n) != 0 {
			t.Errorf("archived deal %s is still staged", id)
		}
	}
	// The canonical values equal the generator's for deals that were not changed.
	changed := map[string]bool{}
	for _, id := range dres.Changed {
		changed[id] = true
	}
	rows, err := w.DB.Query(`select opportunity_id, account_id, stage, coalesce(forecast_category, ''), probability, cast(amount as varchar), currency,
		strftime(close_date, '%Y-%m-%d'), strftime(created_date, '%Y-%m-%d'), is_closed, is_won, type, coalesce(lead_source, '') from staging.hubspot__deals`)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	for i := range c.Opportunities {
		byID[sandbox.HubSpotDealID(c.Opportunities[i].ID)] = i
	}
	checked := 0
	for rows.Next() {
		var id, acct, stage, fc, amount, cur, closeDate, created, typ, lead string
		var prob float64
		var closed, won bool
		if err := rows.Scan(&id, &acct, &stage, &fc, &prob, &amount, &cur, &closeDate, &created, &closed, &won, &typ, &lead); err != nil {
			t.Fatal(err)
		}
		if changed[id] {
			continue
		}
		o := &c.Opportunities[byID[id]]
		want := []string{sandbox.HubSpotCompanyID(o.Account), o.Stage.String(), o.ForecastCategory.String(), fmt.Sprint(o.Probability()), o.Amount.String(), o.Currency.String(),
			o.CloseDate.String(), o.CreatedDate.String(), fmt.Sprint(o.IsClosed()), fmt.Sprint(o.IsWon()), o.Type.String(), o.LeadSource}
		got := []string{acct, stage, fc, fmt.Sprint(prob), amount, cur, closeDate, created, fmt.Sprint(closed), fmt.Sprint(won), typ, lead}
		if !slices.Equal(got, want) {
			t.Fatalf("deal %s staged as %v, the generator has %v", id, got, want)
		}
		checked++
	}
	rows.Close()
	if checked < len(c.Opportunities)-60 {
		t.Errorf("only %d deals compared with the generator", checked)
	}
	if n := stagingtest.QueryStrings(t, w, "select cast(count(*) as varchar) from staging.hubspot__owners where user_id is null or full_name = ''"); n[0] != "0" {
		t.Errorf("%s owners without id or name", n[0])
	}
}

// TestHubSpot_StagingOnEmptyWarehouse checks that the staging views compile before
// anything was extracted: Load creates the raw and tombstone tables the connector
// declares, empty.
func TestHubSpot_StagingOnEmptyWarehouse(t *testing.T) {
	dir := t.TempDir()
	w := stagingtest.StageViews(t, dir, "hubspot", "hubspot", 3)
	for _, v := range []string{"hubspot__deals", "hubspot__companies", "hubspot__owners"} {
		if n := stagingtest.QueryStrings(t, w, "select cast(count(*) as varchar) from staging."+v); n[0] != "0" {
			t.Errorf("staging.%s has %s rows in an empty warehouse", v, n[0])
		}
	}
}

// TestStagingHeaders checks that the HubSpot and Dynamics staging models parse as models
// (header: what, grain, key) and build in the staging schema.
func TestStagingHeaders(t *testing.T) {
	models, err := transform.ParseModels(revsql.FS)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"hubspot__deals": "opportunity_id", "hubspot__companies": "account_id", "hubspot__owners": "user_id",
		"dynamics__opportunities": "opportunity_id", "dynamics__accounts": "account_id", "dynamics__systemusers": "user_id"}
	for _, m := range models {
		if key, ok := want[m.Name]; ok {
			if m.Schema != "staging" || m.Key != key || m.Grain == "" || m.Description == "" {
				t.Errorf("model %s: schema %s, key %q, grain %q", m.Name, m.Schema, m.Key, m.Grain)
			}
			delete(want, m.Name)
		}
	}
	if len(want) > 0 {
		t.Errorf("models not found: %v", want)
	}
}
