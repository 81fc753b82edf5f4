package extract_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/internal/laketest"
)

// step is one batch a fakeSource returns.
type step struct {
	rows    int
	cursor  string // "" sends a nil cursor
	deleted []string
	rejects int
	err     error  // returned instead of a batch
	hook    func() // runs before the step is returned
}

// fakeSource serves scripted batches of a tiny table (id string required, n int64).
type fakeSource struct {
	steps map[string][]step
	order []string
	ids   int
}

var fakeCols = []revcast.Column{
	{Name: "id", Type: revcast.String, Required: true},
	{Name: "n", Type: revcast.Int64},
}

func (f *fakeSource) Init() error { return nil }

func (f *fakeSource) Streams(context.Context) ([]extract.Stream, error) {
	var out []extract.Stream
	for _, n := range f.order {
		out = append(out, extract.Stream{Name: n, Schema: extract.SchemaForColumns("", fakeCols), Key: []string{"id"}})
	}
	return out, nil
}

func (f *fakeSource) Read(_ context.Context, s extract.Stream, _ json.RawMessage) (extract.Reader, error) {
	return &fakeReader{src: f, stream: s.Name, steps: f.steps[s.Name]}, nil
}

type fakeReader struct {
	src    *fakeSource
	stream string
	steps  []step
	i      int
}

func (r *fakeReader) Next(context.Context) (extract.Batch, error) {
	if r.i == len(r.steps) {
		return extract.Batch{}, io.EOF
	}
	s := r.steps[r.i]
	r.i++
	if s.hook != nil {
		s.hook()
	}
	if s.err != nil {
		return extract.Batch{}, s.err
	}
	var b extract.Batch
	if s.cursor != "" {
		b.Cursor = json.RawMessage(`"` + s.cursor + `"`)
	}
	if s.rows > 0 {
		rb := extract.NewRowBuilder(nil, "", fakeCols, extract.Parser{})
		for range s.rows {
			r.src.ids++
			rb.SetString(0, fmt.Sprintf("%s-%d", r.stream, r.src.ids))
			rb.SetInt64(1, int64(r.src.ids))
			if err := rb.EndRow(); err != nil {
				panic(err)
			}
		}
		b.Record = rb.NewRecord()
		rb.Release()
	}
	b.Deleted = s.deleted
	for i := range s.rejects {
		b.Rejects = append(b.Rejects, extract.Reject{Line: int64(i + 1), Field: "n", Reason: "bad", Raw: "x,y"})
	}
	return b, nil
}

func (r *fakeReader) Close() error { return nil }

var testNow = time.Date(2026, 5, 27, 14, 15, 3, 0, time.UTC)

func newRunner(dir string, run string, partRows int64) *extract.Runner {
	return &extract.Runner{DataDir: dir, RunID: revcast.RunID(run), Now: func() time.Time { return testNow },
		PartRows: partRows, CommitInterval: -1}
}

func mustState(t *testing.T, dir, stream string) extract.State {
	t.Helper()
	st, err := extract.LoadState(dir, "src", stream)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func assertClean(t *testing.T, dir, stream string) {
	t.Helper()
	if tmp := laketest.Temps(t, dir); len(tmp) > 0 {
		t.Errorf("temp files left: %v", tmp)
	}
	for _, del := range []bool{false, true} {
		if o := laketest.Orphans(t, dir, "src", stream, del); len(o) > 0 {
			t.Errorf("uncommitted parts left: %v", o)
		}
	}
}

func TestRunner_CommitRules(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name       string
		partRows   int64
		steps      []step
		wantRows   int64 // committed rows, and rows on disk
		wantFiles  int
		wantCursor string // "" for no saved cursor
		wantErr    bool
	}{
		{"one part for small batches", 1000,
			[]step{{rows: 10, cursor: "c1"}, {rows: 10, cursor: "c2"}, {rows: 10, cursor: "c3"}},
			30, 1, `"c3"`, false},
		{"commit when part is full at an advance", 20,
			[]step{{rows: 10, cursor: "c1"}, {rows: 10, cursor: "c2"}, {rows: 10, cursor: "c3"}, {rows: 10, cursor: "c4"}, {rows: 5, cursor: "c5"}},
			45, 3, `"c5"`, false},
		{"a unit without advance spans parts, committed at its end", 10,
			[]step{{rows: 10}, {rows: 10}, {rows: 10, cursor: "c1"}},
			30, 3, `"c1"`, false},
		{"equal cursor does not advance", 10,
			[]step{{rows: 10, cursor: "c1"}, {rows: 10, cursor: "c1"}, {rows: 10, cursor: "c1"}, {rows: 10, cursor: "c2"}},
			40, 4, `"c2"`, false},
		{"error mid-unit discards the unit's parts", 10,
			[]step{{rows: 10, cursor: "c1"}, {rows: 10}, {rows: 10}, {err: boom}},
			10, 1, `"c1"`, true},
		{"error at a boundary commits what is covered", 1000,
			[]step{{rows: 10, cursor: "c1"}, {rows: 10, cursor: "c2"}, {err: boom}},
			20, 1, `"c2"`, true},
		{"error before any advance saves nothing", 1000,
			[]step{{rows: 10}, {err: boom}},
			0, 0, "", true},
		{"cursor-only batch is saved", 1000,
			[]step{{cursor: "c1"}},
			0, 0, `"c1"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			src := &fakeSource{steps: map[string][]step{"s": tt.steps}, order: []string{"s"}}
			res, err := newRunner(dir, "r1", tt.partRows).Extract(context.Background(), "src", src, extract.ExtractOptions{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, boom) {
				t.Errorf("err = %v, want it to wrap the reader's error", err)
			}
			sr := res.Streams[0]
			if sr.Rows != tt.wantRows || sr.Files != tt.wantFiles {
				t.Errorf("result rows=%d files=%d, want %d and %d", sr.Rows, sr.Files, tt.wantRows, tt.wantFiles)
			}
			files := laketest.Files(t, dir, "src", "s")
			if len(files) != tt.wantFiles {
				t.Errorf("files on disk = %v, want %d", files, tt.wantFiles)
			}
			if ids := laketest.Column(t, "id", files...); int64(len(ids)) != tt.wantRows {
				t.Errorf("rows on disk = %d, want %d", len(ids), tt.wantRows)
			}
			st := mustState(t, dir, "s")
			if string(st.Cursor) != tt.wantCursor {
				t.Errorf("saved cursor = %s, want %s", st.Cursor, tt.wantCursor)
			}
			if st.Seq != int64(tt.wantFiles) {
				t.Errorf("saved seq = %d, want %d", st.Seq, tt.wantFiles)
			}
			assertClean(t, dir, "s")
		})
	}
}

func TestRunner_LayoutAndMetadata(t *testing.T) {
	dir := t.TempDir()
	src := &fakeSource{steps: map[string][]step{"s": {{rows: 3, cursor: "c1"}}}, order: []string{"s"}}
	res, err := newRunner(dir, "20260527T141503Z-abc123", 0).Extract(context.Background(), "src", src, extract.ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "lake", "src", "s", "dt=2026-05-27", "20260527T141503Z-abc123-000001.parquet")
	laketest.MustExist(t, want)
	meta := laketest.Meta(t, want)
	for k, v := range map[string]string{
		extract.MetaSource: "src", extract.MetaStream: "s", extract.MetaRunID: "20260527T141503Z-abc123",
		extract.MetaSeq: "1", extract.MetaCursor: `"c1"`, extract.MetaRows: "3", extract.MetaLandedAt: "2026-05-27T14:15:03.000000Z",
	} {
		if meta[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, meta[k], v)
		}
	}
	fi, _ := os.Stat(want)
	if sr := res.Streams[0]; sr.Bytes != fi.Size() || sr.Incremental {
		t.Errorf("bytes = %d (file %d), incremental = %v", sr.Bytes, fi.Size(), sr.Incremental)
	}
	// Second run: resumes from the cursor and numbers parts on.
	src.steps["s"] = []step{{rows: 2, cursor: "c2"}}
	res, err = newRunner(dir, "r2", 0).Extract(context.Background(), "src", src, extract.ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Streams[0].Incremental {
		t.Error("second run should be incremental")
	}
	laketest.MustExist(t, filepath.Join(dir, "lake", "src", "s", "dt=2026-05-27", "r2-000002.parquet"))
}

func TestRunner_DeletedKeys(t *testing.T) {
	dir := t.TempDir()
	src := &fakeSource{steps: map[string][]step{"s": {
		{rows: 5, deleted: []string{"a", "b"}, cursor: "c1"},
		{deleted: []string{"c"}, cursor: "c2"},
	}}, order: []string{"s"}}
	res, err := newRunner(dir, "r1", 0).Extract(context.Background(), "src", src, extract.ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sr := res.Streams[0]
	if sr.Rows != 5 || sr.Deleted != 3 || sr.Files != 2 {
		t.Errorf("rows=%d deleted=%d files=%d, want 5, 3, 2", sr.Rows, sr.Deleted, sr.Files)
	}
	files := laketest.Files(t, dir, "src", "s"+extract.DeletedSuffix)
	rows := laketest.Rows(t, files...)
	if len(rows) != 3 || rows[0]["key"] != "a" || rows[2]["key"] != "c" || rows[0]["deleted_at"] != "2026-05-27T14:15:03Z" {
		t.Errorf("tombstones = %v", rows)
	}
	if st := mustState(t, dir, "s"); st.DeletedSeq != 1 || st.Seq != 1 {
		t.Errorf("state seq=%d deleted_seq=%d", st.Seq, st.DeletedSeq)
	}
	assertClean(t, dir, "s")
}

func TestRunner_RemovesOrphansOnStart(t *testing.T) {
	dir := t.TempDir()
	src := &fakeSource{steps: map[string][]step{"s": {{rows: 4, cursor: "c1"}}}, order: []string{"s"}}
	if _, err := newRunner(dir, "r1", 0).Extract(context.Background(), "src", src, extract.ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	dt := filepath.Join(dir, "lake", "src", "s", "dt=2026-05-27")
	kept := filepath.Join(dt, "r1-000001.parquet")
	planted := map[string]bool{ // path → should survive
		filepath.Join(dt, ".r0-000002.parquet.tmp"):                                  false, // half-written part
		filepath.Join(dt, "r0-000002.parquet"):                                       false, // renamed, state never saved
		filepath.Join(dir, "lake", "src", "s", "dt=2026-05-26", "r0-000003.parquet"): false,
		filepath.Join(dir, "state", "src", ".s.json.123.tmp"):                        false, // state temp
		filepath.Join(dt, "notes.txt"):                                               true,  // not ours
		kept:                                                                         true,
	}
	for p := range planted {
		if p == kept {
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src.steps["s"] = nil // nothing new
	res, err := newRunner(dir, "r2", 0).Extract(context.Background(), "src", src, extract.ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for p, survive := range planted {
		_, err := os.Stat(p)
		if exists := err == nil; exists != survive {
			t.Errorf("%s: exists=%v, want %v", p, exists, survive)
		}
	}
	if res.Streams[0].Rows != 0 || res.Streams[0].Files != 0 {
		t.Errorf("nothing new should land: %+v", res.Streams[0])
	}
}

// cancelAt is a Progress that cancels the run once rows have been written, i.e. in the
// middle of landing, deterministically (the reader runs one batch ahead, so cancelling
// from inside the reader would race with the landing loop).
type cancelAt struct {
	rows   int64
	cancel context.CancelFunc
	seen   int64
}

func (c *cancelAt) Add(_, _ string, rows int64) {
	if c.seen += rows; c.seen >= c.rows {
		c.cancel()
	}
}
func (c *cancelAt) Done(string, string, extract.StreamResult) {}

func TestRunner_Cancel(t *testing.T) {
	tests := []struct {
		name       string
		partRows   int64
		steps      []step
		wantRows   int64
		wantCursor string
	}{
		{"at a boundary commits", 0,
			[]step{{rows: 10, cursor: "c1"}, {rows: 10, cursor: "c2"}, {rows: 10, cursor: "c3"}}, 20, `"c2"`},
		{"mid-unit discards the unit", 5, // c1 is committed (its part is full) before the cancel
			[]step{{rows: 10, cursor: "c1"}, {rows: 10}, {rows: 10, cursor: "c2"}}, 10, `"c1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			src := &fakeSource{steps: map[string][]step{"s": tt.steps, "t": {{rows: 1, cursor: "x"}}}, order: []string{"s", "t"}}
			r := newRunner(dir, "r1", tt.partRows)
			r.Progress = &cancelAt{rows: 20, cancel: cancel}
			res, err := r.Extract(ctx, "src", src, extract.ExtractOptions{})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if len(res.Streams) != 1 || res.Streams[0].Rows != tt.wantRows {
				t.Fatalf("streams = %+v, want only s with %d rows", res.Streams, tt.wantRows)
			}
			if n := int64(len(laketest.Column(t, "id", laketest.Files(t, dir, "src", "s")...))); n != tt.wantRows {
				t.Errorf("rows on disk = %d, want %d", n, tt.wantRows)
			}
			if st := mustState(t, dir, "s"); string(st.Cursor) != tt.wantCursor {
				t.Errorf("cursor = %s, want %s", st.Cursor, tt.wantCursor)
			}
			assertClean(t, dir, "s")
		})
	}
}

func TestRunner_Rejects(t *testing.T) {
	dir := t.TempDir()
	src := &fakeSource{steps: map[string][]step{"s": {{rows: 2, rejects: 2}, {rejects: 1, cursor: "c1"}}}, order: []string{"s"}}
	res, err := newRunner(dir, "r1", 0).Extract(context.Background(), "src", src, extract.ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sr := res.Streams[0]
	if sr.Rejected != 3 || len(sr.Rejects) != 3 || res.Rejected() != 3 {
		t.Errorf("rejected = %d (%d samples)", sr.Rejected, len(sr.Rejects))
	}
	want := filepath.Join(dir, "rejects", "src", "s", "r1.csv")
	if sr.RejectsFile != want {
		t.Errorf("rejects file = %s, want %s", sr.RejectsFile, want)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != "line,field,reason,raw\n1,n,bad,\"x,y\"\n2,n,bad,\"x,y\"\n1,n,bad,\"x,y\"\n" {
		t.Errorf("rejects file:\n%s", got)
	}
}

func TestRunner_OneProcessPerSource(t *testing.T) {
	dir := t.TempDir()
	var inner error
	src := &fakeSource{order: []string{"s"}}
	src.steps = map[string][]step{"s": {{rows: 1, cursor: "c1", hook: func() {
		_, inner = newRunner(dir, "r2", 0).Extract(context.Background(), "src", &fakeSource{order: []string{"s"}}, extract.ExtractOptions{})
	}}}}
	if _, err := newRunner(dir, "r1", 0).Extract(context.Background(), "src", src, extract.ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	if inner == nil || !strings.Contains(inner.Error(), "another revcast process") {
		t.Errorf("concurrent extract: err = %v, want a lock error", inner)
	}
}

func TestRunner_SelectStreams(t *testing.T) {
	dir := t.TempDir()
	src := &fakeSource{steps: map[string][]step{"a": {{rows: 1, cursor: "1"}}, "b": {{rows: 2, cursor: "2"}}}, order: []string{"a", "b"}}
	res, err := newRunner(dir, "r1", 0).Extract(context.Background(), "src", src, extract.ExtractOptions{Streams: []string{"b"}})
	if err != nil || len(res.Streams) != 1 || res.Streams[0].Stream != "b" || res.Rows() != 2 {
		t.Fatalf("res = %+v, err = %v", res, err)
	}
	_, err = newRunner(dir, "r2", 0).Extract(context.Background(), "src", src, extract.ExtractOptions{Streams: []string{"nope"}})
	if revcast.ErrorCode(err) != revcast.EINVALID || !strings.Contains(err.Error(), "streams: a, b") {
		t.Errorf("unknown stream: err = %v", err)
	}
	_, err = newRunner(dir, "r3", 0).Extract(context.Background(), "../x", src, extract.ExtractOptions{})
	if revcast.ErrorCode(err) != revcast.EINVALID {
		t.Errorf("bad source name: err = %v", err)
	}
}

type recProgress struct {
	added map[string]int64
	done  []string
}

func (p *recProgress) Add(source, stream string, rows int64) { p.added[source+"/"+stream] += rows }
func (p *recProgress) Done(source, stream string, res extract.StreamResult) {
	p.done = append(p.done, fmt.Sprintf("%s/%s:%d", source, stream, res.Rows))
}

func TestRunner_Progress(t *testing.T) {
	dir := t.TempDir()
	p := &recProgress{added: map[string]int64{}}
	src := &fakeSource{steps: map[string][]step{"a": {{rows: 3}, {rows: 4, cursor: "1"}}}, order: []string{"a"}}
	r := newRunner(dir, "r1", 0)
	r.Progress = p
	if _, err := r.Extract(context.Background(), "src", src, extract.ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	if p.added["src/a"] != 7 || len(p.done) != 1 || p.done[0] != "src/a:7" {
		t.Errorf("progress added=%v done=%v", p.added, p.done)
	}
}
