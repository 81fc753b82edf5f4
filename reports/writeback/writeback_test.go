package writeback_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract/httpx"
	"github.com/revcast/revcast/extract/salesforce"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
	"github.com/revcast/revcast/reports/audit"
	"github.com/revcast/revcast/reports/writeback"
)

// env is a sandbox Salesforce org loaded with a small generated company, on loopback, and
// a warehouse holding the result tables write-back reads, for that company's deals.
type env struct {
	t      testing.TB
	scored int // open deals with a score in each forecast run
	org    *sandbox.SalesforceOrg
	srv    *httptest.Server
	db     *sql.DB
	target *writeback.Salesforce
	runs   int
}

// Planted sizes: 2 periods x 4 segments; 40 scored open deals + 6 won deals with orders
// (2 delayed: order review tasks); 2 high-severity variances on won deals with a CRM id
// (tasks), 1 with no CRM record and 1 medium (no task).
const (
	nPeriods  = 8
	nScored   = 40
	nOrders   = 6
	nReviews  = 2
	nVarTasks = 2
	nTasks    = nReviews + nVarTasks
	nDeals    = nScored + nOrders
)

func newEnv(t *testing.T) *env {
	t.Helper()
	return newCompanyEnv(t, generate(t, 500), nScored)
}

// generate returns the company of seed 11 with about opportunities deals.
func generate(t testing.TB, opportunities int) *fixtures.Company {
	t.Helper()
	c, err := fixtures.Generate(fixtures.Options{Seed: 11, Opportunities: opportunities})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newCompanyEnv is newEnv with company c loaded into a new org, scored of its open deals
// scored.
func newCompanyEnv(t testing.TB, c *fixtures.Company, scored int) *env {
	t.Helper()
	org := sandbox.NewSalesforceOrg(sandbox.SalesforceOptions{})
	if err := org.LoadCompany(c, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(org)
	t.Cleanup(srv.Close)

	db, err := sql.Open("duckdb", filepath.Join(t.TempDir(), "warehouse.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, scored: scored, org: org, srv: srv, db: db}

	var open, won []fixtures.Opportunity
	for _, o := range c.Opportunities {
		switch {
		case !o.IsClosed() && len(open) < scored:
			open = append(open, o)
		case o.IsWon() && len(won) < nOrders+2:
			won = append(won, o)
		}
	}
	if len(open) < scored || len(won) < nOrders+2 {
		t.Fatalf("company too small: %d open, %d won", len(open), len(won))
	}
	var vals []string
	for _, o := range append(append([]fixtures.Opportunity{}, open...), won...) {
		vals = append(vals, fmt.Sprintf("('%s', 'salesforce', '%s', '%s', %.2f, %v)", sandbox.SalesforceID(sandbox.SFOpportunity, int(o.ID)),
			sandbox.SalesforceID(sandbox.SFOpportunity, int(o.ID)), sandbox.SalesforceID(sandbox.SFUser, int(o.Owner)), o.Amount.Float64(), o.IsClosed()))
	}
	// A deal of another CRM: never written to Salesforce.
	vals = append(vals, "('HS-1', 'hubspot', '9001', '77', 100, false)")
	e.exec(`create table opportunities (opportunity_id varchar, source varchar, source_id varchar, owner_id varchar, amount_base double,
		is_closed boolean);
		insert into opportunities values ` + strings.Join(vals, ", "))
	e.exec(`create table forecast_runs (run_id varchar, as_of date, created_at timestamptz, seed bigint, model_versions varchar, params varchar);
		create table forecast_periods (run_id varchar, period varchar, segment_type varchar, segment varchar, closed_base double,
			expected_base double, p10_base double, p50_base double, p90_base double, stage_weighted_base double, commit_base double);
		create table forecast_opportunities (run_id varchar, opportunity_id varchar, p_win double, p_close_in_period double,
			expected_amount_base double, factors varchar)`)
	e.forecastRun(1.0)
	var orders []string
	for i, o := range won[:nOrders] {
		id := sandbox.SalesforceID(sandbox.SFOpportunity, int(o.ID))
		status, review, tracking := "shipped", false, fmt.Sprintf("'UPS 1Z%06d'", i)
		if i < nReviews {
			status, review, tracking = "delayed", true, "null"
		}
		orders = append(orders, fmt.Sprintf("('%s', 'SO-%d', '%s', %s, %v, false, '2026-06-2%d', 'first seen: %s', '2026-06-30')", id, i, status, tracking, review, i, status))
	}
	e.exec(`create table order_status_updates (opportunity_id varchar, order_id varchar, erp_status varchar, tracking_numbers varchar,
		needs_review boolean, credit_block boolean, status_date date, what_changed varchar, as_of date);
		insert into order_status_updates values ` + strings.Join(orders, ", "))
	w6, w7 := sandbox.SalesforceID(sandbox.SFOpportunity, int(won[nOrders].ID)), sandbox.SalesforceID(sandbox.SFOpportunity, int(won[nOrders+1].ID))
	e.exec(fmt.Sprintf(`create table reconciliation_variances (variance_id varchar, kind varchar, severity varchar, crm_record_id varchar,
		erp_record_id varchar, crm_amount_base double, erp_amount_base double, explanation varchar);
		insert into reconciliation_variances values
		('won_without_order:%[1]s', 'won_without_order', 'high', '%[1]s', null, 50000, null, 'won 40 days ago, no sales order'),
		('amount_mismatch:SO-77', 'amount_mismatch', 'high', '%[2]s', 'SO-77', 80000, 60000, 'order amount differs from the won amount'),
		('commit_vs_recognised:2026-05', 'commit_vs_recognised', 'high', '2026-05', '2026-05', 1e6, 4e5, 'commit far from recognised revenue'),
		('price_mismatch:SOL-1', 'price_mismatch', 'medium', '%[2]s', 'SOL-1', 10, 9, 'line price differs')`, w6, w7))

	src := salesforce.New()
	src.InstanceURL, src.ClientID, src.ClientSecretEnv = srv.URL, sandbox.SalesforceDemoClientID, "WB_TEST_SF_SECRET"
	src.Getenv = func(k string) string {
		if k == "WB_TEST_SF_SECRET" {
			return sandbox.SalesforceDemoClientSecret
		}
		return ""
	}
	src.HTTP = httpx.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}
	if err := src.Init(); err != nil {
		t.Fatal(err)
	}
	e.target = writeback.NewSalesforce("salesforce", writeback.NewSalesforceAPI(src))
	return e
}

func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	if _, err := e.db.Exec(q, args...); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
}

// forecastRun adds a forecast run whose amounts are the base amounts times factor.
func (e *env) forecastRun(factor float64) string {
	e.t.Helper()
	e.runs++
	run := fmt.Sprintf("20260630T06%02d00Z-run%03d", e.runs, e.runs)
	e.exec(`insert into forecast_runs values (?, date '2026-06-30', timestamptz '2026-06-30 06:00:00+00' + to_minutes(?::bigint), 1, '{}', '{}')`, run, e.runs)
	e.exec(`insert into forecast_periods
		select ?, p.period, s.segment_type, s.segment, 1000 * s.w, 1e6 * s.w * p.k * ?, 8e5 * s.w * p.k * ?, 1e6 * s.w * p.k * ?,
			1.2e6 * s.w * p.k * ?, 9e5 * s.w * p.k, 7e5 * s.w * p.k
		from (values ('2026-Q3', 1.0), ('2026-Q4', 1.3)) p(period, k),
			(values ('total', 'all', 1.0), ('region', 'EMEA', 0.3), ('region', 'NA', 0.5), ('region', 'APAC', 0.2)) s(segment_type, segment, w)`,
		run, factor, factor, factor, factor)
	e.exec(`insert into forecast_opportunities
		select ?, opportunity_id, least(0.95, (0.1 + (row_number() over (order by opportunity_id) % 8) / 10.0) * ?), 0.8,
			amount_base * 0.4 * ?, '{}'
		from opportunities where source = 'salesforce' and not is_closed
		order by opportunity_id limit ?`, run, factor, factor, e.scored)
	return run
}

// policy allows everything the Salesforce target writes, every workflow in mode.
func policy(mode string) writeback.Policy {
	p := writeback.Policy{Modes: map[string]string{}, MaxAttempts: 3}
	for wf, fields := range writeback.SalesforceFields() {
		p.Modes[wf] = mode
		p.Allow = append(p.Allow, fields...)
	}
	return p
}

func (e *env) writer(p writeback.Policy) *writeback.Writer {
	// Windows of 7 changes: every test runs across several windows.
	return &writeback.Writer{DB: e.db, Target: e.target, Policy: p, RetryWait: time.Millisecond, Window: 7}
}

func (e *env) run(p writeback.Policy) *writeback.Report {
	e.t.Helper()
	rep, err := e.writer(p).Run(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

// records returns the live records of object in the org: key field → Id, failing on a
// duplicate key.
func (e *env) records(object string) map[string]map[string]any {
	e.t.Helper()
	out := map[string]map[string]any{}
	for _, r := range e.org.Records(object) {
		if r.IsDeleted {
			continue
		}
		rec, _ := e.org.Get(object, r.ID)
		key, _ := rec["Revcast_Key__c"].(string)
		if _, dup := out[key]; dup {
			e.t.Fatalf("%s %q is in the org twice", object, key)
		}
		out[key] = rec
	}
	return out
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func mustVerify(t *testing.T, db *sql.DB) {
	t.Helper()
	res, err := audit.Verify(context.Background(), db, audit.VerifyOptions{})
	if err != nil || !res.OK {
		t.Fatalf("audit log does not verify: %+v %v", res, err)
	}
}

func TestWriteback_Idempotent(t *testing.T) {
	e := newEnv(t)
	p := policy(writeback.ModeAuto)
	for i, factor := range []float64{1, 1.1, 1.2} {
		if i > 0 {
			e.forecastRun(factor)
		}
		rep := e.run(p)
		fc, opp, tasks := rep.Workflow(writeback.WorkflowForecasts), rep.Workflow(writeback.WorkflowOpportunities), rep.Workflow(writeback.WorkflowTasks)
		if fc.Planned != nPeriods || fc.Failed != 0 {
			t.Fatalf("run %d forecasts: %+v", i+1, fc)
		}
		wantCreated, wantUpdated := nPeriods, 0
		if i > 0 {
			wantCreated, wantUpdated = 0, nPeriods
		}
		if fc.Created != wantCreated || fc.Updated != wantUpdated {
			t.Errorf("run %d: forecasts created %d updated %d, want %d and %d", i+1, fc.Created, fc.Updated, wantCreated, wantUpdated)
		}
		if opp.Planned != nDeals {
			t.Errorf("run %d: %d deal changes planned, want %d (the hubspot deal is not one)", i+1, opp.Planned, nDeals)
		}
		if i == 0 && (opp.Updated != nDeals || tasks.Created != nTasks) {
			t.Errorf("run 1: deals updated %d (want %d), tasks created %d (want %d)", opp.Updated, nDeals, tasks.Created, nTasks)
		}
		if i > 0 && (opp.Updated != nScored || opp.Unchanged != nOrders || tasks.Created != 0 || tasks.Unchanged != nTasks) {
			t.Errorf("run %d: deals updated %d unchanged %d, tasks created %d unchanged %d; want %d, %d, 0, %d",
				i+1, opp.Updated, opp.Unchanged, tasks.Created, tasks.Unchanged, nScored, nOrders, nTasks)
		}
		recs := e.records(sandbox.SFRevenueForecast)
		if len(recs) != nPeriods {
			t.Fatalf("run %d: the org holds %d forecast records, want %d", i+1, len(recs), nPeriods)
		}
		key := writeback.ForecastKey("bookings", "2026-Q3", "total", "all")
		if got, want := recs[key]["Expected_Amount__c"], 1e6*factor; got != want {
			t.Errorf("run %d: %s Expected_Amount__c = %v, want %v", i+1, key, got, want)
		}
		if n := len(e.records(sandbox.SFTask)); n != nTasks {
			t.Errorf("run %d: the org holds %d tasks, want %d", i+1, n, nTasks)
		}
	}
	// The deal fields landed, order status included.
	var row struct{ id, status, tracking string }
	if err := e.db.QueryRow(`select opportunity_id, erp_status, coalesce(tracking_numbers, '') from order_status_updates where not needs_review limit 1`).Scan(&row.id, &row.status, &row.tracking); err != nil {
		t.Fatal(err)
	}
	got, _ := e.org.Get(sandbox.SFOpportunity, row.id)
	if got["Revcast_Order_Status__c"] != row.status || got["Revcast_Tracking_Number__c"] != row.tracking {
		t.Errorf("order fields of %s = %v / %v, want %s / %s", row.id, got["Revcast_Order_Status__c"], got["Revcast_Tracking_Number__c"], row.status, row.tracking)
	}
	if n := e.count(`select count(*) from writeback_log where status <> 'ok'`); n != 0 {
		t.Errorf("%d writeback_log rows are not ok", n)
	}
	mustVerify(t, e.db)
}

func TestWriteback_RecordFailuresRetried(t *testing.T) {
	e := newEnv(t)
	// A third of the records fail their first attempt, as locked rows do.
	e.org.SetWriteFaults(&sandbox.SalesforceWriteFaults{Rate: 0.33, Times: 1, Seed: 3})
	rep := e.run(policy(writeback.ModeAuto))
	injected := e.org.WriteFaultsInjected()
	retried := 0
	for _, w := range rep.Workflows {
		retried += w.Retried
	}
	if injected == 0 || retried != injected || rep.Failed() != 0 {
		t.Fatalf("injected %d failures, retried %d, failed %d", injected, retried, rep.Failed())
	}
	if n := len(e.records(sandbox.SFRevenueForecast)); n != nPeriods {
		t.Errorf("forecast records %d, want %d", n, nPeriods)
	}
	// Every retried record has a retry row at attempt 1 and an ok row at attempt 2.
	if n := e.count(`select count(*) from writeback_log r join writeback_log o using (run_id, object, key)
		where r.status = 'retry' and r.attempt = 1 and o.status = 'ok' and o.attempt = 2`); n != injected {
		t.Errorf("%d retried records converged in the log, want %d", n, injected)
	}
	if n := e.count(`select count(distinct object || key) from writeback_log where status = 'ok'`); n != nPeriods+nDeals+nTasks {
		t.Errorf("%d records ok in the log, want %d", n, nPeriods+nDeals+nTasks)
	}

	t.Run("permanent failure is bounded, recorded and converges next run", func(t *testing.T) {
		key := writeback.ForecastKey("bookings", "2026-Q4", "region", "NA")
		e.forecastRun(1.1)
		e.org.SetWriteFaults(&sandbox.SalesforceWriteFaults{Keys: []string{key}})
		rep, err := e.writer(policy(writeback.ModeAuto)).Run(context.Background())
		if !errors.Is(err, writeback.ErrRecordsFailed) || rep.Failed() != 1 {
			t.Fatalf("want one failed record, got %d: %v", rep.Failed(), err)
		}
		if !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "UNABLE_TO_LOCK_ROW") {
			t.Errorf("error does not name the record and code: %v", err)
		}
		if n := e.count(`select count(*) from writeback_log where run_id = ? and key = ?`, rep.RunID, key); n != 3 {
			t.Errorf("%d attempts logged for %s, want 3 (max_attempts)", n, key)
		}
		if n := e.count(`select count(*) from writeback_log where run_id = ? and key = ? and status = 'failed' and attempt = 3`, rep.RunID, key); n != 1 {
			t.Errorf("last attempt not logged as failed")
		}
		e.org.SetWriteFaults(nil)
		rep = e.run(policy(writeback.ModeAuto))
		if fc := rep.Workflow(writeback.WorkflowForecasts); fc.Updated != 1 || fc.Unchanged != nPeriods-1 {
			t.Errorf("next run: forecasts updated %d unchanged %d, want 1 and %d", fc.Updated, fc.Unchanged, nPeriods-1)
		}
		if got := e.records(sandbox.SFRevenueForecast)[key]["Expected_Amount__c"]; got != 1.3*0.5*1.1e6 {
			t.Errorf("%s Expected_Amount__c = %v after the retry run", key, got)
		}
		mustVerify(t, e.db)
	})
}

func TestWriteback_AllowList(t *testing.T) {
	e := newEnv(t)
	p := policy(writeback.ModeAuto)
	var allow []string
	for _, a := range p.Allow {
		if a != "Opportunity.Revcast_Tracking_Number__c" {
			allow = append(allow, a)
		}
	}
	p.Allow = allow
	_, err := e.writer(p).Run(context.Background())
	if revcast.ErrorCode(err) != revcast.EINVALID || !strings.Contains(err.Error(), "Opportunity.Revcast_Tracking_Number__c") ||
		!strings.Contains(err.Error(), "writeback.allow") {
		t.Fatalf("want a refusal naming the field and writeback.allow, got %v", err)
	}
	if reqs := e.org.Requests(0); len(reqs) != 0 {
		t.Fatalf("the refused run made %d requests, first %s %s", len(reqs), reqs[0].Method, reqs[0].Path)
	}

	t.Run("an approved payload cannot smuggle a field in", func(t *testing.T) {
		p := policy(writeback.ModeAuto)
		if err := writeback.EnsureTables(context.Background(), e.db); err != nil {
			t.Fatal(err)
		}
		e.exec(`insert into approvals (approval_id, status, target, object, key, payload, reason, created_at, decided_at, decided_by, content_sha256)
			values (1, 'approved', 'salesforce', 'Opportunity', '006000000000000AAA',
			'{"workflow":"opportunities","kind":"opportunity_score","object":"Opportunity","key_field":"Id","key":"006000000000000AAA","fields":{"Amount":1}}',
			'x', now(), now(), 'mallory', 'x')`)
		_, err := e.writer(p).Run(context.Background())
		if revcast.ErrorCode(err) != revcast.EINVALID || !strings.Contains(err.Error(), "Opportunity.Amount") {
			t.Fatalf("want a refusal naming Opportunity.Amount, got %v", err)
		}
		if reqs := e.org.Requests(0); len(reqs) != 0 {
			t.Fatalf("the refused run made %d requests", len(reqs))
		}
	})
}

func TestWriteback_ApprovalGate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p := policy(writeback.ModeAuto)
	p.Thresholds.ChangePct = 25
	e.run(p) // creates everything: change_pct needs a CRM value to compare with
	key := writeback.ForecastKey("bookings", "2026-Q3", "total", "all")
	expected := func() any { return e.records(sandbox.SFRevenueForecast)[key]["Expected_Amount__c"] }
	bump := func(f float64) {
		e.exec(`update forecast_periods set expected_base = expected_base * ? where period = '2026-Q3' and segment = 'all'`, f)
	}

	bump(1.5) // +50%: over change_pct
	rep := e.run(p)
	if fc := rep.Workflow(writeback.WorkflowForecasts); fc.Queued != 1 || fc.Created+fc.Updated != 0 {
		t.Fatalf("over-threshold change: %+v", fc)
	}
	if got := expected(); got != 1e6 {
		t.Fatalf("written before approval: %v", got)
	}
	list, err := writeback.ListApprovals(ctx, e.db, writeback.StatusPending)
	if err != nil || len(list) != 1 || list[0].Key != key || !strings.Contains(list[0].Reason, "writeback.thresholds.change_pct") {
		t.Fatalf("pending approvals: %+v %v", list, err)
	}
	if rep := e.run(p); rep.Workflow(writeback.WorkflowForecasts).Waiting != 1 || rep.Pending != 1 {
		t.Fatalf("a second run queued the change again: %+v", rep.Workflow(writeback.WorkflowForecasts))
	}
	if _, err := writeback.Decide(ctx, e.db, list[0].ID, true, "alice", "ok per CFO", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := writeback.Decide(ctx, e.db, list[0].ID, false, "bob", "", time.Now()); !errors.Is(err, writeback.ErrDecided) {
		t.Fatalf("deciding twice: %v", err)
	}
	if got := expected(); got != 1e6 {
		t.Fatalf("approve wrote to the CRM: %v", got)
	}
	rep = e.run(p)
	if fc := rep.Workflow(writeback.WorkflowForecasts); fc.ApprovedWritten != 1 || fc.Queued != 0 {
		t.Fatalf("approved change not written: %+v", fc)
	}
	if got := expected(); got != 1.5e6 {
		t.Fatalf("after approval the CRM holds %v, want 1.5e6", got)
	}

	bump(2) // +100% again
	e.run(p)
	list, _ = writeback.ListApprovals(ctx, e.db, writeback.StatusPending)
	if len(list) != 1 {
		t.Fatalf("pending: %+v", list)
	}
	before := e.org.RequestCounts()["PATCH"]
	if _, err := writeback.Decide(ctx, e.db, list[0].ID, false, "alice", "too optimistic", time.Now()); err != nil {
		t.Fatal(err)
	}
	rep = e.run(p)
	if fc := rep.Workflow(writeback.WorkflowForecasts); fc.Waiting != 1 || fc.Queued != 0 || fc.Updated != 0 {
		t.Fatalf("rejected change: %+v", fc)
	}
	if got := expected(); got != 1.5e6 {
		t.Fatalf("rejection changed the CRM: %v", got)
	}
	if after := e.org.RequestCounts()["PATCH"]; after != before {
		t.Errorf("%d PATCH requests after the rejection", after-before)
	}
	if rep.Pending != 0 {
		t.Errorf("%d approvals pending after the rejection", rep.Pending)
	}

	// Both decisions, the queueing and the approved write are in the audit log.
	for _, c := range []struct{ action, actor string }{{"queue", "revcast"}, {"approve", "alice"}, {"reject", "alice"}} {
		if n := e.count(`select count(*) from audit_log where action = ? and actor = ? and record_key = ?`, c.action, c.actor, "Revenue_Forecast__c:"+key); n == 0 {
			t.Errorf("no %s by %s in the audit log", c.action, c.actor)
		}
	}
	if n := e.count(`select count(*) from audit_log where action = 'write' and record_key = ? and detail like ?`, "Revenue_Forecast__c:"+key, `%"approval_id":1%`); n != 1 {
		t.Errorf("the approved write is not audited with its approval id (%d rows)", n)
	}
	mustVerify(t, e.db)

	t.Run("newer values supersede a pending approval", func(t *testing.T) {
		e := newEnv(t)
		p := policy(writeback.ModeAuto)
		p.Thresholds.ChangePct = 25
		e.run(p)
		for _, f := range []float64{1.5, 1.2} {
			e.exec(`update forecast_periods set expected_base = expected_base * ? where period = '2026-Q3' and segment = 'all'`, f)
			e.run(p)
		}
		all, err := writeback.ListApprovals(ctx, e.db, "")
		if err != nil || len(all) != 2 {
			t.Fatalf("approvals: %+v %v", all, err)
		}
		old, cur := all[0], all[1]
		if old.Status != writeback.StatusRejected || old.DecidedBy != "revcast" || !strings.Contains(old.Note, "superseded") || !old.DecidedAt.Valid {
			t.Errorf("the first approval was not superseded: %+v", old)
		}
		if cur.Status != writeback.StatusPending || cur.Key != old.Key || cur.ContentSHA == old.ContentSHA {
			t.Errorf("the newer values are not the pending approval: %+v", cur)
		}
		if n := e.count(`select count(*) from audit_log where action = 'reject' and actor = 'revcast' and detail like ?`, fmt.Sprintf(`%%"approval_id":%d%%`, old.ID)); n != 1 {
			t.Errorf("%d audit rows for the superseded approval, want 1", n)
		}
		mustVerify(t, e.db)
	})

	t.Run("review mode queues everything", func(t *testing.T) {
		e := newEnv(t)
		p := policy(writeback.ModeAuto)
		p.Modes[writeback.WorkflowTasks] = writeback.ModeReview
		rep := e.run(p)
		if w := rep.Workflow(writeback.WorkflowTasks); w.Queued != nTasks || w.Created != 0 {
			t.Fatalf("tasks in review: %+v", w)
		}
		if n := len(e.records(sandbox.SFTask)); n != 0 {
			t.Fatalf("%d tasks written in review mode", n)
		}
	})
}

func TestWriteback_DryRun(t *testing.T) {
	e := newEnv(t)
	p := policy(writeback.ModeAuto)
	p.Thresholds.ChangePct = 25
	e.run(p)
	e.forecastRun(1.1)
	e.exec(`update forecast_periods set expected_base = expected_base * 2 where run_id = (select max(run_id) from forecast_runs) and period = '2026-Q4' and segment = 'EMEA'`)
	logRows, auditRows := e.count(`select count(*) from writeback_log`), e.count(`select count(*) from audit_log`)
	mark := e.org.Requests(0)
	since := mark[len(mark)-1].Seq
	patches := e.org.RequestCounts()["PATCH"]

	w := e.writer(p)
	w.DryRun = true
	rep, err := w.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rep.WriteDiff(&out); err != nil {
		t.Fatal(err)
	}
	key := writeback.ForecastKey("bookings", "2026-Q3", "total", "all")
	for _, want := range []string{
		"~ Revenue_Forecast__c " + key + " (update) write",
		"    Expected_Amount__c: 1000000 → 1100000",
		"(update) queue: Expected_Amount__c moves by 120.0%",
		"~ Opportunity ",
		"    Revcast_Win_Probability__c: ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("diff lacks %q:\n%s", want, out.String())
		}
	}
	if fc := rep.Workflow(writeback.WorkflowForecasts); fc.Queued != 1 || fc.Created+fc.Updated != 0 {
		t.Errorf("dry-run forecasts: %+v", fc)
	}
	for _, r := range e.org.Requests(since) {
		if r.Method != http.MethodGet && !(r.Method == http.MethodPost && r.Path == "/services/oauth2/token") {
			t.Errorf("dry run sent %s %s", r.Method, r.Path)
		}
	}
	if got := e.org.RequestCounts()["PATCH"]; got != patches {
		t.Errorf("dry run: PATCH count %d → %d", patches, got)
	}
	if a, b := e.count(`select count(*) from writeback_log`), e.count(`select count(*) from audit_log`); a != logRows || b != auditRows {
		t.Errorf("dry run wrote to the warehouse: writeback_log %d → %d, audit_log %d → %d", logRows, a, auditRows, b)
	}
	if n := e.count(`select count(*) from approvals`); n != 0 {
		t.Errorf("dry run queued %d approvals", n)
	}
	if got := e.records(sandbox.SFRevenueForecast)[key]["Expected_Amount__c"]; got != 1e6 {
		t.Errorf("dry run changed the CRM: %v", got)
	}
}

// TestWriteback_MissingRecordSkipped: a deal the CRM no longer has (deleted since the
// extraction) is reported, not sent, and does not fail the run.
func TestWriteback_MissingRecordSkipped(t *testing.T) {
	e := newEnv(t)
	gone := sandbox.SalesforceID(sandbox.SFOpportunity, 999999)
	e.exec(`insert into opportunities values (?, 'salesforce', ?, null, 100, false)`, gone, gone)
	e.exec(`insert into forecast_opportunities select max(run_id), ?, 0.5, 0.5, 50, '{}' from forecast_runs`, gone)
	rep := e.run(policy(writeback.ModeAuto))
	if w := rep.Workflow(writeback.WorkflowOpportunities); w.Missing != 1 || w.Updated != nDeals || w.Failed != 0 {
		t.Fatalf("deals: %+v", w)
	}
	// Every record sent is logged; the missing one was not sent.
	if n := e.count(`select count(*) from writeback_log where key = ?`, gone); n != 0 {
		t.Errorf("the missing deal was sent (%d log rows)", n)
	}
}

// slowFirst is the sandbox's Salesforce target with the answers to concurrent write
// requests coming back out of order: of every four requests the first answer waits
// longest. It records each request's records and whether the org accepted the request.
type slowFirst struct {
	*writeback.Salesforce
	onCall func(n int) // before request n (1-based, in the order requests arrive) goes to the org

	mu                    sync.Mutex
	calls                 [][]string // Object:key of each request's records
	accepted              int        // records of requests the org answered without a request error
	inflight, maxInflight int
}

func (s *slowFirst) Write(ctx context.Context, object, keyField string, records []map[string]any) ([]writeback.Result, error) {
	s.mu.Lock()
	n := len(s.calls) + 1
	keys := make([]string, len(records))
	for i, r := range records {
		keys[i] = fmt.Sprintf("%s:%v", object, r[keyField])
	}
	s.calls = append(s.calls, keys)
	s.inflight++
	s.maxInflight = max(s.maxInflight, s.inflight)
	s.mu.Unlock()
	if s.onCall != nil {
		s.onCall(n)
	}
	res, err := s.Salesforce.Write(ctx, object, keyField, records)
	time.Sleep(time.Duration(4-(n-1)%4) * 5 * time.Millisecond)
	s.mu.Lock()
	s.inflight--
	if err == nil {
		s.accepted += len(records)
	}
	s.mu.Unlock()
	return res, err
}

// sent returns every record key sent, sorted.
func (s *slowFirst) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.calls {
		out = append(out, c...)
	}
	slices.Sort(out)
	return out
}

func (e *env) auditedWrites(t *testing.T) []string {
	t.Helper()
	rows, err := e.db.Query(`select record_key from audit_log where action = ? order by seq`, audit.ActionWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

// TestWriteback_ConcurrentRequests: with several write requests in flight and their answers
// arriving out of order, the log reads exactly as with one request at a time (the order of
// the batches), and a quota stop sends nothing more but logs every request the CRM answered.
func TestWriteback_ConcurrentRequests(t *testing.T) {
	seq := newEnv(t)
	w := seq.writer(policy(writeback.ModeAuto))
	w.Requests, w.BatchSize = 1, 2
	if _, err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := seq.auditedWrites(t)

	e := newEnv(t)
	target := &slowFirst{Salesforce: e.target}
	w = e.writer(policy(writeback.ModeAuto))
	w.Target, w.Requests, w.BatchSize = target, 4, 2
	if _, err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if target.maxInflight < 2 {
		t.Fatalf("at most %d request in flight: the test does not exercise concurrency", target.maxInflight)
	}
	got := e.auditedWrites(t)
	if len(got) != nPeriods+nDeals+nTasks || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("audit log with 4 requests in flight differs from one at a time:\n got %v\nwant %v", got, want)
	}
	if sorted := slices.Sorted(slices.Values(got)); strings.Join(sorted, ",") != strings.Join(target.sent(), ",") {
		t.Fatalf("logged records differ from those sent")
	}
	mustVerify(t, e.db)

	t.Run("quota stop", func(t *testing.T) {
		e := newEnv(t)
		const quotaAt = 5
		target := &slowFirst{Salesforce: e.target, onCall: func(n int) {
			if n == quotaAt {
				e.org.SetUsage(1e6, 1e6) // every request from now on: 403 REQUEST_LIMIT_EXCEEDED
			}
		}}
		w := e.writer(policy(writeback.ModeAuto))
		w.Target, w.Requests, w.BatchSize = target, 4, 2
		_, err := w.Run(context.Background())
		if !errors.Is(err, salesforce.ErrQuota) {
			t.Fatalf("want the quota error, got %v", err)
		}
		sent := target.sent()
		// Sending stops once the quota answer has arrived: the requests in flight then (at
		// most 3 besides it), and a margin of 3 for answers that arrive while a log
		// transaction runs.
		if len(target.calls) > quotaAt+6 {
			t.Fatalf("%d requests sent after the quota answered request %d", len(target.calls), quotaAt)
		}
		logged := e.auditedWrites(t)
		if strings.Join(slices.Sorted(slices.Values(logged)), ",") != strings.Join(sent, ",") {
			t.Fatalf("every request the CRM answered is logged:\n got %v\nwant %v", logged, sent)
		}
		if n := e.count(`select count(*) from writeback_log`); n != len(sent) {
			t.Fatalf("writeback_log has %d rows, want one per record sent (%d)", n, len(sent))
		}
		if n := e.count(`select count(*) from writeback_log where status = 'ok'`); n != target.accepted {
			t.Errorf("%d records ok in the log, want the %d of the requests the org accepted", n, target.accepted)
		}
		mustVerify(t, e.db)
	})

	// One window holding every change, so batches are still waiting to be sent when the
	// run stops (with windows of 7 a stop never leaves any): the stop ends the run cleanly,
	// with every request sent logged and nothing sent after.
	stops := []struct {
		name string
		at   int // the request (in arrival order) at which the stop happens
		stop func(e *env, cancel context.CancelFunc)
		want error
	}{
		{"quota on the first request", 1, func(e *env, _ context.CancelFunc) { e.org.SetUsage(1e6, 1e6) }, salesforce.ErrQuota},
		// Request 9 is an Opportunity update by Id (sObject Collections PATCH, not the
		// connector's upsert): its quota answer stops the run too, not a record retry.
		{"quota on an update by Id", 9, func(e *env, _ context.CancelFunc) { e.org.SetUsage(1e6, 1e6) }, salesforce.ErrQuota},
		{"cancelled", 3, func(_ *env, cancel context.CancelFunc) { cancel() }, context.Canceled},
	}
	for _, tt := range stops {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			target := &slowFirst{Salesforce: e.target, onCall: func(n int) {
				if n == tt.at {
					tt.stop(e, cancel)
				}
			}}
			w := e.writer(policy(writeback.ModeAuto))
			w.Target, w.Requests, w.BatchSize, w.Window = target, 4, 2, 10_000
			_, err := w.Run(ctx)
			if !errors.Is(err, tt.want) {
				t.Fatalf("want %v, got %v", tt.want, err)
			}
			sent := target.sent()
			if len(target.calls) > tt.at+6 || len(sent) >= nPeriods+nDeals+nTasks {
				t.Fatalf("%d requests (%d records) sent after the stop at request %d", len(target.calls), len(sent), tt.at)
			}
			logged := e.auditedWrites(t)
			if strings.Join(slices.Sorted(slices.Values(logged)), ",") != strings.Join(sent, ",") {
				t.Fatalf("every request sent is logged:\n got %v\nwant %v", logged, sent)
			}
			if n := e.count(`select count(*) from writeback_log where status = 'retry'`); n != 0 {
				t.Errorf("%d records logged for retry: a stop is not a record error", n)
			}
			mustVerify(t, e.db)
		})
	}
}

// stepsHandler keeps the attributes and levels of the "write-back steps (seconds)" records.
type stepsHandler struct {
	mu     sync.Mutex
	steps  []map[string]float64
	levels []slog.Level
}

func (h *stepsHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *stepsHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *stepsHandler) WithGroup(string) slog.Handler            { return h }
func (h *stepsHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "write-back steps (seconds)" {
		return nil
	}
	m := map[string]float64{}
	r.Attrs(func(a slog.Attr) bool {
		if a.Value.Kind() == slog.KindFloat64 {
			m[a.Key] = a.Value.Float64()
		}
		return true
	})
	h.mu.Lock()
	h.steps = append(h.steps, m)
	h.levels = append(h.levels, r.Level)
	h.mu.Unlock()
	return nil
}

// TestWriteback_LogsItsSteps: a run logs, at debug level, the wall time of each of its
// steps once, the steps of every window summed, and together they take no longer than
// the run.
func TestWriteback_LogsItsSteps(t *testing.T) {
	e := newEnv(t)
	h := &stepsHandler{}
	w := e.writer(policy(writeback.ModeAuto))
	w.Logger = slog.New(h)
	start := time.Now()
	if _, err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start).Seconds()
	if len(h.steps) != 1 || h.levels[0] != slog.LevelDebug {
		t.Fatalf("%d step records (levels %v), want 1 at debug level", len(h.steps), h.levels)
	}
	var sum float64
	for _, s := range []string{"tables", "inputs", "plan", "approvals", "allowed", "copy diff", "approved", "decide", "read", "queue", "write", "pending"} {
		v, ok := h.steps[0][s]
		if !ok || v < 0 {
			t.Errorf("step %q: %v (logged: %v)", s, v, ok)
		}
		sum += v
	}
	if len(h.steps[0]) != 12 {
		t.Errorf("steps logged: %v, want the 12 above", h.steps[0])
	}
	// Each step is rounded to the millisecond.
	if sum > elapsed+0.012 {
		t.Errorf("the steps add up to %.3f s, longer than the run's %.3f s", sum, elapsed)
	}
	if h.steps[0]["read"] == 0 || h.steps[0]["write"] == 0 {
		t.Errorf("a first run reads and writes over loopback, yet read %v s, write %v s", h.steps[0]["read"], h.steps[0]["write"])
	}

	// A dry run reads and decides, window by window, and queues and writes nothing.
	e.forecastRun(1.1)
	dry := &stepsHandler{}
	w = e.writer(policy(writeback.ModeAuto))
	w.DryRun, w.Logger = true, slog.New(dry)
	if _, err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(dry.steps) != 1 {
		t.Fatalf("dry run: %d step records, want 1", len(dry.steps))
	}
	for _, s := range []string{"decide", "read"} {
		if _, ok := dry.steps[0][s]; !ok {
			t.Errorf("dry run: no %q step in %v", s, dry.steps[0])
		}
	}
	for _, s := range []string{"queue", "write", "failed"} {
		if _, ok := dry.steps[0][s]; ok {
			t.Errorf("dry run: a %q step in %v", s, dry.steps[0])
		}
	}
}

// TestLoadInputs_NewestRun: the inputs are the newest forecast run's (the latest created
// of one as-of date here), its deals scored and no other run's; without a run, no deal is
// scored and a note says to run the forecast.
func TestLoadInputs_NewestRun(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.scored = 10
	newest := e.forecastRun(1.0)
	in, err := writeback.LoadInputs(ctx, e.db, "salesforce")
	if err != nil {
		t.Fatal(err)
	}
	scored := func(in *writeback.Inputs) int {
		n := 0
		for _, d := range in.Deals {
			if d.Scored {
				n++
			}
		}
		return n
	}
	if in.RunID != newest || scored(in) != 10 {
		t.Errorf("run %s with %d deals scored, want %s with 10 (the older run scored %d)", in.RunID, scored(in), newest, nScored)
	}
	e.exec(`delete from forecast_runs`)
	if in, err = writeback.LoadInputs(ctx, e.db, "salesforce"); err != nil {
		t.Fatal(err)
	}
	if in.RunID != "" || scored(in) != 0 || !slices.ContainsFunc(in.Notes, func(n string) bool { return strings.Contains(n, "forecast_runs is empty") }) {
		t.Errorf("no run: run %q, %d deals scored, notes %q; want none, 0 and a note that forecast_runs is empty", in.RunID, scored(in), in.Notes)
	}
}
