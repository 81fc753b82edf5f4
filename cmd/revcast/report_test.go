package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	reporthtml "github.com/revcast/revcast/reports/html"
	"github.com/revcast/revcast/reports/html/browsertest"
	"github.com/revcast/revcast/transform"
)

// seedResults stands in for the forecasting and reconciliation stages that are not part of
// this warehouse yet: result tables in the contract's shape (DESIGN.md key columns),
// computed from the demo company's own data. A table that already exists (because the
// real stage ran) is left as it is.
const seedResults = `
create table if not exists forecast_runs as
    select * from (values
        ('20260623T060000Z-seed01', date '2026-06-23', timestamptz '2026-06-23 06:00:00+00', 7::bigint, '{}', '{}'),
        ('20260630T060000Z-seed02', date '2026-06-30', timestamptz '2026-06-30 06:00:00+00', 7::bigint, '{}', '{}')
    ) as t(run_id, as_of, created_at, seed, model_versions, params);
create table if not exists forecast_periods as
    with open_deals as (
        select year(close_date) || '-Q' || quarter(close_date) as period,
            cast(amount_base as double) as amount, probability / 100.0 as p, forecast_category
        from opportunities where not is_closed and close_date between date '2026-07-01' and date '2027-03-31'
    ),
    totals as (
        select period, sum(amount * p) as expected, sum(amount * p) as stage_weighted,
            sum(amount) filter (where forecast_category = 'commit') as commit_base
        from open_deals group by period
    ),
    runs as (select * from (values ('20260623T060000Z-seed01', 1.04), ('20260630T060000Z-seed02', 1.0)) as r(run_id, f))
    select run_id, period, 'total' as segment_type, 'all' as segment, 0.0 as closed_base,
        expected * f as expected_base, expected * f * 0.78 as p10_base, expected * f * 0.98 as p50_base,
        expected * f * 1.24 as p90_base, stage_weighted as stage_weighted_base, commit_base
    from totals cross join runs;
create table if not exists forecast_opportunities as
    select '20260630T060000Z-seed02' as run_id, opportunity_id,
        least(0.95, probability / 100.0 * (0.35 + (hash(opportunity_id) % 100) / 100.0)) as p_win,
        0.8 as p_close_in_period, cast(amount_base as double) * probability / 100.0 as expected_amount_base,
        '{"logit":-0.5,"positive":[],"negative":[{"feature":"close_date_pushes","value":' || (hash(opportunity_id) % 4) ||
            ',"contribution":-0.7},{"feature":"days_in_stage","value":' || (hash(opportunity_id) % 90) || ',"contribution":-0.3}]}' as factors
    from opportunities where not is_closed;
create table if not exists reconciliation_variances as
    select 'V-' || o.opportunity_id as variance_id, 'won_without_order' as kind, 'high' as severity,
        o.opportunity_id as crm_record_id, null::varchar as erp_record_id,
        cast(o.amount_base as double) as crm_amount_base, null::double as erp_amount_base,
        'won in the CRM, no sales order in the ERP' as explanation
    from opportunities o
    where o.is_won and not exists (select 1 from sales_orders s where s.opportunity_id = o.opportunity_id)
    union all
    select 'V-' || s.order_id, 'order_amount_mismatch', 'medium', o.opportunity_id, s.order_id,
        cast(o.amount_base as double), cast(s.amount_base as double), 'order value differs from the won amount'
    from sales_orders s join opportunities o on o.opportunity_id = s.opportunity_id
    where abs(o.amount_base - s.amount_base) > 1;
create table if not exists backtest_results as
    select * from (values ('bt-seed', 'revcast', 'brier', 0.17), ('bt-seed', 'revcast', 'ape', 0.09),
        ('bt-seed', 'stage_weighted', 'brier', 0.23), ('bt-seed', 'stage_weighted', 'ape', 0.21))
    as t(run_id, model, metric, value);
create table if not exists backtest_calibration as
    select 'crm_probability' as model, avg(h.probability / 100.0) as mean_predicted,
        avg(case when o.is_won then 1.0 else 0.0 end) as observed_rate, count(*) as count
    from opportunity_history h join opportunities o using (opportunity_id)
    where o.is_closed and h.stage not like 'Closed%'
    group by h.probability
    having count(*) > 5;
`

// TestReport runs the demo (which writes the report), checks the report of a warehouse
// that has only the core tables and the marts built so far, then adds stand-in result
// tables and opens that report in headless Chromium with the network off.
// REVCAST_REPORT_SCALE picks the demo's scale (default small); REVCAST_SCREENSHOT=path
// keeps the browser's screenshot.
func TestReport(t *testing.T) {
	scale := os.Getenv("REVCAST_REPORT_SCALE")
	if scale == "" {
		scale = "small"
	}
	dir := t.TempDir()
	out, errs, code := run(t, "demo", "--dir", dir, "--scale", scale, "--seed", "7", "--as-of", "2026-06-30", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	cfg := filepath.Join(dir, "revcast.yaml")

	t.Run("demo writes it", func(t *testing.T) {
		m := regexp.MustCompile(`(?m)^Report: (\S+) \(`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("demo output names no report:\n%s", out)
		}
		want := filepath.Join(dir, "data", "reports", "revcast-report-2026-06-30.html")
		if m[1] != want {
			t.Errorf("report at %s, want %s", m[1], want)
		}
		page := readFile(t, m[1])
		for _, s := range []string{
			`<section id="pipeline_changes" class="section">`, `<section id="credit" class="section">`,
			`id="chart_pipeline_changes"`, `id="chart_ar_aging"`,
			"Narrative: template", "As of <b>2026-06-30</b>", "amounts in <b>USD</b>",
			"Data freshness (last loaded per source): exports 20",
		} {
			if !strings.Contains(page, s) {
				t.Errorf("report lacks %q", s)
			}
		}
		// Every section either has data or says what it waits for; which ones depends on
		// the stages built so far.
		if n := strings.Count(page, "<section id="); n != 11 {
			t.Errorf("%d sections, want 11", n)
		}
		withData := strings.Count(page, `class="section">`)
		waiting := strings.Count(page, `class="section nodata">`+"\n")
		if withData+waiting != 11 || strings.Count(page, `<p class="missing">no data yet: `) < waiting {
			t.Errorf("%d sections with data, %d waiting, but not every waiting one says no data yet", withData, waiting)
		}
		if !hasTable(t, cfg, "forecast_periods") && !strings.Contains(page, "no data yet: forecast_periods, written by revcast forecast") {
			t.Errorf("no forecast in the warehouse, and the report does not say so")
		}
		if regexp.MustCompile(`(?i)<(script|link)\b[^>]*\b(src|href)\s*=`).MatchString(page) {
			t.Errorf("report loads a script or stylesheet instead of inlining it")
		}
	})

	t.Run("partial warehouse", func(t *testing.T) {
		// Without forecast results each report names itself with a run id of its own; with
		// them, narratives belong to the latest forecast run and a second report replaces
		// the first one's (one row per run and section).
		path := filepath.Join(t.TempDir(), "partial.html")
		stdout, errs, code := run(t, "--config", cfg, "--log-level", "warn", "report", "--out", path)
		if code != 0 || strings.TrimSpace(stdout) != path {
			t.Fatalf("report: exit %d, stdout %q, stderr %s", code, stdout, errs)
		}
		page := readFile(t, path)
		withData := strings.Count(page, `class="section">`)
		q, errs, code := run(t, "--config", cfg, "sql", "--format", "csv",
			"select count(distinct run_id) as runs, count(*) as n, count(*) filter (where source = 'template') as tmpl from narratives")
		want := fmt.Sprintf("runs,n,tmpl\n2,%d,%d", 2*withData, 2*withData)
		if hasTable(t, cfg, "forecast_runs") {
			want = fmt.Sprintf("runs,n,tmpl\n1,%d,%d", withData, withData)
		}
		if code != 0 || strings.TrimSpace(q) != want {
			t.Errorf("narratives after two reports: %q (%s), want %q: one template narrative per section with data per report run", q, errs, want)
		}
	})

	t.Run("browser", func(t *testing.T) {
		ctx := context.Background()
		seededRuns := !hasTable(t, cfg, "forecast_runs")
		w, err := transform.Open(ctx, filepath.Join(dir, "data", "warehouse.duckdb"), false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.DB.ExecContext(ctx, seedResults)
		w.Close()
		if err != nil {
			t.Fatalf("seed result tables: %v", err)
		}
		path := filepath.Join(t.TempDir(), "report.html")
		start := time.Now()
		stdout, errs, code := run(t, "--config", cfg, "--log-level", "warn", "report", "--out", path)
		took := time.Since(start)
		if code != 0 {
			t.Fatalf("report: exit %d, stdout %q, stderr %s", code, stdout, errs)
		}
		page := readFile(t, path)
		if seededRuns && !strings.Contains(page, "run <b>20260630T060000Z-seed02</b>") {
			t.Errorf("the report does not name the latest forecast run")
		}
		for _, id := range []string{"headline", "forecast", "pipeline_changes", "at_risk_deals", "credit", "reconciliation", "model_accuracy"} {
			if !strings.Contains(page, `<section id="`+id+`" class="section">`) {
				t.Errorf("section %s has no data", id)
			}
		}
		st, _ := os.Stat(path)
		res := browsertest.Open(t, path)
		res.Check(t, reporthtml.EChartsVersion, 5)
		shot := res.SaveScreenshot(t, t.TempDir(), "report.png", "REVCAST_SCREENSHOT")
		t.Logf("%s scale: report %d bytes written in %s; %d charts rendered offline in Chromium in %s; screenshot %s",
			scale, st.Size(), took.Round(time.Millisecond), len(res.Charts), res.Took.Round(time.Millisecond), shot)
	})
}

// hasTable reports whether the warehouse of the config has a main table or view name.
func hasTable(t *testing.T, cfg, name string) bool {
	t.Helper()
	out, errs, code := run(t, "--config", cfg, "sql", "--format", "csv",
		"select count(*) as n from duckdb_columns() where schema_name = 'main' and table_name = '"+name+"'")
	if code != 0 {
		t.Fatalf("sql: %s", errs)
	}
	return strings.TrimSpace(out) != "n\n0"
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
