package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast"
	revsql "github.com/revcast/revcast/sql"
	"github.com/revcast/revcast/transform"
)

func init() { commands = append(commands, newTransformCmd) }

func newTransformCmd(m *Main) *cobra.Command {
	var asOf string
	var full bool
	cmd := &cobra.Command{
		Use:   "transform",
		Short: "Load new lake files into the warehouse, run the SQL models and the data tests",
		Long: `Load the lake files not loaded before into the warehouse's raw tables, bring the SQL
models up to date and run the data tests.

Models are brought up to date incrementally: a model none of whose inputs changed is
skipped, a model whose header declares its partitions ('-- incremental:') recomputes only
the partitions whose inputs changed, and any other model whose inputs changed is rebuilt.
The tables are the same a full rebuild gives. A model is rebuilt in full by itself when its
SQL, the settings it reads or the columns of its raw tables changed; --full rebuilds every
model from all of its inputs.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := m.loadConfig()
			if err != nil {
				return err
			}
			date, err := parseAsOf(asOf)
			if err != nil {
				return err
			}
			_, err = m.transformWith(cmd.Context(), cfg, date, transform.BuildOptions{Incremental: !full})
			return err
		},
	}
	cmd.Flags().StringVar(&asOf, "as-of", "", "date the marts age and snapshot at, YYYY-MM-DD (default today)")
	cmd.Flags().BoolVar(&full, "full", false, "rebuild every model from all of its inputs instead of incrementally")
	return cmd
}

// parseAsOf parses an optional --as-of flag; empty means today.
func parseAsOf(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := revcast.ParseDate(s)
	if err != nil {
		return t, &usageError{fmt.Errorf("--as-of: %w", err)}
	}
	return t, nil
}

// transformSummary is what a transform did, for the demo's summary.
type transformSummary struct {
	Load   transform.LoadResult
	Build  transform.BuildResult
	Warned []transform.TestFailure
}

// transform loads the lake, brings the models up to date incrementally and runs the data tests.
func (m *Main) transform(ctx context.Context, cfg *Config, asOf time.Time) (*transformSummary, error) {
	return m.transformWith(ctx, cfg, asOf, transform.BuildOptions{Incremental: true})
}

// transformWith is transform with the build's options.
func (m *Main) transformWith(ctx context.Context, cfg *Config, asOf time.Time, opts transform.BuildOptions) (*transformSummary, error) {
	w, err := cfg.OpenWarehouse(ctx, false)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	m.Logger.Debug("opened warehouse", "checkpoints_vacuum", w.Vacuum)
	sum := &transformSummary{}
	srcs := make([]transform.LakeSource, len(cfg.Configured))
	for i, s := range cfg.Configured {
		srcs[i] = transform.LakeSource{Name: s.Name, Type: s.Type, Echo: echoRules(cfg, s)}
	}
	start := time.Now()
	if sum.Load, err = w.Load(ctx, cfg.DataPath("lake"), srcs); err != nil {
		return sum, err
	}
	m.Logger.Info("loaded lake files", "files", sum.Load.Files, "rows", sum.Load.Rows, "echoes", sum.Load.Echoes, "seconds", since(start))
	models, err := transform.ParseModels(revsql.FS)
	if err != nil {
		return sum, err
	}
	start = time.Now()
	if sum.Build, err = w.BuildWith(ctx, models, transform.Settings{BaseCurrency: cfg.BaseCurrency, AsOf: asOf}, opts); err != nil {
		return sum, err
	}
	modes := map[string]int{}
	for _, b := range sum.Build.Models {
		modes[b.Mode]++
		args := []any{"name", b.Name, "build", b.Mode, "rows", b.Rows, "partitions", b.Partitions, "seconds", fmt.Sprintf("%.3f", b.Elapsed.Seconds()), "why", b.Reason}
		if len(b.Steps) > 0 {
			steps := make([]string, len(b.Steps))
			for i, s := range b.Steps {
				steps[i] = fmt.Sprintf("%s=%.3f", s.Name, s.Elapsed.Seconds())
			}
			args = append(args, "steps", strings.Join(steps, ", "))
		}
		m.Logger.Debug("model", args...)
	}
	m.Logger.Info("built models", "models", len(sum.Build.Models), "full", modes[transform.ModeFull],
		"incremental", modes[transform.ModeIncremental], "skipped", modes[transform.ModeSkipped], "seconds", since(start))
	tests, err := transform.ParseTests(revsql.FS)
	if err != nil {
		return sum, err
	}
	tests = append(transform.GenericTests(), tests...)
	start = time.Now()
	fails, err := w.RunTests(ctx, tests)
	if err != nil {
		return sum, err
	}
	var errs []string
	for _, f := range fails {
		if f.Test.Warn {
			sum.Warned = append(sum.Warned, f)
			m.Logger.Warn("data test found rows", "test", f.Test.Name, "table", f.Test.Table, "rows", f.Count, "examples", strings.Join(f.Samples, ", "))
			continue
		}
		errs = append(errs, f.String())
	}
	m.Logger.Info("ran data tests", "tests", len(tests), "failed", len(errs), "warnings", len(sum.Warned), "seconds", since(start))
	if len(errs) > 0 {
		return sum, fmt.Errorf("%d data tests failed:\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
	return sum, nil
}

func since(t time.Time) string { return fmt.Sprintf("%.2f", time.Since(t).Seconds()) }
