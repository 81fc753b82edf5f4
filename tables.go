package revcast

// Type is the logical type of a canonical column. Connectors map their wire values to it;
// the lake stores it as the Arrow/Parquet type named in each constant's comment.
type Type int

// Column types of the canonical contract.
const (
	String    Type = iota // utf8
	Int64                 // int64
	Float64               // float64 (ratios, rates, probabilities)
	Decimal               // decimal128(18,2): money, exact to the cent
	Date                  // date32: a calendar date with no zone
	Timestamp             // timestamp[us, UTC]: an instant
	Bool                  // bool
)

// String returns the type's name as DuckDB spells it.
func (t Type) String() string {
	switch t {
	case String:
		return "VARCHAR"
	case Int64:
		return "BIGINT"
	case Float64:
		return "DOUBLE"
	case Decimal:
		return "DECIMAL(18,2)"
	case Date:
		return "DATE"
	case Timestamp:
		return "TIMESTAMPTZ"
	case Bool:
		return "BOOLEAN"
	}
	panic("revcast: unknown Type")
}

// Column is one column of a canonical table.
type Column struct {
	Name     string
	Type     Type
	Required bool   // a row without it is rejected at extraction
	Doc      string // one line for `revcast tables` and the SQL headers
}

// Table is one canonical table: what file exports and the generator use, and what the
// core SQL models produce (core tables add derived columns such as amount_base and source).
type Table struct {
	Name    string
	Doc     string
	Key     []string // the columns that identify a row
	Columns []Column
}

// Column returns the named column and whether it exists.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// LookupTable returns the canonical table with the given name.
func LookupTable(name string) (Table, bool) {
	for _, t := range Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

func req(name string, t Type, doc string) Column { return Column{name, t, true, doc} }
func opt(name string, t Type, doc string) Column { return Column{name, t, false, doc} }

// modified is the change timestamp every canonical row carries; incremental loads and
// de-duplication order by it.
var modified = req("modified_at", Timestamp, "when the source system last changed the row")

// Tables is the canonical contract: the streams a file export or the generator provides,
// one per core table. Money columns are in the row's own currency; the core models add
// amount_base in the base currency through fx_rates.
var Tables = []Table{
	{Name: "users", Doc: "CRM users who own accounts and opportunities", Key: []string{"user_id"}, Columns: []Column{
		req("user_id", String, "CRM user id"),
		req("full_name", String, "person's name (PII)"),
		opt("email", String, "work e-mail (PII)"),
		opt("team", String, "sales team"),
		opt("region", String, "sales region"),
		opt("manager_id", String, "user_id of the manager"),
		opt("is_active", Bool, "still employed"),
		modified,
	}},
	{Name: "accounts", Doc: "CRM accounts (customers and prospects)", Key: []string{"account_id"}, Columns: []Column{
		req("account_id", String, "CRM account id"),
		req("account_name", String, "legal or trading name as typed in the CRM"),
		opt("domain", String, "web domain"),
		opt("country", String, "ISO 3166 alpha-2"),
		opt("city", String, "billing city"),
		opt("region", String, "sales region"),
		opt("industry", String, "industry"),
		opt("segment", String, "enterprise, mid-market or smb"),
		opt("tax_id", String, "VAT or tax number, when the CRM has it"),
		opt("erp_customer_id", String, "cross-reference to the ERP customer, when maintained"),
		opt("owner_id", String, "user_id of the account owner"),
		opt("created_date", Date, "when the account was created"),
		modified,
	}},
	{Name: "erp_customers", Doc: "ERP customers (sold-to parties)", Key: []string{"customer_id"}, Columns: []Column{
		req("customer_id", String, "ERP customer number"),
		req("customer_name", String, "name in the ERP"),
		opt("country", String, "ISO 3166 alpha-2"),
		opt("city", String, "city"),
		opt("postal_code", String, "postal code"),
		opt("tax_id", String, "VAT or tax number"),
		opt("currency", String, "customer currency"),
		opt("credit_limit", Decimal, "credit limit in the customer currency"),
		opt("payment_terms_days", Int64, "net payment terms in days"),
		opt("credit_blocked", Bool, "orders for this customer are on credit hold"),
		opt("created_date", Date, "when the customer was created"),
		modified,
	}},
	{Name: "products", Doc: "products (CRM price book joined to the ERP material master)", Key: []string{"product_id"}, Columns: []Column{
		req("product_id", String, "product / material number"),
		req("product_name", String, "name"),
		opt("family", String, "product family"),
		opt("list_price", Decimal, "list price in the base currency"),
		opt("unit_cost", Decimal, "standard cost in the base currency"),
		opt("lead_time_days", Int64, "replenishment lead time in days"),
		opt("is_active", Bool, "sellable"),
		modified,
	}},
	{Name: "opportunities", Doc: "CRM opportunities, current state", Key: []string{"opportunity_id"}, Columns: []Column{
		req("opportunity_id", String, "CRM opportunity id"),
		req("account_id", String, "CRM account id"),
		opt("owner_id", String, "user_id of the owner"),
		opt("name", String, "opportunity name"),
		opt("type", String, "new business, expansion or renewal"),
		req("stage", String, "sales stage"),
		opt("forecast_category", String, "pipeline, best_case, commit, closed or omitted"),
		opt("probability", Float64, "the CRM's stage probability, 0-100"),
		req("amount", Decimal, "amount in currency"),
		req("currency", String, "ISO 4217"),
		opt("discount_pct", Float64, "discount off list, 0-100"),
		req("close_date", Date, "expected or actual close date"),
		req("created_date", Date, "when the opportunity was created"),
		req("is_closed", Bool, "closed won or lost"),
		req("is_won", Bool, "closed won"),
		opt("lead_source", String, "where the deal came from"),
		opt("contract_id", String, "the contract a renewal opportunity renews"),
		modified,
	}},
	{Name: "opportunity_lines", Doc: "CRM opportunity line items", Key: []string{"line_id"}, Columns: []Column{
		req("line_id", String, "CRM line item id"),
		req("opportunity_id", String, "CRM opportunity id"),
		req("product_id", String, "product id"),
		req("quantity", Int64, "units"),
		req("unit_price", Decimal, "sales price per unit in currency"),
		opt("list_price", Decimal, "list price per unit in currency"),
		req("total_price", Decimal, "quantity x unit_price"),
		req("currency", String, "ISO 4217"),
		modified,
	}},
	{Name: "opportunity_history", Doc: "opportunity state over time, one row per change (valid_from <= t < valid_to)", Key: []string{"history_id"}, Columns: []Column{
		req("history_id", String, "history row id"),
		req("opportunity_id", String, "CRM opportunity id"),
		req("valid_from", Timestamp, "when this state began"),
		opt("valid_to", Timestamp, "when it ended; empty for the current state"),
		req("stage", String, "sales stage"),
		opt("probability", Float64, "stage probability 0-100"),
		req("amount", Decimal, "amount in currency"),
		req("close_date", Date, "close date"),
		opt("forecast_category", String, "forecast category"),
		modified,
	}},
	{Name: "sales_orders", Doc: "ERP sales order headers", Key: []string{"order_id"}, Columns: []Column{
		req("order_id", String, "ERP sales order number"),
		req("customer_id", String, "ERP sold-to customer"),
		opt("opportunity_id", String, "CRM opportunity reference on the order, when entered"),
		req("order_date", Date, "order date"),
		opt("requested_date", Date, "requested delivery date"),
		req("status", String, "open, in_process, shipped, delivered, invoiced, completed, cancelled"),
		opt("delivery_status", String, "not_delivered, partial, delivered"),
		opt("credit_block", Bool, "blocked by credit check"),
		opt("rejection_reason", String, "why the order was rejected, if it was"),
		req("amount", Decimal, "net value in currency"),
		req("currency", String, "ISO 4217"),
		modified,
	}},
	{Name: "sales_order_lines", Doc: "ERP sales order items", Key: []string{"line_id"}, Columns: []Column{
		req("line_id", String, "order_id-item number"),
		req("order_id", String, "ERP sales order number"),
		req("line_no", Int64, "item number"),
		req("product_id", String, "material"),
		req("quantity", Int64, "ordered units"),
		req("unit_price", Decimal, "net price per unit in currency"),
		req("net_amount", Decimal, "quantity x unit_price"),
		req("currency", String, "ISO 4217"),
		opt("plant", String, "shipping plant"),
		opt("requested_date", Date, "requested delivery date"),
		opt("rejection_reason", String, "item rejection reason"),
		modified,
	}},
	{Name: "shipments", Doc: "outbound deliveries", Key: []string{"shipment_id"}, Columns: []Column{
		req("shipment_id", String, "delivery number"),
		req("order_id", String, "ERP sales order number"),
		opt("plant", String, "shipping plant"),
		opt("planned_date", Date, "planned goods issue"),
		opt("ship_date", Date, "actual goods issue"),
		opt("delivered_date", Date, "proof of delivery"),
		req("status", String, "planned, picked, shipped, delivered, delayed, rejected"),
		opt("carrier", String, "carrier"),
		opt("tracking_number", String, "carrier tracking number"),
		modified,
	}},
	{Name: "inventory", Doc: "stock by product and plant", Key: []string{"product_id", "plant"}, Columns: []Column{
		req("product_id", String, "material"),
		req("plant", String, "plant"),
		req("on_hand_qty", Int64, "unrestricted stock"),
		opt("allocated_qty", Int64, "reserved for open orders"),
		opt("safety_stock_qty", Int64, "safety stock"),
		modified,
	}},
	{Name: "supply_receipts", Doc: "expected and received supply (purchase and production orders)", Key: []string{"receipt_id"}, Columns: []Column{
		req("receipt_id", String, "supply document"),
		req("product_id", String, "material"),
		req("plant", String, "plant"),
		req("expected_date", Date, "expected receipt date"),
		req("quantity", Int64, "units"),
		req("status", String, "open or received"),
		modified,
	}},
	{Name: "invoices", Doc: "ERP billing documents (customer invoices)", Key: []string{"invoice_id"}, Columns: []Column{
		req("invoice_id", String, "billing document"),
		opt("order_id", String, "sales order billed"),
		req("customer_id", String, "payer"),
		req("invoice_date", Date, "billing date"),
		req("due_date", Date, "net due date"),
		req("amount", Decimal, "gross amount in currency"),
		req("currency", String, "ISO 4217"),
		opt("is_cancelled", Bool, "cancelled billing document"),
		modified,
	}},
	{Name: "payments", Doc: "incoming customer payments", Key: []string{"payment_id"}, Columns: []Column{
		req("payment_id", String, "payment document"),
		opt("invoice_id", String, "invoice the payment is applied to; empty when unapplied"),
		req("customer_id", String, "payer"),
		req("payment_date", Date, "value date"),
		req("amount", Decimal, "amount in currency"),
		req("currency", String, "ISO 4217"),
		modified,
	}},
	{Name: "ar_open_items", Doc: "open receivable items as of extraction", Key: []string{"item_id"}, Columns: []Column{
		req("item_id", String, "accounting document item"),
		opt("invoice_id", String, "invoice the item belongs to"),
		req("customer_id", String, "customer"),
		opt("posting_date", Date, "posting date"),
		req("due_date", Date, "net due date"),
		req("original_amount", Decimal, "item amount in currency"),
		req("open_amount", Decimal, "amount still open in currency"),
		req("currency", String, "ISO 4217"),
		opt("is_disputed", Bool, "in dispute"),
		modified,
	}},
	{Name: "contracts", Doc: "subscription and service contracts", Key: []string{"contract_id"}, Columns: []Column{
		req("contract_id", String, "contract number"),
		req("account_id", String, "CRM account"),
		opt("customer_id", String, "ERP customer"),
		opt("product_family", String, "what the contract covers"),
		req("start_date", Date, "start"),
		req("end_date", Date, "end of the current term"),
		req("annual_value", Decimal, "annual contract value in currency"),
		req("currency", String, "ISO 4217"),
		req("status", String, "active, renewed, churned"),
		opt("renewal_of", String, "contract this one renews"),
		opt("auto_renew", Bool, "renews unless cancelled"),
		modified,
	}},
	{Name: "cases", Doc: "customer service cases", Key: []string{"case_id"}, Columns: []Column{
		req("case_id", String, "case id"),
		req("account_id", String, "CRM account"),
		req("created_date", Date, "opened"),
		opt("closed_date", Date, "closed"),
		opt("priority", String, "low, medium, high, critical"),
		req("status", String, "open or closed"),
		opt("subject", String, "short description"),
		modified,
	}},
	{Name: "fx_rates", Doc: "daily exchange rates into the base currency", Key: []string{"currency", "rate_date"}, Columns: []Column{
		req("currency", String, "ISO 4217"),
		req("rate_date", Date, "date"),
		req("rate_to_base", Float64, "units of base currency per unit of currency"),
		modified,
	}},
}
