package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
)

func init() { commands = append(commands, newExtractCmd) }

func newExtractCmd(m *Main) *cobra.Command {
	var sources []string
	var full bool
	cmd := &cobra.Command{
		Use:   "extract",
		Short: "Run the extractors: land new and changed records as Parquet in the lake",
		Long: `Run the configured sources' extractors. Each stream resumes from its saved cursor
(incremental) unless --full; cursors are saved only after the data is durably landed, so an
interrupted run is resumed by running it again.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := m.loadConfig()
			if err != nil {
				return err
			}
			_, err = m.extract(cmd.Context(), cfg, sources, full)
			return err
		},
	}
	cmd.Flags().StringSliceVar(&sources, "source", nil, "extract only this source (repeatable)")
	cmd.Flags().BoolVar(&full, "full", false, "ignore saved cursors and read everything again")
	return cmd
}

// extract runs the named sources (all enabled ones when names is empty) concurrently,
// each source's streams one after another, and returns their results in config order.
// Sources are different systems (a CRM, an ERP, export files), so one does not wait for
// another's round trips; at large scale the ERP's 11 s ran beside the CRM's 60 s instead
// of after them.
func (m *Main) extract(ctx context.Context, cfg *Config, names []string, full bool) ([]extract.Result, error) {
	for _, n := range names {
		if !slices.ContainsFunc(cfg.Configured, func(s ConfiguredSource) bool { return s.Name == n }) {
			return nil, &usageError{fmt.Errorf("--source %q is not in %s", n, cfg.Path)}
		}
	}
	var chosen []ConfiguredSource
	for _, s := range cfg.Configured {
		if len(names) > 0 && !slices.Contains(names, s.Name) || len(names) == 0 && !s.Enabled {
			continue
		}
		chosen = append(chosen, s)
	}
	runner := &extract.Runner{
		DataDir:  cfg.DataPath(),
		RunID:    revcast.NewRunID(time.Now()),
		Now:      time.Now,
		Logger:   m.Logger,
		Progress: m.newProgress(len(chosen)),
	}
	results := make([]extract.Result, len(chosen))
	errs := make([]error, len(chosen))
	var wg sync.WaitGroup
	for i, s := range chosen {
		wg.Go(func() {
			res, err := runner.Extract(ctx, s.Name, s.Source, extract.ExtractOptions{Full: full})
			results[i] = res
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", s.Name, err)
			}
		})
	}
	wg.Wait()
	return results, errors.Join(errs...)
}
