package html

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/revcast/revcast/reports/narrative"
)

// StoreNarratives saves a report's narratives in the warehouse's narratives table
// (narrative.TableDDL), creating it if needed. A narrative replaces the stored one of the
// same run and section, so re-running a report for the same run leaves one row per
// section. db must be writable.
func StoreNarratives(ctx context.Context, db *sql.DB, ns []narrative.Narrative) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store narratives: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, narrative.TableDDL); err != nil {
		return fmt.Errorf("store narratives: create table: %w", err)
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(narrative.Columns)), ", ")
	insert := fmt.Sprintf("insert into narratives (%s) values (%s)", strings.Join(narrative.Columns, ", "), marks)
	for _, n := range ns {
		if _, err := tx.ExecContext(ctx, `delete from narratives where run_id = ? and section = ?`, n.RunID, n.Section); err != nil {
			return fmt.Errorf("store narratives: %w", err)
		}
		if _, err := tx.ExecContext(ctx, insert, n.Values()...); err != nil {
			return fmt.Errorf("store narratives: section %s: %w", n.Section, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store narratives: %w", err)
	}
	return nil
}
