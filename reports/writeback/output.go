package writeback

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteDiff prints, for every change that is not already in the CRM, the record, what
// happens to it and each field's current and wanted value:
//
//   - Revenue_Forecast__c fc|bookings|2026-Q3|total|all (create) write
//     Expected_Amount__c: — → 4100000
//     ~ Opportunity 0065e0000000001AAA (update) queue: Revcast_Expected_Amount__c moves by …
//     Revcast_Win_Probability__c: 35 → 42.5
func (r *Report) WriteDiff(w io.Writer) error {
	n := 0
	for _, p := range r.Planned {
		if p.Decision == DecisionUnchanged {
			continue
		}
		n++
		mark := "~"
		if !p.Exists {
			mark = "+"
		}
		what := p.Decision
		if p.Why != "" {
			what += ": " + p.Why
		}
		if _, err := fmt.Fprintf(w, "%s %s %s (%s) %s\n", mark, p.Object, p.Key, p.Action(), what); err != nil {
			return err
		}
		for _, d := range p.Diffs {
			if _, err := fmt.Fprintf(w, "    %s: %s → %s\n", d.Field, show(d.Old), show(d.New)); err != nil {
				return err
			}
		}
	}
	if n == 0 {
		_, err := fmt.Fprintf(w, "no differences: %s already holds every value revcast would write\n", r.Target)
		return err
	}
	return nil
}

func show(v any) string {
	if isEmpty(v) {
		return "—"
	}
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strings.ReplaceAll(fmt.Sprint(v), "\n", " ")
	if len(s) > 120 {
		s = truncate(s, 117) + "..."
	}
	return fmt.Sprintf("%q", s)
}

// WriteSummary prints one line per workflow and the notes.
func (r *Report) WriteSummary(w io.Writer) error {
	verb := "wrote"
	if r.DryRun {
		verb = "would write"
	}
	for _, wr := range r.Workflows {
		if wr.Mode == ModeReadOnly {
			if _, err := fmt.Fprintf(w, "  %-13s read_only: nothing planned\n", wr.Name); err != nil {
				return err
			}
			continue
		}
		var line string
		if r.DryRun {
			write := 0
			for _, p := range r.Planned {
				if p.Workflow == wr.Name && p.Decision == DecisionWrite {
					write++
				}
			}
			line = fmt.Sprintf("  %-13s %-6s %d planned: %s %d, %d unchanged, %d would wait for approval, %d already waiting or rejected",
				wr.Name, wr.Mode, wr.Planned, verb, write, wr.Unchanged, wr.Queued, wr.Waiting)
		} else {
			line = fmt.Sprintf("  %-13s %-6s %d planned: %d created, %d updated (%d approved), %d unchanged, %d queued for approval, %d already waiting or rejected, %d failed",
				wr.Name, wr.Mode, wr.Planned, wr.Created, wr.Updated, wr.ApprovedWritten, wr.Unchanged, wr.Queued, wr.Waiting, wr.Failed)
			if wr.Retried > 0 {
				line += fmt.Sprintf(" (%d retried)", wr.Retried)
			}
		}
		if wr.Missing > 0 {
			line += fmt.Sprintf("; %d not in the CRM, skipped", wr.Missing)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
		for _, n := range wr.Notes {
			if _, err := fmt.Fprintf(w, "    note: %s\n", n); err != nil {
				return err
			}
		}
	}
	for _, n := range r.Notes {
		if _, err := fmt.Fprintf(w, "  note: %s\n", n); err != nil {
			return err
		}
	}
	if r.Pending > 0 && r.DryRun {
		if _, err := fmt.Fprintf(w, "  %d approvals would be pending after a real run\n", r.Pending); err != nil {
			return err
		}
	} else if r.Pending > 0 {
		if _, err := fmt.Fprintf(w, "  %d approvals pending: 'revcast approvals list', then 'revcast approvals approve ID' or 'reject ID'\n", r.Pending); err != nil {
			return err
		}
	}
	return nil
}
