package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Head, when set, is a hash noted earlier outside the warehouse (printed by a previous
	// verify); the chain must still contain a row with that hash.
	Head string
}

// Result is what Verify found.
type Result struct {
	Rows     int64  // rows checked
	LastSeq  int64  // seq of the newest row
	Head     string // hash of the newest row (note it to detect a rewritten tail later)
	OK       bool
	FirstBad int64  // the first seq that fails, when not OK
	Problem  string // what is wrong at FirstBad, when not OK
}

// Verify recomputes the chain of audit_log in seq order and reports the first seq that
// fails: a row whose hash does not match its fields (edited), whose prev_hash is not the
// previous row's hash (inserted, reordered or a predecessor deleted), a missing or
// repeated seq, or a tail that does not end at the recorded head (newest rows deleted or
// appended outside revcast). A missing audit_log is an empty, valid log.
func Verify(ctx context.Context, db *sql.DB, opt VerifyOptions) (*Result, error) {
	res := &Result{OK: true, Head: GenesisHash}
	var n int
	if err := db.QueryRowContext(ctx, `select count(*) from duckdb_tables() where schema_name = 'main' and table_name = 'audit_log'`).Scan(&n); err != nil {
		return nil, fmt.Errorf("audit verify: %w", err)
	}
	if n == 0 {
		return res, nil
	}
	rows, err := db.QueryContext(ctx, `select seq, "at", coalesce(actor, ''), coalesce(action, ''), coalesce(target, ''),
		coalesce(record_key, ''), coalesce(payload_sha256, ''), coalesce(response, ''), coalesce(source_run, ''),
		coalesce(detail, ''), coalesce(prev_hash, ''), coalesce(hash, '')
		from audit_log order by seq, hash`)
	if err != nil {
		return nil, fmt.Errorf("audit verify: read audit_log: %w", err)
	}
	defer rows.Close()
	fail := func(seq int64, format string, args ...any) {
		if res.OK {
			res.OK, res.FirstBad, res.Problem = false, seq, fmt.Sprintf(format, args...)
		}
	}
	prev := GenesisHash
	want := int64(1)
	seenHead := opt.Head == ""
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.Seq, &r.At, &r.Actor, &r.Action, &r.Target, &r.RecordKey, &r.PayloadSHA256,
			&r.Response, &r.SourceRun, &r.Detail, &r.PrevHash, &r.Hash); err != nil {
			return nil, fmt.Errorf("audit verify: read audit_log: %w", err)
		}
		res.Rows++
		switch {
		case r.Seq < want:
			fail(r.Seq, "seq %d appears more than once (a row was inserted)", r.Seq)
		case r.Seq > want:
			fail(want, "seq %d is missing: the row was deleted (the next row is seq %d)", want, r.Seq)
		case r.ComputeHash() != r.Hash:
			fail(r.Seq, "seq %d does not match its hash: the row was edited", r.Seq)
		case r.PrevHash != prev:
			fail(r.Seq, "seq %d does not follow seq %d (prev_hash differs): a row was inserted, reordered or replaced", r.Seq, r.Seq-1)
		}
		if r.Hash == opt.Head {
			seenHead = true
		}
		prev = r.Hash
		want = r.Seq + 1
		res.LastSeq, res.Head = r.Seq, r.Hash
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit verify: read audit_log: %w", err)
	}
	var headSeq int64
	var headHash string
	err = db.QueryRowContext(ctx, `select seq, hash from meta.audit_head where id = 1`).Scan(&headSeq, &headHash)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err != nil && strings.Contains(err.Error(), "does not exist")):
		if res.Rows > 0 {
			fail(1, "meta.audit_head is missing: the log's head was deleted")
		}
	case err != nil:
		return nil, fmt.Errorf("audit verify: read meta.audit_head: %w", err)
	case headSeq > res.LastSeq:
		fail(res.LastSeq+1, "seq %d to %d are missing: the newest rows were deleted (the head is seq %d)", res.LastSeq+1, headSeq, headSeq)
	case headSeq < res.LastSeq:
		fail(headSeq+1, "seq %d to %d were appended outside revcast (the head is seq %d)", headSeq+1, res.LastSeq, headSeq)
	case headHash != res.Head:
		fail(res.LastSeq, "seq %d is not the recorded head: the newest row was replaced", res.LastSeq)
	}
	if !seenHead {
		fail(res.LastSeq, "no row has the expected head %s: the chain was rewritten", opt.Head)
	}
	return res, nil
}
