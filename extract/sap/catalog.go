package sap

import (
	"strings"

	"github.com/revcast/revcast"
)

// kind is how a property lands: the canonical column type of its column.
type kind = revcast.Type

// field is one property the connector selects, with the column type it lands as.
type field struct {
	Name string
	Kind kind
}

// entity is one stream: an entity set read incrementally by LastChangeDateTime, the items
// of an entity set read through its header ($expand), or a snapshot read in full.
type entity struct {
	Stream  string   // lake stream name
	Service string   // OData service
	Set     string   // entity set read
	Type    string   // entity type of the rows landed (the item type for item streams)
	Keys    []string // key properties of the rows landed
	Fields  []field  // landed properties, in order (keys first)
	// Changed is the change timestamp property of the set read ("" for snapshots).
	Changed string
	// Nav is the navigation property whose items are landed ("" for the set's own rows);
	// HeaderKeys are then the set's key properties (the cursor is on the header).
	Nav        string
	HeaderKeys []string
}

// snapshot reports whether the entity has no change timestamp and is re-read in full.
func (e entity) snapshot() bool { return e.Changed == "" }

func s(n string) field  { return field{n, revcast.String} }
func am(n string) field { return field{n, revcast.Decimal} }
func qt(n string) field { return field{n, revcast.Float64} }
func dt(n string) field { return field{n, revcast.Date} }
func ts(n string) field { return field{n, revcast.Timestamp} }
func bo(n string) field { return field{n, revcast.Bool} }

// Stream names of the entities the connector reads.
const (
	StreamSalesOrder          = "a_sales_order"
	StreamSalesOrderItem      = "a_sales_order_item"
	StreamBillingDocument     = "a_billing_document"
	StreamBillingDocumentItem = "a_billing_document_item"
	StreamMaterialStock       = "a_matl_stk_in_acct_mod"
	StreamARItem              = "a_operational_acctg_doc_item_cube"
	StreamCustomer            = "a_customer"
)

// SnapshotColumn is the column added to snapshot streams: when the snapshot was read
// (UTC). Staging keeps only the rows of the latest snapshot.
const SnapshotColumn = "SnapshotAt"

// catalog lists the streams: SAP's field names; amounts land as decimal(18,2), quantities
// as double, Edm.DateTime dates as date, Edm.DateTimeOffset as timestamp (UTC).
var catalog = []entity{
	{Stream: StreamSalesOrder, Service: "API_SALES_ORDER_SRV", Set: "A_SalesOrder", Type: "A_SalesOrderType", Keys: []string{"SalesOrder"},
		Changed: "LastChangeDateTime", Fields: []field{
			s("SalesOrder"), s("SalesOrderType"), s("SalesOrganization"), s("DistributionChannel"), s("OrganizationDivision"),
			s("SoldToParty"), s("PurchaseOrderByCustomer"), dt("SalesOrderDate"), dt("RequestedDeliveryDate"), dt("CreationDate"),
			am("TotalNetAmount"), s("TransactionCurrency"), s("OverallSDProcessStatus"), s("OverallTotalDeliveryStatus"),
			s("OverallOrdReltdBillgStatus"), s("OverallSDDocumentRejectionSts"), s("TotalCreditCheckStatus"), s("DeliveryBlockReason"),
			s("HeaderBillingBlockReason"), dt("LastChangeDate"), ts("LastChangeDateTime"),
		}},
	{Stream: StreamSalesOrderItem, Service: "API_SALES_ORDER_SRV", Set: "A_SalesOrder", Type: "A_SalesOrderItemType",
		Keys: []string{"SalesOrder", "SalesOrderItem"}, Changed: "LastChangeDateTime", Nav: "to_Item", HeaderKeys: []string{"SalesOrder"},
		Fields: []field{
			s("SalesOrder"), s("SalesOrderItem"), s("SalesOrderItemCategory"), s("Material"), qt("RequestedQuantity"),
			s("RequestedQuantityUnit"), am("NetPriceAmount"), am("NetAmount"), s("TransactionCurrency"), s("ProductionPlant"),
			s("SalesDocumentRjcnReason"), s("SDProcessStatus"),
		}},
	{Stream: StreamBillingDocument, Service: "API_BILLING_DOCUMENT_SRV", Set: "A_BillingDocument", Type: "A_BillingDocumentType",
		Keys: []string{"BillingDocument"}, Changed: "LastChangeDateTime", Fields: []field{
			s("BillingDocument"), s("BillingDocumentType"), s("SalesOrganization"), dt("BillingDocumentDate"), s("SoldToParty"),
			s("PayerParty"), am("TotalNetAmount"), am("TotalGrossAmount"), s("TransactionCurrency"), s("CustomerPaymentTerms"),
			bo("BillingDocumentIsCancelled"), s("CancelledBillingDocument"), s("AccountingDocument"), dt("CreationDate"),
			ts("LastChangeDateTime"),
		}},
	{Stream: StreamBillingDocumentItem, Service: "API_BILLING_DOCUMENT_SRV", Set: "A_BillingDocument", Type: "A_BillingDocumentItemType",
		Keys: []string{"BillingDocument", "BillingDocumentItem"}, Changed: "LastChangeDateTime", Nav: "to_Item",
		HeaderKeys: []string{"BillingDocument"}, Fields: []field{
			s("BillingDocument"), s("BillingDocumentItem"), s("SalesDocument"), s("SalesDocumentItem"), s("Material"),
			qt("BillingQuantity"), s("BillingQuantityUnit"), am("NetAmount"), s("TransactionCurrency"), s("Plant"),
		}},
	{Stream: StreamMaterialStock, Service: "API_MATERIAL_STOCK_SRV", Set: "A_MatlStkInAcctMod", Type: "A_MatlStkInAcctModType",
		Keys: []string{"Material", "Plant", "StorageLocation", "Batch", "Supplier", "Customer", "WBSElementInternalID", "SDDocument",
			"SDDocumentItem", "InventorySpecialStockType", "InventoryStockType"}, Fields: []field{
			s("Material"), s("Plant"), s("StorageLocation"), s("Batch"), s("Supplier"), s("Customer"), s("WBSElementInternalID"),
			s("SDDocument"), s("SDDocumentItem"), s("InventorySpecialStockType"), s("InventoryStockType"), s("MaterialBaseUnit"),
			qt("MatlWrhsStkQtyInMatlBaseUnit"),
		}},
	{Stream: StreamARItem, Service: "API_OPLACCTGDOCITEMCUBE_SRV", Set: "A_OperationalAcctgDocItemCube", Type: "A_OperationalAcctgDocItemCubeType",
		Keys: []string{"CompanyCode", "FiscalYear", "AccountingDocument", "AccountingDocumentItem"}, Changed: "LastChangeDateTime",
		Fields: []field{
			s("CompanyCode"), s("FiscalYear"), s("AccountingDocument"), s("AccountingDocumentItem"), s("FinancialAccountType"),
			s("Customer"), s("AccountingDocumentType"), s("DebitCreditCode"), dt("PostingDate"), dt("DocumentDate"), dt("NetDueDate"),
			dt("ClearingDate"), s("ClearingAccountingDocument"), am("AmountInTransactionCurrency"), s("TransactionCurrency"),
			s("InvoiceReference"), s("AssignmentReference"), s("DunningBlockingReason"), ts("LastChangeDateTime"),
		}},
	{Stream: StreamCustomer, Service: "API_BUSINESS_PARTNER", Set: "A_Customer", Type: "A_CustomerType", Keys: []string{"Customer"},
		Changed: "LastChangeDateTime", Fields: []field{
			s("Customer"), s("CustomerName"), s("CustomerAccountGroup"), dt("CreationDate"), s("VATRegistration"),
			s("OrderIsBlockedForCustomer"), s("Country"), s("CityName"), s("PostalCode"), s("Currency"), s("CustomerPaymentTerms"),
			am("CreditLimitAmount"), ts("LastChangeDateTime"),
		}},
}

// DefaultStreams are read when the config lists none: every stream of the catalog.
var DefaultStreams = func() []string {
	out := make([]string, len(catalog))
	for i, e := range catalog {
		out[i] = e.Stream
	}
	return out
}()

func lookup(name string) (entity, bool) {
	for _, e := range catalog {
		if strings.EqualFold(e.Stream, name) || strings.EqualFold(e.Set, name) && e.Nav == "" {
			return e, true
		}
	}
	return entity{}, false
}

// columns returns the landed columns of an entity before drift: its fields, the header's
// LastChangeDateTime for item streams, SnapshotAt for snapshots.
func (e entity) columns() []revcast.Column {
	cols := make([]revcast.Column, 0, len(e.Fields)+1)
	for _, f := range e.Fields {
		cols = append(cols, revcast.Column{Name: f.Name, Type: f.Kind})
	}
	switch {
	case e.Nav != "":
		cols = append(cols, revcast.Column{Name: e.Changed, Type: revcast.Timestamp, Doc: "the header's change timestamp"})
	case e.snapshot():
		cols = append(cols, revcast.Column{Name: SnapshotColumn, Type: revcast.Timestamp, Doc: "when the snapshot was read"})
	}
	return cols
}

// accepts reports whether a property of EDM type edm (with sap:display-format) still
// lands in a column of kind k.
func accepts(k kind, edm, display string) bool {
	switch edm {
	case "Edm.String", "Edm.Guid":
		return k == revcast.String
	case "Edm.Decimal", "Edm.Double", "Edm.Single", "Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte":
		return k == revcast.Decimal || k == revcast.Float64 || k == revcast.Int64
	case "Edm.DateTime":
		return k == revcast.Date || k == revcast.Timestamp
	case "Edm.DateTimeOffset":
		return k == revcast.Timestamp
	case "Edm.Boolean":
		return k == revcast.Bool
	case "Edm.Time":
		return k == revcast.String
	}
	return false
}

// driftKind is how a property the catalog does not know lands, from its metadata.
func driftKind(edm, display string, scale int) kind {
	switch edm {
	case "Edm.DateTime":
		if display == "Date" {
			return revcast.Date
		}
		return revcast.Timestamp
	case "Edm.DateTimeOffset":
		return revcast.Timestamp
	case "Edm.Boolean":
		return revcast.Bool
	case "Edm.Decimal":
		if scale <= 2 {
			return revcast.Decimal
		}
		return revcast.Float64
	case "Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte":
		return revcast.Int64
	case "Edm.Double", "Edm.Single":
		return revcast.Float64
	}
	return revcast.String
}
