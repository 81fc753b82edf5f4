package transform_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/revcast/revcast/models/forecast"
	revsql "github.com/revcast/revcast/sql"
	"github.com/revcast/revcast/transform"
)

// The tests in this file give the queries that pick one row per group (arg_max, arg_min,
// mode, first) rows that tie on the ordering key, and check that the documented tie-break
// decides. DuckDB's aggregates keep the first tied row they meet, so each tie is inserted
// with the row the rule must not pick first: the old queries, which had no tie-break, pick
// that row and fail.

// mustExec runs each statement on conn.
func mustExec(t *testing.T, conn *sql.Conn, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// modelSQL returns the SQL of sql/<path>.
func modelSQL(t *testing.T, path string) string {
	t.Helper()
	b, err := fs.ReadFile(revsql.FS, path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mustConn opens a fresh warehouse and one connection to it (temp tables live on it).
func mustConn(t *testing.T) (*transform.Warehouse, *sql.Conn) {
	t.Helper()
	w := mustOpen(t)
	conn, err := w.DB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return w, conn
}

// queryStrings runs q, whose rows are one string each, and returns them in order.
func queryStrings(t *testing.T, conn *sql.Conn, q string) []string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSnapshots_Ties runs transform.Warehouse.Snapshots over a tiny CRM and ERP with ties in
// every "pick one" of the forecast's features:
//   - history rows of one opportunity at one valid_from (fc_history, fc_snapshots): the
//     state at a snapshot is the row with the higher history_id, the order in which the CRM
//     staging sets valid_to; the first planned close date (fc_deal) is the lower id's;
//   - the account's ERP customer from its orders (fc_deal): two customers on one order each
//     go to the first customer_id, seen in the snapshot's payments;
//   - the plant of a line (fc_deal_supply): the most frequent plant per country and product,
//     per country, and the plant with the most stock, each tied between plants A and B, go
//     to A, whose stock is below safety stock (short_share 1) while B's is not.
func TestSnapshots_Ties(t *testing.T) {
	ctx := context.Background()
	w, conn := mustConn(t)
	// Opportunities O1-O3 (account A1, Germany) and O4 (A2, France), open, created on
	// 2026-01-05. Each has two rows at 2026-01-05 10:00 (first close date: the "a" row's)
	// and two at 2026-02-01 10:00 (the state from then on: the "b" row's, Negotiate). The
	// row the rule must not pick is inserted first.
	var hist []string
	for _, o := range []string{"O1", "O2", "O3", "O4"} {
		hist = append(hist,
			"('"+o+"-1b', '"+o+"', timestamptz '2026-01-05 10:00:00+00', timestamptz '2026-01-05 10:00:00+00', 'Qualify', 20.0, date '2026-09-30', 100.0, 'pipeline')",
			"('"+o+"-1a', '"+o+"', timestamptz '2026-01-05 10:00:00+00', timestamptz '2026-01-05 10:00:00+00', 'Qualify', 20.0, date '2026-03-31', 100.0, 'pipeline')",
			"('"+o+"-2a', '"+o+"', timestamptz '2026-02-01 10:00:00+00', timestamptz '2026-02-01 10:00:00+00', 'Qualify', 20.0, date '2026-04-30', 150.0, 'best_case')",
			"('"+o+"-2b', '"+o+"', timestamptz '2026-02-01 10:00:00+00', null, 'Negotiate', 80.0, date '2026-05-31', 250.0, 'commit')")
	}
	mustExec(t, conn,
		`create table opportunity_history as select * from (values `+strings.Join(hist, ", ")+`)
			t(history_id, opportunity_id, valid_from, valid_to, stage, probability, close_date, amount_base, forecast_category)`,
		`create table opportunities as select * from (values
			('O1', 'A1', 'U1', 'new', 'web', date '2026-01-05', false, false, 250.0, null::varchar, 'Negotiate'),
			('O2', 'A1', 'U1', 'new', 'web', date '2026-01-05', false, false, 250.0, null::varchar, 'Negotiate'),
			('O3', 'A1', 'U1', 'new', 'web', date '2026-01-05', false, false, 250.0, null::varchar, 'Negotiate'),
			('O4', 'A2', 'U1', 'new', 'web', date '2026-01-05', false, false, 250.0, null, 'Negotiate'))
			t(opportunity_id, account_id, owner_id, type, lead_source, created_date, is_closed, is_won, amount_base, contract_id, stage)`,
		`create table accounts as select * from (values
			('A1', null::varchar, 'mid', date '2020-01-01', 'DE'),
			('A2', null, 'mid', date '2020-01-01', 'FR'))
			t(account_id, erp_customer_id, segment, created_date, country)`,
		`create table users as select * from (values ('U1', 'T1', 'EMEA')) t(user_id, team, region)`,
		`create table contracts (contract_id varchar, auto_renew boolean)`,
		`create table cases (account_id varchar, created_date date)`,
		// A1's orders name C2 and C1 once each: its customer is C1, who paid an invoice.
		`create table erp_customers as select * from (values ('C1', 'DE'), ('C2', 'DE')) t(customer_id, country)`,
		`create table sales_orders as select * from (values
			('S2', 'C2', 'O1'), ('S1', 'C1', 'O2'), ('S3', 'C2', null), ('S4', 'C1', null))
			t(order_id, customer_id, opportunity_id)`,
		`create table invoices as select * from (values
			('I1', 'C1', date '2026-01-10', date '2026-01-20', 10.0, 10.0, false))
			t(invoice_id, customer_id, invoice_date, due_date, amount_base, amount, is_cancelled)`,
		`create table payments as select * from (values
			('I1', 'C1', date '2026-01-25', 10.0, 10.0))
			t(invoice_id, customer_id, payment_date, amount, amount_base)`,
		// Past order lines to Germany: P1 from B twice and A twice (B first); P3 from B and A
		// once each, so Germany's plants tie at 3 lines each too. P2 was never ordered (the
		// country's plant), P4 goes to France, which has no orders (the plant with the most
		// stock: A and B both have 7).
		`create table sales_order_lines as select * from (values
			('S3', 'P1', 'B'), ('S4', 'P1', 'B'), ('S3', 'P3', 'B'),
			('S3', 'P1', 'A'), ('S4', 'P1', 'A'), ('S4', 'P3', 'A'))
			t(order_id, product_id, plant)`,
		`create table inventory as select * from (values
			('P1', 'B', 50, 0), ('P1', 'A', 5, 10),
			('P2', 'B', 50, 0), ('P2', 'A', 5, 10),
			('P4', 'B', 7, 0), ('P4', 'A', 7, 10))
			t(product_id, plant, available_qty, safety_stock_qty)`,
		`create table products as select * from (values ('P1', 'Valves'), ('P2', 'Valves'), ('P4', 'Valves')) t(product_id, family)`,
		`create table opportunity_lines as select * from (values
			('L1', 'O1', 'P1', 100.0, 100.0, 1, 100.0),
			('L2', 'O2', 'P2', 100.0, 100.0, 1, 100.0),
			('L3', 'O3', 'P1', 100.0, 100.0, 1, 100.0),
			('L4', 'O4', 'P4', 100.0, 100.0, 1, 100.0))
			t(line_id, opportunity_id, product_id, list_price, unit_price, quantity, total_price)`,
	)
	day := forecast.DayOf(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	data, err := w.Snapshots(ctx, []transform.SnapshotDate{{Day: day}})
	if err != nil {
		t.Fatal(err)
	}
	if len(data.Snapshots) != 4 {
		t.Fatalf("%d snapshots, want 4 (O1-O4 on %s)", len(data.Snapshots), day)
	}
	for _, s := range data.Snapshots {
		t.Run(s.OpportunityID, func(t *testing.T) {
			t.Run("state", func(t *testing.T) {
				// the 2026-02-01 row with the higher history_id ("b")
				want := forecast.DayOf(time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC))
				if s.Stage != "Negotiate" || s.StageRank != 1 || s.CRMProbability != 80 || s.CloseDate != want ||
					s.Amount != 250 || s.ForecastCategory != "commit" {
					t.Errorf("state %s (rank %d), p %v, close %s, amount %v, %s; want the b row: Negotiate (1), 80, %s, 250, commit",
						s.Stage, s.StageRank, s.CRMProbability, s.CloseDate, s.Amount, s.ForecastCategory, want)
				}
			})
			t.Run("first close", func(t *testing.T) {
				// the 2026-01-05 row with the lower history_id ("a")
				if want := forecast.DayOf(time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)); s.FirstClose != want {
					t.Errorf("first close %s, want %s", s.FirstClose, want)
				}
			})
			t.Run("supply", func(t *testing.T) {
				// plant A: 5 (7 for P4) available, below its safety stock of 10
				if s.ShortShare != 1 || s.UncoveredShare != 0 {
					t.Errorf("short share %v, uncovered %v; want 1, 0 (plant A)", s.ShortShare, s.UncoveredShare)
				}
			})
			if s.Account == "A1" {
				t.Run("customer", func(t *testing.T) {
					if s.Payments != 1 {
						t.Errorf("payments %v, want 1: C1's (A1's orders tie between C1 and C2)", s.Payments)
					}
				})
			}
		})
	}
}

// TestRenewalInput_HistoryTie: the renewal deal's state is its latest history row before
// the measuring date; two rows at one valid_from go to the higher history_id (as in
// opportunity_history's versions), whose stage and probability are both used.
func TestRenewalInput_HistoryTie(t *testing.T) {
	ctx := context.Background()
	w, conn := mustConn(t)
	var contracts, opps, hist []string
	for _, k := range []string{"K1", "K2", "K3"} {
		contracts = append(contracts, "('"+k+"', 'A1', null::varchar, date '2025-10-01', date '2026-09-30', 'active', 1000.0, false, null::varchar)")
		opps = append(opps, "('R"+k+"', 'A1', '"+k+"', 'renewal', false, date '2026-09-30', 1000.0)")
		// lower id first: the row that must not win
		hist = append(hist,
			"('R"+k+"-1', 'R"+k+"', timestamptz '2026-05-01 09:00:00+00', 'Negotiate', 80.0)",
			"('R"+k+"-2', 'R"+k+"', timestamptz '2026-05-01 09:00:00+00', 'Closed Lost', 0.0)")
	}
	mustExec(t, conn,
		`create table contracts as select * from (values `+strings.Join(contracts, ", ")+`)
			t(contract_id, account_id, customer_id, start_date, end_date, status, annual_value_base, auto_renew, renewal_of)`,
		`create table opportunities as select * from (values `+strings.Join(opps, ", ")+`)
			t(opportunity_id, account_id, contract_id, type, is_won, close_date, amount_base)`,
		`create table opportunity_history as select * from (values `+strings.Join(hist, ", ")+`)
			t(history_id, opportunity_id, valid_from, stage, probability)`,
		`create table accounts as select * from (values ('A1', null::varchar, date '2020-01-01')) t(account_id, erp_customer_id, created_date)`,
		`create table invoices (invoice_id varchar, customer_id varchar, due_date date, is_cancelled boolean)`,
		`create table payments (invoice_id varchar, payment_date date)`,
		`create table cases (account_id varchar, created_date date, priority varchar)`,
		`create table opportunity_lines (opportunity_id varchar, product_id varchar)`,
		`create table products (product_id varchar, family varchar)`,
	)
	data, err := w.RenewalInput(ctx, time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC), 12)
	if err != nil {
		t.Fatal(err)
	}
	if len(data.Current) != 3 {
		t.Fatalf("%d current terms, want 3", len(data.Current))
	}
	for _, c := range data.Current {
		if c.RenewalDealOpen || c.RenewalDealProbability != 0 {
			t.Errorf("%s: renewal deal open %v, probability %v; want the later row (Closed Lost, 0)",
				c.ID, c.RenewalDealOpen, c.RenewalDealProbability)
		}
	}
}

// TestAccountMatches_AnchorTie: when several accounts auto-match one ERP customer, the
// customer's anchor is the highest score, then the oldest account (a missing created date
// counts as 1970-01-01), then the lowest id; the other claimants, unlike the anchor (no
// match_pairs row between them), go to review.
func TestAccountMatches_AnchorTie(t *testing.T) {
	_, conn := mustConn(t)
	// E01-E12: accounts Enn-b and Enn-a score 9 and were created the same day: Enn-a (the
	// lower id). Twelve of them: the rows reach the aggregate in the order of a window's
	// hash partitions, not the order inserted here, so one tie could go either way by luck.
	// Y: Y2 and Y1 tie on score and date, Y0 (same score) has no created date: Y0, the
	// oldest. Z: Z1 (older) scores 8, Z2 scores 9: Z2.
	accounts := []string{"('Y2', date '2021-05-01')", "('Y1', date '2021-05-01')", "('Y0', null)",
		"('Z1', date '2019-01-01')", "('Z2', date '2022-01-01')"}
	pairs := []string{"('Y2', 'EY', 9)", "('Y1', 'EY', 9)", "('Y0', 'EY', 9)", "('Z1', 'EZ', 8)", "('Z2', 'EZ', 9)"}
	customers := []string{"('EY')", "('EZ')"}
	want := []string{"Y0", "Z2"}
	for i := 1; i <= 12; i++ {
		e := fmt.Sprintf("E%02d", i)
		customers = append(customers, "('"+e+"')")
		for _, x := range []string{e + "-b", e + "-a"} {
			accounts = append(accounts, "('"+x+"', date '2021-05-01')")
			pairs = append(pairs, "('"+x+"', '"+e+"', 9)")
		}
		want = append(want, e+"-a")
	}
	slices.Sort(want)
	mustExec(t, conn,
		`create table accounts as select account_id, null::varchar as erp_customer_id, created_date
		from (values `+strings.Join(accounts, ", ")+`) t(account_id, created_date)`,
		`create table erp_customers as select * from (values `+strings.Join(customers, ", ")+`) t(customer_id)`,
		`create table match_pairs as select 'crm' as left_side, left_id, 'erp' as right_side, right_id, score,
			6 as name_points, 0 as word_points, 0 as tax_points, 1 as country_points, 2 as city_points,
			0 as domain_points, 0 as edits, 1.0 as jaro_winkler, true as same_first_word
		from (values `+strings.Join(pairs, ", ")+`) t(left_id, right_id, score)`,
		"create table account_matches as\n"+modelSQL(t, "core/account_matches.sql"),
	)
	got := queryStrings(t, conn, `select crm_account_id from account_matches where decision = 'auto' order by 1`)
	if !slices.Equal(got, want) {
		t.Errorf("auto matches (the anchors):\n got %v\nwant %v", got, want)
	}
}

// TestCustomers_Ties: an account that duplicates several older accounts with one score
// joins the oldest of them (then the lowest id), and a customer's primary account is its
// oldest (a missing created date counts as 1970-01-01), then the lowest id.
func TestCustomers_Ties(t *testing.T) {
	_, conn := mustConn(t)
	mustExec(t, conn,
		`create table accounts as select account_id, created_date, 'name ' || account_id as account_name, 'DE' as country,
			null as city, null as tax_id, null as domain
		from (values
			('N1', date '2024-01-01'), ('D1', date '2021-01-01'), ('D2', date '2020-01-01'),
			('N2', date '2024-01-01'), ('F1', date '2020-01-01'), ('F2', date '2020-01-01'),
			('P2', date '2020-01-01'), ('P1', date '2020-01-01'), ('P3', date '2021-01-01'),
			('Q2', null), ('Q1', date '2020-01-01'))
			t(account_id, created_date)`,
		`create table erp_customers as select customer_id, 'erp ' || customer_id as customer_name, 'DE' as country,
			null as city, null as tax_id
		from (values ('C1'), ('C2')) t(customer_id)`,
		// C1: P2, P1 (same day) and P3: P1. C2: Q1 and Q2 (no date): Q2.
		`create table account_matches as select * from (values
			('P2', 'C1', 9, 'auto'), ('P1', 'C1', 9, 'auto'), ('P3', 'C1', 9, 'auto'),
			('Q1', 'C2', 9, 'auto'), ('Q2', 'C2', 9, 'auto'))
			t(crm_account_id, erp_customer_id, score, decision)`,
		// N1 duplicates D1 and D2 (older) with one score: D2. N2 duplicates F2 and F1 (same
		// day): F1.
		`create table account_duplicates as select * from (values
			('N1', 'D1', 9, 'auto'), ('N1', 'D2', 9, 'auto'),
			('N2', 'F2', 9, 'auto'), ('N2', 'F1', 9, 'auto'))
			t(crm_account_id, duplicate_of_account_id, score, decision)`,
		"create table customers as\n"+modelSQL(t, "core/customers.sql"),
	)
	got := queryStrings(t, conn, `select concat_ws(' ', customer_key, primary_account_id, account_ids::varchar) from customers order by customer_key`)
	want := []string{
		"C1 P1 [P1, P2, P3]",
		"C2 Q2 [Q1, Q2]",
		"D1 D1 [D1]",
		"D2 D2 [D2, N1]",
		"F1 F1 [F1, N2]",
		"F2 F2 [F2]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("customers (key, primary, accounts):\n got %q\nwant %q", got, want)
	}
}

// TestOrderMatches_DuplicateOfEarliest: an order repeated three times duplicates the
// earliest, across the day the epoch gains a digit (2001-09-09: the key compared the epoch
// as text, so 1000080000 sorted before 999820800 and the 2001-09-12 order duplicated the
// 2001-09-10 one), and two earlier twins on one date go to the lower order id.
func TestOrderMatches_DuplicateOfEarliest(t *testing.T) {
	_, conn := mustConn(t)
	mustExec(t, conn,
		`create table reconcile_settings as select 10 as order_match_days, 7 as duplicate_order_days`,
		`create table sales_orders as select * from (values
			('S3', 'C1', date '2001-09-12', 100.0, 'USD', null::varchar),
			('S2', 'C1', date '2001-09-10', 100.0, 'USD', null),
			('S1', 'C1', date '2001-09-07', 100.0, 'USD', null),
			('T3', 'C2', date '2024-03-05', 50.0, 'EUR', null),
			('T2', 'C2', date '2024-03-01', 50.0, 'EUR', null),
			('T1', 'C2', date '2024-03-01', 50.0, 'EUR', null))
			t(order_id, customer_id, order_date, amount, currency, opportunity_id)`,
		`create table sales_order_lines as select order_id, 'P1' as product_id, 1 as quantity, amount as unit_price
			from sales_orders`,
		`create table opportunities (opportunity_id varchar, account_id varchar, close_date date, amount decimal(18,2),
			currency varchar, is_won boolean)`,
		`create table opportunity_lines (opportunity_id varchar, product_id varchar, quantity integer)`,
		`create table customers (erp_customer_id varchar, account_ids varchar[])`,
		`create table account_matches (erp_customer_id varchar, crm_account_id varchar, decision varchar)`,
		"create table order_matches as\n"+modelSQL(t, "marts/order_matches.sql"),
	)
	got := queryStrings(t, conn, `select order_id || '->' || coalesce(duplicate_of_order_id, '') from order_matches order by order_id`)
	want := []string{"S1->", "S2->S1", "S3->S1", "T1->", "T2->T1", "T3->T1"}
	if !slices.Equal(got, want) {
		t.Errorf("duplicates:\n got %v\nwant %v", got, want)
	}
}

// TestFcDealSupply_OnePlantsStock: a line's available and safety stock come from one plant,
// the first of the chain (serving-plants rule, most frequent plant for the product, for the
// country, most stock) that has an inventory row for the product, even when a quantity is
// null there. O1's rule plant R has 5 available and no safety stock: not short (the old
// query took the safety stock of the next plant, B's 10, and called it short); it is
// uncovered (5 < 8). O2's product has no row at R: plant B's 5 available, 10 safety stock.
func TestFcDealSupply_OnePlantsStock(t *testing.T) {
	_, conn := mustConn(t)
	mustExec(t, conn,
		`create temp table fc_deal as select * from (values ('O1', 'A1', 'C1'), ('O2', 'A1', 'C1'))
			t(opportunity_id, account_id, customer_id)`,
		`create temp table fc_open_ids as select opportunity_id from fc_deal`,
		`create temp table fc_serving_plants as select 'DE' as country, 'R' as plant, null::varchar as fallback_plant`,
		`create table accounts as select 'A1' as account_id, 'DE' as country`,
		`create table erp_customers as select 'C1' as customer_id, 'DE' as country`,
		`create table sales_orders as select 'S1' as order_id, 'C1' as customer_id`,
		`create table sales_order_lines as select * from (values ('S1', 'P1', 'B'), ('S1', 'P2', 'B')) t(order_id, product_id, plant)`,
		`create table inventory as select * from (values
			('P1', 'R', 5, null::integer), ('P1', 'B', 50, 10), ('P2', 'B', 5, 10))
			t(product_id, plant, available_qty, safety_stock_qty)`,
		`create table opportunity_lines as select * from (values
			('L1', 'O1', 'P1', 100.0, 100.0, 8), ('L2', 'O2', 'P2', 100.0, 100.0, 1))
			t(line_id, opportunity_id, product_id, list_price, unit_price, quantity)`,
		"create temp table fc_deal_supply as\n"+modelSQL(t, "features/fc_deal_supply.sql"),
	)
	got := queryStrings(t, conn, `select format('{} short {} uncovered {}', opportunity_id, short_share, uncovered_share)
		from fc_deal_supply order by opportunity_id`)
	want := []string{"O1 short 0.0 uncovered 1.0", "O2 short 1.0 uncovered 0.0"}
	if !slices.Equal(got, want) {
		t.Errorf("supply shares:\n got %v\nwant %v", got, want)
	}
}
