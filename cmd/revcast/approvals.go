package main

import (
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast/reports/writeback"
)

func init() { commands = append(commands, newApprovalsCmd) }

func newApprovalsCmd(m *Main) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approvals",
		Short: "The human-in-the-loop queue of write-back: list, approve ID, reject ID",
		Long: `Write-back changes that need a person's decision (review mode, or over
writeback.thresholds in auto mode) wait here. 'approve ID' lets the next write-back run
(revcast writeback, or revcast run) write exactly the approved values; 'reject ID' keeps
them out of the CRM, and the same values are not queued again. Nothing is sent to the CRM
by these commands. Every decision is recorded in the audit log with who made it.`,
	}
	cmd.AddCommand(newApprovalsListCmd(m), newApprovalsDecideCmd(m, true), newApprovalsDecideCmd(m, false))
	return cmd
}

func newApprovalsListCmd(m *Main) *cobra.Command {
	var status string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List approvals (pending by default)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if status == "all" {
				status = ""
			} else if !slices.Contains([]string{writeback.StatusPending, writeback.StatusApproved, writeback.StatusRejected}, status) {
				return &usageError{fmt.Errorf("--status %q: want pending, approved, rejected or all", status)}
			}
			cfg, err := m.loadConfig()
			if err != nil {
				return err
			}
			w, err := cfg.OpenWarehouse(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer w.Close()
			list, err := writeback.ListApprovals(cmd.Context(), w.DB, status)
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintf(m.Stdout, "no %sapprovals\n", strings.TrimSpace(status+" "))
				return nil
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "id\tstatus\tcreated\ttarget\trecord\treason")
			for _, a := range list {
				st := a.Status
				if a.Status != writeback.StatusPending {
					st += " by " + a.DecidedBy
				}
				if a.AppliedAt.Valid {
					st += ", written"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s:%s\t%s\n", a.ID, st, a.CreatedAt.UTC().Format("2006-01-02 15:04"), a.Target,
					a.Object, a.Key, a.Reason)
				if verbose {
					for _, f := range sortedKeys(a.Change.Fields) {
						fmt.Fprintf(tw, "\t\t\t\t  %s = %v\t\n", f, a.Change.Fields[f])
					}
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&status, "status", writeback.StatusPending, "pending, approved, rejected or all")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show the values each approval would write")
	return cmd
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func newApprovalsDecideCmd(m *Main, approve bool) *cobra.Command {
	var by, note string
	use, short := "reject ID", "Reject a pending change: it is not written, and the same values are not queued again"
	if approve {
		use, short = "approve ID", "Approve a pending change: the next write-back run writes it"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return &usageError{fmt.Errorf("approval id %q: want a number from 'revcast approvals list'", args[0])}
			}
			if by == "" {
				by = currentUser()
			}
			cfg, err := m.loadConfig()
			if err != nil {
				return err
			}
			w, err := cfg.OpenWarehouse(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer w.Close()
			a, err := writeback.Decide(cmd.Context(), w.DB, id, approve, by, note, time.Now())
			if err != nil {
				return err
			}
			if approve {
				fmt.Fprintf(m.Stdout, "approved %d (%s:%s) as %s; the next 'revcast writeback' (or 'revcast run') writes it\n", a.ID, a.Object, a.Key, by)
			} else {
				fmt.Fprintf(m.Stdout, "rejected %d (%s:%s) as %s; the CRM is left as it is\n", a.ID, a.Object, a.Key, by)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who decides (default: the login name)")
	cmd.Flags().StringVar(&note, "note", "", "why, for the audit log")
	return cmd
}

// currentUser names the person deciding: $REVCAST_USER, else the login name.
func currentUser() string {
	if u := os.Getenv("REVCAST_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}
