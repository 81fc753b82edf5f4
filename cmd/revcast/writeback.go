package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract/salesforce"
	"github.com/revcast/revcast/reports/writeback"
	"github.com/revcast/revcast/transform"
)

func init() {
	commands = append(commands, newWritebackCmd)
	pipelineSteps = append(pipelineSteps, pipelineStep{Name: "writeback", Order: 50, Run: func(ctx context.Context, m *Main, cfg *Config) error {
		_, err := m.writeback(ctx, cfg, writebackOptions{})
		return err
	}})
}

func newWritebackCmd(m *Main) *cobra.Command {
	var o writebackOptions
	cmd := &cobra.Command{
		Use:   "writeback",
		Short: "Push forecast results to the CRM; over-threshold changes wait for approval",
		Long: `Write revcast's results into the CRM named by writeback.target:

  forecasts       period forecasts into Revenue_Forecast__c, upserted by Revcast_Key__c
                  (forecast type | period | segment type | segment), so re-runs update
  opportunities   win probability, expected amount, risk flags, ERP order status and
                  tracking number in Revcast_* fields of each Opportunity
  tasks           a follow-up Task (once, keyed by Task.Revcast_Key__c) for each ERP order
                  that needs review and each high-severity reconciliation variance

Only the Object.Field entries in writeback.allow are written; anything else stops the run
before any request. Each workflow has a mode (writeback.mode, writeback.workflows):
read_only, review (every change waits in approvals) or auto (changes over
writeback.thresholds wait). Approved changes are written by the next write-back run.

Only differences are written, in batches of 200 with per-record results; transient
record errors are retried (writeback.max_attempts). Up to writeback.concurrent_requests
(default 4) requests wait for the CRM at once, reads and write batches; the writes are
logged in batch order. Opportunities are first compared with the copy the last
extraction landed, and only those whose copy differs are read from the CRM before
writing (the other records always are). Every attempt is in
writeback_log and audit_log. --dry-run prints the diff against what the CRM holds now and
writes nothing, to the CRM or to the warehouse.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := m.loadConfig()
			if err != nil {
				return err
			}
			o.Out = m.Stdout
			if !o.DryRun {
				unlock, err := lockPipeline(cfg)
				if err != nil {
					return err
				}
				defer unlock()
			}
			_, err = m.writeback(cmd.Context(), cfg, o)
			return err
		},
	}
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print the diff against the CRM and write nothing")
	return cmd
}

// writebackOptions tune one write-back run.
type writebackOptions struct {
	DryRun bool
	// Out receives the diff and the summary; nil logs the summary only (pipeline stage).
	Out io.Writer
}

// writeback runs write-back against the configured target. With no target, or every
// workflow read_only, it does nothing.
func (m *Main) writeback(ctx context.Context, cfg *Config, o writebackOptions) (*writeback.Report, error) {
	start := time.Now()
	wb := cfg.Writeback
	policy := cfg.writebackPolicy()
	active := false
	for _, mode := range policy.Modes {
		active = active || mode != writeback.ModeReadOnly
	}
	msg := ""
	switch {
	case wb.Target == "" || !active:
		msg = "writeback: nothing to do (writeback.target is empty or every workflow is read_only)"
	default:
		for _, cs := range cfg.Configured {
			if cs.Name == wb.Target && !cs.Enabled {
				msg = fmt.Sprintf("writeback: nothing written: the target source %s has enabled: false", wb.Target)
			}
		}
	}
	if msg != "" {
		if o.Out != nil {
			fmt.Fprintln(o.Out, msg)
		}
		m.Logger.Info(msg)
		return nil, nil
	}
	target, err := buildTarget(cfg)
	if err != nil {
		return nil, err
	}
	w, err := cfg.OpenWarehouse(ctx, o.DryRun)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	wr := &writeback.Writer{DB: w.DB, Target: target, Policy: policy, DryRun: o.DryRun, Logger: m.Logger,
		RunID: string(revcast.NewRunID(start)), Requests: cfg.Writeback.ConcurrentRequests}
	restore := goMemoryLimit(writebackGoMemory)
	rep, err := wr.Run(ctx)
	restore()
	if rep != nil && o.Out != nil {
		if o.DryRun {
			fmt.Fprintf(o.Out, "dry run: nothing was written. Diff against what %s holds now:\n", rep.Target)
			if derr := rep.WriteDiff(o.Out); derr != nil {
				return rep, derr
			}
			fmt.Fprintln(o.Out)
		}
		fmt.Fprintf(o.Out, "writeback to %s (run %s):\n", rep.Target, rep.RunID)
		if serr := rep.WriteSummary(o.Out); serr != nil {
			return rep, serr
		}
	}
	if rep != nil {
		m.Logger.Info("writeback", "target", rep.Target, "run", rep.RunID, "dry_run", o.DryRun, "written", rep.Written(),
			"failed", rep.Failed(), "pending_approvals", rep.Pending, "seconds", since(start))
	}
	return rep, err
}

// writebackGoMemory is the write-back's soft limit on the Go heap (see goMemoryLimit), for
// the design's 2 GiB peak of a whole run at large scale. The run plans every change before
// it diffs them against the warehouse's copy of the CRM (one DuckDB query over the landed
// versions of those records), so the changes are live while DuckDB works: at large (a
// million opportunities, 560k changes) about 0.6 GB of Go heap, which GOGC=100 alone lets
// grow to 1.2 GB. Measured on a large nightly's warehouse ('revcast writeback', twice
// each): peak RSS 1.77-1.81 GB without the limit, 1.66-1.71 GB with it, no slower. Below
// the live heap the collector runs continuously (0.7 GiB: 15 s → 40 s).
const writebackGoMemory = 1 << 30

// echoRules says, for the source write-back writes to, which landed versions are
// revcast's own writes coming back rather than changes (transform.EchoRule); nil for any
// other source.
func echoRules(cfg *Config, src ConfiguredSource) map[string]transform.EchoRule {
	if cfg.Writeback.Target != src.Name || src.Type != salesforce.TypeName {
		return nil
	}
	out := map[string]transform.EchoRule{}
	for object, fields := range writeback.SalesforceUpdatedFields() {
		out[salesforce.StreamName(object)] = transform.EchoRule{Key: "Id", Order: salesforce.VersionField,
			Ignore: append(slices.Clone(fields), salesforce.WriteStamps...)}
	}
	return out
}

// buildTarget returns the write-back target for writeback.target.
func buildTarget(cfg *Config) (writeback.Target, error) {
	name := cfg.Writeback.Target
	for _, cs := range cfg.Configured {
		if cs.Name != name {
			continue
		}
		switch src := cs.Source.(type) {
		case *salesforce.Source:
			t := writeback.NewSalesforce(name, writeback.NewSalesforceAPI(src))
			t.Requests = cfg.Writeback.ConcurrentRequests
			t.LakeDir = cfg.DataPath("lake")
			return t, nil
		default:
			return nil, revcast.Errorf(revcast.EINVALID, "%s: writeback.target %q is a %s source: write-back supports salesforce so far", cfg.Path, name, cs.Type)
		}
	}
	return nil, revcast.Errorf(revcast.EINVALID, "%s: writeback.target %q is not in sources", cfg.Path, name)
}
