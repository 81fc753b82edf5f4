package dynamics

import (
	"strings"

	"github.com/revcast/revcast"
)

// column is one landed column: a Web API property and its canonical type.
type column struct {
	Name string
	Type revcast.Type
}

// entityDef is an entity set the connector knows: its fixed column list, which is the
// stream's schema before drift.
type entityDef struct {
	Set, Logical, Key string
	Columns           []column // the key first
}

func s(name string) column  { return column{name, revcast.String} }
func dc(name string) column { return column{name, revcast.Decimal} }
func fl(name string) column { return column{name, revcast.Float64} }
func in(name string) column { return column{name, revcast.Int64} }
func bo(name string) column { return column{name, revcast.Bool} }
func da(name string) column { return column{name, revcast.Date} }
func ts(name string) column { return column{name, revcast.Timestamp} }

// system columns every table lands, after its own.
var system = []column{ts("createdon"), ts("modifiedon"), in("versionnumber")}

// DefaultEntities are extracted when the config lists none.
var DefaultEntities = []string{"opportunities", "accounts", "systemusers", "transactioncurrencies"}

// catalog lists the entity sets the connector knows. rc_* are the custom columns
// revcast's sandbox carries (publisher prefix rc); an environment without them lands nulls.
var catalog = []entityDef{
	{"opportunities", "opportunity", "opportunityid", []column{s("opportunityid"), s("name"), s("_parentaccountid_value"),
		s("_customerid_value"), s("_ownerid_value"), s("_transactioncurrencyid_value"), dc("estimatedvalue"), da("estimatedclosedate"),
		da("actualclosedate"), dc("actualvalue"), in("closeprobability"), s("stepname"), in("msdyn_forecastcategory"),
		in("statecode"), in("statuscode"), fl("discountpercentage"), s("description"), s("rc_opportunitytype"), s("rc_leadsource"),
		s("rc_contractnumber"), s("rc_revcastid")}},
	{"accounts", "account", "accountid", []column{s("accountid"), s("name"), s("accountnumber"), s("websiteurl"), s("address1_city"),
		s("address1_country"), s("_ownerid_value"), s("_parentaccountid_value"), in("statecode"), in("statuscode"), s("description"),
		s("rc_industry"), s("rc_segment"), s("rc_salesregion"), s("rc_taxid"), s("rc_erpcustomerid"), s("rc_revcastid")}},
	{"systemusers", "systemuser", "systemuserid", []column{s("systemuserid"), s("fullname"), s("firstname"), s("lastname"),
		s("internalemailaddress"), bo("isdisabled"), s("_parentsystemuserid_value"), s("rc_salesteam"), s("rc_salesregion")}},
	{"transactioncurrencies", "transactioncurrency", "transactioncurrencyid", []column{s("transactioncurrencyid"),
		s("isocurrencycode"), s("currencyname"), s("currencysymbol"), fl("exchangerate")}},
}

func lookupEntity(name string) (entityDef, bool) {
	for _, e := range catalog {
		if strings.EqualFold(e.Set, name) {
			return e, true
		}
	}
	return entityDef{}, false
}

func knownEntities() []string {
	out := make([]string, len(catalog))
	for i, e := range catalog {
		out[i] = e.Set
	}
	return out
}

// fields returns the fixed columns: the entity's own, then the system columns.
func (e entityDef) fields() []column {
	return append(append([]column{}, e.Columns...), system...)
}

// columns returns the landed columns with extra (drifted) columns as text.
func (e entityDef) columns(extras []string) []revcast.Column {
	var out []revcast.Column
	for _, c := range e.fields() {
		out = append(out, revcast.Column{Name: c.Name, Type: c.Type, Required: c.Name == e.Key})
	}
	for _, x := range extras {
		out = append(out, revcast.Column{Name: x, Type: revcast.String})
	}
	return out
}
