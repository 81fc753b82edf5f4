package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast/reports/audit"
)

func init() { commands = append(commands, newAuditCmd) }

func newAuditCmd(m *Main) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "The audit log of CRM writes, approval decisions and narratives",
	}
	var head string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain; exit 1 naming the first bad seq",
		Long: `Recompute every audit_log row's SHA-256 over its fields and the previous row's hash, in
seq order, and compare with the recorded head. An edited, inserted, reordered or deleted row
fails the check: the command exits 1 naming the first bad seq. On success it prints the head
hash: note it somewhere else and pass it later with --head to detect a rewritten tail.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := m.loadConfig()
			if err != nil {
				return err
			}
			w, err := cfg.OpenWarehouse(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer w.Close()
			res, err := audit.Verify(cmd.Context(), w.DB, audit.VerifyOptions{Head: head})
			if err != nil {
				return err
			}
			if !res.OK {
				return fmt.Errorf("audit log: first bad seq %d: %s (%d rows checked)", res.FirstBad, res.Problem, res.Rows)
			}
			fmt.Fprintf(m.Stdout, "audit log ok: %d rows, head seq %d hash %s\n", res.Rows, res.LastSeq, res.Head)
			return nil
		},
	}
	verify.Flags().StringVar(&head, "head", "", "a head hash noted earlier that the chain must still contain")
	cmd.AddCommand(verify)
	return cmd
}
