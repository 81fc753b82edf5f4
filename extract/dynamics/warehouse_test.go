package dynamics_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/revcast/revcast/extract"
	_ "github.com/revcast/revcast/extract/dynamics"
	"github.com/revcast/revcast/extract/internal/laketest"
	"github.com/revcast/revcast/extract/internal/stagingtest"
	"github.com/revcast/revcast/fixtures/sandbox"
)

// TestDynamics_RunnerToStaging extracts through the real Runner, killed at random
// durability steps and restarted, changes and deletes rows, extracts again, and checks
// the lake and the staging views against the environment and the generator.
func TestDynamics_RunnerToStaging(t *testing.T) {
	c := smallCompany(t)
	d, srv := newOrg(t, c, sandbox.DynamicsOptions{}, nil)
	src := newSource(t, srv, nil)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	stagingtest.ExtractKilled(t, dir, "d365", src, rng, 8)

	for _, tc := range []struct{ set, key string }{{"opportunities", "opportunityid"}, {"accounts", "accountid"}, {"systemusers", "systemuserid"}} {
		rows := laketest.Rows(t, laketest.Files(t, dir, "d365", tc.set)...)
		seen := map[string]bool{}
		for _, r := range rows {
			if seen[r[tc.key]] {
				t.Errorf("%s %s landed twice", tc.set, r[tc.key])
			}
			seen[r[tc.key]] = true
		}
		if want, _ := d.Count(tc.set); len(seen) != want {
			t.Errorf("%s: %d landed, the environment has %d", tc.set, len(seen), want)
		}
	}

	dres, err := d.Mutate(sandbox.DynOpportunities, 40, 6, 9)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Mutate(sandbox.DynAccounts, 5, 2, 9); err != nil {
		t.Fatal(err)
	}
	r := &extract.Runner{DataDir: dir, RunID: "run-incr", Now: func() time.Time { return time.Now().Add(time.Second) }}
	res, err := r.Extract(context.Background(), "d365", src, extract.ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sr := range res.Streams {
		switch sr.Stream {
		case "opportunities":
			if sr.Rows != 40 || sr.Deleted != 6 {
				t.Errorf("incremental opportunities: %d rows, %d tombstones; want 40 and 6", sr.Rows, sr.Deleted)
			}
		case "systemusers", "transactioncurrencies":
			if sr.Rows != 0 {
				t.Errorf("incremental %s: %d rows, want 0", sr.Stream, sr.Rows)
			}
		}
	}

	w := stagingtest.StageViews(t, dir, "d365", "dynamics", 3)
	stagingtest.AssertCanonical(t, w, "dynamics__opportunities", "opportunities")
	stagingtest.AssertCanonical(t, w, "dynamics__accounts", "accounts")
	stagingtest.AssertCanonical(t, w, "dynamics__systemusers", "users")
	for _, tc := range []struct{ view, key, set string }{
		{"dynamics__opportunities", "opportunity_id", sandbox.DynOpportunities},
		{"dynamics__accounts", "account_id", sandbox.DynAccounts},
		{"dynamics__systemusers", "user_id", sandbox.DynSystemUsers},
	} {
		got := stagingtest.QueryStrings(t, w, fmt.Sprintf("select %s from staging.%s order by 1", tc.key, tc.view))
		var want []string
		for _, r := range d.Records(tc.set) {
			if !r.Deleted {
				want = append(want, r.ID)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("staging.%s has %d ids, the environment %d live", tc.view, len(got), len(want))
		}
	}
	changed := map[string]bool{}
	for _, id := range dres.Changed {
		changed[id] = true
	}
	rows, err := w.DB.Query(`select opportunity_id, account_id, owner_id, stage, coalesce(forecast_category, ''), probability, cast(amount as varchar), currency,
		strftime(close_date, '%Y-%m-%d'), strftime(created_date, '%Y-%m-%d'), is_closed, is_won, type, coalesce(lead_source, '') from staging.dynamics__opportunities`)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	for i := range c.Opportunities {
		byID[sandbox.DynamicsOpportunityID(c.Opportunities[i].ID)] = i
	}
	checked := 0
	for rows.Next() {
		var id, acct, owner, stage, fc, amount, cur, closeDate, created, typ, lead string
		var prob float64
		var closed, won bool
		if err := rows.Scan(&id, &acct, &owner, &stage, &fc, &prob, &amount, &cur, &closeDate, &created, &closed, &won, &typ, &lead); err != nil {
			t.Fatal(err)
		}
		if changed[id] {
			continue
		}
		o := &c.Opportunities[byID[id]]
		want := []string{sandbox.DynamicsAccountID(o.Account), sandbox.DynamicsUserID(o.Owner), o.Stage.String(), o.ForecastCategory.String(), fmt.Sprint(o.Probability()),
			o.Amount.String(), o.Currency.String(), o.CloseDate.String(), o.CreatedDate.String(), fmt.Sprint(o.IsClosed()), fmt.Sprint(o.IsWon()), o.Type.String(), o.LeadSource}
		got := []string{acct, owner, stage, fc, fmt.Sprint(prob), amount, cur, closeDate, created, fmt.Sprint(closed), fmt.Sprint(won), typ, lead}
		if !slices.Equal(got, want) {
			t.Fatalf("opportunity %s staged as %v, the generator has %v", id, got, want)
		}
		checked++
	}
	rows.Close()
	if checked < len(c.Opportunities)-60 {
		t.Errorf("only %d opportunities compared with the generator", checked)
	}
}

// TestDynamics_StagingOnEmptyWarehouse checks that the staging views compile before
// anything was extracted: Load creates the raw and tombstone tables the connector
// declares, empty.
func TestDynamics_StagingOnEmptyWarehouse(t *testing.T) {
	dir := t.TempDir()
	w := stagingtest.StageViews(t, dir, "d365", "dynamics", 3)
	for _, v := range []string{"dynamics__opportunities", "dynamics__accounts", "dynamics__systemusers"} {
		if n := stagingtest.QueryStrings(t, w, "select cast(count(*) as varchar) from staging."+v); n[0] != "0" {
			t.Errorf("staging.%s has %s rows in an empty warehouse", v, n[0])
		}
	}
}
