package sap_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revcast/revcast/extract/internal/stagingtest"
	"github.com/revcast/revcast/extract/sap"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
)

func TestStaging(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	sys, srv := newSystem(t, c, sandbox.SAPOptions{})
	dir := t.TempDir()
	if _, err := extractAll(t, dir, newSource(t, srv, nil), nil); err != nil {
		t.Fatal(err)
	}
	// a second run after changes: cleared items leave ar_open_items, a cancelled billing
	// document is reflected
	cleared, _ := sys.ClearARItems(3, 7)
	cancelled, _ := sys.Mutate(sandbox.SAPBillingDocument, 0, 1, 8)
	if _, err := extractAll(t, dir, newSource(t, srv, nil), nil); err != nil {
		t.Fatal(err)
	}
	db := stagingtest.BuildStaging(t, dir, "sap", filepath.Join("..", "..", "sql", "staging"))

	var orders, lines, invoices, payments, ar, customers, stock []string
	for _, o := range c.SalesOrders {
		orders = append(orders, o.ID.String()+"="+o.Customer.String()+" "+o.Amount.String()+" "+o.Currency.String()+" "+o.OrderDate.String())
	}
	for _, l := range c.SalesOrderLines {
		lines = append(lines, l.ID()+"="+l.Product.String()+" "+fmt.Sprint(l.Quantity)+" "+l.UnitPrice.String()+" "+l.NetAmount().String())
	}
	gone := map[string]bool{}
	for _, k := range cleared.Cleared {
		gone[strings.Split(k, "|")[2]] = true
	}
	for _, inv := range c.Invoices {
		cancel := inv.IsCancelled || inv.ID.String() == cancelled.Cancelled[0]
		invoices = append(invoices, inv.ID.String()+"="+inv.Order.String()+" "+inv.Amount.String()+" "+inv.DueDate.String()+" "+fmt.Sprint(cancel))
	}
	for _, p := range c.Payments {
		payments = append(payments, p.ID.String()+"="+p.Invoice.String()+" "+p.Amount.String()+" "+p.PaymentDate.String())
	}
	for _, it := range c.AROpenItems {
		if !gone[it.ID.String()] {
			ar = append(ar, it.ID.String()+"="+it.Invoice.String()+" "+it.OriginalAmount.String()+" "+it.OpenAmount.String()+" "+it.DueDate.String()+" "+fmt.Sprint(it.IsDisputed))
		}
	}
	for _, cu := range c.Customers {
		customers = append(customers, cu.ID.String()+"="+cu.Name+" "+cu.CreditLimit.String()+" "+fmt.Sprint(cu.PaymentTermsDays)+" "+fmt.Sprint(cu.CreditBlocked))
	}
	for _, in := range c.Inventory {
		stock = append(stock, in.Product.String()+"@"+in.Plant+"="+fmt.Sprint(in.OnHand))
	}
	stagingtest.SameSet(t, "sales_orders", stagingtest.Pairs(t, db, `select order_id, customer_id || ' ' || amount || ' ' || currency || ' ' || order_date from staging.sap__sales_orders`), orders)
	stagingtest.SameSet(t, "sales_order_lines", stagingtest.Pairs(t, db, `select line_id, product_id || ' ' || quantity || ' ' || unit_price || ' ' || net_amount from staging.sap__sales_order_lines`), lines)
	stagingtest.SameSet(t, "invoices", stagingtest.Pairs(t, db, `select invoice_id, coalesce(order_id, '') || ' ' || amount || ' ' || due_date || ' ' || is_cancelled from staging.sap__invoices`), invoices)
	stagingtest.SameSet(t, "payments", stagingtest.Pairs(t, db, `select payment_id, coalesce(invoice_id, '') || ' ' || amount || ' ' || payment_date from staging.sap__payments`), payments)
	stagingtest.SameSet(t, "ar_open_items", stagingtest.Pairs(t, db, `select item_id, coalesce(invoice_id, '') || ' ' || original_amount || ' ' || open_amount || ' ' || due_date || ' ' || is_disputed from staging.sap__ar_open_items`), ar)
	stagingtest.SameSet(t, "erp_customers", stagingtest.Pairs(t, db, `select customer_id, customer_name || ' ' || credit_limit || ' ' || payment_terms_days || ' ' || credit_blocked from staging.sap__erp_customers`), customers)
	stagingtest.SameSet(t, "inventory", stagingtest.Pairs(t, db, `select product_id || '@' || plant, on_hand_qty from staging.sap__inventory`), stock)
	var statuses []string
	for _, p := range stagingtest.Pairs(t, db, `select status, count(*) from staging.sap__sales_orders group by status`) {
		statuses = append(statuses, p)
	}
	t.Logf("SAP order statuses: %v", statuses)
	_ = sap.StreamSalesOrder
}
