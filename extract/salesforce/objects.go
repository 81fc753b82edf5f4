package salesforce

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/revcast/revcast/extract"
)

// kind is how a field lands: the Arrow type of its column.
type kind int

const (
	kString    kind = iota // utf8: ids, text, picklists
	kDecimal               // decimal128(18,2): currency
	kFloat                 // float64: double, percent
	kInt                   // int64: int
	kBool                  // bool: checkbox
	kDate                  // date32: date
	kTimestamp             // timestamp[us, UTC]: datetime
)

func (k kind) arrowType() arrow.DataType {
	switch k {
	case kDecimal:
		return extract.DecimalType
	case kFloat:
		return arrow.PrimitiveTypes.Float64
	case kInt:
		return arrow.PrimitiveTypes.Int64
	case kBool:
		return arrow.FixedWidthTypes.Boolean
	case kDate:
		return arrow.FixedWidthTypes.Date32
	case kTimestamp:
		return extract.TimestampType
	}
	return arrow.BinaryTypes.String
}

func (k kind) String() string {
	return [...]string{"string", "decimal(18,2)", "double", "bigint", "boolean", "date", "timestamp"}[k]
}

// accepts reports whether a field of Salesforce type sfType (from describe) still lands
// in a column of kind k. Numeric types may move between each other; anything else is a
// type change.
func (k kind) accepts(sfType string) bool {
	switch sfType {
	case "id", "reference", "string", "picklist", "multipicklist", "textarea", "email", "phone", "url", "combobox", "encryptedstring":
		return k == kString
	case "currency", "double", "percent", "int", "long":
		return k == kDecimal || k == kFloat || k == kInt
	case "boolean":
		return k == kBool
	case "date":
		return k == kDate
	case "datetime":
		return k == kTimestamp
	}
	return false
}

// queryable reports whether a new field of Salesforce type sfType can be selected and
// landed as text (compound address/location fields and binary data cannot).
func queryable(sfType string) bool {
	switch sfType {
	case "address", "location", "base64", "anyType", "complexvalue", "json":
		return false
	}
	return true
}

type fieldDef struct {
	Name string
	Kind kind
}

// objectDef is an sObject type the connector knows: its fixed field list, which is the
// stream's schema before drift.
type objectDef struct {
	Name   string
	Fields []fieldDef
}

// StreamName returns the lake stream name: the object name in lower_snake_case
// (OpportunityLineItem → opportunity_line_item, Revenue_Forecast__c → revenue_forecast__c).
func StreamName(object string) string {
	var b strings.Builder
	for i := 0; i < len(object); i++ {
		c := object[i]
		if c >= 'A' && c <= 'Z' {
			if i > 0 && object[i-1] != '_' && !(object[i-1] >= 'A' && object[i-1] <= 'Z') {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

func s(name string) fieldDef  { return fieldDef{name, kString} }
func dc(name string) fieldDef { return fieldDef{name, kDecimal} }
func fl(name string) fieldDef { return fieldDef{name, kFloat} }
func in(name string) fieldDef { return fieldDef{name, kInt} }
func bo(name string) fieldDef { return fieldDef{name, kBool} }
func da(name string) fieldDef { return fieldDef{name, kDate} }
func ts(name string) fieldDef { return fieldDef{name, kTimestamp} }

// VersionField orders a record's versions (the extraction cursor, see reader.go).
// Salesforce stamps it and LastModifiedDate on every write, an API user's included
// (LastModifiedById too, which the connector does not land).
const VersionField = "SystemModstamp"

// WriteStamps are the landed fields Salesforce sets on every write to a record.
var WriteStamps = []string{"LastModifiedDate", VersionField}

// system fields every object lands (those an object lacks, per describe, land as null).
var system = []fieldDef{ts("CreatedDate"), ts("LastModifiedDate"), ts("SystemModstamp"), bo("IsDeleted")}

// DefaultObjects are extracted when the config lists none.
var DefaultObjects = []string{"Account", "Contact", "User", "Product2", "Opportunity", "OpportunityLineItem", "OpportunityHistory", "Case", "Contract"}

// catalog lists the objects the connector knows with the fields it selects. Custom
// fields (__c) are those revcast's sandbox and write-back use; an org without them
// lands nulls (the connector asks describe which fields exist).
var catalog = []objectDef{
	{"User", []fieldDef{s("Id"), s("Username"), s("Name"), s("FirstName"), s("LastName"), s("Email"), s("Title"), s("Department"),
		s("Division"), s("ManagerId"), bo("IsActive"), s("CurrencyIsoCode")}},
	{"Account", []fieldDef{s("Id"), s("Name"), s("Type"), s("Industry"), s("Website"), s("BillingCity"), s("BillingState"),
		s("BillingCountry"), s("BillingCountryCode"), dc("AnnualRevenue"), in("NumberOfEmployees"), s("OwnerId"), s("ParentId"),
		s("CurrencyIsoCode"), s("Segment__c"), s("Sales_Region__c"), s("Tax_Id__c"), s("ERP_Customer_Id__c")}},
	{"Contact", []fieldDef{s("Id"), s("AccountId"), s("FirstName"), s("LastName"), s("Name"), s("Email"), s("Phone"), s("Title"), s("OwnerId")}},
	{"Product2", []fieldDef{s("Id"), s("Name"), s("ProductCode"), s("Family"), s("Description"), bo("IsActive"),
		dc("List_Price__c"), dc("Unit_Cost__c"), fl("Lead_Time_Days__c")}},
	{"Opportunity", []fieldDef{s("Id"), s("AccountId"), s("OwnerId"), s("Name"), s("Type"), s("StageName"), s("ForecastCategoryName"),
		fl("Probability"), dc("Amount"), s("CurrencyIsoCode"), da("CloseDate"), bo("IsClosed"), bo("IsWon"), s("LeadSource"),
		s("NextStep"), s("ContractId"), fl("Discount__c"), fl("Revcast_Win_Probability__c"), dc("Revcast_Expected_Amount__c"),
		s("Revcast_Forecast_Run__c"), ts("Revcast_Scored_At__c"), s("Revcast_Risk__c"), s("Revcast_Order_Status__c"),
		s("Revcast_Tracking_Number__c")}},
	{"OpportunityLineItem", []fieldDef{s("Id"), s("OpportunityId"), s("Product2Id"), s("ProductCode"), s("Name"), fl("Quantity"),
		dc("UnitPrice"), dc("ListPrice"), dc("TotalPrice"), fl("Discount"), s("CurrencyIsoCode"), da("ServiceDate")}},
	{"OpportunityHistory", []fieldDef{s("Id"), s("OpportunityId"), s("StageName"), dc("Amount"), dc("ExpectedRevenue"), da("CloseDate"),
		fl("Probability"), s("ForecastCategory"), s("CurrencyIsoCode")}},
	{"Case", []fieldDef{s("Id"), s("CaseNumber"), s("AccountId"), s("ContactId"), s("Subject"), s("Status"), s("Priority"), s("Origin"),
		s("Type"), bo("IsClosed"), ts("ClosedDate"), s("OwnerId")}},
	{"Contract", []fieldDef{s("Id"), s("ContractNumber"), s("AccountId"), da("StartDate"), da("EndDate"), in("ContractTerm"), s("Status"),
		s("OwnerId"), s("CurrencyIsoCode"), dc("Annual_Value__c"), s("Product_Family__c"), s("Renewal_Of__c"), s("ERP_Customer_Id__c"),
		bo("Auto_Renew__c"), s("Renewal_Status__c")}},
	{"Revenue_Forecast__c", []fieldDef{s("Id"), s("Name"), s("Revcast_Key__c"), s("Forecast_Run__c"), da("As_Of_Date__c"), s("Period__c"),
		s("Segment_Type__c"), s("Segment__c"), dc("Closed_Amount__c"), dc("Expected_Amount__c"), dc("Commit_Amount__c"),
		dc("Stage_Weighted_Amount__c"), dc("P10_Amount__c"), dc("P50_Amount__c"), dc("P90_Amount__c"), s("OwnerId"), s("CurrencyIsoCode")}},
}

// lookupObject finds a catalog object by name, case-insensitively.
func lookupObject(name string) (objectDef, bool) {
	for _, o := range catalog {
		if strings.EqualFold(o.Name, name) {
			return o, true
		}
	}
	return objectDef{}, false
}

// fields returns the object's landed fields: its own, then the system fields.
func (o objectDef) fields() []fieldDef {
	out := make([]fieldDef, 0, len(o.Fields)+len(system))
	out = append(out, o.Fields...)
	return append(out, system...)
}

// schema is the stream's schema before drift.
func (o objectDef) schema() *arrow.Schema {
	fs := o.fields()
	af := make([]arrow.Field, len(fs))
	for i, f := range fs {
		af[i] = arrow.Field{Name: f.Name, Type: f.Kind.arrowType(), Nullable: true}
	}
	md := arrow.NewMetadata([]string{"salesforce.object"}, []string{o.Name})
	return arrow.NewSchema(af, &md)
}

func knownObjects() []string {
	names := make([]string, len(catalog))
	for i, o := range catalog {
		names[i] = o.Name
	}
	return names
}

// CatalogStreams lists a stream for every object the connector knows, configured or
// not, with its fixed schema: what the warehouse needs to create empty raw tables so the
// Salesforce staging models compile before anything has landed.
func CatalogStreams() []extract.Stream {
	out := make([]extract.Stream, len(catalog))
	for i, o := range catalog {
		out[i] = extract.Stream{Name: StreamName(o.Name), Schema: o.schema(), Key: []string{"Id"}}
	}
	return out
}
