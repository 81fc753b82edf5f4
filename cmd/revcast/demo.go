package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
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
}

// demoERPTables are the tables the demo lands from file exports when the CRM side comes
// through the Salesforce sandbox.
var demoERPTables = []string{"erp_customers", "products", "sales_orders", "sales_order_lines", "shipments",
	"inventory", "supply_receipts", "invoices", "payments", "ar_open_items", "fx_rates"}

func newDemoCmd(m *Main) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole job on a synthetic company: generate, extract, transform, summarise",
		Long: `Generate a deterministic synthetic B2B manufacturer (CRM and ERP sides that disagree the way
real ones do), export it as CSV files, extract them through the files connector into the
Parquet lake, build the DuckDB warehouse and print a summary. The generator's ground truth
is written to DIR/truth, never into the warehouse. Afterwards 'cd DIR && revcast sql' works.`,
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
	var sources, finalSources string
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
		srv, err := sandbox.Start(company, "127.0.0.1:0", sandbox.ServerOptions{CRMs: []sandbox.CRM{sandbox.CRMSalesforce}})
		if err != nil {
			return err
		}
		defer srv.Close()
		os.Setenv("SF_CLIENT_SECRET", sandbox.SalesforceDemoClientSecret) // the sandbox's, for this process only
		err = company.WriteCSVWith(exports, fixtures.CSVOptions{Tables: demoERPTables,
			OpportunityRef: func(id fixtures.OpportunityID) string { return sandbox.SalesforceID(sandbox.SFOpportunity, int(id)) }})
		if err != nil {
			return fmt.Errorf("write exports: %w", err)
		}
		sources = salesforceSourceYAML(srv.URLs["salesforce"], "") + filesSourceYAML("./exports", "ERP side of the demo company")
		// What stays behind for later commands: the sandbox stops with the demo, so the
		// salesforce source is disabled there (its landed data still loads).
		finalSources = salesforceSourceYAML(srv.URLs["salesforce"], fmt.Sprintf(
			"    # The demo's in-process sandbox stopped when the demo ended. To extract again, run\n"+
				"    # 'revcast sandbox --split salesforce --scale %s --seed %d', set login_url to the URL it\n"+
				"    # prints, export SF_CLIENT_SECRET and remove this line:\n    enabled: false\n", o.Scale, o.Seed)) +
			filesSourceYAML("./exports", "ERP side of the demo company")
	default:
		return &usageError{fmt.Errorf("--via %q: want sandbox or files", o.Via)}
	}
	company = nil // the rest of the run reads through the connectors, as a user's would
	m.Logger.Info("generated company", "opportunities", counts["opportunities"], "seed", o.Seed, "as_of", asOf.Format(revcast.DateLayout), "via", o.Via, "seconds", since(t))

	if _, err := writeConfig(o.Dir, configTemplateData{DataDir: "./data", Sources: sources}, true); err != nil {
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
		if _, err := writeConfig(o.Dir, configTemplateData{DataDir: "./data", Sources: finalSources}, true); err != nil {
			return err
		}
	}
	if _, err := m.transform(ctx, cfg, asOf); err != nil {
		return err
	}
	if err := m.printDemoSummary(ctx, cfg, o, counts, results, time.Since(start)); err != nil {
		return err
	}

	// The HTML report, after everything else (reports/html; see report.go).
	return m.demoReport(ctx, cfg)
}

func (m *Main) printDemoSummary(ctx context.Context, cfg *Config, o demoOptions, want map[string]int, results []extract.Result, total time.Duration) error {
	w, err := transform.Open(ctx, cfg.WarehousePath(), true)
	if err != nil {
		return err
	}
	defer w.Close()
	out := m.Stdout
	fmt.Fprintf(out, "\nrevcast demo — seed %d, scale %s, done in %.1fs\n\n", o.Seed, o.Scale, total.Seconds())
	fmt.Fprintln(out, "What ran:")
	if o.Via == "sandbox" {
		fmt.Fprintln(out, "  generate   synthetic company → Salesforce sandbox on loopback (CRM) and CSV exports in", filepath.Join(o.Dir, "exports"), "(ERP)")
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
