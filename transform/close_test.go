package transform_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/revcast/revcast/models/forecast"
	"github.com/revcast/revcast/transform"
)

// TestSnapshots_CloseIsTheFirstClosedRow: a deal closes when the closed rows that end its
// history begin, not at its last row. The CRM adds a row when a closed deal is edited
// (Salesforce's OpportunityHistory): O1, won on 2026-02-01 and edited on 03-10, is not open
// on 02-15 and closed on 02-01; O4, lost on 01-20, reopened on 02-01, won on 03-01 and
// edited on 03-20, is open on 02-15 and closed on 03-01; O3, lost on 01-25 and never
// edited, as before. (The old rule, the last row, fails all but O3.)
func TestSnapshots_CloseIsTheFirstClosedRow(t *testing.T) {
	ctx := context.Background()
	w, conn := mustConn(t)
	row := func(id, opp, at, stage string, p float64) string {
		return "('" + id + "', '" + opp + "', timestamptz '" + at + " 10:00:00+00', null::timestamptz, '" + stage + "', " +
			strconv.FormatFloat(p, 'f', 1, 64) + ", date '2026-06-30', 100.0, 'pipeline')"
	}
	hist := []string{
		row("h1", "O1", "2026-01-05", "Qualify", 20), row("h2", "O1", "2026-02-01", "Closed Won", 100), row("h3", "O1", "2026-03-10", "Closed Won", 100),
		row("h4", "O2", "2026-01-05", "Qualify", 20),
		row("h5", "O3", "2026-01-05", "Qualify", 20), row("h6", "O3", "2026-01-25", "Closed Lost", 0),
		row("h7", "O4", "2026-01-05", "Qualify", 20), row("h8", "O4", "2026-01-20", "Closed Lost", 0), row("h9", "O4", "2026-02-01", "Qualify", 20),
		row("h10", "O4", "2026-03-01", "Closed Won", 100), row("h11", "O4", "2026-03-20", "Closed Won", 100),
	}
	mustExec(t, conn,
		`create table opportunity_history as select * from (values `+strings.Join(hist, ", ")+`)
			t(history_id, opportunity_id, valid_from, valid_to, stage, probability, close_date, amount_base, forecast_category)`,
		`create table opportunities as select * from (values
			('O1', 'A1', 'U1', 'new', 'web', date '2026-01-05', true, true, 100.0, null::varchar, 'Closed Won'),
			('O2', 'A1', 'U1', 'new', 'web', date '2026-01-05', false, false, 100.0, null::varchar, 'Qualify'),
			('O3', 'A1', 'U1', 'new', 'web', date '2026-01-05', true, false, 100.0, null::varchar, 'Closed Lost'),
			('O4', 'A1', 'U1', 'new', 'web', date '2026-01-05', true, true, 100.0, null::varchar, 'Closed Won'))
			t(opportunity_id, account_id, owner_id, type, lead_source, created_date, is_closed, is_won, amount_base, contract_id, stage)`,
		`create table accounts as select * from (values ('A1', null::varchar, 'mid', date '2020-01-01', 'DE'))
			t(account_id, erp_customer_id, segment, created_date, country)`,
		`create table users as select * from (values ('U1', 'T1', 'EMEA')) t(user_id, team, region)`,
		`create table contracts (contract_id varchar, auto_renew boolean)`,
		`create table cases (account_id varchar, created_date date)`,
		`create table erp_customers (customer_id varchar, country varchar)`,
		`create table sales_orders (order_id varchar, customer_id varchar, opportunity_id varchar)`,
		`create table invoices (invoice_id varchar, customer_id varchar, invoice_date date, due_date date, amount_base double, amount double, is_cancelled boolean)`,
		`create table payments (invoice_id varchar, customer_id varchar, payment_date date, amount double, amount_base double)`,
		`create table sales_order_lines (order_id varchar, product_id varchar, plant varchar)`,
		`create table inventory (product_id varchar, plant varchar, available_qty double, safety_stock_qty double)`,
		`create table products (product_id varchar, family varchar)`,
		`create table opportunity_lines (line_id varchar, opportunity_id varchar, product_id varchar, list_price double, unit_price double, quantity double, total_price double)`,
	)
	day := func(s string) forecast.Day {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return forecast.DayOf(d)
	}
	data, err := w.Snapshots(ctx, []transform.SnapshotDate{{Day: day("2026-02-15")}})
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	for _, s := range data.Snapshots {
		open = append(open, s.OpportunityID)
	}
	if !slices.Equal(open, []string{"O2", "O4"}) {
		t.Errorf("open on 2026-02-15: %v, want [O2 O4]", open)
	}
	want := map[string]forecast.Day{"O1": day("2026-02-01"), "O2": 0, "O3": day("2026-01-25"), "O4": day("2026-03-01")}
	for _, o := range data.Outcomes {
		if o.ClosedDay != want[o.OpportunityID] {
			t.Errorf("%s closed on %s, want %s", o.OpportunityID, o.ClosedDay, want[o.OpportunityID])
		}
	}
	if len(data.Outcomes) != len(want) {
		t.Errorf("%d outcomes, want %d", len(data.Outcomes), len(want))
	}
}
