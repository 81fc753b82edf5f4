// Package audit is revcast's append-only audit log: one row for every write to a CRM,
// every approval decision and every narrative, chained by SHA-256 so that an edited,
// inserted, reordered or deleted row is detected by Verify (`revcast audit verify`).
//
// The table (warehouse, schema main) is
//
//	audit_log(seq, "at", actor, action, target, record_key, payload_sha256, response,
//	          source_run, detail, prev_hash, hash)
//
// seq counts from 1 without gaps. payload_sha256 is the hex SHA-256 of what was sent (or
// decided on, or written); response is what came back (the CRM's answer, the decision, the
// narrative's source). source_run is the run that produced the payload (a forecast run id,
// a write-back run id) and detail a JSON object with the rest of the why: object, record
// ids, approval id, reason, prompt version. prev_hash is the previous row's hash (64
// zeros for seq 1) and
//
//	hash = hex(SHA-256(canonical(row)))
//
// where canonical(row) is the JSON array
//
//	[seq, at, actor, action, target, record_key, payload_sha256, response, source_run, detail, prev_hash]
//
// with seq a JSON number and every other field a JSON string (at as RFC 3339 UTC with
// microseconds, the precision the warehouse keeps). Any change to a field of a row changes
// its hash; a recomputed hash breaks the next row's prev_hash; a deleted row leaves a gap
// in seq and a broken prev_hash; a row inserted or moved breaks both. The newest hash (the
// head) is also kept in meta.audit_head: deleting the newest rows is detected against it,
// and a head noted outside the warehouse (Verify's Head option) protects against someone
// who rewrites the whole tail and the head together.
//
// Nothing in DuckDB stops a user with write access from running UPDATE on the table;
// the chain makes such an edit evident, it does not prevent it.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/revcast/revcast/internal/duckx"
)

// Actions recorded by revcast.
const (
	ActionWrite     = "write"     // a record written to (or refused by) a CRM
	ActionQueue     = "queue"     // a write held for approval
	ActionApprove   = "approve"   // an approval granted
	ActionReject    = "reject"    // an approval refused (or superseded)
	ActionNarrative = "narrative" // a narrative written into the report
)

// GenesisHash is the prev_hash of the first row.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Schema creates the audit tables when they do not exist.
const Schema = `
create table if not exists audit_log (
	seq bigint primary key,
	"at" timestamptz not null,
	actor varchar not null,
	action varchar not null,
	target varchar,
	record_key varchar,
	payload_sha256 varchar,
	response varchar,
	source_run varchar,
	detail varchar,
	prev_hash varchar not null,
	hash varchar not null);
create schema if not exists meta;
create table if not exists meta.audit_head (id integer primary key, seq bigint, hash varchar, "at" timestamptz);
`

// Ensure creates the audit tables when they do not exist.
func Ensure(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, Schema); err != nil {
		return fmt.Errorf("audit: create tables: %w", err)
	}
	return nil
}

// Entry is what a caller records; Append fills in seq, at and the hashes.
type Entry struct {
	Actor     string // who: "revcast", or the person who decided an approval
	Action    string // one of the Action constants
	Target    string // the CRM (config source name), or "report" for narratives
	RecordKey string // the record: "Object:key", or the narrative's section
	// Payload is hashed into payload_sha256 (its bytes are not stored here); nil leaves
	// payload_sha256 empty.
	Payload   []byte
	Response  string         // what came back
	SourceRun string         // the run that produced the payload
	Detail    map[string]any // the rest of the why, stored as a JSON object
}

// Row is one stored audit_log row.
type Row struct {
	Seq           int64
	At            time.Time
	Actor         string
	Action        string
	Target        string
	RecordKey     string
	PayloadSHA256 string
	Response      string
	SourceRun     string
	Detail        string
	PrevHash      string
	Hash          string
}

// Canonical returns the canonical serialisation the row's hash is computed over (see the
// package documentation).
func (r Row) Canonical() []byte {
	b := make([]byte, 0, 512)
	b = append(b, '[')
	b = strconv.AppendInt(b, r.Seq, 10)
	for _, v := range [...]string{r.At.UTC().Format("2006-01-02T15:04:05.000000Z"), r.Actor, r.Action, r.Target,
		r.RecordKey, r.PayloadSHA256, r.Response, r.SourceRun, r.Detail, r.PrevHash} {
		b = append(b, ',')
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

// appendJSONString appends s as encoding/json encodes a string. Strings of plain
// printable ASCII without a quote, a backslash or one of <, >, & (which encoding/json
// escapes for HTML) are copied between quotes; any other goes through json.Marshal. Every
// write-back row hashes eleven strings, almost all plain: json.Marshal of the row as a
// []any was 1.1 of the 25 CPU-s a large first write-back spent logging.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, err := json.Marshal(s)
			if err != nil {
				panic(err) // a string always marshals
			}
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// ComputeHash returns hex(SHA-256(Canonical())).
func (r Row) ComputeHash() string {
	sum := sha256.Sum256(r.Canonical())
	return hex.EncodeToString(sum[:])
}

// SHA256 returns the hex SHA-256 of b, the form of payload_sha256.
func SHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Log appends to the audit log of a warehouse.
type Log struct {
	DB *sql.DB
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Append records entries in one transaction, chained after the newest row, and returns
// the stored rows.
func (l *Log) Append(ctx context.Context, entries ...Entry) ([]Row, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	tx, err := duckx.Begin(ctx, l.DB)
	if err != nil {
		return nil, fmt.Errorf("audit: begin: %w", err)
	}
	defer tx.Rollback()
	rows, err := AppendTx(ctx, tx, l.now(), entries...)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("audit: commit: %w", err)
	}
	return rows, nil
}

func (l *Log) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// head returns the newest row's seq and hash (0 and GenesisHash for an empty log) from
// meta.audit_head, which every append keeps, in constant time. A missing head over a
// non-empty log, or rows after the head, mean the log was changed outside revcast: head
// refuses to chain after it (Verify says what changed) rather than hide the change.
func head(ctx context.Context, tx *duckx.Tx) (int64, string, error) {
	var seq int64
	hash := GenesisHash
	err := tx.QueryRowContext(ctx, `select seq, hash from meta.audit_head where id = 1`).Scan(&seq, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("audit: read the head: %w", err)
	}
	// Rows past the head: a point lookup on the primary key when the head exists.
	var after int64
	if err := tx.QueryRowContext(ctx, `select count(*) from (select 1 from audit_log where seq > ? limit 1)`, seq).Scan(&after); err != nil {
		return 0, "", fmt.Errorf("audit: read the log after the head: %w", err)
	}
	if after > 0 {
		return 0, "", fmt.Errorf("audit: audit_log has rows after the recorded head (seq %d) in meta.audit_head: the log was changed outside revcast; run 'revcast audit verify' to see what changed", seq)
	}
	return seq, hash, nil
}

// marshalDetail encodes d as json.Marshal does (keys sorted). Details of strings,
// integers and string lists, which are what revcast records, are written directly: a
// large write-back logs half a million of them, and encoding/json's reflection over the
// map was 2 s of its CPU. A detail holding any other value goes through json.Marshal.
func marshalDetail(d map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(d))
	for k, v := range d {
		switch v.(type) {
		case string, int, int64, []string:
		default:
			return json.Marshal(d)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, 256)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		switch v := d[k].(type) {
		case string:
			b = appendJSONString(b, v)
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		case []string:
			if v == nil {
				b = append(b, "null"...)
				break
			}
			b = append(b, '[')
			for j, x := range v {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, x)
			}
			b = append(b, ']')
		}
	}
	return append(b, '}'), nil
}

// AppendTx records entries inside the caller's transaction (so a write and its audit rows
// commit together), stamped at. Rows go in through DuckDB's appender: a write-back run
// appends one row per record written, hundreds of thousands on a first run.
func AppendTx(ctx context.Context, tx *duckx.Tx, at time.Time, entries ...Entry) ([]Row, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	seq, prev, err := head(ctx, tx)
	if err != nil {
		return nil, err
	}
	at = at.UTC().Truncate(time.Microsecond)
	out := make([]Row, 0, len(entries))
	for _, e := range entries {
		detail := ""
		if len(e.Detail) > 0 {
			b, err := marshalDetail(e.Detail)
			if err != nil {
				return nil, fmt.Errorf("audit: detail of %s %s: %w", e.Action, e.RecordKey, err)
			}
			detail = string(b)
		}
		payload := ""
		if e.Payload != nil {
			payload = SHA256(e.Payload)
		}
		seq++
		r := Row{Seq: seq, At: at, Actor: e.Actor, Action: e.Action, Target: e.Target, RecordKey: e.RecordKey,
			PayloadSHA256: payload, Response: e.Response, SourceRun: e.SourceRun, Detail: detail, PrevHash: prev}
		r.Hash = r.ComputeHash()
		prev = r.Hash
		out = append(out, r)
	}
	// Values in the column order of Schema.
	err = tx.Append("main", "audit_log", len(out), func(i int) ([]driver.Value, error) {
		r := &out[i]
		return []driver.Value{r.Seq, r.At, r.Actor, r.Action, r.Target, r.RecordKey, r.PayloadSHA256, r.Response, r.SourceRun,
			r.Detail, r.PrevHash, r.Hash}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit: append seq %d-%d: %w", out[0].Seq, out[len(out)-1].Seq, err)
	}
	last := out[len(out)-1]
	if _, err := tx.ExecContext(ctx, `insert or replace into meta.audit_head (id, seq, hash, "at") values (1, ?, ?, ?)`,
		last.Seq, last.Hash, last.At); err != nil {
		return nil, fmt.Errorf("audit: update the head: %w", err)
	}
	return out, nil
}

// Narrative is one narrative revcast put into a report.
type Narrative struct {
	RunID         string // the forecast run the report describes
	Section       string // the report section
	Text          string // the narrative as published
	Source        string // "llm" or "template"
	Model         string // the LLM model, when Source is llm
	PromptVersion string
	// Facts are the numbers the narrative was checked against (hashed into the detail).
	Facts []byte
	// RecordIDs are the warehouse records the narrative speaks about, if any.
	RecordIDs []string
}

// RecordNarrative appends one narrative row: payload_sha256 is the hash of the text,
// response says how it was written (source and model), detail carries the prompt version,
// the facts' hash and the record ids. The report calls it for every narrative it
// publishes.
func (l *Log) RecordNarrative(ctx context.Context, n Narrative) (Row, error) {
	detail := map[string]any{"prompt_version": n.PromptVersion}
	if n.Facts != nil {
		detail["facts_sha256"] = SHA256(n.Facts)
	}
	if len(n.RecordIDs) > 0 {
		detail["record_ids"] = n.RecordIDs
	}
	resp := n.Source
	if n.Model != "" {
		resp += " " + n.Model
	}
	rows, err := l.Append(ctx, Entry{Actor: "revcast", Action: ActionNarrative, Target: "report", RecordKey: n.Section,
		Payload: []byte(n.Text), Response: resp, SourceRun: n.RunID, Detail: detail})
	if err != nil {
		return Row{}, err
	}
	return rows[0], nil
}
