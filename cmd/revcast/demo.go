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
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/transform"
)

func init() { commands = append(commands, newDemoCmd) }

// demoOptions are the demo's flags.
type demoOptions struct {
	Dir   string
	Scale string
	Seed  int64
	AsOf  string
}

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
	if err := company.WriteCSV(exports); err != nil {
		return fmt.Errorf("write exports: %w", err)
	}
	if err := company.WriteTruth(truth); err != nil {
		return fmt.Errorf("write ground truth: %w", err)
	}
	counts := company.Counts()
	company = nil // the rest of the run reads the exports, as a user's would
	m.Logger.Info("generated company", "opportunities", counts["opportunities"], "seed", o.Seed, "as_of", asOf.Format(revcast.DateLayout), "seconds", since(t))

	// A fresh demo each time: the previous run's lake, state and warehouse are removed so
	// the summary's counts are this company's.
	if err := os.RemoveAll(filepath.Join(o.Dir, "data")); err != nil {
		return err
	}
	if _, err := writeConfig(o.Dir, configTemplateData{DataDir: "./data", ExportsPath: "./exports"}, true); err != nil {
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
	var landed, rejected int64
	for _, r := range results {
		landed += r.Rows()
		rejected += r.Rejected()
	}
	extractTime := time.Since(t)
	if _, err := m.transform(ctx, cfg, asOf); err != nil {
		return err
	}
	if err := m.printDemoSummary(ctx, cfg, o, counts, landed, rejected, extractTime, time.Since(start)); err != nil {
		return err
	}

	// The HTML report, after everything else (reports/html; see report.go).
	return m.demoReport(ctx, cfg)
}

func (m *Main) printDemoSummary(ctx context.Context, cfg *Config, o demoOptions, want map[string]int, landed, rejected int64, extractTime, total time.Duration) error {
	w, err := transform.Open(ctx, cfg.WarehousePath(), true)
	if err != nil {
		return err
	}
	defer w.Close()
	out := m.Stdout
	fmt.Fprintf(out, "\nrevcast demo — seed %d, scale %s, done in %.1fs\n\n", o.Seed, o.Scale, total.Seconds())
	fmt.Fprintln(out, "What ran:")
	fmt.Fprintln(out, "  generate   synthetic company → CSV exports in", filepath.Join(o.Dir, "exports"), "(ground truth in", filepath.Join(o.Dir, "truth")+")")
	fmt.Fprintf(out, "  extract    files connector → Parquet lake: %d rows landed, %d rejected, %.0f rows/s\n", landed, rejected, float64(landed)/extractTime.Seconds())
	fmt.Fprintln(out, "  transform  DuckDB: raw → staging → core → marts, data tests passed")
	fmt.Fprintln(out, "  not yet    API connectors (sandbox), forecasts, HTML report, CRM write-back — open issues")
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
