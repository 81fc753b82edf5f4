package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast"
	reporthtml "github.com/revcast/revcast/reports/html"
	"github.com/revcast/revcast/reports/narrative"
)

func init() {
	commands = append(commands, newReportCmd)
	pipelineSteps = append(pipelineSteps, pipelineStep{Name: "report", Order: 40, KeepGoing: true, Run: func(ctx context.Context, m *Main, cfg *Config) error {
		_, err := m.report(ctx, cfg, "")
		return err
	}})
}

func newReportCmd(m *Main) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write the HTML report (with narrative)",
		Long: `Write the report RevOps reads: one self-contained HTML file (charts included, no network
needed to open it) with the forecast, what changed in the pipeline, what is at risk and
why, credit and receivables, reconciliation variances and model accuracy. Sections whose
data does not exist yet say so and what produces it.

Each section has a short narrative: written by the Ollama model in the config's narrative
section when it is enabled, reachable and faithful to the numbers, and a template otherwise;
the report says which. The narratives are also stored in the warehouse table narratives.

The forecast shown is the newest run: the latest as-of date, then the latest made; the run
write-back sends to the CRM. A past-dated 'revcast forecast --as-of' stays in the forecast
tables under its run id.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := m.loadConfig()
			if err != nil {
				return err
			}
			res, err := m.report(cmd.Context(), cfg, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "%s\n", res.Path)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "report file (default <data_dir>/reports/revcast-report-<as-of>.html)")
	return cmd
}

// reportResult is what writing a report did.
type reportResult struct {
	Path      string
	Bytes     int64
	Sections  int // with data
	Missing   int // waiting for their tables
	Narrative string
	Took      time.Duration
}

// report loads the report from the warehouse (read-only), writes the narratives, writes
// the HTML file atomically and then stores the narratives (a short read-write open).
func (m *Main) report(ctx context.Context, cfg *Config, out string) (*reportResult, error) {
	start := time.Now()
	w, err := cfg.OpenWarehouse(ctx, true)
	if err != nil {
		return nil, err
	}
	r, warnings, err := reporthtml.Load(ctx, w.DB, reporthtml.Options{
		Currency:             cfg.BaseCurrency,
		FiscalYearStartMonth: cfg.Forecast.FiscalYearStartMonth,
		HorizonQuarters:      cfg.Forecast.HorizonQuarters,
	})
	w.Close()
	if err != nil {
		return nil, err
	}
	for _, warn := range warnings {
		m.Logger.Warn(warn)
	}
	writer := narrative.NewWriter(narrative.Options{
		Enabled:    cfg.Narrative.Enabled,
		Host:       cfg.Narrative.Host,
		Model:      cfg.Narrative.Model,
		Timeout:    cfg.Narrative.Timeout,
		KnownNames: r.People,
		RunID:      r.RunID,
	})
	ns := r.Narrate(ctx, writer)

	path := out
	if path == "" {
		path = cfg.DataPath("reports", "revcast-report-"+r.AsOf.Format(revcast.DateLayout)+".html")
	}
	n, err := writeFileAtomic(path, r.Render)
	if err != nil {
		return nil, fmt.Errorf("write report %s: %w", path, err)
	}
	res := &reportResult{Path: path, Bytes: n, Narrative: r.NarrativeSummary()}
	for _, s := range r.Sections {
		if s.Content != nil {
			res.Sections++
		} else {
			res.Missing++
		}
	}

	ww, err := cfg.OpenWarehouse(ctx, false)
	if err != nil {
		return res, fmt.Errorf("report written to %s, but its narratives were not stored: %w", path, err)
	}
	defer ww.Close()
	if err := reporthtml.StoreNarratives(ctx, ww.DB, ns); err != nil {
		return res, fmt.Errorf("report written to %s, but: %w", path, err)
	}
	res.Took = time.Since(start)
	m.Logger.Info("wrote report", "path", path, "bytes", n, "sections", res.Sections, "waiting_for_data", res.Missing,
		"narrative", res.Narrative, "seconds", since(start))
	return res, nil
}

// writeFileAtomic writes path through a temporary file in the same folder renamed into
// place, so a reader never sees half a report. It returns the bytes written.
func writeFileAtomic(path string, write func(w io.Writer) error) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".report-*.html")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	if err := write(f); err != nil {
		f.Close()
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return 0, err
	}
	return st.Size(), os.Rename(f.Name(), path)
}

// demoReport writes the demo's report after everything else and prints where it is.
func (m *Main) demoReport(ctx context.Context, cfg *Config) error {
	res, err := m.report(ctx, cfg, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "\nReport: %s (%.1f MB, %d sections with data, %d waiting for data; narrative: %s)\n",
		res.Path, float64(res.Bytes)/1e6, res.Sections, res.Missing, res.Narrative)
	return nil
}
