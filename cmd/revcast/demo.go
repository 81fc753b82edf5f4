package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
	"github.com/revcast/revcast/reports/writeback"
	"github.com/revcast/revcast/transform"
)

func init() { commands = append(commands, newDemoCmd) }

// demoOptions are the demo's flags.
type demoOptions struct {
	Dir   string
	Scale string
	Seed  int64
	AsOf  string
	Via   string // sandbox or files
	ERP   string // sap or netsuite, with --via sandbox
}

// demoFileTables are the tables the demo lands from file exports when the CRM side comes
// through the Salesforce sandbox and the ERP side through the SAP sandbox: what neither
// serves.
var demoFileTables = []string{"products", "shipments", "supply_receipts", "fx_rates"}

func newDemoCmd(m *Main) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole job on a synthetic company: generate, extract, transform, forecast, report, write-back",
		Long: `Generate a deterministic synthetic B2B manufacturer (CRM and ERP sides that disagree the way
real ones do) and run the whole job on it. By default (--via sandbox) its CRM side is served
by an in-process Salesforce sandbox and its ERP side by an SAP (or, with --erp netsuite,
NetSuite) sandbox on loopback ports, read through the real connectors; what those APIs do not
serve (products, shipments, supply receipts, FX rates) arrives as CSV exports. With --via
files everything arrives as CSV exports. Then: the Parquet lake, the DuckDB warehouse and its
marts, the forecast, the HTML report and (with the sandbox) the write-back into the Salesforce
sandbox, with a summary. The generator's ground truth is written to DIR/truth, never into the
warehouse. Afterwards 'cd DIR && revcast sql' works.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.demo(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", "demo", "folder for the demo's config, exports, truth and data")
	f.StringVar(&o.Scale, "scale", "small", "small (~2k opportunities), medium (~50k), large (~1M) or a number")
	f.Int64Var(&o.Seed, "seed", 42, "generator seed: the same seed gives the same company")
	f.StringVar(&o.AsOf, "as-of", "", "the company's today, YYYY-MM-DD (default: today, UTC)")
	f.StringVar(&o.ERP, "erp", "sap", "with --via sandbox, the ERP sandbox and connector: sap or netsuite")
	f.StringVar(&o.Via, "via", "sandbox", "how the CRM side arrives: sandbox (Salesforce connector against an in-process sandbox) or files (CSV exports)")
	return cmd
}

func (m *Main) demo(ctx context.Context, o demoOptions) error {
	n, err := fixtures.ParseScale(o.Scale)
	if err != nil {
		return &usageError{fmt.Errorf("--scale: %w", err)}
	}
	asOf, err := parseAsOf(o.AsOf)
	if err != nil {
		return err
	}
	if asOf.IsZero() {
		asOf = time.Now().UTC().Truncate(24 * time.Hour)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	start := time.Now()

	t := time.Now()
	company, err := fixtures.Generate(fixtures.Options{Seed: o.Seed, Opportunities: n, AsOf: asOf})
	if err != nil {
		return err
	}
	exports, truth := filepath.Join(o.Dir, "exports"), filepath.Join(o.Dir, "truth")
	// A fresh demo each time: the previous run's exports, lake, state and warehouse are
	// removed so the summary's counts are this company's.
	for _, d := range []string{exports, filepath.Join(o.Dir, "data")} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	if err := company.WriteTruth(truth); err != nil {
		return fmt.Errorf("write ground truth: %w", err)
	}
	counts := company.Counts()
	var sources, finalSources, wb string
	switch o.Via {
	case "files":
		if err := company.WriteCSV(exports); err != nil {
			return fmt.Errorf("write exports: %w", err)
		}
		sources = filesSourceYAML("./exports", "")
	case "sandbox":
		// The CRM side is served by the Salesforce sandbox on a loopback port and read
		// through the real connector; the ERP side arrives as file exports whose sales
		// orders reference the Salesforce opportunity ids, as a real ERP's would.
		if o.ERP != "sap" && o.ERP != "netsuite" {
			return &usageError{fmt.Errorf("--erp %q: want sap or netsuite", o.ERP)}
		}
		srv, err := sandbox.Start(company, "127.0.0.1:0", sandbox.ServerOptions{CRMs: []sandbox.CRM{sandbox.CRMSalesforce},
			SAP: o.ERP == "sap", NetSuite: o.ERP == "netsuite"})
		if err != nil {
			return err
		}
		defer srv.Close()
		// The sandboxes' demo credentials, for this process only.
		os.Setenv("SF_CLIENT_SECRET", sandbox.SalesforceDemoClientSecret)
		os.Setenv("SAP_PASSWORD", sandbox.SAPDemoPassword)
		os.Setenv("NETSUITE_PRIVATE_KEY", sandbox.NetSuiteDemoPrivateKeyPEM)
		if err := company.WriteCSVWith(exports, fixtures.CSVOptions{Tables: demoFileTables}); err != nil {
			return fmt.Errorf("write exports: %w", err)
		}
		filesNote := "what the " + o.ERP + " APIs do not serve: products, shipments, supply receipts, FX rates"
		erpYAML := func(extra string) string {
			if o.ERP == "netsuite" {
				return netsuiteSourceYAML(srv.URLs["netsuite"], extra)
			}
			return sapSourceYAML(srv.URLs["sap"], extra)
		}
		sources = salesforceSourceYAML(srv.URLs["salesforce"], "") + erpYAML("") + filesSourceYAML("./exports", filesNote)
		// What stays behind for later commands: the sandboxes stop with the demo, so their
		// sources are disabled there (their landed data still loads).
		off := fmt.Sprintf("    # The demo's in-process sandbox stopped when the demo ended; 'revcast sandbox' serves\n"+
			"    # the same company (--split salesforce --scale %s --seed %d). Point the URL at it,\n"+
			"    # export the secret it prints and remove this line to extract again:\n    enabled: false\n", o.Scale, o.Seed)
		finalSources = salesforceSourceYAML(srv.URLs["salesforce"], off) + erpYAML(off) + filesSourceYAML("./exports", filesNote)
		wb = demoWritebackYAML()
	default:
		return &usageError{fmt.Errorf("--via %q: want sandbox or files", o.Via)}
	}
	company = nil // the rest of the run reads through the connectors, as a user's would
	m.Logger.Info("generated company", "opportunities", counts["opportunities"], "seed", o.Seed, "as_of", asOf.Format(revcast.DateLayout), "via", o.Via, "seconds", since(t))

	if _, err := writeConfig(o.Dir, configTemplateData{DataDir: "./data", Sources: sources, Writeback: wb}, true); err != nil {
		return err
	}
	cfg, err := LoadConfig(filepath.Join(o.Dir, "revcast.yaml"))
	if err != nil {
		return err
	}
	t = time.Now()
	results, err := m.extract(ctx, cfg, nil, false)
	if err != nil {
		return err
	}
	if finalSources != "" {
		if _, err := writeConfig(o.Dir, configTemplateData{DataDir: "./data", Sources: finalSources, Writeback: wb}, true); err != nil {
			return err
		}
	}
	if _, err := m.transform(ctx, cfg, asOf); err != nil {
		return err
	}
	if err := m.printDemoSummary(ctx, cfg, o, counts, results, time.Since(start)); err != nil {
		return err
	}
	// The forecast (models/forecast; see forecast.go) and its headline numbers.
	if err := m.demoForecast(ctx, cfg, asOf); err != nil {
		return err
	}

	// The HTML report (reports/html; see report.go).
	if err := m.demoReport(ctx, cfg); err != nil {
		return err
	}
	if o.Via != "sandbox" {
		fmt.Fprintln(m.Stdout, "Write-back: skipped (no CRM: --via files)")
		return nil
	}
	// Last, the write-back into the sandbox CRM while it still runs: forecasts and deal
	// fields are written (auto), follow-up tasks wait for approval (review).
	rep, err := m.writeback(ctx, cfg, writebackOptions{})
	if err != nil {
		return fmt.Errorf("write-back: %w", err)
	}
	fmt.Fprintln(m.Stdout, "Write-back into the Salesforce sandbox:")
	return rep.WriteSummary(m.Stdout)
}

// demoWritebackYAML is the demo's writeback section: everything revcast can write to
// Salesforce is allowed, forecasts and deal fields go straight in, tasks wait for approval.
func demoWritebackYAML() string {
	var allow []string
	fields := writeback.SalesforceFields()
	for _, wf := range []string{writeback.WorkflowForecasts, writeback.WorkflowOpportunities, writeback.WorkflowTasks} {
		allow = append(allow, fields[wf]...)
	}
	return "writeback:\n  mode: auto\n  target: salesforce\n  workflows:\n    tasks: review   # follow-up tasks wait in 'revcast approvals'\n" +
		"  thresholds:\n    change_pct: 50  # a forecast amount moving more than 50% waits for approval\n" +
		"  allow: [" + strings.Join(allow, ", ") + "]\n"
}

func (m *Main) printDemoSummary(ctx context.Context, cfg *Config, o demoOptions, want map[string]int, results []extract.Result, total time.Duration) error {
	w, err := cfg.OpenWarehouse(ctx, true)
	if err != nil {
		return err
	}
	defer w.Close()
	out := m.Stdout
	fmt.Fprintf(out, "\nrevcast demo — seed %d, scale %s, done in %.1fs\n\n", o.Seed, o.Scale, total.Seconds())
	fmt.Fprintln(out, "What ran:")
	if o.Via == "sandbox" {
		fmt.Fprintln(out, "  generate   synthetic company → Salesforce and", o.ERP, "sandboxes on loopback, the rest as CSV exports in", filepath.Join(o.Dir, "exports"))
	} else {
		fmt.Fprintln(out, "  generate   synthetic company → CSV exports in", filepath.Join(o.Dir, "exports"))
	}
	fmt.Fprintln(out, "             ground truth in", filepath.Join(o.Dir, "truth"), "(never loaded)")
	for _, r := range results {
		typ := ""
		for _, s := range cfg.Configured {
			if s.Name == r.Source {
				typ = s.Type
			}
		}
		fmt.Fprintf(out, "  extract    %s connector → Parquet lake: %d rows landed, %d rejected, %.0f rows/s\n",
			typ, r.Rows(), r.Rejected(), float64(r.Rows())/r.Duration.Seconds())
	}
	fmt.Fprintln(out, "  transform  DuckDB: raw → staging → core → marts, data tests passed")
	fmt.Fprintln(out)

	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\twarehouse rows\tgenerated\t")
	mismatch := 0
	for _, name := range names {
		var got int64
		if err := w.DB.QueryRowContext(ctx, fmt.Sprintf(`select count(*) from main.%q`, name)).Scan(&got); err != nil {
			return err
		}
		mark := ""
		if got != int64(want[name]) {
			mark = "  ≠"
			mismatch++
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", name, got, want[name], mark)
	}
	tw.Flush()
	if err := printMartCounts(ctx, out, w); err != nil {
		return err
	}
	abs, _ := filepath.Abs(o.Dir)
	fmt.Fprintf(out, "\nWarehouse: %s\n", cfg.WarehousePath())
	bin := commandName()
	fmt.Fprintf(out, "Try:\n  cd %s\n  %s tables\n  %s sql \"select stage, count(*) as deals, sum(amount_base) as amount_base from opportunities where not is_closed group by all order by 3 desc\"\n", abs, bin, bin)
	if mismatch > 0 {
		return fmt.Errorf("%d tables differ from the generator's counts", mismatch)
	}
	return nil
}

// commandName is how the user can call this binary from any folder: "revcast" when it is
// the one on PATH, else its absolute path (e.g. after `make demo`, ./bin/revcast).
func commandName() string {
	exe, err := os.Executable()
	if err != nil {
		return "revcast"
	}
	if p, err := exec.LookPath("revcast"); err == nil {
		if a, _ := filepath.EvalSymlinks(p); a != "" {
			if b, _ := filepath.EvalSymlinks(exe); a == b {
				return "revcast"
			}
		}
	}
	return exe
}

// martHeadlines are the demo's one-line summaries of the marts (issue 5): each query returns
// one row whose values fill the format's %v verbs.
var martHeadlines = []struct{ name, format, query string }{
	{"golden record", "%v accounts matched to ERP customers (%v on fuzzy evidence), %v pairs to review, %v duplicate accounts",
		`select count(*) filter (where decision = 'auto'), count(*) filter (where decision = 'auto' and score < 100),
		        count(*) filter (where decision = 'review'),
		        (select count(*) from account_duplicates where decision = 'auto')
		 from account_matches`},
	{"variances", "%v findings in %v kinds, %v of high severity; most: %v",
		`select count(*), count(distinct kind), count(*) filter (where severity = 'high'),
		        coalesce((select string_agg(kind || ' ' || n, ', ' order by n desc, kind)
		                  from (select kind, count(*) as n from reconciliation_variances group by kind order by n desc, kind limit 4)), 'none')
		 from reconciliation_variances`},
	{"order status", "%v won deals with an ERP order; %v need review (%v delayed, %v rejected); %v changed since the last build",
		`select count(*), count(*) filter (where needs_review), count(*) filter (where erp_status = 'delayed'),
		        count(*) filter (where erp_status = 'rejected'), count(*) filter (where change <> 'none')
		 from order_status_updates`},
	{"inventory risk", "%v open deal lines; %v short on their date, %v cannot ship in time",
		`select count(*), count(*) filter (where shortfall_qty > 0), count(*) filter (where not can_ship_by_need_date)
		 from inventory_risk`},
	{"credit alerts", "%v customers; %v on credit hold, %v over their limit; %v open pipeline at stake",
		`select count(*), count(*) filter (where credit_blocked), count(*) filter (where over_limit),
		        round(coalesce(sum(open_pipeline_base), 0))::bigint
		 from credit_alerts`},
	{"ar aging", "%v open receivables, %v of them more than 90 days past due",
		`select round(coalesce(sum(amount_base), 0))::bigint, round(coalesce(sum(amount_base) filter (where bucket = '90+'), 0))::bigint
		 from ar_aging`},
}

// printMartCounts prints the headline counts of each mart.
func printMartCounts(ctx context.Context, out io.Writer, w *transform.Warehouse) error {
	fmt.Fprintln(out, "\nWhat the marts found:")
	for _, h := range martHeadlines {
		args := make([]any, strings.Count(h.format, "%v"))
		ptrs := make([]any, len(args))
		for i := range args {
			ptrs[i] = &args[i]
		}
		if err := w.DB.QueryRowContext(ctx, h.query).Scan(ptrs...); err != nil {
			return fmt.Errorf("demo summary of %s: %w", h.name, err)
		}
		fmt.Fprintf(out, "  %-15s "+h.format+"\n", append([]any{h.name}, args...)...)
	}
	return nil
}
