package extract

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/internal/lockfile"
)

// Defaults of the Runner's tuning fields.
const (
	DefaultPartRows       = 256 << 10 // rows per part file before it is closed
	DefaultPartBytes      = 256 << 20 // in-memory Arrow bytes per part file before it is closed
	DefaultRowGroupRows   = 128 << 10 // rows per Parquet row group
	DefaultCommitInterval = time.Minute
	// DefaultCompressionLevel is the zstd level of landed files: 1 lands several times
	// faster than the library default (3) for files about 10% larger; the warehouse
	// re-compresses what it keeps.
	DefaultCompressionLevel = 1
	// MaxRejectSamples is how many rejects per stream a StreamResult keeps in memory; all of
	// them are written to the rejects file.
	MaxRejectSamples = 100
	// maxRejectLogs is how many rejects per stream are also logged (as warnings).
	maxRejectLogs = 5
)

// Progress receives progress from a Runner; the cmd layer renders it (a terminal bar or
// log lines). Methods are called from the goroutine running Extract; concurrent Extracts
// of different sources share one Progress, so implementations must be safe for concurrent
// use. A nil Progress is fine.
type Progress interface {
	// Add reports rows read and written to a part file of source's stream (not yet
	// committed: a failure may still discard them).
	Add(source, stream string, rows int64)
	// Done reports that a stream finished, successfully or not (res.Err).
	Done(source, stream string, res StreamResult)
}

// TraceEvent is one durability step of a Runner, reported synchronously to Runner.Trace.
type TraceEvent struct {
	Kind   string // one of the Trace* constants
	Stream string // lake folder name (stream or <stream>__deleted)
	Path   string
	Seq    int64
}

// Kinds of TraceEvent, in the order a commit goes through them.
const (
	TraceBatchWritten     = "batch-written"      // a record was appended to an open temp part
	TracePartRenamed      = "part-renamed"       // a part was closed, fsynced and renamed into place
	TraceStateTempWritten = "state-temp-written" // the new state is durable under a temp name
	TraceStateSaved       = "state-saved"        // the new state replaced the old one: committed
)

// ExtractOptions selects what Runner.Extract does.
type ExtractOptions struct {
	// Streams restricts extraction to these stream names; empty means all of the source's.
	Streams []string
	// Full ignores saved cursors and reads every stream from the beginning. Part numbers
	// keep increasing; the lake is append-only and the warehouse de-duplicates by key.
	Full bool
}

// Result is what one Extract did.
type Result struct {
	Source   string         // the source name given to Extract
	RunID    revcast.RunID  // the run that landed the files
	Streams  []StreamResult // one per stream attempted, in order
	Duration time.Duration  // wall time of Extract
}

// Rows is the total of rows landed across streams.
func (r Result) Rows() int64 {
	var n int64
	for _, s := range r.Streams {
		n += s.Rows
	}
	return n
}

// Rejected is the total of rejected source rows across streams.
func (r Result) Rejected() int64 {
	var n int64
	for _, s := range r.Streams {
		n += s.Rejected
	}
	return n
}

// StreamResult is what Extract did for one stream. Rows, Deleted, Files and Bytes count
// committed output only; rows of a run that failed after its last commit are not landed.
type StreamResult struct {
	Stream      string
	Incremental bool  // read from a saved cursor (not the first run and not Full)
	Rows        int64 // rows landed in the lake
	Deleted     int64 // tombstones landed in <stream>__deleted
	Rejected    int64 // source rows rejected (all of them are in RejectsFile)
	Rejects     []Reject
	RejectsFile string // <data_dir>/rejects/<source>/<stream>/<run-id>.csv, "" when none
	Files       int    // Parquet files landed (stream and tombstones)
	Bytes       int64  // their size on disk
	Duration    time.Duration
	Err         error // why the stream stopped early, nil on success
}

// Runner lands the batches of a Source in the lake and keeps cursor state, so that a
// crash at any point followed by a re-run loses nothing and lands nothing twice.
//
// Layout under DataDir:
//
//	lake/<source>/<stream>/dt=YYYY-MM-DD/<run-id>-<seq>.parquet   landed parts
//	lake/<source>/<stream>__deleted/dt=.../<run-id>-<seq>.parquet tombstones (key, deleted_at)
//	state/<source>/<stream>.json                                  cursor, seq, deleted_seq
//	rejects/<source>/<stream>/<run-id>.csv                        line,field,reason,raw
//
// dt is the UTC date of Now when Extract starts. Every part is written under a temp name
// (.<name>.tmp) in its final folder, fsynced, renamed and the folder fsynced. A part holds
// several batches (up to PartRows rows or PartBytes); a part, the files of a schema change
// and everything pending are committed together by one atomic state save, which records
// the cursor and the highest part number (seq). On start, temp files and parts numbered
// above the committed seq are deleted: they belong to an interrupted run whose cursor was
// never saved, so the re-run reads those rows again.
//
// Cursor contract (see Batch): a batch whose Cursor is nil or byte-equal to the previous
// cursor does not advance it; rows are committed only at a batch that advances it (or at
// io.EOF, with the last cursor). Parts filled between two advances are renamed into place
// but stay uncommitted, so a crash mid-unit (a large file, a paged query) discards them.
// Commits happen at an advancing batch once PartRows/PartBytes are pending or
// CommitInterval has passed, and at the end of the stream.
//
// Transform gets the landing date and run from the path (dt=…, <run-id>) and the footer
// metadata (Meta* keys); no _landed_at column is added, so landed files have exactly the
// stream's schema.
//
// Cancel ctx (SIGINT/SIGTERM) to stop: the Runner finishes the batch in hand, commits if
// the cursor is at a unit boundary, otherwise discards the uncommitted parts, and returns
// an error wrapping ctx.Err(). One process at a time may extract a given source: a lock
// file (state/<source>/.lock) makes a second one fail fast.
type Runner struct {
	DataDir  string
	RunID    revcast.RunID    // names the part and reject files; NewRunID(Now()) if empty
	Now      func() time.Time // time.Now if nil
	Logger   *slog.Logger     // discarded if nil
	Progress Progress         // optional

	PartRows         int64         // DefaultPartRows if 0
	PartBytes        int64         // DefaultPartBytes if 0
	RowGroupRows     int64         // DefaultRowGroupRows if 0
	CommitInterval   time.Duration // DefaultCommitInterval if 0; negative: only size and end commit
	CompressionLevel int           // zstd level, DefaultCompressionLevel if 0
	// Trace, if set, is called at each durability step. Tests use it to stop the process
	// at an exact point; it may also feed debug logging.
	Trace func(TraceEvent)

	runID revcast.RunID
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (r *Runner) trace(ev TraceEvent) {
	if r.Trace != nil {
		r.Trace(ev)
	}
}

func (r *Runner) partRows() int64 {
	if r.PartRows > 0 {
		return r.PartRows
	}
	return DefaultPartRows
}

func (r *Runner) partBytes() int64 {
	if r.PartBytes > 0 {
		return r.PartBytes
	}
	return DefaultPartBytes
}

func (r *Runner) commitInterval() time.Duration {
	if r.CommitInterval != 0 {
		return r.CommitInterval
	}
	return DefaultCommitInterval
}

// writerProps returns the Parquet settings of a part with the given schema: zstd, row
// groups of RowGroupRows, decimals as INT64, and dictionary encoding only where values
// repeat (not on key, timestamp or decimal columns, which are nearly unique: building a
// dictionary for them costs time and then falls back to plain encoding anyway).
func (r *Runner) writerProps(schema *arrow.Schema, keys []string) *parquet.WriterProperties {
	rg := r.RowGroupRows
	if rg <= 0 {
		rg = DefaultRowGroupRows
	}
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(r.compressionLevel()),
		parquet.WithMaxRowGroupLength(rg),
		parquet.WithDictionaryDefault(true),
		parquet.WithDictionaryPageSizeLimit(dictionaryPageLimit),
		parquet.WithStoreDecimalAsInteger(true),
		parquet.WithAllocator(memory.DefaultAllocator),
	}
	for _, f := range schema.Fields() {
		switch f.Type.ID() {
		case arrow.TIMESTAMP, arrow.DECIMAL128, arrow.FLOAT64:
			opts = append(opts, parquet.WithDictionaryFor(f.Name, false))
			continue
		}
		if slices.Contains(keys, f.Name) {
			opts = append(opts, parquet.WithDictionaryFor(f.Name, false))
		}
	}
	return parquet.NewWriterProperties(opts...)
}

// dictionaryPageLimit caps a column chunk's dictionary: columns that repeat (stage,
// currency, account ids) fit far below it, unique-ish text (names, subjects) outgrows it
// early and falls back to plain encoding instead of hashing every value of the chunk.
const dictionaryPageLimit = 128 << 10

func (r *Runner) compressionLevel() int {
	if r.CompressionLevel != 0 {
		return r.CompressionLevel
	}
	return DefaultCompressionLevel
}

// validName accepts the names used as path components: no separators, no leading dot.
func validName(s string) bool {
	return s != "" && !strings.ContainsAny(s, `/\:`+"\x00") && !strings.HasPrefix(s, ".")
}

// Extract reads the selected streams of src, the source configured as sourceName, and
// lands them (see Runner). Streams are extracted one after another; a failing stream does
// not stop the others (its StreamResult.Err is set and the returned error joins them all),
// but a cancelled ctx does. The Result is valid even when err is not nil.
func (r *Runner) Extract(ctx context.Context, sourceName string, src Source, opts ExtractOptions) (Result, error) {
	start := time.Now()
	res := Result{Source: sourceName}
	if !validName(sourceName) {
		return res, revcast.Errorf(revcast.EINVALID, "extract: source name %q cannot be used as a folder name", sourceName)
	}
	if r.DataDir == "" {
		return res, revcast.Errorf(revcast.EINVALID, "extract: data_dir is not set")
	}
	startAt := r.now().UTC()
	run := *r // per-call copy: a Runner may serve concurrent Extracts of different sources
	run.runID = r.RunID
	if run.runID == "" {
		run.runID = revcast.NewRunID(startAt)
	}
	res.RunID = run.runID
	if !validName(string(run.runID)) {
		return res, revcast.Errorf(revcast.EINVALID, "extract: run id %q cannot be used in a file name", run.runID)
	}
	return run.extract(ctx, sourceName, src, opts, res, start, startAt)
}

func (r *Runner) extract(ctx context.Context, sourceName string, src Source, opts ExtractOptions, res Result, start, startAt time.Time) (Result, error) {

	stateDir := filepath.Join(r.DataDir, "state", sourceName)
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return res, fmt.Errorf("extract %s: %w", sourceName, err)
	}
	unlock, err := lockfile.Lock(filepath.Join(stateDir, ".lock"), "extracting this source")
	if err != nil {
		return res, fmt.Errorf("extract %s: %w", sourceName, err)
	}
	defer unlock()
	if err := cleanStateTemps(stateDir); err != nil {
		return res, fmt.Errorf("extract %s: %w", sourceName, err)
	}

	all, err := src.Streams(ctx)
	if err != nil {
		return res, fmt.Errorf("%s: list streams: %w", sourceName, err)
	}
	streams, err := selectStreams(sourceName, all, opts.Streams)
	if err != nil {
		return res, err
	}
	var errs []error
	for _, st := range streams {
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("%s: stopped before %s: %w", sourceName, st.Name, context.Cause(ctx)))
			break
		}
		sr := r.extractStream(ctx, sourceName, src, st, opts.Full, startAt)
		res.Streams = append(res.Streams, sr)
		if r.Progress != nil {
			r.Progress.Done(sourceName, st.Name, sr)
		}
		if sr.Err != nil {
			errs = append(errs, sr.Err)
		}
	}
	res.Duration = time.Since(start)
	return res, errors.Join(errs...)
}

func selectStreams(source string, all []Stream, want []string) ([]Stream, error) {
	for _, s := range all {
		if !validName(s.Name) || strings.HasSuffix(s.Name, DeletedSuffix) {
			return nil, fmt.Errorf("%s: stream name %q cannot be used as a lake folder", source, s.Name)
		}
	}
	if len(want) == 0 {
		return all, nil
	}
	var out []Stream
	for _, w := range want {
		i := slices.IndexFunc(all, func(s Stream) bool { return s.Name == w })
		if i < 0 {
			names := make([]string, len(all))
			for j, s := range all {
				names[j] = s.Name
			}
			return nil, revcast.Errorf(revcast.EINVALID, "%s: no stream %q (streams: %s)", source, w, strings.Join(names, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

func cleanStateTemps(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	n := 0
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
			n++
		}
	}
	if n > 0 {
		return syncDir(dir)
	}
	return nil
}

// streamRun is the state of one stream being extracted.
type streamRun struct {
	r         *Runner
	source    string
	stream    Stream
	statePath string
	saved     State
	main      *lane
	del       *lane
	res       *StreamResult
	rejects   *rejectWriter
	cursor    []byte // cursor of the last advancing batch (or the starting cursor)
	boundary  bool   // every row written is covered by cursor
	lastSave  time.Time
	delB      *array.RecordBuilder
	log       *slog.Logger
}

func (r *Runner) extractStream(ctx context.Context, source string, src Source, stream Stream, full bool, startAt time.Time) (res StreamResult) {
	start := time.Now()
	res.Stream = stream.Name
	log := r.logger().With("source", source, "stream", stream.Name, "run_id", string(r.runID))
	sr := &streamRun{r: r, source: source, stream: stream, res: &res, boundary: true, lastSave: time.Now(), log: log}
	defer func() {
		res.Duration = time.Since(start)
		if sr.rejects != nil {
			if err := sr.rejects.close(); err != nil && res.Err == nil {
				res.Err = fmt.Errorf("%s/%s: rejects file: %w", source, stream.Name, err)
			}
		}
		if sr.delB != nil {
			sr.delB.Release()
		}
		attrs := []any{"rows", res.Rows, "deleted", res.Deleted, "rejected", res.Rejected, "files", res.Files,
			"bytes", res.Bytes, "incremental", res.Incremental, "duration", res.Duration.Round(time.Millisecond)}
		if res.Err != nil {
			log.Error("extract stream failed", append(attrs, "err", res.Err)...)
		} else {
			log.Info("extracted stream", attrs...)
		}
	}()
	fail := func(format string, args ...any) StreamResult {
		res.Err = fmt.Errorf("%s/%s: "+format, append([]any{source, stream.Name}, args...)...)
		return res
	}

	sr.statePath = StatePath(r.DataDir, source, stream.Name)
	st, err := LoadState(r.DataDir, source, stream.Name)
	if err != nil {
		return fail("%w", err)
	}
	sr.saved = st
	dt := "dt=" + startAt.Format(revcast.DateLayout)
	newLane := func(name string, committed int64, keys []string) *lane {
		root := filepath.Join(r.DataDir, "lake", source, name)
		return &lane{r: r, source: source, name: name, root: root, dtDir: filepath.Join(root, dt),
			committed: committed, last: committed, keys: keys}
	}
	sr.main = newLane(stream.Name, st.Seq, stream.Key)
	sr.del = newLane(stream.Name+DeletedSuffix, st.DeletedSeq, []string{"key"})
	for _, l := range []*lane{sr.main, sr.del} {
		removed, err := cleanLane(l.root, l.committed)
		if err != nil {
			return fail("remove files of an interrupted run: %w", err)
		}
		if len(removed) > 0 {
			log.Warn("removed files of an interrupted run", "lake", l.name, "files", len(removed))
		}
	}

	var cursor json.RawMessage
	if !full {
		cursor = st.Cursor
	}
	res.Incremental = len(cursor) > 0
	sr.cursor = cursor

	rd, err := src.Read(ctx, stream, cursor)
	if err != nil {
		return fail("open: %w", err)
	}
	defer rd.Close()
	pf := startPrefetch(ctx, rd)
	defer pf.stop()

	for {
		if ctx.Err() != nil {
			return sr.stop(fmt.Errorf("%s/%s: interrupted: %w", source, stream.Name, context.Cause(ctx)))
		}
		b, err := pf.next()
		if err == io.EOF {
			if err := sr.commit(); err != nil {
				sr.abort()
				return fail("%w", err)
			}
			return res
		}
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("interrupted: %w", err)
			}
			return sr.stop(fmt.Errorf("%s/%s: %w", source, stream.Name, err))
		}
		if err := sr.land(b); err != nil {
			sr.abort()
			return fail("%w", err)
		}
	}
}

// prefetcher reads one batch ahead in its own goroutine, so that reading (parsing a
// file, waiting for an API page) overlaps with encoding and writing Parquet. The Reader
// is still used by one goroutine at a time.
type prefetcher struct {
	ch     chan fetched
	cancel context.CancelFunc
}

type fetched struct {
	b   Batch
	err error
}

func startPrefetch(ctx context.Context, rd Reader) *prefetcher {
	pctx, cancel := context.WithCancel(ctx)
	p := &prefetcher{ch: make(chan fetched, 1), cancel: cancel}
	go func() {
		defer close(p.ch)
		for {
			b, err := rd.Next(pctx)
			select {
			case p.ch <- fetched{b, err}:
			case <-pctx.Done():
				if b.Record != nil {
					b.Record.Release()
				}
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

func (p *prefetcher) next() (Batch, error) {
	f, ok := <-p.ch
	if !ok {
		return Batch{}, errors.New("reader stopped")
	}
	return f.b, f.err
}

// stop ends the read-ahead and waits for it, releasing batches read but not landed.
func (p *prefetcher) stop() {
	p.cancel()
	for f := range p.ch {
		if f.b.Record != nil {
			f.b.Record.Release()
		}
	}
}

// land writes one batch and commits when due.
func (sr *streamRun) land(b Batch) error {
	hadData := false
	cur := b.Cursor // for the part's footer metadata
	if len(cur) == 0 {
		cur = sr.cursor
	}
	if b.Record != nil {
		n := b.Record.NumRows()
		var err error
		if n > 0 {
			err = sr.main.write(b.Record, cur)
			hadData = true
		}
		b.Record.Release()
		if err != nil {
			return err
		}
		if n > 0 && sr.r.Progress != nil {
			sr.r.Progress.Add(sr.source, sr.stream.Name, n)
		}
	}
	if len(b.Deleted) > 0 {
		if err := sr.writeDeleted(b.Deleted, cur); err != nil {
			return err
		}
		hadData = true
	}
	if len(b.Rejects) > 0 {
		if err := sr.writeRejects(b.Rejects); err != nil {
			return err
		}
	}
	if len(b.Cursor) > 0 && !bytes.Equal(b.Cursor, sr.cursor) {
		sr.cursor = b.Cursor
		sr.boundary = true
	} else if hadData {
		sr.boundary = false
	}
	if !sr.boundary {
		return nil
	}
	rows, mem := sr.main.uncommitted()
	drows, dmem := sr.del.uncommitted()
	due := rows+drows >= sr.r.partRows() || mem+dmem >= sr.r.partBytes()
	if iv := sr.r.commitInterval(); !due && iv > 0 && time.Since(sr.lastSave) >= iv {
		due = rows+drows > 0 || !bytes.Equal(sr.cursor, sr.saved.Cursor)
	}
	if due {
		return sr.commit()
	}
	return nil
}

func (sr *streamRun) writeDeleted(keys []string, cursor []byte) error {
	if sr.delB == nil {
		sr.delB = array.NewRecordBuilder(memory.DefaultAllocator, DeletedSchema)
	}
	kb := sr.delB.Field(0).(*array.StringBuilder)
	tb := sr.delB.Field(1).(*array.TimestampBuilder)
	at := arrow.Timestamp(sr.r.now().UnixMicro())
	for _, k := range keys {
		kb.Append(k)
		tb.Append(at)
	}
	rec := sr.delB.NewRecordBatch()
	defer rec.Release()
	return sr.del.write(rec, cursor)
}

func (sr *streamRun) writeRejects(rs []Reject) error {
	if sr.rejects == nil {
		p := filepath.Join(sr.r.DataDir, "rejects", sr.source, sr.stream.Name, string(sr.r.runID)+".csv")
		w, err := openRejects(p)
		if err != nil {
			return fmt.Errorf("rejects file: %w", err)
		}
		sr.rejects = w
		sr.res.RejectsFile = p
	}
	for _, rj := range rs {
		if len(sr.res.Rejects) < MaxRejectSamples {
			sr.res.Rejects = append(sr.res.Rejects, rj)
		}
		if sr.res.Rejected < maxRejectLogs { // e.g. exports/opportunities line 8: amount "12,x": not a number
			sr.log.Warn(fmt.Sprintf("%s/%s line %d: %s %s", sr.source, sr.stream.Name, rj.Line, rj.Field, rj.Reason))
		}
		sr.res.Rejected++
	}
	if err := sr.rejects.write(rs); err != nil {
		return fmt.Errorf("rejects file %s: %w", sr.res.RejectsFile, err)
	}
	return nil
}

// commit closes the open parts and saves the state that covers them and the cursor.
func (sr *streamRun) commit() error {
	if err := sr.main.closePart(); err != nil {
		return err
	}
	if err := sr.del.closePart(); err != nil {
		return err
	}
	if len(sr.main.pending) == 0 && len(sr.del.pending) == 0 && bytes.Equal(sr.cursor, sr.saved.Cursor) {
		return nil // nothing new to remember
	}
	if sr.rejects != nil {
		if err := sr.rejects.sync(); err != nil {
			return fmt.Errorf("rejects file: %w", err)
		}
	}
	st := State{
		Cursor:     json.RawMessage(sr.cursor),
		Seq:        sr.main.last,
		DeletedSeq: sr.del.last,
		RunID:      sr.r.runID,
		UpdatedAt:  sr.r.now().UTC(),
	}
	if err := saveState(sr.statePath, sr.stream.Name, st, sr.r.Trace); err != nil {
		return fmt.Errorf("save state %s: %w", sr.statePath, err)
	}
	sr.saved = st
	sr.lastSave = time.Now()
	for _, p := range sr.main.committedNow() {
		sr.res.Rows += p.rows
		sr.res.Files++
		sr.res.Bytes += p.size
	}
	for _, p := range sr.del.committedNow() {
		sr.res.Deleted += p.rows
		sr.res.Files++
		sr.res.Bytes += p.size
	}
	sr.r.trace(TraceEvent{Kind: TraceStateSaved, Stream: sr.stream.Name, Path: sr.statePath, Seq: st.Seq})
	return nil
}

func (sr *streamRun) abort() {
	sr.main.abort()
	sr.del.abort()
}

// stop ends the stream early with cause: what is covered by the cursor is committed, the
// rest discarded.
func (sr *streamRun) stop(cause error) StreamResult {
	if sr.boundary {
		if err := sr.commit(); err != nil {
			sr.abort()
			cause = errors.Join(cause, err)
		}
	} else {
		sr.abort()
	}
	sr.res.Err = cause
	return *sr.res
}

// rejectWriter appends rejects to a CSV file: line,field,reason,raw.
type rejectWriter struct {
	f *os.File
	w *csv.Writer
}

func openRejects(path string) (*rejectWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	rw := &rejectWriter{f: f, w: csv.NewWriter(f)}
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		rw.w.Write([]string{"line", "field", "reason", "raw"})
	}
	return rw, nil
}

func (rw *rejectWriter) write(rs []Reject) error {
	for _, r := range rs {
		if err := rw.w.Write([]string{strconv.FormatInt(r.Line, 10), r.Field, r.Reason, r.Raw}); err != nil {
			return err
		}
	}
	rw.w.Flush()
	return rw.w.Error()
}

func (rw *rejectWriter) sync() error { return rw.f.Sync() }

func (rw *rejectWriter) close() error {
	rw.w.Flush()
	err := rw.w.Error()
	if serr := rw.f.Sync(); err == nil {
		err = serr
	}
	if cerr := rw.f.Close(); err == nil {
		err = cerr
	}
	return err
}
