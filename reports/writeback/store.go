package writeback

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/internal/duckx"
	"github.com/revcast/revcast/reports/audit"
)

// Schema creates write-back's tables in the warehouse when they do not exist:
//
// approvals — one row per change held for a person's decision. status pending, approved
// or rejected; payload is the Change as JSON (object, key, fields and why); content_sha256
// identifies the values asked for (a rejected content is not queued again). An approved
// row is written by the next write-back run, which sets applied_at and applied_run.
//
// writeback_log — one row per record per write attempt (and per change queued for
// approval): status ok, retry (failed, retried in the same run), failed (gave up for this
// run; the next run plans it again) or queued.
const Schema = `
create table if not exists approvals (
	approval_id bigint primary key,
	status varchar not null,
	target varchar not null,
	object varchar not null,
	key varchar not null,
	payload varchar not null,
	reason varchar,
	created_at timestamptz not null,
	decided_at timestamptz,
	decided_by varchar,
	decision_note varchar,
	content_sha256 varchar,
	run_id varchar,
	applied_at timestamptz,
	applied_run varchar);
create table if not exists writeback_log (
	run_id varchar not null,
	target varchar not null,
	object varchar not null,
	key varchar not null,
	record_id varchar,
	action varchar not null,
	status varchar not null,
	error varchar,
	attempt integer not null,
	"at" timestamptz not null,
	payload_sha256 varchar,
	approval_id bigint);
`

// Approval statuses.
const (
	StatusPending  = "pending"
	StatusApproved = "approved"
	StatusRejected = "rejected"
)

// EnsureTables creates approvals, writeback_log and the audit tables.
func EnsureTables(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, Schema); err != nil {
		return fmt.Errorf("writeback: create tables: %w", err)
	}
	return audit.Ensure(ctx, db)
}

// Approval is one row of approvals.
type Approval struct {
	ID         int64
	Status     string
	Target     string
	Object     string
	Key        string
	Change     Change // decoded payload
	Payload    string
	Reason     string
	CreatedAt  time.Time
	DecidedAt  sql.NullTime
	DecidedBy  string
	Note       string
	ContentSHA string
	RunID      string
	AppliedAt  sql.NullTime
	AppliedRun string
}

func tableExists(ctx context.Context, db *sql.DB, name string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `select count(*) from duckdb_tables() where schema_name = 'main' and table_name = ?`, name).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("writeback: look for table %s: %w", name, err)
	}
	return n > 0, nil
}

const approvalCols = `approval_id, status, target, object, key, payload, coalesce(reason, ''), created_at, decided_at,
	coalesce(decided_by, ''), coalesce(decision_note, ''), coalesce(content_sha256, ''), coalesce(run_id, ''), applied_at,
	coalesce(applied_run, '')`

func scanApprovals(rows *sql.Rows) ([]Approval, error) {
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		var a Approval
		if err := rows.Scan(&a.ID, &a.Status, &a.Target, &a.Object, &a.Key, &a.Payload, &a.Reason, &a.CreatedAt, &a.DecidedAt,
			&a.DecidedBy, &a.Note, &a.ContentSHA, &a.RunID, &a.AppliedAt, &a.AppliedRun); err != nil {
			return nil, fmt.Errorf("writeback: read approvals: %w", err)
		}
		if err := json.Unmarshal([]byte(a.Payload), &a.Change); err != nil {
			return nil, fmt.Errorf("writeback: approval %d: payload is not a change: %w", a.ID, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ListApprovals returns the approvals with the given status ("" for all), oldest first.
// A warehouse without the table has none.
func ListApprovals(ctx context.Context, db *sql.DB, status string) ([]Approval, error) {
	ok, err := tableExists(ctx, db, "approvals")
	if err != nil || !ok {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `select `+approvalCols+` from approvals where ? = '' or status = ? order by approval_id`, status, status)
	if err != nil {
		return nil, fmt.Errorf("writeback: read approvals: %w", err)
	}
	return scanApprovals(rows)
}

// GetApproval returns one approval; a missing one is an ENOTFOUND error.
func GetApproval(ctx context.Context, db *sql.DB, id int64) (*Approval, error) {
	ok, err := tableExists(ctx, db, "approvals")
	if err != nil {
		return nil, err
	}
	if ok {
		rows, err := db.QueryContext(ctx, `select `+approvalCols+` from approvals where approval_id = ?`, id)
		if err != nil {
			return nil, fmt.Errorf("writeback: read approval %d: %w", id, err)
		}
		list, err := scanApprovals(rows)
		if err != nil {
			return nil, err
		}
		if len(list) == 1 {
			return &list[0], nil
		}
	}
	return nil, revcast.Errorf(revcast.ENOTFOUND, "approval %d does not exist: 'revcast approvals list' shows the queue", id)
}

// ErrDecided is matched by errors.Is when an approval was already decided.
var ErrDecided = errors.New("approval already decided")

// Decide approves or rejects a pending approval as by (a person), with an optional note,
// and records the decision in the audit log in the same transaction. Nothing is sent to
// the CRM: an approved change is written by the next write-back run; a rejected one is
// never written, and the same values are not queued again.
func Decide(ctx context.Context, db *sql.DB, id int64, approve bool, by, note string, now time.Time) (*Approval, error) {
	if err := EnsureTables(ctx, db); err != nil {
		return nil, err
	}
	a, err := GetApproval(ctx, db, id)
	if err != nil {
		return nil, err
	}
	if a.Status != StatusPending {
		when := ""
		if a.DecidedAt.Valid {
			when = " on " + a.DecidedAt.Time.UTC().Format("2006-01-02 15:04 MST")
		}
		return a, &revcast.Error{Code: revcast.EINVALID, Message: fmt.Sprintf("approval %d is already %s (by %s%s)", id, a.Status, a.DecidedBy, when), Err: ErrDecided}
	}
	status, action := StatusRejected, audit.ActionReject
	if approve {
		status, action = StatusApproved, audit.ActionApprove
	}
	tx, err := duckx.Begin(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("writeback: decide approval %d: %w", id, err)
	}
	defer tx.Rollback()
	now = now.UTC().Truncate(time.Microsecond)
	res, err := tx.ExecContext(ctx, `update approvals set status = ?, decided_at = ?, decided_by = ?, decision_note = ?
		where approval_id = ? and status = 'pending'`, status, now, by, note, id)
	if err != nil {
		return nil, fmt.Errorf("writeback: decide approval %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, fmt.Errorf("writeback: approval %d changed while deciding it; try again", id)
	}
	resp := status
	if note != "" {
		resp += ": " + note
	}
	if _, err := audit.AppendTx(ctx, tx, now, audit.Entry{Actor: by, Action: action, Target: a.Target, RecordKey: a.Object + ":" + a.Key,
		Payload: []byte(a.Payload), Response: resp, SourceRun: a.Change.SourceRun,
		Detail: map[string]any{"approval_id": id, "reason": a.Reason, "content_sha256": a.ContentSHA}}); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("writeback: decide approval %d: %w", id, err)
	}
	a.Status, a.DecidedBy, a.Note = status, by, note
	a.DecidedAt = sql.NullTime{Time: now, Valid: true}
	return a, nil
}

// LogRow is one writeback_log row.
type LogRow struct {
	RunID, Target, Object, Key, RecordID, Action, Status, Error string
	Attempt                                                     int
	At                                                          time.Time
	PayloadSHA256                                               string
	ApprovalID                                                  int64
}

// insertLog appends rows to writeback_log inside tx, through DuckDB's appender; values
// are in the column order of Schema.
func insertLog(tx *duckx.Tx, rows ...LogRow) error {
	if len(rows) == 0 {
		return nil
	}
	err := tx.Append("main", "writeback_log", len(rows), func(i int) ([]driver.Value, error) {
		r := &rows[i]
		var appr driver.Value
		if r.ApprovalID > 0 {
			appr = r.ApprovalID
		}
		return []driver.Value{r.RunID, r.Target, r.Object, r.Key, nullIfEmpty(r.RecordID), r.Action, r.Status, nullIfEmpty(r.Error),
			int32(r.Attempt), r.At, r.PayloadSHA256, appr}, nil
	})
	if err != nil {
		return fmt.Errorf("writeback: log %d records of %s: %w", len(rows), rows[0].Object, err)
	}
	return nil
}

func nullIfEmpty(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}
