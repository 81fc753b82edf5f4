package netsuite_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/revcast/revcast/extract/internal/stagingtest"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
)

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
	db := stagingtest.BuildStaging(t, dir, "netsuite", filepath.Join("..", "..", "sql", "staging"))
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
	stagingtest.SameSet(t, "sales_orders", stagingtest.Pairs(t, db, `select order_id, customer_id || ' ' || amount || ' ' || currency || ' ' || order_date from staging.netsuite__sales_orders`), orders)
	stagingtest.SameSet(t, "sales_order_lines", stagingtest.Pairs(t, db, `select line_id, product_id || ' ' || quantity || ' ' || unit_price || ' ' || net_amount || ' ' || coalesce(plant, '') from staging.netsuite__sales_order_lines`), lines)
	stagingtest.SameSet(t, "invoices", stagingtest.Pairs(t, db, `select invoice_id, coalesce(order_id, '') || ' ' || amount || ' ' || due_date || ' ' || is_cancelled from staging.netsuite__invoices`), invoices)
	stagingtest.SameSet(t, "payments", stagingtest.Pairs(t, db, `select payment_id, coalesce(invoice_id, '') || ' ' || amount || ' ' || payment_date from staging.netsuite__payments`), payments)
	stagingtest.SameSet(t, "ar_open_items", stagingtest.Pairs(t, db, `select case when invoice_id is null then 'payment' else invoice_id end,
		case when invoice_id is null then open_amount || ' ' || due_date else original_amount || ' ' || open_amount || ' ' || due_date || ' ' || is_disputed end
		from staging.netsuite__ar_open_items`), ar)
	stagingtest.SameSet(t, "erp_customers", stagingtest.Pairs(t, db, `select customer_id, customer_name || ' ' || currency || ' ' || credit_limit || ' ' || payment_terms_days || ' ' || credit_blocked || ' ' || created_date from staging.netsuite__erp_customers`), customers)
	stagingtest.SameSet(t, "inventory", stagingtest.Pairs(t, db, `select product_id || '@' || plant, on_hand_qty || ' ' || allocated_qty || ' ' || safety_stock_qty from staging.netsuite__inventory`), stock)
}
