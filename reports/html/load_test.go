package html_test

import (
	"bytes"
	"context"
	"database/sql"
	"math"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	rh "github.com/revcast/revcast/reports/html"
	"github.com/revcast/revcast/reports/narrative"
)

// partialWarehouse is an in-memory warehouse with the core tables, ar_aging, two forecast
// runs, variances and backtest metrics — but no collections, renewals, credit alerts or
// order status tables, and an empty inventory_risk: a warehouse part-way through being
// built.
//
// opportunity_history holds one deal for each movement of the waterfall between the
// snapshots at the end of 2026-06-23 and of 2026-06-30, over close dates 2026-04-01 –
// 2026-09-30 (Q2 and Q3 with the default two-quarter horizon):
//
//	A 100 → 150 amount up     B 200 → 120 amount down   C 300 won          D 40 lost
//	E 70 pushed to November   F 60 pulled in from Dec.  G 90 new           H 500 unchanged
//	I won in May (before)     J 1000 closing 2027 (outside the window)
//
// so Start = 100+200+300+40+70+500 = 1210 and End = 150+120+60+90+500 = 920.
const partialWarehouse = `
create schema meta;
create table meta.settings as select 'USD'::varchar as base_currency, date '2026-06-30' as as_of;
create table meta.loaded_files (path varchar, source varchar, stream varchar, raw_table varchar, rows bigint, loaded_at timestamptz);
insert into meta.loaded_files values
  ('a', 'crm', 'opportunities', 'raw.x', 10, '2026-06-30 05:00:00+00'),
  ('b', 'crm', 'opportunity_history', 'raw.y', 10, '2026-06-30 05:02:00+00'),
  ('c', 'erp', 'invoices', 'raw.z', 10, '2026-06-29 23:00:00+00');
create table users (user_id varchar, full_name varchar);
insert into users values ('U1', 'Dana Whitfield'), ('U2', 'Lee Park');
create table accounts (account_id varchar, account_name varchar);
insert into accounts values ('AC1', 'Acme Corp'), ('AC2', 'Globex');
create table opportunities (opportunity_id varchar, account_id varchar, owner_id varchar, name varchar, stage varchar,
  forecast_category varchar, probability double, amount_base decimal(18,2), close_date date, is_closed boolean);
insert into opportunities values
  ('A', 'AC1', 'U1', 'Acme - Pumps', 'Proposal', 'commit', 80, 150, '2026-07-15', false),
  ('B', 'AC2', 'U2', 'Globex - Valves', 'Proposal', 'best_case', 60, 120, '2026-08-10', false),
  ('C', 'AC1', 'U1', 'Acme - Controls', 'Closed Won', 'closed', 100, 300, '2026-07-31', true),
  ('D', 'AC2', 'U2', 'Globex - Spares', 'Closed Lost', 'omitted', 0, 40, '2026-09-01', true),
  ('E', 'AC1', 'U1', 'Acme - Service', 'Solution', 'pipeline', 40, 70, '2026-11-15', false),
  ('F', 'AC2', 'U2', 'Globex - Pilot', 'Solution', 'pipeline', 40, 60, '2026-09-01', false),
  ('G', 'AC1', 'U1', 'Acme - New line', 'Qualification', 'pipeline', 20, 90, '2026-09-20', false),
  ('H', 'AC2', 'U2', 'Globex - Plant', 'Proposal', 'pipeline', 20, 500, '2026-09-30', false),
  ('I', 'AC1', 'U1', 'Acme - Old', 'Closed Won', 'closed', 100, 999, '2026-05-01', true),
  ('J', 'AC2', 'U2', 'Globex - Future', 'Prospecting', 'pipeline', 10, 1000, '2027-01-15', false);
create table opportunity_history (opportunity_id varchar, valid_from timestamptz, valid_to timestamptz, stage varchar,
  close_date date, amount_base decimal(18,2));
insert into opportunity_history values
  ('A', '2026-05-01 10:00:00+00', '2026-06-26 10:00:00+00', 'Proposal', '2026-07-15', 100),
  ('A', '2026-06-26 10:00:00+00', null, 'Proposal', '2026-07-15', 150),
  ('B', '2026-05-01 10:00:00+00', '2026-06-26 10:00:00+00', 'Proposal', '2026-08-10', 200),
  ('B', '2026-06-26 10:00:00+00', null, 'Proposal', '2026-08-10', 120),
  ('C', '2026-05-01 10:00:00+00', '2026-06-27 10:00:00+00', 'Negotiation', '2026-07-31', 300),
  ('C', '2026-06-27 10:00:00+00', null, 'Closed Won', '2026-07-31', 300),
  ('D', '2026-05-01 10:00:00+00', '2026-06-28 10:00:00+00', 'Proposal', '2026-09-01', 40),
  ('D', '2026-06-28 10:00:00+00', null, 'Closed Lost', '2026-09-01', 40),
  ('E', '2026-05-01 10:00:00+00', '2026-06-25 10:00:00+00', 'Solution', '2026-08-01', 70),
  ('E', '2026-06-25 10:00:00+00', null, 'Solution', '2026-11-15', 70),
  ('F', '2026-05-01 10:00:00+00', '2026-06-25 10:00:00+00', 'Solution', '2026-12-01', 60),
  ('F', '2026-06-25 10:00:00+00', null, 'Solution', '2026-09-01', 60),
  ('G', '2026-06-25 10:00:00+00', null, 'Qualification', '2026-09-20', 90),
  ('H', '2026-05-01 10:00:00+00', null, 'Proposal', '2026-09-30', 500),
  ('I', '2026-04-01 10:00:00+00', '2026-05-01 10:00:00+00', 'Proposal', '2026-05-01', 999),
  ('I', '2026-05-01 10:00:00+00', null, 'Closed Won', '2026-05-01', 999),
  ('J', '2026-05-01 10:00:00+00', null, 'Prospecting', '2027-01-15', 1000);
create table ar_aging (as_of date, customer_id varchar, bucket varchar, amount_base decimal(18,2), items bigint);
insert into ar_aging values
  ('2026-06-30', 'C1', 'current', 1000, 2), ('2026-06-30', 'C1', '90+', 250, 1),
  ('2026-06-30', 'C2', '1-30', 300, 1), ('2026-06-30', 'C3', 'current', 50, 1);
create table forecast_runs (run_id varchar, as_of date, created_at timestamptz, seed bigint, model_versions varchar, params varchar);
insert into forecast_runs values
  ('20260623T060000Z-aaaaaa', '2026-06-23', '2026-06-23 06:00:00+00', 1, '{}', '{}'),
  ('20260630T060000Z-bbbbbb', '2026-06-30', '2026-06-30 06:00:00+00', 1, '{}', '{}'),
  -- A past-dated forecast made after the others ('revcast forecast --as-of 2026-06-16').
  ('20260630T090000Z-cccccc', '2026-06-16', '2026-06-30 09:00:00+00', 1, '{}', '{}');
create table forecast_periods (run_id varchar, period varchar, segment_type varchar, segment varchar, closed_base double,
  expected_base double, p10_base double, p50_base double, p90_base double, stage_weighted_base double, commit_base double);
insert into forecast_periods values
  ('20260623T060000Z-aaaaaa', '2026-Q3', 'total', 'all', 0, 4.3e6, 3.3e6, 4.25e6, 5.2e6, 4.7e6, 4.0e6),
  ('20260630T060000Z-bbbbbb', '2026-Q3', 'owner', 'U1', 0, 2e6, 1e6, 2e6, 3e6, 2e6, 2e6),
  ('20260630T060000Z-bbbbbb', '2026-Q3', 'total', 'all', 1.2e6, 4.1e6, 3.2e6, 4.0e6, 5.1e6, 4.6e6, 3.9e6),
  ('20260630T060000Z-bbbbbb', '2026-Q4', 'total', 'all', 0, 3.6e6, 2.4e6, 3.5e6, 4.9e6, 4.2e6, null),
  ('20260630T090000Z-cccccc', '2026-Q3', 'total', 'all', 0, 9e6, 8e6, 9e6, 10e6, 9e6, 9e6);
create table forecast_opportunities (run_id varchar, opportunity_id varchar, p_win double, p_close_in_period double,
  expected_amount_base double, factors varchar);
insert into forecast_opportunities values
  ('20260630T060000Z-bbbbbb', 'A', 0.3, 0.9, 40, '{"logit":-0.8,"positive":[],"negative":[{"feature":"pushes","value":3,"contribution":-0.9},{"feature":"days_in_stage","value":74,"contribution":-0.4}]}'),
  ('20260630T060000Z-bbbbbb', 'B', 0.7, 0.9, 75, null),
  ('20260630T060000Z-bbbbbb', 'H', 0.1, 0.9, 45, null),
  ('20260623T060000Z-aaaaaa', 'B', 0.2, 0.9, 75, null);
create table reconciliation_variances (variance_id varchar, kind varchar, severity varchar, crm_record_id varchar,
  erp_record_id varchar, crm_amount_base double, erp_amount_base double, explanation varchar);
insert into reconciliation_variances values
  ('V1', 'won_without_order', 'high', 'C', null, 300, null, 'won 40 days ago, no order'),
  ('V2', 'price_mismatch', 'low', 'B', 'SO-1', 120, 118, 'line price differs'),
  ('V3', 'price_mismatch', 'medium', 'A', 'SO-2', 150, 140, 'line price differs');
create table backtest_results (run_id varchar, origin date, quarter varchar, week_of_quarter bigint, model varchar,
  segment_type varchar, segment varchar, metric varchar, bin bigint, value double);
insert into backtest_results values
  ('bt1', '2026-04-08', '2026-Q2', 2, 'revcast', 'total', 'all', 'ape', -1, 0.5),
  ('bt1', null, null, 0, 'revcast', 'total', 'all', 'brier', -1, 0.16),
  ('bt1', null, null, 0, 'revcast', 'total', 'all', 'mape', -1, 0.08),
  ('bt1', null, null, 0, 'revcast', 'owner', '*', 'coverage', -1, 0.5),
  ('bt1', null, null, 0, 'revcast', 'total', 'all', 'coverage', -1, 0.8),
  ('bt1', null, null, 1, 'revcast', 'total', 'all', 'mape_by_week', -1, 0.2),
  ('bt1', null, null, 2, 'revcast', 'total', 'all', 'mape_by_week', -1, 0.1),
  ('bt1', null, null, 0, 'revcast', 'total', 'all', 'calibration_mean_predicted', 0, 0.05),
  ('bt1', null, null, 0, 'revcast', 'total', 'all', 'calibration_observed_rate', 0, 0.07),
  ('bt1', null, null, 0, 'revcast', 'total', 'all', 'calibration_count', 0, 40),
  ('bt1', null, null, 0, 'revcast', 'total', 'all', 'calibration_mean_predicted', 1, 0.15),
  ('bt1', null, null, 0, 'revcast', 'total', 'all', 'calibration_observed_rate', 1, 0.12),
  ('bt1', null, null, 0, 'revcast', 'total', 'all', 'calibration_count', 1, 30),
  ('bt1', null, null, 0, 'stage_weighted', 'total', 'all', 'brier', -1, 0.22),
  ('bt1', null, null, 0, 'stage_weighted', 'total', 'all', 'mape', -1, 0.19),
  ('bt1', null, null, 0, 'actual', 'total', 'all', 'actual', -1, 1e6);
create table inventory_risk (opportunity_id varchar, product_id varchar, shortfall_qty double);
`

func openPartial(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one in-memory database
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(partialWarehouse); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestLoad_PartialWarehouse(t *testing.T) {
	db := openPartial(t)
	now := time.Date(2026, 6, 30, 7, 0, 0, 0, time.UTC)
	r, warnings, err := rh.Load(context.Background(), db, rh.Options{Currency: "USD", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Errorf("warning: %s", w)
	}
	if r.RunID != "20260630T060000Z-bbbbbb" || !r.AsOf.Equal(date("2026-06-30")) {
		t.Errorf("run %s as of %s, want the run with the latest as-of, 2026-06-30, not the past-dated one made later", r.RunID, r.AsOf)
	}
	if len(r.Freshness) != 2 || r.Freshness[0].Source != "crm" || !r.Freshness[0].LoadedAt.Equal(time.Date(2026, 6, 30, 5, 2, 0, 0, time.UTC)) {
		t.Errorf("freshness = %+v, want crm at its latest load 05:02 and erp", r.Freshness)
	}
	if strings.Join(r.People, ",") != "Dana Whitfield,Lee Park" {
		t.Errorf("people = %v", r.People)
	}

	t.Run("headline", func(t *testing.T) {
		h := r.Section(narrative.SectionHeadline).Content.(*rh.Headline)
		// As of 2026-06-30 no forecast period holds the date, so the first one after it. The
		// comparison is the run with the next as-of (06-23), not the one made last (06-16).
		if h.Period != "2026-Q3" || h.P50 != 4.0e6 || h.PrevP50 != 4.25e6 || h.PrevRunID != "20260623T060000Z-aaaaaa" {
			t.Errorf("headline = %+v", h)
		}
		if !math.IsNaN(h.Target) {
			t.Errorf("target = %v, want NaN (no target in the warehouse)", h.Target)
		}
	})
	t.Run("forecast", func(t *testing.T) {
		f := r.Section(narrative.SectionForecast).Content.(*rh.ForecastPeriods)
		if len(f.Rows) != 2 || f.Rows[1].Period != "2026-Q4" || !math.IsNaN(f.Rows[1].Commit) {
			t.Errorf("forecast rows = %+v, want the total segment's two periods, Q4 commit NULL", f.Rows)
		}
	})
	t.Run("pipeline_changes", func(t *testing.T) {
		p := r.Section(narrative.SectionPipelineChanges).Content.(*rh.PipelineChanges)
		if p.Start != 1210 || p.End != 920 || p.StartDeals != 6 || p.EndDeals != 5 {
			t.Errorf("start %v (%d deals), end %v (%d deals); want 1210 (6), 920 (5)", p.Start, p.StartDeals, p.End, p.EndDeals)
		}
		want := map[string]float64{"new": 90, "pulled_in": 60, "amount_up": 50, "won": -300, "lost": -40, "pushed_out": -70, "amount_down": -80}
		sum := p.Start
		for _, s := range p.Steps {
			if s.Amount != want[s.Key] || s.Deals != 1 {
				t.Errorf("%s: %v over %d deals, want %v over 1", s.Key, s.Amount, s.Deals, want[s.Key])
			}
			sum += s.Amount
		}
		if sum != p.End {
			t.Errorf("start + movements = %v, end = %v", sum, p.End)
		}
		if len(p.Movers) == 0 || p.Movers[0].OpportunityID != "C" || p.Movers[0].Account != "Acme Corp" || p.Movers[0].Change != "Won" {
			t.Errorf("largest mover = %+v, want C (won, Acme Corp)", p.Movers)
		}
	})
	t.Run("at_risk_deals", func(t *testing.T) {
		a := r.Section(narrative.SectionAtRisk).Content.(*rh.AtRiskDeals)
		if a.Count != 1 || len(a.Deals) != 1 || a.Deals[0].OpportunityID != "A" || a.Deals[0].Owner != "Dana Whitfield" {
			t.Fatalf("at risk = %+v, want only A (commit, CRM 80%%, p_win 0.3)", a)
		}
		if got := strings.Join(a.Deals[0].Factors, "; "); got != "pushes (3); days in stage (74)" {
			t.Errorf("factors = %q", got)
		}
	})
	t.Run("credit", func(t *testing.T) {
		c := r.Section(narrative.SectionCredit).Content.(*rh.Credit)
		if c.Alerts != nil || !strings.Contains(c.AlertsMissing, "credit_alerts") {
			t.Errorf("credit alerts = %+v / %q, want missing", c.Alerts, c.AlertsMissing)
		}
		if len(c.Aging) != 5 || c.Aging[0].Amount != 1050 || c.Aging[4].Amount != 250 || c.Aging[4].Customers != 1 {
			t.Errorf("aging = %+v", c.Aging)
		}
		if c.Overdue.Total != 2 || c.Overdue.Rows[0][0].Text != "C2" {
			t.Errorf("overdue = %+v, want C2 (300 past due) first of 2", c.Overdue)
		}
	})
	t.Run("reconciliation", func(t *testing.T) {
		rc := r.Section(narrative.SectionReconciliation).Content.(*rh.Reconciliation)
		if len(rc.ByKind) != 2 || rc.ByKind[0].Kind != "won_without_order" || rc.ByKind[0].High != 1 || rc.ByKind[1].Amount != 12 {
			t.Errorf("by kind = %+v", rc.ByKind)
		}
		if rc.Top.Total != 3 || rc.Top.Rows[0][0].Text != "won_without_order" {
			t.Errorf("top = %+v", rc.Top)
		}
	})
	t.Run("model_accuracy", func(t *testing.T) {
		a := r.Section(narrative.SectionAccuracy).Content.(*rh.Accuracy)
		// Summary metrics only (not the per-origin ape), total segment only (coverage 0.8,
		// not the owners' 0.5), revcast before the baseline, the "actual" rows left out.
		if a.Metrics == nil || len(a.Metrics.Rows) != 2 || a.Metrics.Rows[0][0].Text != "revcast" {
			t.Fatalf("metrics = %+v", a.Metrics)
		}
		var labels []string
		for _, c := range a.Metrics.Columns {
			labels = append(labels, c.Label)
		}
		if got := strings.Join(labels, ","); got != "Model,MAPE,P10–P90 coverage,Brier" {
			t.Errorf("columns %s", got)
		}
		if r0 := a.Metrics.Rows[0]; r0[1].Num != 0.08 || r0[2].Num != 0.8 || r0[3].Num != 0.16 || !a.Metrics.Rows[1][2].Null {
			t.Errorf("rows = %+v", a.Metrics.Rows)
		}
		if len(a.ByWeek) != 2 || a.ByWeek[1].Week != 2 || a.ByWeek[1].MAPE != 0.1 {
			t.Errorf("by week = %+v", a.ByWeek)
		}
		if len(a.Calibration) != 2 || a.Calibration[1].Predicted != 0.15 || a.Calibration[1].Observed != 0.12 || a.Calibration[1].Count != 30 {
			t.Errorf("calibration = %+v", a.Calibration)
		}
	})
	t.Run("missing", func(t *testing.T) {
		for key, want := range map[string]string{
			narrative.SectionSupply:      "no data yet: inventory_risk is empty",
			narrative.SectionCollections: "no data yet: collections_forecast, written by revcast forecast",
			narrative.SectionRenewals:    "no data yet: renewal_forecast, written by revcast forecast",
			narrative.SectionOrders:      "no data yet: order_status_updates, written by revcast transform",
		} {
			s := r.Section(key)
			if s.Content != nil || !strings.HasPrefix(s.Missing, want) {
				t.Errorf("%s: Missing = %q, want it to start %q", key, s.Missing, want)
			}
		}
	})

	ns := r.Narrate(context.Background(), templateWriter())
	var buf bytes.Buffer
	if err := r.Render(&buf); err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, buf.String(), true)
	checkNoNetwork(t, buf.String())

	// Narratives are stored once per run and section, however often the report runs.
	for i := 0; i < 2; i++ {
		if err := rh.StoreNarratives(context.Background(), db, ns); err != nil {
			t.Fatal(err)
		}
	}
	var n, sections int
	if err := db.QueryRow(`select count(*), count(distinct section) from narratives`).Scan(&n, &sections); err != nil {
		t.Fatal(err)
	}
	if n != len(ns) || sections != len(ns) || n != 7 {
		t.Errorf("narratives table has %d rows over %d sections, want %d = the 7 sections with data", n, sections, len(ns))
	}
}

// TestLoad_EmptyWarehouse: a warehouse with nothing in it still gives a report, every
// section saying what it waits for.
func TestLoad_EmptyWarehouse(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, warnings, err := rh.Load(context.Background(), db, rh.Options{})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Load: %v %v", err, warnings)
	}
	for _, s := range r.Sections {
		if s.Content != nil || !strings.HasPrefix(s.Missing, "no data yet: ") {
			t.Errorf("%s: %q", s.Key, s.Missing)
		}
	}
	if r.Currency != "USD" || r.RunID == "" {
		t.Errorf("currency %q run %q", r.Currency, r.RunID)
	}
	var buf bytes.Buffer
	if err := r.Render(&buf); err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, buf.String(), true)
}

// TestLoad_RunTableFallsBackInRunOrder: when a run_id table has no rows for the newest
// forecast run, the report takes the newest run in the same order (latest as-of, then
// latest made) that has rows there, not the greatest run_id, which is the past-dated run
// made last; and a table of other runs (backtest_results) still shows its own latest.
func TestLoad_RunTableFallsBackInRunOrder(t *testing.T) {
	db := openPartial(t)
	if _, err := db.Exec(`delete from forecast_opportunities where run_id = '20260630T060000Z-bbbbbb';
		insert into forecast_opportunities values ('20260630T090000Z-cccccc', 'A', 0.1, 0.9, 40, null)`); err != nil {
		t.Fatal(err)
	}
	r, warnings, err := rh.Load(context.Background(), db, rh.Options{Currency: "USD", Now: func() time.Time { return date("2026-06-30") }})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Errorf("warning: %s", w)
	}
	a, ok := r.Section(narrative.SectionAtRisk).Content.(*rh.AtRiskDeals)
	if !ok || a.Count != 1 || a.Deals[0].OpportunityID != "B" {
		t.Fatalf("at risk = %+v, want B from run 2026-06-23 (p_win 0.2), not A from the past-dated run made later", r.Section(narrative.SectionAtRisk))
	}
	if _, ok := r.Section(narrative.SectionAccuracy).Content.(*rh.Accuracy); !ok {
		t.Errorf("accuracy = %+v, want backtest_results' own latest run", r.Section(narrative.SectionAccuracy))
	}
}
