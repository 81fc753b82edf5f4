package hubspot

import (
	"strings"

	"github.com/revcast/revcast"
)

// field is one landed column of an object: a HubSpot property (or, for the columns the
// connector adds, a record attribute) and its canonical type.
type field struct {
	Name string
	Type revcast.Type
}

// objectDef is a HubSpot object type the connector knows: its fixed property list, which
// with the added columns is the stream's schema before drift.
type objectDef struct {
	Name       string  // API name: deals, companies, owners
	Properties []field // properties asked for by name
	Search     bool    // read through search on hs_lastmodifieddate (else: owners list)
}

// Columns the connector adds to every search object, after the properties.
const (
	ColID        = "id"         // hs_object_id, the stream key
	ColArchived  = "archived"   // always false in search results; kept for the lake's shape
	ColCompanyID = "company_id" // deals: the associated company (deal_to_company)
)

func s(name string) field  { return field{name, revcast.String} }
func dc(name string) field { return field{name, revcast.Decimal} }
func fl(name string) field { return field{name, revcast.Float64} }
func in(name string) field { return field{name, revcast.Int64} }
func bo(name string) field { return field{name, revcast.Bool} }
func ts(name string) field { return field{name, revcast.Timestamp} }

// DefaultObjects are extracted when the config lists none.
var DefaultObjects = []string{"deals", "companies", "owners"}

// catalog lists the objects the connector knows with the properties it asks for. Custom
// properties (revcast_id, segment, sales_region, vat_number, erp_customer_id,
// discount_percentage, lead_source) are the ones revcast's sandbox carries; a portal without them lands
// nulls (the connector asks the properties API which exist).
var catalog = []objectDef{
	{"deals", []field{s("dealname"), dc("amount"), ts("closedate"), ts("createdate"), ts("hs_lastmodifieddate"),
		s("dealstage"), s("pipeline"), s("dealtype"), fl("hs_deal_stage_probability"), s("hs_manual_forecast_category"),
		s("deal_currency_code"), s("hubspot_owner_id"), bo("hs_is_closed"), bo("hs_is_closed_won"), s("lead_source"),
		s("description"), fl("discount_percentage"), s("revcast_id")}, true},
	{"companies", []field{s("name"), s("domain"), s("country"), s("city"), s("industry"), s("hubspot_owner_id"),
		s("description"), s("segment"), s("sales_region"), s("vat_number"), s("erp_customer_id"), s("revcast_id"),
		ts("createdate"), ts("hs_lastmodifieddate")}, true},
	{"owners", nil, false},
}

// ownerColumns is the schema of the owners stream (/crm/v3/owners has fixed attributes,
// not properties).
var ownerColumns = []revcast.Column{
	{Name: "id", Type: revcast.String, Required: true},
	{Name: "email", Type: revcast.String},
	{Name: "first_name", Type: revcast.String},
	{Name: "last_name", Type: revcast.String},
	{Name: "user_id", Type: revcast.Int64},
	{Name: "team", Type: revcast.String},
	{Name: "created_at", Type: revcast.Timestamp},
	{Name: "updated_at", Type: revcast.Timestamp},
	{Name: "archived", Type: revcast.Bool},
}

func lookupObject(name string) (objectDef, bool) {
	for _, o := range catalog {
		if strings.EqualFold(o.Name, name) {
			return o, true
		}
	}
	return objectDef{}, false
}

func knownObjects() []string {
	out := make([]string, len(catalog))
	for i, o := range catalog {
		out[i] = o.Name
	}
	return out
}

// columns returns the landed columns of a search object with extra (drifted) properties:
// id, the properties, extras as text, then archived (and company_id for deals).
func (o objectDef) columns(extras []string) []revcast.Column {
	if !o.Search {
		return ownerColumns
	}
	cols := []revcast.Column{{Name: ColID, Type: revcast.String, Required: true}}
	for _, f := range o.Properties {
		cols = append(cols, revcast.Column{Name: f.Name, Type: f.Type})
	}
	if o.Name == "deals" {
		cols = append(cols, revcast.Column{Name: ColCompanyID, Type: revcast.String})
	}
	cols = append(cols, revcast.Column{Name: ColArchived, Type: revcast.Bool})
	for _, e := range extras {
		cols = append(cols, revcast.Column{Name: e, Type: revcast.String})
	}
	return cols
}

// accepts reports whether a property of HubSpot type hsType still lands in a column of
// type t. Numbers may land as decimal, double or integer; anything else is a type change.
func accepts(t revcast.Type, hsType string) bool {
	switch hsType {
	case "string", "enumeration", "phone_number":
		return t == revcast.String
	case "number":
		return t == revcast.Decimal || t == revcast.Float64 || t == revcast.Int64
	case "datetime":
		return t == revcast.Timestamp
	case "date":
		return t == revcast.Date || t == revcast.Timestamp
	case "bool":
		return t == revcast.Bool
	}
	return false
}
