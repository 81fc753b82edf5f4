package netsuite

import (
	"strings"

	"github.com/revcast/revcast"
)

// field is one column the connector lands, with its type. Date/time fields are selected
// again through TO_CHAR (SuiteQL renders them as a date only) and land as UTC timestamps.
type field struct {
	Name string
	Kind revcast.Type
}

// stream is one SuiteQL read: a table (optionally joined to transaction to filter by type),
// its key, its change column, and the deletedrecord type of its tombstones.
type stream struct {
	Name      string // lake stream name
	Table     string // FROM table
	Alias     string // its alias in the query
	Join      string // "JOIN transaction t ON t.id = <alias>.transaction" for lines, or ""
	Where     string // fixed condition ("t.type = 'SalesOrd'"), or ""
	Key       string // key column (a unique integer id)
	Keys      []string
	Changed   string // change column ("" for snapshots)
	Deleted   string // deletedrecord.recordtype of its deletions ("" for none)
	Fields    []field
	Reference bool // small reference table
}

func (s stream) snapshot() bool { return s.Changed == "" }

func tx(n string) field  { return field{n, revcast.String} }
func in(n string) field  { return field{n, revcast.Int64} }
func am(n string) field  { return field{n, revcast.Decimal} }
func fl(n string) field  { return field{n, revcast.Float64} }
func da(n string) field  { return field{n, revcast.Date} }
func dtm(n string) field { return field{n, revcast.Timestamp} }
func bo(n string) field  { return field{n, revcast.Bool} }

// Stream names.
const (
	StreamCustomer            = "customer"
	StreamItem                = "item"
	StreamSalesOrder          = "sales_order"
	StreamSalesOrderLine      = "sales_order_line"
	StreamInvoice             = "invoice"
	StreamPayment             = "payment"
	StreamReturnAuthorization = "return_authorization"
	StreamInventory           = "inventory_item_location"
	StreamCurrency            = "currency"
	StreamTerm                = "term"
	StreamLocation            = "location"
)

// SnapshotColumn is added to snapshot streams: when the snapshot was read (UTC).
const SnapshotColumn = "snapshot_at"

var transactionFields = []field{
	in("id"), tx("tranid"), tx("type"), da("trandate"), da("duedate"), in("entity"), tx("status"), in("currency"),
	am("foreigntotal"), am("foreignamountremaining"), am("foreignamountunapplied"), in("createdfrom"), tx("otherrefnum"),
	da("shipdate"), bo("voided"), tx("memo"), in("custbody_revcast_applied_invoice"), bo("custbody_revcast_disputed"),
	dtm("createddate"), dtm("lastmodifieddate"),
}

func txStream(name, typ, deleted string) stream {
	return stream{Name: name, Table: "transaction", Alias: "t", Where: "t.type = '" + typ + "'", Key: "id", Keys: []string{"id"},
		Changed: "lastmodifieddate", Deleted: deleted, Fields: transactionFields}
}

// catalog lists the streams.
var catalog = []stream{
	{Name: StreamCustomer, Table: "customer", Alias: "c", Key: "id", Keys: []string{"id"}, Changed: "lastmodifieddate", Deleted: "customer",
		Fields: []field{in("id"), tx("entityid"), tx("companyname"), bo("isperson"), dtm("datecreated"), dtm("lastmodifieddate"),
			am("creditlimit"), in("currency"), in("terms"), tx("creditholdoverride"), tx("vatregnumber"), tx("billcountry"),
			tx("billcity"), tx("billzip"), bo("isinactive")}},
	{Name: StreamItem, Table: "item", Alias: "i", Key: "id", Keys: []string{"id"}, Changed: "lastmodifieddate", Deleted: "inventoryitem",
		Fields: []field{in("id"), tx("itemid"), tx("displayname"), tx("itemtype"), am("cost"), bo("isinactive"), dtm("lastmodifieddate")}},
	txStream(StreamSalesOrder, "SalesOrd", "salesorder"),
	{Name: StreamSalesOrderLine, Table: "transactionline", Alias: "tl", Join: "INNER JOIN transaction t ON t.id = tl.transaction",
		Where: "t.type = 'SalesOrd' AND tl.mainline = 'F' AND tl.taxline = 'F'", Key: "uniquekey", Keys: []string{"uniquekey"},
		Changed: "linelastmodifieddate", Fields: []field{in("uniquekey"), in("transaction"), in("id"), in("linesequencenumber"),
			bo("mainline"), bo("taxline"), in("item"), fl("quantity"), am("rate"), am("netamount"), in("location"), bo("isclosed"),
			da("expectedshipdate"), dtm("linelastmodifieddate")}},
	txStream(StreamInvoice, "CustInvc", "invoice"),
	txStream(StreamPayment, "CustPymt", "customerpayment"),
	txStream(StreamReturnAuthorization, "RtnAuth", "returnauthorization"),
	{Name: StreamInventory, Table: "inventoryitemlocations", Alias: "il", Keys: []string{"item", "location"},
		Fields: []field{in("item"), in("location"), fl("quantityonhand"), fl("quantitycommitted"), fl("quantityavailable"),
			fl("reorderpoint"), fl("preferredstocklevel")}},
	{Name: StreamCurrency, Table: "currency", Alias: "cu", Keys: []string{"id"}, Reference: true,
		Fields: []field{in("id"), tx("name"), tx("symbol"), bo("isbasecurrency"), bo("isinactive")}},
	{Name: StreamTerm, Table: "term", Alias: "te", Keys: []string{"id"}, Reference: true,
		Fields: []field{in("id"), tx("name"), in("daysuntilnetdue"), bo("isinactive")}},
	{Name: StreamLocation, Table: "location", Alias: "lo", Keys: []string{"id"}, Reference: true,
		Fields: []field{in("id"), tx("name"), tx("fullname"), bo("isinactive")}},
}

// DefaultStreams are read when the config lists none: every stream of the catalog.
var DefaultStreams = func() []string {
	out := make([]string, len(catalog))
	for i, s := range catalog {
		out[i] = s.Name
	}
	return out
}()

func lookup(name string) (stream, bool) {
	for _, s := range catalog {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return stream{}, false
}

// columns returns the landed columns before drift.
func (s stream) columns() []revcast.Column {
	cols := make([]revcast.Column, 0, len(s.Fields)+1)
	for _, f := range s.Fields {
		cols = append(cols, revcast.Column{Name: f.Name, Type: f.Kind})
	}
	if s.snapshot() {
		cols = append(cols, revcast.Column{Name: SnapshotColumn, Type: revcast.Timestamp})
	}
	return cols
}
