package salesforce_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/salesforce"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
	revsql "github.com/revcast/revcast/sql"
	"github.com/revcast/revcast/transform"
)

// stagingModels maps each sql/staging/salesforce__*.sql model to the canonical table
// whose shape it must have.
var stagingModels = map[string]string{
	"salesforce__user":                  "users",
	"salesforce__account":               "accounts",
	"salesforce__product2":              "products",
	"salesforce__opportunity":           "opportunities",
	"salesforce__opportunity_line_item": "opportunity_lines",
	"salesforce__opportunity_history":   "opportunity_history",
	"salesforce__case":                  "cases",
	"salesforce__contract":              "contracts",
}

// buildStaging lands everything src reads through the Runner (one run per id), loads the
// lake and builds the Salesforce staging models.
func buildStaging(t *testing.T, dir string, src *salesforce.Source, between func(run int)) *transform.Warehouse {
	t.Helper()
	ctx := context.Background()
	for i, id := range []string{"20250101T000000Z-000001", "20250101T000001Z-000002"} {
		if i > 0 {
			if between == nil {
				break
			}
			between(i)
		}
		r := &extract.Runner{DataDir: dir, RunID: revcast.RunID(id)}
		res, err := r.Extract(ctx, "salesforce", src, extract.ExtractOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range res.Streams {
			if s.Err != nil {
				t.Fatalf("%s: %v", s.Stream, s.Err)
			}
		}
	}
	w, err := transform.Open(ctx, filepath.Join(dir, "warehouse.duckdb"), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.Load(ctx, filepath.Join(dir, "lake"), []transform.LakeSource{{Name: "salesforce", Type: "salesforce"}}); err != nil {
		t.Fatal(err)
	}
	// Streams without deletions have no tombstone table yet: create the empty ones, as the
	// transform must for every Salesforce stream (see the report to the lead).
	for _, st := range salesforce.CatalogStreams() {
		q := fmt.Sprintf(`create table if not exists raw.salesforce__%s__deleted (key varchar, deleted_at timestamptz, _file varchar, _source varchar)`, st.Name)
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	all, err := transform.ParseModels(revsql.FS)
	if err != nil {
		t.Fatal(err)
	}
	var mine []transform.Model
	for _, m := range all {
		if _, ok := stagingModels[m.Name]; ok {
			mine = append(mine, m)
		}
	}
	if len(mine) != len(stagingModels) {
		t.Fatalf("found %d of the %d Salesforce staging models", len(mine), len(stagingModels))
	}
	if _, err := w.Build(ctx, mine, transform.Settings{BaseCurrency: "USD"}); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestCompanyThroughStaging loads a generated company into the sandbox, extracts it
// and builds staging: every table holds exactly the generator's rows (ids mapped back with
// SalesforceNumber) and the money adds up to the cent.
func TestCompanyThroughStaging(t *testing.T) {
	c, err := fixtures.Generate(fixtures.Options{Seed: 5, Opportunities: 1500})
	if err != nil {
		t.Fatal(err)
	}
	org, srv := newOrg(t, 0, sandbox.SalesforceOptions{})
	if err := org.LoadCompany(c, nil); err != nil {
		t.Fatal(err)
	}
	w := buildStaging(t, t.TempDir(), newSource(t, srv, nil), nil)
	ctx := context.Background()
	counts := c.Counts()
	for model, table := range stagingModels {
		var n int
		if err := w.DB.QueryRowContext(ctx, "select count(*) from staging."+model).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != counts[table] {
			t.Errorf("staging.%s: %d rows, the generator made %d %s", model, n, counts[table], table)
		}
	}
	var want, got float64
	for _, o := range c.Opportunities {
		want += o.Amount.Float64()
	}
	if err := w.DB.QueryRowContext(ctx, "select cast(sum(amount) as double) from staging.salesforce__opportunity").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%.2f", got) != fmt.Sprintf("%.2f", want) {
		t.Errorf("sum of opportunity amounts %.2f, generator %.2f", got, want)
	}
	rows, err := w.DB.QueryContext(ctx, "select opportunity_id, stage, forecast_category, type, close_date from staging.salesforce__opportunity")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked := 0
	for rows.Next() {
		var id, stage, fc, typ string
		var closeDate time.Time
		rows.Scan(&id, &stage, &fc, &typ, &closeDate)
		n, ok := sandbox.SalesforceNumber(id)
		if !ok || n < 1 || n > len(c.Opportunities) {
			t.Fatalf("opportunity id %s does not map back to the generator", id)
		}
		o := c.Opportunities[n-1]
		if stage != o.Stage.String() || fc != o.ForecastCategory.String() || typ != o.Type.String() || !closeDate.Equal(o.CloseDate.Time()) {
			t.Errorf("%s (OPP %d): %s/%s/%s/%s, generator %s/%s/%s/%s", id, n, stage, fc, typ, closeDate.Format(time.DateOnly),
				o.Stage, o.ForecastCategory, o.Type, o.CloseDate)
		}
		checked++
	}
	if checked != len(c.Opportunities) {
		t.Errorf("checked %d opportunities of %d", checked, len(c.Opportunities))
	}
}

// TestStagingModels lands the sandbox through the Runner twice (a full run, then an
// incremental one after changes and deletions), loads the lake into DuckDB and builds
// the Salesforce staging models: each must have exactly its canonical table's columns and
// types plus _source, and hold exactly the org's live records.
func TestStagingModels(t *testing.T) {
	ctx := context.Background()
	org, srv := newOrg(t, 300, sandbox.SalesforceOptions{})
	w := buildStaging(t, t.TempDir(), newSource(t, srv, nil), func(int) {
		for _, m := range []struct {
			object           string
			changed, deleted int
		}{{"Opportunity", 7, 5}, {"Account", 3, 2}, {"OpportunityLineItem", 4, 3}, {"Case", 2, 1}} {
			if _, err := org.Mutate(m.object, m.changed, m.deleted, 11); err != nil {
				t.Fatal(err)
			}
		}
	})
	objects := map[string]string{"salesforce__user": "User", "salesforce__account": "Account", "salesforce__opportunity": "Opportunity",
		"salesforce__opportunity_line_item": "OpportunityLineItem", "salesforce__opportunity_history": "OpportunityHistory",
		"salesforce__case": "Case", "salesforce__contract": "Contract", "salesforce__product2": "Product2"}
	for model, table := range stagingModels {
		t.Run(model, func(t *testing.T) {
			tbl, _ := revcast.LookupTable(table)
			var want []string
			for _, c := range tbl.Columns {
				want = append(want, c.Name+" "+c.Type.String())
			}
			want = append(want, "_source VARCHAR")
			rows, err := w.DB.QueryContext(ctx, `select column_name, data_type from information_schema.columns where table_schema = 'staging' and table_name = ? order by ordinal_position`, model)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var n, ty string
				rows.Scan(&n, &ty)
				got = append(got, n+" "+strings.Replace(ty, "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", 1))
			}
			rows.Close()
			if !slices.Equal(got, want) {
				t.Errorf("columns of staging.%s:\n got %v\nwant %v", model, got, want)
			}
			key := tbl.Key[0]
			var ids []string
			rows, err = w.DB.QueryContext(ctx, fmt.Sprintf(`select %s from staging.%s order by 1`, key, model))
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id string
				rows.Scan(&id)
				ids = append(ids, id)
			}
			rows.Close()
			var live []string
			for _, r := range org.Records(objects[model]) {
				if !r.IsDeleted {
					live = append(live, r.ID)
				}
			}
			slices.Sort(live)
			if model == "salesforce__product2" {
				live = nil // keyed by product code
				for i := range 25 {
					live = append(live, fmt.Sprintf("MAT-%05d", 1000+i))
				}
			}
			if !slices.Equal(ids, live) {
				t.Errorf("staging.%s holds %d keys, the org %d live records", model, len(ids), len(live))
			}
			if model == "salesforce__product2" {
				return
			}
			// Each record as its latest version: the changed ones landed twice.
			stamp := map[string]int64{}
			for _, r := range org.Records(objects[model]) {
				stamp[r.ID] = int64(r.SystemModstamp)
			}
			rows, err = w.DB.QueryContext(ctx, fmt.Sprintf(`select %s, epoch_ms(modified_at) from staging.%s`, key, model))
			if err != nil {
				t.Fatal(err)
			}
			stale := 0
			for rows.Next() {
				var id string
				var ms int64
				rows.Scan(&id, &ms)
				if ms != stamp[id] {
					stale++
				}
			}
			rows.Close()
			if stale > 0 {
				t.Errorf("staging.%s: %d records not at the org's latest version", model, stale)
			}
		})
	}
	// Values: a changed opportunity has its new amount; categories are canonical.
	var bad int
	if err := w.DB.QueryRowContext(ctx, `select count(*) from staging.salesforce__opportunity
		where forecast_category not in ('pipeline', 'best_case', 'commit', 'closed', 'omitted') or (is_won and not is_closed)`).Scan(&bad); err != nil || bad != 0 {
		t.Errorf("opportunities with non-canonical categories: %d (%v)", bad, err)
	}
	if err := w.DB.QueryRowContext(ctx, `select count(*) from staging.salesforce__opportunity_history where valid_to is not null and valid_to < valid_from`).Scan(&bad); err != nil || bad != 0 {
		t.Errorf("history rows ending before they start: %d (%v)", bad, err)
	}
}
