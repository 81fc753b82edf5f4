package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast/internal/lockfile"
)

func init() { commands = append(commands, newRunCmd) }

// pipelineStep is one stage of `revcast run` after extract and transform. Later stages
// (forecast, report, writeback) register themselves from their command file's init, so
// adding a stage touches one file.
type pipelineStep struct {
	Name  string
	Order int // steps run in increasing Order: forecast 30, report 40, writeback 50
	Run   func(ctx context.Context, m *Main, cfg *Config) error
}

var pipelineSteps []pipelineStep

func newRunCmd(m *Main) *cobra.Command {
	var sources []string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the pipeline once: extract → transform → forecast → report → writeback",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := m.loadConfig()
			if err != nil {
				return err
			}
			unlock, err := lockPipeline(cfg)
			if err != nil {
				return err
			}
			defer unlock()
			return m.runPipeline(cmd.Context(), cfg, sources)
		},
	}
	cmd.Flags().StringSliceVar(&sources, "source", nil, "extract only this source (repeatable)")
	return cmd
}

// lockPipeline takes the data directory's pipeline lock: one pipeline job at a time across
// processes (a scheduler and a manual run, or two schedulers).
func lockPipeline(cfg *Config) (func(), error) {
	return lockfile.Lock(cfg.DataPath(".pipeline.lock"), "running a pipeline job on this data directory")
}

// runPipeline runs every stage in order; the caller holds the pipeline lock.
func (m *Main) runPipeline(ctx context.Context, cfg *Config, sources []string) error {
	if _, err := m.extract(ctx, cfg, sources, false); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	if _, err := m.transform(ctx, cfg, time.Time{}); err != nil {
		return fmt.Errorf("transform: %w", err)
	}
	steps := append([]pipelineStep(nil), pipelineSteps...)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].Order < steps[j].Order })
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.Run(ctx, m, cfg); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	return nil
}
