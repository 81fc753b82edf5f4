// Package all imports every connector revcast ships, so each registers itself with
// extract.Register (the Telegraf plugins/inputs/all pattern). The binary and the warehouse
// import it: the warehouse needs every connector's declared streams because sql/staging has
// models for all of them.
package all

import (
	_ "github.com/revcast/revcast/extract/dynamics"   // Dynamics 365 Web API (OData v4)
	_ "github.com/revcast/revcast/extract/files"      // CSV and Parquet exports
	_ "github.com/revcast/revcast/extract/hubspot"    // HubSpot CRM v3
	_ "github.com/revcast/revcast/extract/netsuite"   // NetSuite REST SuiteQL
	_ "github.com/revcast/revcast/extract/salesforce" // Salesforce REST API
	_ "github.com/revcast/revcast/extract/sap"        // SAP S/4HANA OData v2
)
