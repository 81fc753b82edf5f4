package netsuite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
	"github.com/revcast/revcast/transform"
)

// duckType is how DuckDB describes a canonical column type.
func duckType(t revcast.Type) string {
	if t == revcast.Timestamp {
		return "TIMESTAMP WITH TIME ZONE"
	}
	return t.String()
}

// buildStaging loads the lake of source into a fresh warehouse and materialises every
// staging model of dir as staging.<name>, checking each produces exactly its canonical
// table's columns (names, order, types) plus _source.
func buildStaging(t *testing.T, dataDir, source, dir string) *sql.DB {
	t.Helper()
	ctx := context.Background()
	w, err := transform.Open(ctx, filepath.Join(dataDir, "warehouse.duckdb"), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.Load(ctx, filepath.Join(dataDir, "lake"), []transform.LakeSource{{Name: source, Type: source}}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, source+"__*.sql"))
	if len(files) == 0 {
		t.Fatal("no staging models")
	}
	rawRE := regexp.MustCompile(`raw\.(\w+)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		name := strings.TrimSuffix(filepath.Base(f), ".sql")
		if !strings.HasPrefix(text, "-- "+name+": ") || !strings.Contains(text, "\n-- grain: ") || !strings.Contains(text, "\n-- key: ") {
			t.Errorf("%s: header must start with '-- %s: ' and have grain and key lines", f, name)
		}
		// Tombstone tables exist only once something was deleted.
		for _, m := range rawRE.FindAllStringSubmatch(text, -1) {
			if strings.HasSuffix(m[1], "__deleted") {
				w.DB.Exec(fmt.Sprintf(`create table if not exists raw.%s (key varchar, deleted_at timestamptz, _file varchar, _source varchar)`, m[1]))
			}
		}
		if _, err := w.DB.Exec(fmt.Sprintf("create or replace table staging.%s as\n%s", name, text)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		table, _ := strings.CutPrefix(name, source+"__")
		canon, ok := revcast.LookupTable(table)
		if !ok {
			t.Fatalf("%s: no canonical table %s", f, table)
		}
		rows, err := w.DB.Query(fmt.Sprintf(`select column_name, column_type from (describe staging.%s)`, name))
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for rows.Next() {
			var n, typ string
			rows.Scan(&n, &typ)
			got = append(got, n+" "+typ)
		}
		rows.Close()
		for _, c := range canon.Columns {
			want = append(want, c.Name+" "+duckType(c.Type))
		}
		want = append(want, "_source VARCHAR")
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("staging.%s columns\n got %s\nwant %s", name, strings.Join(got, ", "), strings.Join(want, ", "))
		}
	}
	return w.DB
}

// column returns "key=value" strings of a query with two text columns.
func pairs(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k, v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, k.String+"="+v.String)
	}
	sort.Strings(out)
	return out
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		n := 0
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("%s: first difference at %d: got %s, want %s", what, i, got[i], want[i])
				n++
				break
			}
		}
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
	}
}

func TestStaging(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	acct, srv := newAccount(t, c, sandbox.NetSuiteOptions{})
	dir := t.TempDir()
	if _, err := run(t, dir, newSource(t, srv, nil), nil); err != nil {
		t.Fatal(err)
	}
	// changes between runs: paid invoices leave ar_open_items, a voided one is cancelled,
	// a deleted order disappears with its lines
	paid, _ := acct.PayInvoices(3, 7)
	voided, _ := acct.VoidInvoices(1, 8)
	del, _ := acct.Mutate("SalesOrd", 0, 1, 9)
	if _, err := run(t, dir, newSource(t, srv, nil), nil); err != nil {
		t.Fatal(err)
	}
	db := buildStaging(t, dir, "netsuite", filepath.Join("..", "..", "sql", "staging"))
	ids := map[string]string{} // internal id → tranid
	for _, r := range acct.Records("transaction", "") {
		ids[r["id"]] = r["tranid"]
	}
	for _, id := range del.Deleted {
		ids[fmt.Sprint(id)] = "deleted"
	}
	gone := map[string]bool{}
	for _, id := range append(paid.Changed, voided.Changed...) {
		gone[ids[fmt.Sprint(id)]] = true
	}
	deletedOrder := ""
	for _, o := range c.SalesOrders {
		found := false
		for _, r := range acct.Records("transaction", "SalesOrd") {
			if r["tranid"] == o.ID.String() {
				found = true
			}
		}
		if !found {
			deletedOrder = o.ID.String()
		}
	}
	var orders, lines, invoices, payments, ar, customers, stock []string
	for _, o := range c.SalesOrders {
		if o.ID.String() != deletedOrder {
			orders = append(orders, o.ID.String()+"="+o.Customer.String()+" "+o.Amount.String()+" "+o.Currency.String()+" "+o.OrderDate.String())
		}
	}
	for _, l := range c.SalesOrderLines {
		if l.Order.String() != deletedOrder {
			lines = append(lines, l.ID()+"="+l.Product.String()+" "+fmt.Sprint(l.Quantity)+" "+l.UnitPrice.String()+" "+l.NetAmount().String()+" "+l.Plant)
		}
	}
	voidedID := ids[fmt.Sprint(voided.Changed[0])]
	for _, inv := range c.Invoices {
		order := inv.Order.String() // kept when the order was deleted since: it was billed
		invoices = append(invoices, inv.ID.String()+"="+order+" "+inv.Amount.String()+" "+inv.DueDate.String()+" "+fmt.Sprint(inv.IsCancelled || inv.ID.String() == voidedID))
	}
	for _, p := range c.Payments {
		payments = append(payments, p.ID.String()+"="+p.Invoice.String()+" "+p.Amount.String()+" "+p.PaymentDate.String())
	}
	for _, it := range c.AROpenItems {
		if it.Invoice == 0 {
			ar = append(ar, "payment="+it.OpenAmount.String()+" "+it.DueDate.String())
		} else if !gone[it.Invoice.String()] {
			ar = append(ar, it.Invoice.String()+"="+it.OriginalAmount.String()+" "+it.OpenAmount.String()+" "+it.DueDate.String()+" "+fmt.Sprint(it.IsDisputed))
		}
	}
	for _, cu := range c.Customers {
		customers = append(customers, cu.ID.String()+"="+cu.Name+" "+cu.Currency.String()+" "+cu.CreditLimit.String()+" "+fmt.Sprint(cu.PaymentTermsDays)+" "+fmt.Sprint(cu.CreditBlocked)+" "+cu.CreatedDate.String())
	}
	for _, in := range c.Inventory {
		stock = append(stock, in.Product.String()+"@"+in.Plant+"="+fmt.Sprint(in.OnHand, in.Allocated, in.Safety))
	}
	sameSet(t, "sales_orders", pairs(t, db, `select order_id, customer_id || ' ' || amount || ' ' || currency || ' ' || order_date from staging.netsuite__sales_orders`), orders)
	sameSet(t, "sales_order_lines", pairs(t, db, `select line_id, product_id || ' ' || quantity || ' ' || unit_price || ' ' || net_amount || ' ' || coalesce(plant, '') from staging.netsuite__sales_order_lines`), lines)
	sameSet(t, "invoices", pairs(t, db, `select invoice_id, coalesce(order_id, '') || ' ' || amount || ' ' || due_date || ' ' || is_cancelled from staging.netsuite__invoices`), invoices)
	sameSet(t, "payments", pairs(t, db, `select payment_id, coalesce(invoice_id, '') || ' ' || amount || ' ' || payment_date from staging.netsuite__payments`), payments)
	sameSet(t, "ar_open_items", pairs(t, db, `select case when invoice_id is null then 'payment' else invoice_id end,
		case when invoice_id is null then open_amount || ' ' || due_date else original_amount || ' ' || open_amount || ' ' || due_date || ' ' || is_disputed end
		from staging.netsuite__ar_open_items`), ar)
	sameSet(t, "erp_customers", pairs(t, db, `select customer_id, customer_name || ' ' || currency || ' ' || credit_limit || ' ' || payment_terms_days || ' ' || credit_blocked || ' ' || created_date from staging.netsuite__erp_customers`), customers)
	sameSet(t, "inventory", pairs(t, db, `select product_id || '@' || plant, on_hand_qty || ' ' || allocated_qty || ' ' || safety_stock_qty from staging.netsuite__inventory`), stock)
}
