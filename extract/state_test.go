package extract

import (
	"encoding/json"
	"testing"
)

// TestState_CursorRoundTripsCompact: the state file is indented, but the cursor a later run
// compares against must come back byte-identical to what the connector emitted, or every
// unchanged stream would rewrite its state on every run.
func TestState_CursorRoundTripsCompact(t *testing.T) {
	dir := t.TempDir()
	cursor := json.RawMessage(`{"ts":"2026-05-20T20:49:32Z","ids":["a","b"],"n":3}`)
	if err := saveState(StatePath(dir, "src", "s"), "s", State{Cursor: cursor, Seq: 4}, nil); err != nil {
		t.Fatal(err)
	}
	st, err := LoadState(dir, "src", "s")
	if err != nil {
		t.Fatal(err)
	}
	if string(st.Cursor) != string(cursor) || st.Seq != 4 {
		t.Fatalf("loaded cursor %s seq %d, want %s seq 4", st.Cursor, st.Seq, cursor)
	}
}
