package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
	revsql "github.com/revcast/revcast/sql"
	"github.com/revcast/revcast/transform"
	"github.com/revcast/revcast/transform/transformtest"
)

// TestTransform_IncrementalMatchesFullRebuild extracts a company through every connector
// (the CRM split by region over the Salesforce, HubSpot and Dynamics sandboxes; SAP or
// NetSuite as the ERP; file exports for the rest) and transforms it. Then, in rounds, it
// changes and deletes records in every sandbox, lands a hand-made batch of late, older
// and new versions, moved history rows and tombstones, extracts, and runs 'revcast
// transform' (incremental) — and compares every staging, core and mart table with a full
// rebuild ('revcast transform --full') of a copy of the warehouse as it was before.
func TestTransform_IncrementalMatchesFullRebuild(t *testing.T) {
	for _, erp := range []string{"sap", "netsuite"} {
		t.Run(erp, func(t *testing.T) {
			if erp == "netsuite" && testing.Short() {
				t.Skip("netsuite skipped with -short")
			}
			testIncrementalTransform(t, erp)
		})
	}
}

func testIncrementalTransform(t *testing.T, erp string) {
	ctx := context.Background()
	asOf := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	co, err := fixtures.Generate(fixtures.Options{Seed: 7, Opportunities: 1500, AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := co.WriteCSVWith(filepath.Join(dir, "exports"), fixtures.CSVOptions{Tables: demoFileTables}); err != nil {
		t.Fatal(err)
	}
	srv, err := sandbox.Start(co, "127.0.0.1:0", sandbox.ServerOptions{Split: sandbox.SplitByRegion, SAP: erp == "sap", NetSuite: erp == "netsuite"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("SF_CLIENT_SECRET", sandbox.SalesforceDemoClientSecret)
	t.Setenv("HUBSPOT_ACCESS_TOKEN", sandbox.HubSpotDemoToken)
	t.Setenv("DYNAMICS_CLIENT_SECRET", sandbox.DynamicsDemoClientSecret)
	t.Setenv("SAP_PASSWORD", sandbox.SAPDemoPassword)
	t.Setenv("NETSUITE_PRIVATE_KEY", sandbox.NetSuiteDemoPrivateKeyPEM)
	sources := salesforceSourceYAML(srv.URLs["salesforce"], "") + `  - name: hubspot
    type: hubspot
    base_url: ` + srv.URLs["hubspot"] + `
    access_token_env: HUBSPOT_ACCESS_TOKEN
  - name: dynamics
    type: dynamics
    org_url: ` + srv.URLs["dynamics"] + `
    authority_url: ` + srv.URLs["dynamics"] + `
    tenant_id: ` + sandbox.DynamicsDemoTenantID + `
    client_id: ` + sandbox.DynamicsDemoClientID + `
    client_secret_env: DYNAMICS_CLIENT_SECRET
`
	if erp == "sap" {
		sources += sapSourceYAML(srv.URLs["sap"], "")
	} else {
		sources += netsuiteSourceYAML(srv.URLs["netsuite"], "")
	}
	sources += filesSourceYAML("./exports", "")
	cfg, err := writeConfig(dir, configTemplateData{DataDir: "./data", Sources: sources}, true)
	if err != nil {
		t.Fatal(err)
	}
	// cli runs revcast; a transform may fail its data tests (deleted accounts leave
	// opportunities behind: findings about the data), not otherwise.
	cli := func(t *testing.T, args ...string) string {
		t.Helper()
		out, errs, code := run(t, append(args, "--config", cfg)...)
		if code != 0 && !(args[0] == "transform" && strings.Contains(errs, "data tests failed")) {
			t.Fatalf("revcast %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
		}
		return errs
	}
	data := filepath.Join(dir, "data")
	whPath := filepath.Join(data, "warehouse.duckdb")
	cli(t, "extract", "--log-level", "warn")
	cli(t, "transform", "--as-of", "2026-06-30", "--log-level", "warn")

	for round := 1; round <= 3; round++ {
		t.Run(fmt.Sprintf("round %d", round), func(t *testing.T) {
			mutateSandboxes(t, srv, erp, uint64(round))
			cli(t, "extract", "--log-level", "warn")
			if round == 2 {
				landLateBatch(t, whPath, filepath.Join(data, "lake"))
			}
			ref := filepath.Join(t.TempDir(), "full.duckdb")
			copyFile(t, whPath, ref)
			errs := cli(t, "transform", "--as-of", "2026-06-30", "--log-level", "info")
			t.Log(lastLine(errs, "built models"))
			if !strings.Contains(errs, "incremental=") || strings.Contains(errs, " incremental=0 ") {
				t.Errorf("no model was updated incrementally:\n%s", errs)
			}
			// the reference: the same warehouse before this transform, rebuilt in full
			rw, err := transform.Open(ctx, ref, false)
			if err != nil {
				t.Fatal(err)
			}
			var lake []transform.LakeSource
			for _, s := range []struct{ name, typ string }{{"salesforce", "salesforce"}, {"hubspot", "hubspot"}, {"dynamics", "dynamics"}, {erp, erp}, {"exports", "files"}} {
				lake = append(lake, transform.LakeSource{Name: s.name, Type: s.typ})
			}
			if _, err := rw.Load(ctx, filepath.Join(data, "lake"), lake); err != nil {
				t.Fatal(err)
			}
			models, err := transform.ParseModels(revsql.FS)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rw.Build(ctx, models, transform.Settings{BaseCurrency: "USD", AsOf: asOf}); err != nil {
				t.Fatal(err)
			}
			if err := rw.Close(); err != nil {
				t.Fatal(err)
			}
			w, err := transform.Open(ctx, whPath, false)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			transformtest.MustMatch(t, w, ref)
		})
	}
}

// mutateSandboxes changes about 2% and deletes about 0.5% of the records of every object
// of every sandbox that can change them.
func mutateSandboxes(t *testing.T, srv *sandbox.Server, erp string, seed uint64) {
	t.Helper()
	pct := func(n, p int) int { return max(1, n*p/1000) }
	for _, obj := range []string{sandbox.SFAccount, sandbox.SFOpportunity, sandbox.SFOpportunityLineItem, sandbox.SFCase, sandbox.SFContract, sandbox.SFUser} {
		live, _ := srv.Salesforce.Count(obj)
		if _, err := srv.Salesforce.Mutate(obj, pct(live, 20), pct(live, 5), seed); err != nil {
			if _, err := srv.Salesforce.Mutate(obj, pct(live, 20), 0, seed); err != nil { // not deletable
				t.Fatal(err)
			}
		}
	}
	// History rows are never modified: the changed opportunities above added theirs. Some
	// are deleted, so that tombstones of history rows reach the incremental build too.
	live, _ := srv.Salesforce.Count(sandbox.SFOpportunityHistory)
	if _, err := srv.Salesforce.Mutate(sandbox.SFOpportunityHistory, 0, pct(live, 5), seed); err != nil {
		t.Fatal(err)
	}
	for _, obj := range []string{sandbox.HSCompanies, sandbox.HSDeals} {
		live, _ := srv.HubSpot.Count(obj)
		if _, err := srv.HubSpot.Mutate(obj, pct(live, 20), pct(live, 5), seed); err != nil {
			t.Fatal(err)
		}
	}
	for _, set := range []string{sandbox.DynAccounts, sandbox.DynOpportunities, sandbox.DynSystemUsers} {
		live, _ := srv.Dynamics.Count(set)
		if _, err := srv.Dynamics.Mutate(set, pct(live, 20), pct(live, 5), seed); err != nil {
			t.Fatal(err)
		}
	}
	if seed == 3 { // a change to a lookup table every opportunity joins: a full rebuild
		if _, err := srv.Dynamics.Mutate(sandbox.DynTransactionCurrencies, 1, 0, seed); err != nil {
			t.Fatal(err)
		}
	}
	switch erp {
	case "sap":
		for _, set := range []string{sandbox.SAPSalesOrder, sandbox.SAPBillingDocument, sandbox.SAPCustomer, sandbox.SAPARItem} {
			n := srv.SAP.Count(set)
			cancelled := 0
			if set == sandbox.SAPSalesOrder || set == sandbox.SAPBillingDocument {
				cancelled = pct(n, 5)
			}
			if _, err := srv.SAP.Mutate(set, pct(n, 20), cancelled, seed); err != nil {
				t.Fatal(err)
			}
		}
	case "netsuite":
		for _, kind := range []string{"SalesOrd", "CustInvc", "CustPymt"} {
			n := srv.NetSuite.Count("transaction", kind)
			if _, err := srv.NetSuite.Mutate(kind, pct(n, 20), pct(n, 5), seed); err != nil {
				t.Fatal(err)
			}
		}
		n := srv.NetSuite.Count("customer", "")
		if _, err := srv.NetSuite.Mutate("customer", pct(n, 20), pct(n, 5), seed); err != nil {
			t.Fatal(err)
		}
	}
}

// landLateBatch lands, as a connector would, Salesforce records no sandbox change makes:
// new opportunities, versions older than the current ones arriving late, history rows
// moving to another opportunity, and tombstones learned before and after a record's
// latest version.
func landLateBatch(t *testing.T, whPath, lake string) {
	t.Helper()
	w, err := transform.Open(context.Background(), whPath, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	land := func(stream, q string) {
		t.Helper()
		d := filepath.Join(lake, "salesforce", stream, "dt=2026-06-30")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := w.DB.Exec(fmt.Sprintf(`copy (%s) to '%s' (format parquet)`, q, filepath.Join(d, "zz-late-000001.parquet"))); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	latest := `(select * exclude (_file, _source) from raw.%s qualify row_number() over (partition by Id order by SystemModstamp desc) = 1)`
	land("opportunity", fmt.Sprintf(`
		select * replace ('NEW' || Id as Id, SystemModstamp + interval 1 minute as SystemModstamp) from (select * from %[1]s order by Id limit 3)
		union all by name
		select * replace (SystemModstamp - interval 30 day as SystemModstamp, coalesce(Amount, 0) + 1 as Amount) from (select * from %[1]s order by Id limit 3 offset 10)`,
		fmt.Sprintf(latest, "salesforce__opportunity")))
	land("opportunity_history", fmt.Sprintf(`
		select * replace ((select min(Id) from raw.salesforce__opportunity) as OpportunityId, SystemModstamp + interval 1 minute as SystemModstamp)
		from (select * from %[1]s order by Id limit 3 offset 20)
		union all by name
		select * replace ('NEW' || OpportunityId as OpportunityId, 'NEW' || Id as Id) from (select * from %[1]s order by Id limit 5 offset 40)`,
		fmt.Sprintf(latest, "salesforce__opportunity_history")))
	land("opportunity__deleted", fmt.Sprintf(`
		select Id as key, SystemModstamp + interval 1 minute as deleted_at from (select * from %[1]s order by Id limit 2 offset 30)
		union all
		select Id, SystemModstamp - interval 1 minute from (select * from %[1]s order by Id limit 2 offset 40)`,
		fmt.Sprintf(latest, "salesforce__opportunity")))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(from + ".wal"); err == nil {
		copyFile(t, from+".wal", to+".wal")
	}
}

func lastLine(s, containing string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], containing) {
			return lines[i]
		}
	}
	return ""
}
