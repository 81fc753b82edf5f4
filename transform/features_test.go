package transform_test

import (
	"context"
	"io/fs"
	"math"
	"testing"

	revsql "github.com/revcast/revcast/sql"
)

// TestFcDeal_FamilyAndDiscount builds sql/features/fc_deal.sql over a few hand-made lines
// and checks each deal's product family and discount, ties included: a tie between two
// families' list values goes to the first family by name, whatever order DuckDB aggregates
// the lines in, and list values equal up to the rounding of their sums (0.1 + 0.2 against
// 0.3) tie as well. Lines without prices have no value: a deal with only those takes the
// first family by name, and a priced family beats an unpriced one.
func TestFcDeal_FamilyAndDiscount(t *testing.T) {
	w := mustOpen(t)
	ctx := context.Background()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		`create table opportunity_history as select * from (values
			('H1', 'O1', timestamp '2026-01-05 10:00:00', date '2026-03-31', 'Qualify'),
			('H2', 'O2', timestamp '2026-01-06 10:00:00', date '2026-03-31', 'Qualify'),
			('H3', 'O3', timestamp '2026-01-07 10:00:00', date '2026-03-31', 'Qualify'),
			('H4', 'O4', timestamp '2026-01-08 10:00:00', date '2026-03-31', 'Qualify'),
			('H5', 'O5', timestamp '2026-01-09 10:00:00', date '2026-03-31', 'Qualify')) t(history_id, opportunity_id, valid_from, close_date, stage)`,
		`create temp table fc_stage as select 'Qualify' as stage, true as is_open`,
		`create table opportunities as select * from (values
			('O1', 'A1', 'U1', 'new', 'web', date '2026-01-05', false, false, 200.0, null),
			('O2', 'A1', 'U1', 'new', 'web', date '2026-01-06', false, false, 250.0, null),
			('O3', 'A1', 'U1', 'new', 'web', date '2026-01-07', false, false, 0.6, null),
			('O4', 'A1', 'U1', 'new', 'web', date '2026-01-08', false, false, 10.0, null),
			('O5', 'A1', 'U1', 'new', 'web', date '2026-01-09', false, false, 10.0, null))
			t(opportunity_id, account_id, owner_id, type, lead_source, created_date, is_closed, is_won, amount_base, contract_id)`,
		`create table opportunity_lines as select * from (values
			('O1', 'P-valve', 100.0, 100.0, 1.0, 100.0),
			('O1', 'P-control', 50.0, 50.0, 2.0, 100.0),
			('O2', 'P-valve', 150.0, 150.0, 1.0, 120.0),
			('O2', 'P-control', 100.0, 100.0, 1.0, 80.0),
			('O3', 'P-sensor', 0.1, 0.1, 1.0, 0.1),
			('O3', 'P-sensor', 0.2, 0.2, 1.0, 0.2),
			('O3', 'P-pump', 0.3, 0.3, 1.0, 0.3),
			('O4', 'P-valve', null, null, 1.0, null),
			('O4', 'P-control', null, null, 1.0, null),
			('O5', 'P-control', null, null, 1.0, null),
			('O5', 'P-valve', 10.0, 10.0, 1.0, 10.0))
			t(opportunity_id, product_id, list_price, unit_price, quantity, total_price)`,
		`create table products as select * from (values
			('P-valve', 'Valves'), ('P-control', 'Controls'), ('P-sensor', 'Sensors'), ('P-pump', 'Pumps')) t(product_id, family)`,
		`create table accounts as select * from (values ('A1', 'C1', 'mid', date '2020-01-01')) t(account_id, erp_customer_id, segment, created_date)`,
		`create table users as select * from (values ('U1', 'T1', 'EMEA')) t(user_id, team, region)`,
		`create table contracts (contract_id varchar, auto_renew boolean)`,
		`create table sales_orders (customer_id varchar, opportunity_id varchar)`,
		`create temp table fc_account_matches (account_id varchar, customer_id varchar)`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	b, err := fs.ReadFile(revsql.FS, "features/fc_deal.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "create temp table fc_deal as\n"+string(b)); err != nil {
		t.Fatalf("fc_deal.sql: %v", err)
	}
	tests := []struct {
		id       string
		family   string
		discount float64
	}{
		{"O1", "Controls", 0}, // Valves 100 = Controls 2 x 50: tie, first by name
		{"O2", "Valves", 0.2}, // 150 > 100; 1 - (120 + 80) / 250
		{"O3", "Pumps", 0},    // Sensors 0.1 + 0.2 = 0.30000000000000004 ties Pumps 0.3; totals = list values
		{"O4", "Controls", 0}, // no prices at all: every value null, first by name
		{"O5", "Valves", 0},   // a priced family before an unpriced one that sorts first
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			var family string
			var discount float64
			if err := conn.QueryRowContext(ctx, `select family, discount from fc_deal where opportunity_id = ?`, tc.id).Scan(&family, &discount); err != nil {
				t.Fatal(err)
			}
			if family != tc.family || math.Abs(discount-tc.discount) > 1e-9 {
				t.Errorf("family %q, discount %v; want %q, %v", family, discount, tc.family, tc.discount)
			}
		})
	}
}
