package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast/internal/lockfile"
	"github.com/revcast/revcast/internal/memstat"
)

func init() { commands = append(commands, newRunCmd) }

// pipelineStep is one stage of `revcast run` after extract and transform. Later stages
// (forecast, report, writeback) register themselves from their command file's init, so
// adding a stage touches one file.
type pipelineStep struct {
	Name  string
	Order int // steps run in increasing Order: forecast 30, report 40, writeback 50
	Run   func(ctx context.Context, m *Main, cfg *Config) error
	// KeepGoing: no later stage needs this one's output, so a failure of it does not stop
	// them; the run still fails, with this error, once they are done (a broken report must
	// not keep tonight's forecast out of the CRM).
	KeepGoing bool
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
	steps := firstSteps(sources)
	later := append([]pipelineStep(nil), pipelineSteps...)
	sort.SliceStable(later, func(i, j int) bool { return later[i].Order < later[j].Order })
	steps = append(steps, later...)
	start := time.Now()
	var deferred []error
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := m.runStage(ctx, cfg, s); err != nil {
			err = fmt.Errorf("%s: %w", s.Name, err)
			if !s.KeepGoing {
				return errors.Join(append(deferred, err)...)
			}
			m.Logger.Error("stage failed; the later stages still run", "stage", s.Name, "err", err)
			deferred = append(deferred, err)
		}
	}
	m.Logger.Info("pipeline finished", "stages", len(steps), "failed", len(deferred), "seconds", since(start))
	return errors.Join(deferred...)
}

// firstSteps are the stages every run starts with: extract (of sources; none means every
// enabled source) and transform.
func firstSteps(sources []string) []pipelineStep {
	return []pipelineStep{
		{Name: "extract", Run: func(ctx context.Context, m *Main, cfg *Config) error {
			_, err := m.extract(ctx, cfg, sources, false)
			return err
		}},
		{Name: "transform", Run: func(ctx context.Context, m *Main, cfg *Config) error {
			_, err := m.transform(ctx, cfg, time.Time{})
			return err
		}},
	}
}

// runStage runs one stage and logs its wall time, its CPU time and its resident memory: at
// the start, the stage's peak (sampled every 50 ms, memstat.Watch) and the process's peak so
// far (the design's 2 GiB budget is a peak RSS; DuckDB's memory is outside Go's heap
// statistics). cpu_seconds is user plus system time of every thread, DuckDB's included:
// less noisy than the wall time on a shared host, and cpu_seconds / cores is the least wall
// time the stage's work can take on the machine.
func (m *Main) runStage(ctx context.Context, cfg *Config, s pipelineStep) error {
	start := time.Now()
	cpu0, cpuOK := memstat.CPU()
	attrs := []any{"stage", s.Name}
	if rss, ok := memstat.Current(); ok {
		attrs = append(attrs, "start_rss_mib", rss>>20)
	}
	stop := memstat.Watch(50 * time.Millisecond)
	err := s.Run(ctx, m, cfg)
	peak, watched := stop()
	// What a stage leaves is garbage to the next: the Go heap it grew (the forecast's
	// reaches its 1.25 GiB soft limit) stays resident until the runtime's scavenger returns
	// it over minutes, and the next stage's peak would stand on it (large nightly: the
	// write-back started at 0.6-0.9 GiB resident and peaked at 2.03 GiB). Returned at once;
	// a collection of the little that is live costs well under a second.
	debug.FreeOSMemory()
	attrs = append(attrs, "seconds", since(start))
	if cpu1, ok := memstat.CPU(); ok && cpuOK {
		attrs = append(attrs, "cpu_seconds", fmt.Sprintf("%.2f", (cpu1-cpu0).Seconds()))
	}
	if watched {
		attrs = append(attrs, "peak_rss_mib", peak>>20)
	}
	if p, ok := memstat.Peak(); ok {
		attrs = append(attrs, "process_peak_rss_mib", max(p, peak)>>20) // the kernel's mark lags by a few pages
	}
	if err != nil {
		attrs = append(attrs, "failed", true)
	}
	m.Logger.Info("stage finished", attrs...)
	return err
}
