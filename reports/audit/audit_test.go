package audit_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/revcast/revcast/reports/audit"
)

// mustLog opens a fresh warehouse file with five audit rows (seq 1-5).
func mustLog(t *testing.T) (*sql.DB, *audit.Log) {
	t.Helper()
	db, err := sql.Open("duckdb", filepath.Join(t.TempDir(), "w.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if err := audit.Ensure(ctx, db); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 6, 30, 6, 0, 0, 123456789, time.UTC)
	l := &audit.Log{DB: db, Now: func() time.Time { clock = clock.Add(time.Second); return clock }}
	for i, key := range []string{"Revenue_Forecast__c:a", "Revenue_Forecast__c:b"} {
		if _, err := l.Append(ctx, audit.Entry{Actor: "revcast", Action: audit.ActionWrite, Target: "salesforce", RecordKey: key,
			Payload: []byte(`{"x":` + string(rune('1'+i)) + `}`), Response: "ok: created", SourceRun: "run1",
			Detail: map[string]any{"attempt": 1}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Append(ctx,
		audit.Entry{Actor: "alice", Action: audit.ActionApprove, Target: "salesforce", RecordKey: "Opportunity:006", Payload: []byte("{}"), Response: "approved"},
		audit.Entry{Actor: "revcast", Action: audit.ActionWrite, Target: "salesforce", RecordKey: "Opportunity:006", Payload: []byte("{}"), Response: "ok: updated"},
	); err != nil {
		t.Fatal(err)
	}
	row, err := l.RecordNarrative(ctx, audit.Narrative{RunID: "run1", Section: "forecast", Text: "Bookings 4.1M.", Source: "template", PromptVersion: "v3", Facts: []byte(`{"b":4.1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if row.Seq != 5 || row.Action != audit.ActionNarrative || !strings.Contains(row.Detail, "facts_sha256") {
		t.Fatalf("narrative row = %+v", row)
	}
	return db, l
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestAuditVerify(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		tamper   func(t *testing.T, db *sql.DB)
		firstBad int64
		problem  string
	}{
		{"intact", func(*testing.T, *sql.DB) {}, 0, ""},
		{"edited row", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `update audit_log set response = 'ok: nothing to see' where seq = 3`)
		}, 3, "edited"},
		{"edited row with its hash recomputed", func(t *testing.T, db *sql.DB) {
			r := readRow(t, db, 3)
			r.Actor = "mallory"
			r.Hash = r.ComputeHash()
			mustExec(t, db, `update audit_log set actor = ?, hash = ? where seq = 3`, r.Actor, r.Hash)
		}, 4, "prev_hash"},
		{"deleted row", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `delete from audit_log where seq = 2`)
		}, 2, "missing"},
		{"deleted newest row", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `delete from audit_log where seq = 5`)
		}, 5, "newest rows were deleted"},
		{"reordered rows", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `update audit_log set seq = -1 where seq = 2`)
			mustExec(t, db, `update audit_log set seq = 2 where seq = 3`)
			mustExec(t, db, `update audit_log set seq = 3 where seq = -1`)
		}, 2, ""},
		{"inserted row with a taken seq", func(t *testing.T, db *sql.DB) {
			// The primary key refuses a second seq 3: copy the table without it first.
			mustExec(t, db, `create table audit_copy as select * from audit_log`)
			mustExec(t, db, `drop table audit_log`)
			mustExec(t, db, `alter table audit_copy rename to audit_log`)
			r := readRow(t, db, 3)
			r.RecordKey = "Opportunity:forged"
			r.Hash = r.ComputeHash()
			mustExec(t, db, `insert into audit_log select seq, "at", actor, action, target, ?, payload_sha256, response, source_run, detail, prev_hash, ? from audit_log where seq = 3`,
				r.RecordKey, r.Hash)
		}, 3, ""},
		{"inserted row in the middle, later rows renumbered", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `update audit_log set seq = seq + 10 where seq >= 3`)
			mustExec(t, db, `update audit_log set seq = seq - 9 where seq >= 13`)
			r := readRow(t, db, 2)
			r.Seq, r.RecordKey, r.PrevHash = 3, "Opportunity:forged", r.Hash
			r.Hash = r.ComputeHash()
			mustExec(t, db, `insert into audit_log select 3, "at", actor, action, target, ?, payload_sha256, response, source_run, detail, ?, ? from audit_log where seq = 2`,
				r.RecordKey, r.PrevHash, r.Hash)
		}, 4, ""},
		{"appended row outside revcast", func(t *testing.T, db *sql.DB) {
			r := readRow(t, db, 5)
			r.Seq, r.PrevHash, r.RecordKey = 6, r.Hash, "Opportunity:forged"
			r.Hash = r.ComputeHash()
			mustExec(t, db, `insert into audit_log select 6, "at", actor, action, target, ?, payload_sha256, response, source_run, detail, ?, ? from audit_log where seq = 5`,
				r.RecordKey, r.PrevHash, r.Hash)
		}, 6, "outside revcast"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := mustLog(t)
			tc.tamper(t, db)
			res, err := audit.Verify(ctx, db, audit.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.firstBad == 0 {
				if !res.OK || res.Rows != 5 || res.LastSeq != 5 {
					t.Fatalf("intact log: %+v", res)
				}
				return
			}
			if res.OK {
				t.Fatalf("tampering not detected: %+v", res)
			}
			if res.FirstBad != tc.firstBad || !strings.Contains(res.Problem, tc.problem) {
				t.Errorf("first bad seq %d (%s), want %d (%q)", res.FirstBad, res.Problem, tc.firstBad, tc.problem)
			}
		})
	}
}

// TestAuditVerify_Head: a head noted outside the warehouse catches a tail rewritten
// together with meta.audit_head.
func TestAuditVerify_Head(t *testing.T) {
	ctx := context.Background()
	db, _ := mustLog(t)
	res, err := audit.Verify(ctx, db, audit.VerifyOptions{})
	if err != nil || !res.OK {
		t.Fatalf("%+v %v", res, err)
	}
	noted := res.Head
	mustExec(t, db, `delete from audit_log where seq = 5`)
	r := readRow(t, db, 4)
	mustExec(t, db, `update meta.audit_head set seq = 4, hash = ?`, r.Hash)
	if res, _ := audit.Verify(ctx, db, audit.VerifyOptions{}); !res.OK {
		t.Fatalf("without the noted head the rewrite is invisible, got %+v", res)
	}
	res, err = audit.Verify(ctx, db, audit.VerifyOptions{Head: noted})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || !strings.Contains(res.Problem, "expected head") {
		t.Fatalf("rewritten tail not detected with --head: %+v", res)
	}
}

func readRow(t *testing.T, db *sql.DB, seq int64) audit.Row {
	t.Helper()
	var r audit.Row
	err := db.QueryRow(`select seq, "at", actor, action, target, record_key, payload_sha256, response, source_run, detail, prev_hash, hash
		from audit_log where seq = ?`, seq).Scan(&r.Seq, &r.At, &r.Actor, &r.Action, &r.Target, &r.RecordKey, &r.PayloadSHA256,
		&r.Response, &r.SourceRun, &r.Detail, &r.PrevHash, &r.Hash)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAppendRefusesTamperedTail: an append never chains after a log changed outside
// revcast (rows past the recorded head, or a head deleted over a non-empty log), so the
// change stays visible to Verify instead of being sealed under a new head.
func TestAppendRefusesTamperedTail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper []string
	}{
		{"row past the head", []string{`insert into audit_log select seq + 1, "at", actor, action, target, record_key, payload_sha256,
			response, source_run, detail, hash, hash from audit_log where seq = 5`}},
		{"head deleted", []string{`delete from audit_log where seq >= 4`, `delete from meta.audit_head`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, l := mustLog(t)
			for _, q := range tc.tamper {
				mustExec(t, db, q)
			}
			_, err := l.Append(context.Background(), audit.Entry{Actor: "revcast", Action: audit.ActionWrite, RecordKey: "x"})
			if err == nil || !strings.Contains(err.Error(), "revcast audit verify") {
				t.Fatalf("append after tampering: err = %v, want a refusal naming 'revcast audit verify'", err)
			}
		})
	}
}

// TestRow_Canonical: the canonical form is encoding/json's encoding of the row as an
// array, byte for byte (hashes stored by earlier versions must still verify), for plain
// strings and for every kind encoding/json escapes.
func TestRow_Canonical(t *testing.T) {
	at := time.Date(2026, 6, 30, 6, 0, 0, 123456789, time.FixedZone("CEST", 7200))
	for _, s := range []string{
		"", "plain text: ok, updated 006000000001234AAA", "quote \" only", `backslash \ only`, "a < b", "a > b", "R & D", "<b>&amp;</b>",
		"tab\tnewline\ncontrol\x01", "del\x7f", "café ü 日本", "line\u2028separator\u2029", "bad utf-8 \xff\xfe",
		`{"action":"update","key":"006000000001234AAA","run_id":"20261128T154956Z-b58375"}`,
	} {
		r := audit.Row{Seq: 42, At: at, Actor: "revcast", Action: s, Target: "salesforce", RecordKey: "Opportunity:" + s,
			PayloadSHA256: strings.Repeat("ab", 32), Response: s, SourceRun: "run", Detail: s, PrevHash: strings.Repeat("0", 64)}
		want, err := json.Marshal([]any{r.Seq, r.At.UTC().Format("2006-01-02T15:04:05.000000Z"), r.Actor, r.Action, r.Target,
			r.RecordKey, r.PayloadSHA256, r.Response, r.SourceRun, r.Detail, r.PrevHash})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Canonical(); string(got) != string(want) {
			t.Errorf("Canonical with %q:\n got %s\nwant %s", s, got, want)
		}
	}
}

// TestMarshalDetail: details are encoded as encoding/json encodes the map, byte for byte,
// on the direct path (strings, integers, string lists) and through the fallback.
func TestMarshalDetail(t *testing.T) {
	for _, d := range []map[string]any{
		{"run_id": "20261128T154956Z-b58375", "object": "Opportunity", "key": "006000000001234AAA", "action": "update",
			"workflow": "opportunities", "kind": "", "reason": "win probability <moved> & \"flags\"", "attempt": 2,
			"approval_id": int64(-7), "source_ids": []string{"SO-1", "a\\b", "café\n"}},
		{"b": "x", "a": "y", "a<b": "z", "\u2028": "\xff"},
		{"empty": []string{}, "none": []string(nil)},
		{"n": 1 << 62, "m": int64(-1 << 63)},
		{"f": 0.5, "s": "fallback for a float"},
		{"nested": map[string]any{"x": 1}, "b": true},
	} {
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := audit.MarshalDetail(d)
		if err != nil || string(got) != string(want) {
			t.Errorf("MarshalDetail(%v):\n got %s (%v)\nwant %s", d, got, err, want)
		}
	}
}
