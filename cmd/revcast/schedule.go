package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newScheduleCmd) }

func newScheduleCmd(m *Main) *cobra.Command {
	var list int
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Run the config's cron jobs until stopped (SIGINT/SIGTERM), one at a time",
		Long: `Run schedule.jobs from the config at their cron times (robfig/cron syntax, local time).
Jobs never overlap: one that comes due while another runs is skipped and recorded as skipped.
A lock in the data directory keeps a second scheduler or a manual 'revcast run' from running
a job at the same time. Every job is recorded in meta.runs. SIGINT/SIGTERM stop the
scheduler after the running job reaches a safe point.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := m.loadConfig()
			if err != nil {
				return err
			}
			s, err := newScheduler(cfg.Schedule.Jobs)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("list") {
				tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "next run\tjob")
				for _, p := range s.Next(time.Now(), list) {
					fmt.Fprintf(tw, "%s\t%s\n", p.At.Format(time.RFC3339), p.Job)
				}
				return tw.Flush()
			}
			s.Logger = m.Logger
			s.Exec = func(ctx context.Context, job JobConfig) error { return m.execJob(ctx, cfg, job) }
			s.Record = func(ctx context.Context, r RunRecord) error { return recordRun(ctx, cfg, r) }
			m.Logger.Info("scheduler started", "jobs", len(s.Jobs))
			return s.Run(cmd.Context())
		},
	}
	cmd.Flags().IntVar(&list, "list", 10, "print the next N run times and exit")
	return cmd
}

// execJob runs one scheduled job under the pipeline lock.
func (m *Main) execJob(ctx context.Context, cfg *Config, job JobConfig) error {
	unlock, err := lockPipeline(cfg)
	if err != nil {
		return err
	}
	defer unlock()
	if job.Command == "run" {
		return m.runPipeline(ctx, cfg, job.Sources)
	}
	// A single stage runs as in a pipeline, with its time and memory logged.
	for _, s := range append(firstSteps(job.Sources), pipelineSteps...) {
		if s.Name == job.Command {
			return m.runStage(ctx, cfg, s)
		}
	}
	return fmt.Errorf("job %s: command %q is not available in this build", job.Name, job.Command)
}

// recordRun appends r to meta.runs in the warehouse.
func recordRun(ctx context.Context, cfg *Config, r RunRecord) error {
	w, err := cfg.OpenWarehouse(ctx, false)
	if err != nil {
		return err
	}
	defer w.Close()
	_, err = w.DB.ExecContext(ctx, `create table if not exists meta.runs (
		job varchar, command varchar, scheduled_at timestamptz, started_at timestamptz,
		ended_at timestamptz, status varchar, error varchar)`)
	if err != nil {
		return err
	}
	_, err = w.DB.ExecContext(ctx, `insert into meta.runs values (?, ?, ?, ?, ?, ?, ?)`,
		r.Job, r.Command, r.Scheduled, r.Started, r.Ended, r.Status, nullIfEmpty(r.Error))
	return err
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
