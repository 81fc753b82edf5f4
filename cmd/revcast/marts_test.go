package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
	"github.com/revcast/revcast/models/reconcile"
	"github.com/revcast/revcast/transform"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the code produces")

// martsWarehouse runs the demo at scale with the CRM side arriving via "files" or "sandbox"
// (the Salesforce connector) and opens its warehouse read-only, with the ground truth. Via the
// sandbox, CRM records carry Salesforce ids: the truth's CRM ids are translated to them.
func martsWarehouse(t *testing.T, via, scale, seed string) (*transform.Warehouse, *fixtures.Truth, string) {
	t.Helper()
	dir := t.TempDir()
	out, errs, code := run(t, "demo", "--via", via, "--dir", dir, "--scale", scale, "--seed", seed, "--as-of", "2026-06-30", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	truth, err := fixtures.ReadTruth(filepath.Join(dir, "truth"))
	if err != nil {
		t.Fatal(err)
	}
	if via == "sandbox" {
		translateCRMIDs(truth)
	}
	w, err := transform.Open(context.Background(), filepath.Join(dir, "data", "warehouse.duckdb"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, truth, dir
}

// salesforceIDOf turns a generator CRM id (ACC-…, OPP-…, OLI-…) into the id the Salesforce
// sandbox serves it under; other ids are returned as they are.
func salesforceIDOf(id string) string {
	for prefix, object := range map[string]string{"ACC-": sandbox.SFAccount, "OPP-": sandbox.SFOpportunity, "OLI-": sandbox.SFOpportunityLineItem} {
		if n, err := strconv.Atoi(strings.TrimPrefix(id, prefix)); strings.HasPrefix(id, prefix) && err == nil {
			return sandbox.SalesforceID(object, n)
		}
	}
	return id
}

// translateCRMIDs rewrites the truth's CRM ids to Salesforce ids.
func translateCRMIDs(truth *fixtures.Truth) {
	for i := range truth.AccountMatches {
		m := &truth.AccountMatches[i]
		m.AccountID, m.DuplicateOf = salesforceIDOf(m.AccountID), salesforceIDOf(m.DuplicateOf)
	}
	for i := range truth.LookAlikes {
		truth.LookAlikes[i].AccountID = salesforceIDOf(truth.LookAlikes[i].AccountID)
	}
	for i := range truth.AnomalyDetails {
		truth.AnomalyDetails[i].CRMRecordID = salesforceIDOf(truth.AnomalyDetails[i].CRMRecordID)
	}
}

// queryRows returns every row of q with values as text ("" for NULL).
func queryRows(t *testing.T, w *transform.Warehouse, q string) [][]string {
	t.Helper()
	res, err := w.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out := make([][]string, len(res.Rows))
	for i, r := range res.Rows {
		out[i] = make([]string, len(r))
		for j, v := range r {
			if v != nil {
				out[i][j] = *v
			}
		}
	}
	return out
}

func pairsOf(rows [][]string) []reconcile.Pair {
	out := make([]reconcile.Pair, len(rows))
	for i, r := range rows {
		out[i] = reconcile.Pair{A: r[0], B: r[1]}
	}
	return out
}

// TestMarts_AgainstGroundTruth builds the warehouse from the generated company at small and
// (unless -short) medium scale, with the CRM side from file exports and (medium) through the
// Salesforce connector, and measures the golden record, the reconciliation variances and the
// operational marts against the generator's ground truth.
//
//	go test ./cmd/revcast/ -run TestMarts_AgainstGroundTruth -v
func TestMarts_AgainstGroundTruth(t *testing.T) {
	for _, tc := range []struct{ via, scale string }{{"files", "small"}, {"files", "medium"}, {"sandbox", "medium"}} {
		t.Run(tc.via+"/"+tc.scale, func(t *testing.T) {
			if tc.scale == "medium" && testing.Short() {
				t.Skip("medium scale skipped with -short")
			}
			via := tc.via
			w, truth, _ := martsWarehouse(t, via, tc.scale, "7")
			t.Run("golden record", func(t *testing.T) { checkGoldenRecord(t, w, truth) })
			t.Run("order matches", func(t *testing.T) { checkOrderMatches(t, w, truth, via) })
			t.Run("reconciliation", func(t *testing.T) { checkReconciliation(t, w, truth) })
			t.Run("operational marts", func(t *testing.T) { checkOperationalMarts(t, w, truth) })
			t.Run("ar aging", func(t *testing.T) { checkARAging(t, w) })
			for _, r := range queryRows(t, w, `select name, rows, round(seconds, 3) from meta.models
				where name in ('match_names', 'match_pairs', 'account_matches', 'account_duplicates', 'customers', 'serving_plants',
				               'reconcile_settings', 'order_matches', 'reconciliation_variances', 'order_status_updates', 'inventory_risk',
				               'credit_alerts', 'ar_aging')
				order by name`) {
				t.Logf("model %-26s %8s rows %6ss", r[0], r[1], r[2])
			}
		})
	}
}

func checkGoldenRecord(t *testing.T, w *transform.Warehouse, truth *fixtures.Truth) {
	var all, fuzzy, dups []reconcile.Pair
	covered := map[reconcile.Pair]bool{}
	for _, m := range truth.AccountMatches {
		if m.CustomerID != "" {
			all = append(all, reconcile.Pair{A: m.AccountID, B: m.CustomerID})
			if m.WithoutCrossReference {
				fuzzy = append(fuzzy, reconcile.Pair{A: m.AccountID, B: m.CustomerID})
			}
		}
		if m.DuplicateOf != "" {
			dups = append(dups, reconcile.Pair{A: m.AccountID, B: m.DuplicateOf})
		}
	}
	auto := pairsOf(queryRows(t, w, `select crm_account_id, erp_customer_id from account_matches where decision = 'auto'`))
	fuzzyAuto := pairsOf(queryRows(t, w, `select crm_account_id, erp_customer_id from account_matches where decision = 'auto' and score < 100`))
	for _, p := range pairsOf(queryRows(t, w, `select crm_account_id, erp_customer_id from account_matches where decision in ('auto', 'review')`)) {
		covered[p] = true
	}
	allScore := reconcile.ScorePairs(auto, all, false)
	fuzzyScore := reconcile.ScorePairs(fuzzyAuto, fuzzy, false)
	t.Logf("auto matches, all accounts:          precision %.4f recall %.4f (%d auto, %d true pairs)", allScore.Precision, allScore.Recall, allScore.Predicted, allScore.True)
	t.Logf("auto matches, no cross-reference:    precision %.4f recall %.4f (%d auto, %d true pairs)", fuzzyScore.Precision, fuzzyScore.Recall, fuzzyScore.Predicted, fuzzyScore.True)
	if allScore.Precision < 0.98 || allScore.Recall < 0.95 {
		t.Errorf("auto matches: precision %.4f (want >= 0.98), recall %.4f (want >= 0.95)", allScore.Precision, allScore.Recall)
	}
	if fuzzyScore.Precision < 0.98 || fuzzyScore.Recall < 0.95 {
		t.Errorf("fuzzy auto matches: precision %.4f (want >= 0.98), recall %.4f (want >= 0.95)", fuzzyScore.Precision, fuzzyScore.Recall)
	}
	var missed []string
	for _, p := range all {
		if !covered[p] {
			missed = append(missed, p.A+"->"+p.B)
		}
	}
	if len(missed) > 0 {
		t.Errorf("%d true account/customer pairs neither matched nor in review, e.g. %v", len(missed), missed[:min(5, len(missed))])
	}
	autoSet := map[reconcile.Pair]bool{}
	for _, p := range auto {
		autoSet[p] = true
	}
	for _, l := range truth.LookAlikes {
		if autoSet[reconcile.Pair{A: l.AccountID, B: l.CustomerID}] {
			t.Errorf("look-alike %s / %s auto-merged", l.AccountID, l.CustomerID)
		}
	}

	dupAuto := pairsOf(queryRows(t, w, `select crm_account_id, duplicate_of_account_id from account_duplicates where decision = 'auto'`))
	dupAny := pairsOf(queryRows(t, w, `select crm_account_id, duplicate_of_account_id from account_duplicates`))
	dupScore := reconcile.ScorePairs(dupAuto, dups, true)
	anyScore := reconcile.ScorePairs(dupAny, dups, true)
	t.Logf("duplicate CRM accounts (auto):       precision %.4f recall %.4f (%d auto, %d planted); auto or review recall %.4f",
		dupScore.Precision, dupScore.Recall, dupScore.Predicted, dupScore.True, anyScore.Recall)
	if anyScore.Recall < 1 {
		t.Errorf("planted duplicate accounts found (auto or review): recall %.4f, want 1", anyScore.Recall)
	}
	if dupScore.Precision < 0.98 {
		t.Errorf("duplicate accounts auto precision %.4f, want >= 0.98", dupScore.Precision)
	}
}

func checkOrderMatches(t *testing.T, w *transform.Warehouse, truth *fixtures.Truth, via string) {
	got := map[string][]string{}
	for _, r := range queryRows(t, w, `select order_id, opportunity_id, method from order_matches`) {
		got[r[0]] = r[1:]
	}
	wrong, inferred := 0, 0
	for _, o := range truth.Orders {
		want := ""
		if o.Opportunity != 0 {
			want = o.Opportunity.String()
			if via == "sandbox" {
				want = salesforceIDOf(want)
			}
		}
		g := got[o.ID.String()]
		if g == nil || g[0] != want {
			wrong++
			if wrong <= 5 {
				t.Errorf("order %s: opportunity %v, want %q", o.ID, g, want)
			}
		}
		if g != nil && g[1] == "inferred" {
			inferred++
		}
	}
	t.Logf("orders linked to their deal: %d of %d right (%d without the deal id on the order, inferred)", len(truth.Orders)-wrong, len(truth.Orders), inferred)
}

func checkReconciliation(t *testing.T, w *transform.Warehouse, truth *fixtures.Truth) {
	var planted []reconcile.Finding
	touched := map[string]bool{}
	for _, a := range truth.AnomalyDetails {
		id := a.ERPRecordID
		if id == "" {
			id = a.CRMRecordID
		}
		planted = append(planted, reconcile.Finding{Kind: a.Kind, ID: id})
		for _, x := range []string{a.ERPRecordID, a.CRMRecordID} {
			if x != "" {
				touched[x] = true
			}
		}
	}
	var reported []reconcile.Finding
	for _, r := range queryRows(t, w, `select kind, coalesce(erp_record_id, crm_record_id) from reconciliation_variances
		where kind <> 'commit_vs_recognised'`) {
		reported = append(reported, reconcile.Finding{Kind: r[0], ID: r[1]})
	}
	generatorKinds := map[string]bool{}
	for _, k := range fixtures.AnomalyKinds {
		generatorKinds[k] = true
	}
	for _, s := range reconcile.Score(reported, planted, touched) {
		t.Logf("%-26s planted %4d reported %4d correct %4d on clean %3d  recall %.3f precision %.3f clean precision %.3f",
			s.Kind, s.Planted, s.Reported, s.Correct, s.OnClean, s.Recall, s.Precision, s.CleanPrecision)
		switch {
		case generatorKinds[s.Kind]:
			if s.Recall < 1 {
				t.Errorf("%s: recall %.4f (%d of %d planted), want 1", s.Kind, s.Recall, s.Correct, s.Planted)
			}
			if s.Precision < 0.99 {
				t.Errorf("%s: precision %.4f, want >= 0.99", s.Kind, s.Precision)
			}
		case s.CleanPrecision < 0.99:
			t.Errorf("%s: %d of %d findings on clean records, want at most 1%%", s.Kind, s.OnClean, s.Reported)
		}
	}
	for _, r := range queryRows(t, w, `select kind, count(*) from reconciliation_variances
		where kind in ('missing_fx_rate', 'invoice_without_order', 'invalid_quantity') group by kind`) {
		t.Errorf("clean generated data has %s findings of kind %s", r[1], r[0])
	}
	for _, r := range queryRows(t, w, `select explanation from reconciliation_variances where kind = 'commit_vs_recognised' order by crm_record_id`) {
		t.Logf("close check: %s", r[0])
	}
}

func checkOperationalMarts(t *testing.T, w *transform.Warehouse, truth *fixtures.Truth) {
	// credit alerts name exactly the credit-blocked and the over-limit customers
	blocked := queryRows(t, w, `select customer_id from credit_alerts where credit_blocked order by 1`)
	over := queryRows(t, w, `select customer_id from credit_alerts where over_limit order by 1`)
	if got, want := column(blocked), sorted(truth.CreditBlocked); !slices.Equal(got, want) {
		t.Errorf("credit_alerts credit_blocked: %d customers, truth %d (e.g. got %v want %v)", len(got), len(want), head(got), head(want))
	}
	if got, want := column(over), sorted(truth.OverCreditLimit); !slices.Equal(got, want) {
		t.Errorf("credit_alerts over_limit: %d customers, truth %d (e.g. got %v want %v)", len(got), len(want), head(got), head(want))
	}

	// every delayed delivery of a deal's order shows as delayed and needs review
	delayed := map[string]bool{}
	for _, id := range truth.DelayedShipments {
		delayed[id] = true
	}
	rows := queryRows(t, w, `select s.shipment_id, u.opportunity_id, u.erp_status, u.needs_review
		from shipments s
		join order_matches m on m.order_id = s.order_id and m.method <> 'duplicate'
		left join order_status_updates u on u.order_id = s.order_id
		where m.opportunity_id is not null`)
	checked := 0
	for _, r := range rows {
		if !delayed[r[0]] {
			continue
		}
		checked++
		if r[2] != "delayed" || r[3] != "true" {
			t.Errorf("delayed shipment %s: order_status_updates says %q needs_review %s for %s", r[0], r[2], r[3], r[1])
		}
	}
	rejected := queryRows(t, w, `select u.opportunity_id from order_status_updates u where u.erp_status = 'rejected'
		and not exists (select 1 from shipments s where s.order_id = u.order_id and s.status = 'rejected')`)
	if len(rejected) > 0 {
		t.Errorf("%d deals shown rejected without a rejected delivery, e.g. %v", len(rejected), rejected[0])
	}
	t.Logf("delayed deliveries of deals' orders flagged: %d of %d delayed deliveries in the data", checked, len(truth.DelayedShipments))

	// the plant rule deals get is the one the ERP applies to its order lines
	if n := queryRows(t, w, `select count(*) from (`+readSQLTest(t, "order_lines_ship_from_serving_plant")+`)`); n[0][0] != "0" {
		t.Errorf("%s order lines ship from another plant than serving_plants says", n[0][0])
	}
	shortages := map[string]bool{}
	for _, s := range truth.StockShortages {
		shortages[s.Product+"@"+s.Plant] = true
	}
	onShortage, atRisk := 0, 0
	for _, r := range queryRows(t, w, `select product_id || '@' || plant from inventory_risk where shortfall_qty > 0`) {
		atRisk++
		if shortages[r[0]] {
			onShortage++
		}
	}
	t.Logf("inventory_risk: %d open lines short on their date, %d of them on the %d supply-constrained product/plant pairs", atRisk, onShortage, len(truth.StockShortages))

	for _, r := range queryRows(t, w, `select 'account_matches', count(*) from account_matches
		union all select 'account_duplicates', count(*) from account_duplicates
		union all select 'customers', count(*) from customers
		union all select 'reconciliation_variances', count(*) from reconciliation_variances
		union all select 'order_status_updates', count(*) from order_status_updates
		union all select 'inventory_risk', count(*) from inventory_risk
		union all select 'credit_alerts', count(*) from credit_alerts
		union all select 'ar_aging', count(*) from ar_aging`) {
		t.Logf("rows %-26s %s", r[0], r[1])
	}
}

// checkARAging: per customer and in total, the aging buckets sum to the open items to the cent.
func checkARAging(t *testing.T, w *transform.Warehouse) {
	r := queryRows(t, w, `select (select sum(amount_base) from ar_aging)::varchar, (select sum(open_amount_base) from ar_open_items)::varchar,
		(select count(*) from (`+readSQLTest(t, "ar_aging_matches_open_items")+`))`)
	if r[0][0] != r[0][1] || r[0][2] != "0" {
		t.Errorf("ar_aging total %s vs open items %s; %s customers differ", r[0][0], r[0][1], r[0][2])
	}
	t.Logf("ar_aging total %s = open items %s", r[0][0], r[0][1])
}

func readSQLTest(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "sql", "tests", name+".sql"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(string(b), "; \n")
}

func column(rows [][]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r[0]
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func head(s []string) []string { return s[:min(5, len(s))] }

// TestMarts_OrderStatusChanges: a second build without new data changes nothing; a delivery
// that arrives shows as a status change against the previous build.
func TestMarts_OrderStatusChanges(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if out, errs, code := run(t, "demo", "--via", "files", "--dir", dir, "--scale", "small", "--seed", "3", "--as-of", "2026-06-30", "--log-level", "warn"); code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, errs)
	}
	cfg := filepath.Join(dir, "revcast.yaml")
	transformAgain := func() {
		t.Helper()
		if out, errs, code := run(t, "--config", cfg, "transform", "--as-of", "2026-06-30", "--log-level", "warn"); code != 0 {
			t.Fatalf("transform: exit %d\n%s\n%s", code, out, errs)
		}
	}
	open := func() *transform.Warehouse {
		t.Helper()
		w, err := transform.Open(ctx, filepath.Join(dir, "data", "warehouse.duckdb"), true)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	transformAgain()
	w := open()
	changed := queryRows(t, w, `select count(*) from order_status_updates where change <> 'none'`)
	// a deal whose only delivery has not arrived and is not billed yet: it is about to arrive
	moving := queryRows(t, w, `select u.opportunity_id, u.order_id, s.shipment_id, u.erp_status from order_status_updates u
		join shipments s on s.order_id = u.order_id
		where u.erp_status in ('picked', 'shipped', 'delayed') and u.invoiced_base is null
		  and (select count(*) from shipments x where x.order_id = u.order_id) = 1
		order by u.opportunity_id limit 1`)
	w.Close()
	if changed[0][0] != "0" {
		t.Fatalf("a rebuild without new data: %s rows changed, want 0", changed[0][0])
	}
	if len(moving) == 0 {
		t.Skip("no deal with a delivery in transit at this seed")
	}
	opp, order, shipment, before := moving[0][0], moving[0][1], moving[0][2], moving[0][3]
	landUpdate(t, dir, "shipments", fmt.Sprintf(`select * replace ('delivered' as status, coalesce(ship_date, date '2026-06-27') as ship_date,
		date '2026-06-29' as delivered_date, coalesce(tracking_number, '1Z999') as tracking_number,
		modified_at + interval 1 day as modified_at) from %%s where shipment_id = '%s'`, shipment))
	transformAgain()
	w = open()
	defer w.Close()
	got := queryRows(t, w, `select opportunity_id, erp_status, previous_status, change, what_changed from order_status_updates where change <> 'none'`)
	if len(got) != 1 || got[0][0] != opp || got[0][1] != "delivered" || got[0][2] != before || got[0][3] != "status" {
		t.Fatalf("after delivering %s of %s: changes %v, want only %s: %s -> delivered", shipment, order, got, opp, before)
	}
	t.Logf("%s: %s", opp, got[0][4])
}

// landUpdate writes one Parquet file into the demo's lake for stream, from selectSQL applied
// (through %s) to the stream's landed files, as the files connector would land a change.
func landUpdate(t *testing.T, dir, stream, selectSQL string) {
	t.Helper()
	lake := filepath.Join(dir, "data", "lake", "exports", stream)
	landed, err := filepath.Glob(filepath.Join(lake, "dt=*", "*.parquet"))
	if err != nil || len(landed) == 0 {
		t.Fatalf("no landed files for %s under %s (%v)", stream, lake, err)
	}
	scratch, err := transform.Open(context.Background(), filepath.Join(t.TempDir(), "scratch.duckdb"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	out := filepath.Join(lake, "dt=2099-12-31")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf("read_parquet(['%s'])", strings.Join(landed, "', '"))
	q := fmt.Sprintf(`copy (%s) to '%s' (format parquet)`, fmt.Sprintf(selectSQL, src), filepath.Join(out, fmt.Sprintf("zz-%s-%d.parquet", stream, len(landed))))
	if _, err := scratch.DB.Exec(q); err != nil {
		t.Fatalf("land %s update: %v", stream, err)
	}
}

// TestMarts_BadData plants a bad row in a small warehouse per case and checks that it
// surfaces as a data-test failure or warning and as a reconciliation finding — never silently
// dropped.
func TestMarts_BadData(t *testing.T) {
	base := t.TempDir()
	if out, errs, code := run(t, "demo", "--via", "files", "--dir", base, "--scale", "300", "--seed", "3", "--as-of", "2026-06-30", "--log-level", "warn"); code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, errs)
	}
	cases := []struct {
		name, stream, plant string
		wantExit            int
		wantLog             string // the data test that must name the row
		finding             string // variance_id in reconciliation_variances
	}{
		{"order in a currency with no rate", "sales_orders",
			`select * replace ('SO-BAD-FX' as order_id, 'XAU' as currency, null::varchar as opportunity_id) from %s order by order_id limit 1`,
			1, "amounts_have_fx_rates", "missing_fx_rate:SO-BAD-FX"},
		{"invoice for an unknown order", "invoices",
			`select * replace ('INV-BAD-1' as invoice_id, 'SO-NOWHERE' as order_id) from %s order by invoice_id limit 1`,
			0, "invoices_reference_known_orders", "invoice_without_order:INV-BAD-1"},
		{"negative quantity", "sales_order_lines",
			`select * replace (order_id || '-BAD' as line_id, 990::bigint as line_no, -5::bigint as quantity, -5 * unit_price as net_amount) from %s order by line_id limit 1`,
			0, "quantities_are_positive", "invalid_quantity:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			landUpdate(t, dir, tc.stream, tc.plant)
			out, errs, code := run(t, "--config", filepath.Join(dir, "revcast.yaml"), "transform", "--as-of", "2026-06-30", "--log-level", "warn")
			if code != tc.wantExit {
				t.Fatalf("transform: exit %d, want %d\n%s\n%s", code, tc.wantExit, out, errs)
			}
			if !strings.Contains(errs, tc.wantLog) {
				t.Errorf("transform output does not name data test %s:\n%s", tc.wantLog, errs)
			}
			w, err := transform.Open(context.Background(), filepath.Join(dir, "data", "warehouse.duckdb"), true)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			got := queryRows(t, w, fmt.Sprintf(`select variance_id, severity, explanation from reconciliation_variances where variance_id like '%s%%'`, tc.finding))
			if len(got) == 0 {
				t.Fatalf("no finding %s in reconciliation_variances", tc.finding)
			}
			t.Logf("%s (%s): %s", got[0][0], got[0][1], got[0][2])
		})
	}
}

// TestMarts_ATPGolden builds a warehouse from a hand-built scenario (testdata/atp/exports:
// stock, allocations, open and overdue receipts, lead times, plants by country, a deal with no
// country) through extract and transform, and compares inventory_risk with
// testdata/atp/expected.csv, whose values were worked out by hand. -update rewrites it.
func TestMarts_ATPGolden(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "exports"), os.DirFS(filepath.Join("testdata", "atp", "exports"))); err != nil {
		t.Fatal(err)
	}
	cfg, err := writeConfig(dir, configTemplateData{DataDir: "./data", Sources: filesSourceYAML("./exports", "")}, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"extract"}, {"transform", "--as-of", "2026-06-30"}} {
		if out, errs, code := run(t, append([]string{"--config", cfg, "--log-level", "warn"}, args...)...); code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", args[0], code, out, errs)
		}
	}
	w, err := transform.Open(context.Background(), filepath.Join(dir, "data", "warehouse.duckdb"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cols := []string{"line_id", "product_id", "quantity", "plant", "need_date", "available_qty", "receipts_by_need_qty", "atp_qty",
		"shortfall_qty", "earliest_ship_date", "can_ship_by_need_date", "pipeline_ahead_qty", "alternative_product_ids"}
	got := append([][]string{cols}, queryRows(t, w, `select `+strings.Join(cols, ", ")+` from inventory_risk order by line_id`)...)
	golden := filepath.Join("testdata", "atp", "expected.csv")
	if *update {
		f, err := os.Create(golden)
		if err != nil {
			t.Fatal(err)
		}
		cw := csv.NewWriter(f)
		cw.WriteAll(got)
		if err := f.Close(); err != nil || cw.Error() != nil {
			t.Fatal(err, cw.Error())
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("inventory_risk has %d lines, %s %d", len(got)-1, golden, len(want)-1)
	}
	for i := 1; i < min(len(got), len(want)); i++ {
		for j := range cols {
			if got[i][j] != want[i][j] {
				t.Errorf("%s %s = %q, want %q", want[i][0], cols[j], got[i][j], want[i][j])
			}
		}
	}
}
