package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
	"github.com/revcast/revcast/reports/writeback"
	"github.com/revcast/revcast/transform"
)

// writebackSetup starts a sandbox org with a small generated company, writes a config in
// a temporary folder pointing at it (writeback section given), and builds a warehouse with
// a forecast run, order status and variances for 12 of the company's deals.
func writebackSetup(t *testing.T, writebackYAML string) (dir string, org *sandbox.SalesforceOrg) {
	t.Helper()
	c, err := fixtures.Generate(fixtures.Options{Seed: 4, Opportunities: 400})
	if err != nil {
		t.Fatal(err)
	}
	org = sandbox.NewSalesforceOrg(sandbox.SalesforceOptions{})
	if err := org.LoadCompany(c, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(org)
	t.Cleanup(srv.Close)
	t.Setenv("WBCMD_SF_SECRET", sandbox.SalesforceDemoClientSecret)
	dir = t.TempDir()
	cfg := fmt.Sprintf(`data_dir: ./data
sources:
  - name: salesforce
    type: salesforce
    instance_url: %s
    client_id: %s
    client_secret_env: WBCMD_SF_SECRET
%s`, srv.URL, sandbox.SalesforceDemoClientID, writebackYAML)
	if err := os.WriteFile(filepath.Join(dir, "revcast.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var opps, won []string
	for _, o := range c.Opportunities {
		id := sandbox.SalesforceID(sandbox.SFOpportunity, int(o.ID))
		switch {
		case !o.IsClosed() && len(opps) < 10:
			opps = append(opps, id)
		case o.IsWon() && len(won) < 2:
			won = append(won, id)
		}
	}
	var vals []string
	for _, id := range append(append([]string{}, opps...), won...) {
		vals = append(vals, fmt.Sprintf("('%s', 'salesforce', '%s')", id, id))
	}
	ctx := context.Background()
	w, err := transform.Open(ctx, filepath.Join(dir, "data", "warehouse.duckdb"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	q := `create table opportunities (opportunity_id varchar, source varchar, source_id varchar);
		insert into opportunities values ` + strings.Join(vals, ", ") + `;
		create table forecast_runs as select 'run1' as run_id, date '2026-06-30' as as_of, timestamptz '2026-06-30 06:00:00+00' as created_at;
		create table forecast_periods as select 'run1' as run_id, period, 'total' as segment_type, 'all' as segment, 0.0 as closed_base,
			e as expected_base, e * 0.8 as p10_base, e as p50_base, e * 1.2 as p90_base, e as stage_weighted_base, e * 0.7 as commit_base
			from (values ('2026-Q3', 4.1e6), ('2026-Q4', 3.6e6)) t(period, e);
		create table forecast_opportunities as select 'run1' as run_id, opportunity_id, 0.25 as p_win, 1000.0 as expected_amount_base
			from opportunities where opportunity_id in (` + quoteList(opps) + `);
		create table order_status_updates as select opportunity_id, 'SO-' || opportunity_id as order_id, 'delayed' as erp_status,
			null::varchar as tracking_numbers, true as needs_review, false as credit_block, date '2026-06-20' as status_date,
			'first seen: delayed' as what_changed, date '2026-06-30' as as_of
			from opportunities where opportunity_id in (` + quoteList(won) + `);
		create table reconciliation_variances (variance_id varchar, kind varchar, severity varchar, crm_record_id varchar,
			erp_record_id varchar, crm_amount_base double, erp_amount_base double, explanation varchar);`
	if _, err := w.DB.ExecContext(ctx, q); err != nil {
		t.Fatal(err)
	}
	return dir, org
}

func quoteList(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = "'" + id + "'"
	}
	return strings.Join(q, ", ")
}

// allowAll is the writeback.allow list of everything the Salesforce target writes, as YAML.
func allowAll(except ...string) string {
	var b strings.Builder
	b.WriteString("  allow:\n")
	for _, wf := range writeback.AllWorkflows {
		for _, f := range writeback.SalesforceFields()[wf] {
			skip := false
			for _, e := range except {
				skip = skip || e == f
			}
			if !skip {
				b.WriteString("    - " + f + "\n")
			}
		}
	}
	return b.String()
}

func inDir(t *testing.T, dir string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(wd) })
}

func noWrites(t *testing.T, org *sandbox.SalesforceOrg, since int64) {
	t.Helper()
	for _, r := range org.Requests(since) {
		if r.Method != http.MethodGet && !(r.Method == http.MethodPost && r.Path == "/services/oauth2/token") {
			t.Errorf("request %s %s", r.Method, r.Path)
		}
	}
}

func lastSeq(org *sandbox.SalesforceOrg) int64 {
	reqs := org.Requests(0)
	if len(reqs) == 0 {
		return 0
	}
	return reqs[len(reqs)-1].Seq
}

// TestWriteback_Commands drives writeback, approvals and audit through the CLI against the
// sandbox: dry run, a run with tasks in review, approve and reject, the approved task
// written by the next run, the audit chain verified and a tampered row caught.
func TestWriteback_Commands(t *testing.T) {
	dir, org := writebackSetup(t, `writeback:
  mode: auto
  target: salesforce
  workflows:
    tasks: review
`+allowAll()+`  thresholds:
    change_pct: 25
`)
	inDir(t, dir)

	out, errb, code := run(t, "writeback", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: exit %d: %s", code, errb)
	}
	for _, want := range []string{"dry run: nothing was written", "+ Revenue_Forecast__c fc|bookings|2026-Q3|total|all (create) write",
		"    Expected_Amount__c: — → 4100000", "+ Task task|order|", "queue: workflow tasks is in review mode (writeback.workflows.tasks)"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	noWrites(t, org, 0)

	out, errb, code = run(t, "writeback")
	if code != 0 {
		t.Fatalf("writeback: exit %d: %s", code, errb)
	}
	if !strings.Contains(out, "forecasts     auto   2 planned: 2 created") || !strings.Contains(out, "2 queued for approval") {
		t.Errorf("summary:\n%s", out)
	}
	if live, _ := org.Count(sandbox.SFRevenueForecast); live != 2 {
		t.Errorf("%d forecast records, want 2", live)
	}
	if live, _ := org.Count(sandbox.SFTask); live != 0 {
		t.Errorf("%d tasks written in review mode", live)
	}

	out, _, code = run(t, "approvals", "list")
	ids := regexp.MustCompile(`(?m)^(\d+)\s+pending`).FindAllStringSubmatch(out, -1)
	if code != 0 || len(ids) != 2 {
		t.Fatalf("approvals list (exit %d):\n%s", code, out)
	}
	if out, _, code := run(t, "approvals", "approve", ids[0][1], "--by", "alice"); code != 0 || !strings.Contains(out, "next 'revcast writeback'") {
		t.Fatalf("approve: %d %s", code, out)
	}
	if out, _, code := run(t, "approvals", "reject", ids[1][1], "--by", "bob", "--note", "already handled"); code != 0 || !strings.Contains(out, "rejected") {
		t.Fatalf("reject: %d %s", code, out)
	}
	if _, errb, code := run(t, "approvals", "approve", ids[1][1]); code != 2 || !strings.Contains(errb, "already rejected (by bob") {
		t.Errorf("approving a rejected item: exit %d %s", code, errb)
	}
	if _, errb, code := run(t, "approvals", "approve", "999"); code != 1 || !strings.Contains(errb, "approval 999 does not exist") {
		t.Errorf("approving a missing item: exit %d %s", code, errb)
	}
	if live, _ := org.Count(sandbox.SFTask); live != 0 {
		t.Fatalf("approve wrote to the CRM")
	}

	out, errb, code = run(t, "writeback")
	if code != 0 {
		t.Fatalf("writeback after decisions: exit %d: %s", code, errb)
	}
	if live, _ := org.Count(sandbox.SFTask); live != 1 {
		t.Errorf("%d tasks after approving one and rejecting one, want 1:\n%s", live, out)
	}
	if !strings.Contains(out, "tasks         review 2 planned: 1 created, 0 updated (1 approved), 0 unchanged, 0 queued for approval, 1 already waiting or rejected") {
		t.Errorf("summary after decisions:\n%s", out)
	}

	out, errb, code = run(t, "audit", "verify")
	if code != 0 || !strings.Contains(out, "audit log ok") {
		t.Fatalf("audit verify: exit %d %s %s", code, out, errb)
	}
	w, err := transform.Open(context.Background(), filepath.Join(dir, "data", "warehouse.duckdb"), false)
	if err != nil {
		t.Fatal(err)
	}
	var approvals, rejections int
	w.DB.QueryRow(`select count(*) filter (where action = 'approve' and actor = 'alice'), count(*) filter (where action = 'reject' and actor = 'bob') from audit_log`).Scan(&approvals, &rejections)
	if approvals != 1 || rejections != 1 {
		t.Errorf("audit log: %d approvals by alice, %d rejections by bob", approvals, rejections)
	}
	if _, err := w.DB.Exec(`update audit_log set response = 'ok: created nothing' where seq = 3`); err != nil {
		t.Fatal(err)
	}
	w.Close()
	_, errb, code = run(t, "audit", "verify")
	if code != 1 || !strings.Contains(errb, "first bad seq 3") {
		t.Errorf("tampered audit log: exit %d %s", code, errb)
	}
}

// TestWriteback_AllowListRefusedBeforeAnyRequest: a field missing from writeback.allow
// stops the run with exit 2, naming Object.Field and the key, and the org saw nothing.
func TestWriteback_AllowListRefusedBeforeAnyRequest(t *testing.T) {
	dir, org := writebackSetup(t, "writeback:\n  mode: auto\n  target: salesforce\n"+allowAll("Revenue_Forecast__c.P90_Amount__c"))
	inDir(t, dir)
	_, errb, code := run(t, "writeback")
	if code != 2 || !strings.Contains(errb, "Revenue_Forecast__c.P90_Amount__c") || !strings.Contains(errb, "add to writeback.allow") {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if n := len(org.Requests(0)); n != 0 {
		t.Fatalf("%d requests reached the org", n)
	}
	if live, _ := org.Count(sandbox.SFRevenueForecast); live != 0 {
		t.Fatalf("%d forecast records written", live)
	}
}

// TestWriteback_Config checks the writeback section's validation: each error names the
// key and its line.
func TestWriteback_Config(t *testing.T) {
	src := "sources:\n  - {name: crm, type: configtest}\n"
	tests := []struct{ name, yaml, want string }{
		{"unsupported target type", src + "writeback:\n  mode: review\n  target: crm\n  workflows: {tasks: auto}\n  thresholds: {amount: 5, change_pct: 10, kinds: [variance_task]}\n", "is a configtest source"},
		{"bad allow entry", "writeback:\n  allow:\n    - Opportunity.Amount\n    - Revcast_Risk__c\n", "revcast.yaml:5:7: writeback.allow[1] \"Revcast_Risk__c\": want Object.Field"},
		{"unknown workflow", "writeback:\n  workflows:\n    leads: auto\n", "revcast.yaml:4:12: writeback.workflows: unknown workflow \"leads\""},
		{"bad workflow mode", "writeback:\n  workflows:\n    tasks: yolo\n", "revcast.yaml:4:12: writeback.workflows.tasks \"yolo\""},
		{"unknown kind", "writeback:\n  thresholds:\n    kinds: [forecast, credit]\n", "revcast.yaml:4:23: writeback.thresholds.kinds[1] \"credit\""},
		{"negative amount", "writeback:\n  thresholds:\n    amount: -1\n", "revcast.yaml:4:13: writeback.thresholds.amount -1"},
		{"target not a source", "writeback:\n  mode: auto\n  target: sfdc\n", "revcast.yaml:4:11: writeback.target \"sfdc\" is not in sources"},
		{"writes need a target", "writeback:\n  workflows: {forecasts: auto}\n", "writeback.target is required"},
		{"max attempts", "writeback:\n  max_attempts: 50\n", "revcast.yaml:3:17: writeback.max_attempts 50"},
		{"concurrent requests", "writeback:\n  concurrent_requests: 30\n", "revcast.yaml:3:24: writeback.concurrent_requests 30"},
		{"read only without target is fine", "writeback:\n  mode: read_only\n  allow: [Opportunity.Revcast_Risk__c]\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("revcast.yaml", []byte("data_dir: d\n"+tc.yaml))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestWriteback_PipelineStage: writeback is a `revcast run` stage after report, and a
// no-op without a target.
func TestWriteback_PipelineStage(t *testing.T) {
	var step *pipelineStep
	for i := range pipelineSteps {
		if pipelineSteps[i].Name == "writeback" {
			step = &pipelineSteps[i]
		}
	}
	if step == nil || step.Order != 50 {
		t.Fatalf("writeback stage: %+v", step)
	}
	cfg, err := ParseConfig(filepath.Join(t.TempDir(), "revcast.yaml"), []byte("data_dir: d\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := NewMain(os.Stdout, os.Stderr)
	m.Logger = slog.New(slog.DiscardHandler)
	if err := step.Run(context.Background(), m, cfg); err != nil {
		t.Fatalf("stage without a target: %v", err)
	}
	if _, err := os.Stat(cfg.WarehousePath()); err == nil {
		t.Errorf("the no-op stage created a warehouse")
	}
}
