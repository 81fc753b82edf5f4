package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast/fixtures/sandbox"
)

func init() { commands = append(commands, newInitCmd) }

func newInitCmd(m *Main) *cobra.Command {
	var dir, sandboxURL, exports string
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented revcast.yaml and the data directory",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			data := configTemplateData{DataDir: "./data", Sources: filesSourceYAML("./exports", "")}
			if sandboxURL != "" {
				var err error
				if data.Sources, err = sandboxSourcesYAML(sandboxURL); err != nil {
					return &usageError{err}
				}
				// A sandbox is there to be written to: the demo's write-back (forecasts and
				// deal fields go in, tasks wait for approval) instead of read-only.
				data.Writeback = demoWritebackYAML()
				if exports != "" {
					data.Sources += filesSourceYAML(exports, "what the sandbox's APIs do not serve: products, shipments, supply receipts, FX rates ('revcast sandbox --exports')")
				}
			} else if exports != "" {
				data.Sources = filesSourceYAML(exports, "")
			}
			path, err := writeConfig(dir, data, force)
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "wrote %s\nedit its sources, then run: cd %s && revcast extract && revcast transform\n", path, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "folder for revcast.yaml and the data")
	cmd.Flags().StringVar(&sandboxURL, "sandbox", "", "point one source per connector at a running 'revcast sandbox' (its Salesforce URL, e.g. http://127.0.0.1:8700)")
	cmd.Flags().StringVar(&exports, "exports", "", "folder of CSV exports for a files source, relative to revcast.yaml (default ./exports; with --sandbox, only when given)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing revcast.yaml")
	return cmd
}

// configTemplateData fills configTemplate.
type configTemplateData struct {
	DataDir   string
	Sources   string // the entries under sources:, indented two spaces
	Writeback string // the whole writeback: section; "" gives the commented read-only default
}

// filesSourceYAML is a files source over folder; note is an optional comment line.
func filesSourceYAML(folder, note string) string {
	if note != "" {
		note = "  # " + note + "\n"
	}
	return `  # CSV or Parquet exports in a folder. By default every <table>.csv or <table>.parquet
  # whose name is a canonical table (revcast tables) is a stream; map other file names
  # and column names under streams.
` + note + `  - name: exports
    type: files
    path: ` + folder + `
    # streams:
    #   opportunities:
    #     file: "opps_*.csv"                  # glob relative to path
    #     columns: {"Opp ID": opportunity_id} # source column -> canonical column
    #     date_format: "02/01/2006"           # Go layout
    #     decimal_separator: ","
    #     currency: EUR                       # when the file has no currency column
`
}

// salesforceSourceYAML is a salesforce source against login URL u; extra is inserted as
// more keys (e.g. "    enabled: false\n").
func salesforceSourceYAML(u, extra string) string {
	return `  # Salesforce REST API, OAuth 2.0 client credentials. The secret is read from the
  # environment variable named in client_secret_env, never from this file.
  - name: salesforce
    type: salesforce
` + extra + `    login_url: ` + u + `
    client_id: ` + sandbox.SalesforceDemoClientID + `
    client_secret_env: SF_CLIENT_SECRET
`
}

// sapSourceYAML is an SAP S/4HANA source (OData v2, Basic auth) at u; extra is inserted as
// more keys.
func sapSourceYAML(u, extra string) string {
	return `  # SAP S/4HANA OData v2 (communication user, Basic auth; the password comes from the
  # environment variable named in password_env).
  - name: sap
    type: sap
` + extra + `    url: ` + u + `
    auth: basic
    user: ` + sandbox.SAPDemoUser + `
    password_env: SAP_PASSWORD
`
}

// netsuiteSourceYAML is a NetSuite source (REST SuiteQL, OAuth 2.0 client credentials with
// a JWT signed by the certificate's private key, read from the environment) at u.
func netsuiteSourceYAML(u, extra string) string {
	return `  # NetSuite REST SuiteQL (OAuth 2.0 client credentials: a JWT signed with the private
  # key of the integration's certificate, PEM in the environment variable below).
  - name: netsuite
    type: netsuite
` + extra + `    url: ` + u + `
    account_id: ` + sandbox.NetSuiteDemoAccountID + `
    client_id: ` + sandbox.NetSuiteDemoClientID + `
    certificate_id: ` + sandbox.NetSuiteDemoCertificateID + `
    private_key_env: NETSUITE_PRIVATE_KEY
`
}

// sandboxSourcesYAML points one source per connector at a running 'revcast sandbox' whose
// Salesforce listens on sfURL (HubSpot, Dynamics, SAP and NetSuite on the next four ports;
// NetSuite disabled, as it serves the same ERP side as SAP). The
// sandbox's demo client ids are written here; its demo secrets (no secret: they are printed
// by 'revcast sandbox') still come from environment variables, like real ones.
func sandboxSourcesYAML(sfURL string) (string, error) {
	u, err := url.Parse(sfURL)
	if err != nil || u.Scheme == "" || u.Port() == "" {
		return "", fmt.Errorf("--sandbox %q: want the Salesforce URL 'revcast sandbox' printed, e.g. http://127.0.0.1:8700", sfURL)
	}
	port, _ := strconv.Atoi(u.Port())
	at := func(k int) string { return u.Scheme + "://" + net.JoinHostPort(u.Hostname(), strconv.Itoa(port+k)) }
	return salesforceSourceYAML(at(0), "") + `  # HubSpot CRM v3 (private app token from the environment).
  - name: hubspot
    type: hubspot
    base_url: ` + at(1) + `
    access_token_env: HUBSPOT_ACCESS_TOKEN
  # Dynamics 365 Web API (Microsoft Entra ID client credentials).
  - name: dynamics
    type: dynamics
    org_url: ` + at(2) + `
    authority_url: ` + at(2) + `
    tenant_id: ` + sandbox.DynamicsDemoTenantID + `
    client_id: ` + sandbox.DynamicsDemoClientID + `
    client_secret_env: DYNAMICS_CLIENT_SECRET
` + sapSourceYAML(at(3), "") + netsuiteSourceYAML(at(4),
		"    # The sandbox's NetSuite serves the same ERP side as its SAP: enable one of them.\n    enabled: false\n"), nil
}

var configTemplate = template.Must(template.New("revcast.yaml").Parse(`# revcast configuration. Relative paths are relative to this file.
# Secrets never go in this file: connectors name the environment variables that hold them.
# Reference: README.md; every key is checked when the file is loaded.

# Where the lake (Parquet), the warehouse (warehouse.duckdb), rejects and reports go.
data_dir: {{.DataDir}}
# Amounts are converted into this ISO 4217 currency through fx_rates (amount_base columns).
base_currency: USD

# What to extract. Each source has a unique lower_snake_case name (its folder in the lake)
# and a connector type: files, salesforce, hubspot, dynamics (see README.md).
sources:
{{.Sources}}
# Jobs for 'revcast schedule' (robfig/cron specs: minute hour day-of-month month day-of-week).
schedule:
  jobs:
    - name: nightly
      cron: "0 2 * * *"
      command: run            # extract, transform, forecast, report, writeback or run
      # sources: [exports]    # extract only these

# The embedded DuckDB warehouse's resources. Beyond memory_limit DuckDB spills to disk
# (slower, but bounded); revcast's own Go memory comes on top.
warehouse:
  memory_limit: ""            # e.g. 4GB; "" = 1GB (DuckDB's own default would be 80% of RAM)
  threads: 0                  # 0 = one per core
  vacuum_days: 7              # merge row groups thinned by deletes once every this many days (0 = every checkpoint)

forecast:
  fiscal_year_start_month: 1  # 1 = January
  horizon_quarters: 2
  seed: 1                     # Monte Carlo seed: the same data and seed give the same forecast
  refit_days: 0               # >0: reuse the last fitted model this many days, only scoring
                              # today's pipeline (a nightly run then skips the refit); 0 refits

# The narrative in the report is written by a local Ollama model when enabled and reachable,
# and by a deterministic template otherwise.
narrative:
  enabled: false
  host: http://127.0.0.1:11434
  model: llama3.1:8b
  timeout: 60s

# What revcast may write back to the CRM ('revcast writeback', the last stage of 'revcast run').
# read_only writes nothing; review queues every write for 'revcast approvals'; auto writes
# what is under the thresholds and queues the rest. An approved change is written by the next
# write-back run. Every write, decision and narrative goes to the hash-chained audit_log
# ('revcast audit verify'). 'revcast writeback --dry-run' shows the diff and writes nothing.
{{if .Writeback}}{{.Writeback}}{{else}}writeback:
  mode: read_only             # default of every workflow
  target: ""                  # a source name, e.g. salesforce
  # workflows:                # per-workflow mode, overriding mode
  #   forecasts: auto         # Revenue_Forecast__c records keyed by Revcast_Key__c
  #   opportunities: auto     # Revcast_* fields on Opportunity (win probability, risk, ERP order status, tracking)
  #   tasks: review           # follow-up Tasks (keyed by Task.Revcast_Key__c) for orders and variances to review
  # Least privilege: revcast writes only these Object.Field entries; a run that would write
  # anything else stops before any request, naming the field. For Salesforce, everything is:
  #   Revenue_Forecast__c: Name Revcast_Key__c Forecast_Run__c As_Of_Date__c Period__c Segment_Type__c
  #     Segment__c Closed_Amount__c Expected_Amount__c Commit_Amount__c Stage_Weighted_Amount__c
  #     P10_Amount__c P50_Amount__c P90_Amount__c
  #   Opportunity: Revcast_Win_Probability__c Revcast_Expected_Amount__c Revcast_Risk__c
  #     Revcast_Forecast_Run__c Revcast_Scored_At__c Revcast_Order_Status__c Revcast_Tracking_Number__c
  #   Task: Revcast_Key__c WhatId OwnerId Subject Description Status Priority ActivityDate
  allow: []                   # e.g. [Revenue_Forecast__c.Revcast_Key__c, Revenue_Forecast__c.Expected_Amount__c]
  # allow_by_target:          # more entries per CRM source name
  #   salesforce: [Opportunity.Revcast_Win_Probability__c]
  # thresholds:               # auto mode: changes crossing one wait for approval (0 = off)
  #   amount: 1000000         # a currency field moves by more than this (base currency)
  #   change_pct: 25          # a currency field moves by more than this % of its CRM value
  #   kinds: [variance_task]  # forecast, opportunity_score, order_status, order_review_task, variance_task
  # max_attempts: 3           # attempts per record within a run (transient record errors)
  # concurrent_requests: 4    # requests waiting for the CRM at once (1 to 25)
{{end}}`))

// writeConfig writes dir/revcast.yaml and dir's data folder and returns the file's path.
func writeConfig(dir string, data configTemplateData, force bool) (string, error) {
	path := filepath.Join(dir, "revcast.yaml")
	if _, err := os.Stat(path); err == nil && !force {
		return "", &usageError{fmt.Errorf("%s already exists: edit it, or pass --force to overwrite it", path)}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	var buf bytes.Buffer
	if err := configTemplate.Execute(&buf, data); err != nil {
		panic(err) // the template and its data are ours: a failure is a bug
	}
	if err := os.MkdirAll(filepath.Join(dir, data.DataDir), 0o755); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}
