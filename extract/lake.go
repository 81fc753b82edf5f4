package extract

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Parquet key-value metadata written into every landed part file's footer, so the lake is
// self-describing without the state files.
const (
	MetaSource   = "revcast.source"    // source name from the config
	MetaStream   = "revcast.stream"    // lake folder name (stream, or <stream>__deleted)
	MetaRunID    = "revcast.run_id"    // run that landed the file
	MetaSeq      = "revcast.seq"       // part number, per stream, increasing across runs
	MetaCursor   = "revcast.cursor"    // connector cursor of the last batch in the file (see MaxMetaCursor)
	MetaRows     = "revcast.rows"      // rows in the file
	MetaLandedAt = "revcast.landed_at" // RFC 3339 instant the file was closed (Runner.Now)
)

// MaxMetaCursor is the largest cursor copied whole into a part's footer; a larger one
// (a files cursor listing thousands of files) is stored as "sha256:<hex> (<n> bytes)",
// the state file holding the cursor itself.
const MaxMetaCursor = 16 << 10

func metaCursor(c []byte) string {
	if len(c) <= MaxMetaCursor {
		return string(c)
	}
	sum := sha256.Sum256(c)
	return fmt.Sprintf("sha256:%x (%d bytes)", sum, len(c))
}

// PartName returns the file name of part seq landed by run: <run-id>-<seq>.parquet, seq
// zero-padded to 6 digits so names sort by seq within a run.
func PartName(run string, seq int64) string {
	return fmt.Sprintf("%s-%06d.parquet", run, seq)
}

// partSeq extracts the part number from a landed file name; ok is false for names the
// Runner did not produce.
func partSeq(name string) (int64, bool) {
	base, found := strings.CutSuffix(name, ".parquet")
	if !found {
		return 0, false
	}
	i := strings.LastIndexByte(base, '-')
	if i < 1 || len(base)-i-1 < 6 {
		return 0, false
	}
	seq, err := strconv.ParseInt(base[i+1:], 10, 64)
	if err != nil || seq < 0 {
		return 0, false
	}
	return seq, true
}

// cleanLane deletes, under a stream's lake folder, temp files and part files numbered
// above committed: what an interrupted run left behind.
func cleanLane(root string, committed int64) ([]string, error) {
	dts, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, dt := range dts {
		if !dt.IsDir() || !strings.HasPrefix(dt.Name(), "dt=") {
			continue
		}
		dir := filepath.Join(root, dt.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			return removed, err
		}
		n := len(removed)
		for _, f := range files {
			name := f.Name()
			orphan := strings.HasSuffix(name, tmpSuffix)
			if seq, ok := partSeq(name); ok && seq > committed {
				orphan = true
			}
			if !orphan || f.IsDir() {
				continue
			}
			p := filepath.Join(dir, name)
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, err
			}
			removed = append(removed, p)
		}
		if len(removed) > n {
			if err := syncDir(dir); err != nil {
				return removed, err
			}
		}
	}
	return removed, nil
}

// lane writes one lake folder (a stream, or its tombstones) as a sequence of part files.
// Parts are renamed into place when full but stay uncommitted (pending) until the state
// file records a seq at or above theirs.
type lane struct {
	r         *Runner
	source    string
	name      string // lake folder name
	root      string // <data_dir>/lake/<source>/<name>
	dtDir     string // root/dt=YYYY-MM-DD
	committed int64  // highest committed seq
	last      int64  // highest seq used
	cur       *partFile
	pending   []landedPart
	dirReady  bool
	keys      []string // key columns: no dictionary encoding
}

type partFile struct {
	f        *os.File
	bw       *bufio.Writer
	fw       *pqarrow.FileWriter
	schema   *arrow.Schema
	tmp      string
	final    string
	seq      int64
	rows     int64
	memBytes int64
	cursor   []byte
}

type landedPart struct {
	path string
	rows int64
	size int64
}

// uncommitted returns the rows and in-memory bytes not yet covered by the state file.
func (l *lane) uncommitted() (rows, bytes int64) {
	for _, p := range l.pending {
		rows += p.rows
		bytes += p.size
	}
	if l.cur != nil {
		rows += l.cur.rows
		bytes += l.cur.memBytes
	}
	return rows, bytes
}

// write appends rec to the open part, first closing it if it is full or rec's schema
// differs (schema drift starts a new file).
func (l *lane) write(rec arrow.RecordBatch, cursor []byte) error {
	if l.cur != nil && (!l.cur.schema.Equal(rec.Schema()) || l.cur.rows >= l.r.partRows() || l.cur.memBytes >= l.r.partBytes()) {
		if err := l.closePart(); err != nil {
			return err
		}
	}
	if l.cur == nil {
		if err := l.open(rec.Schema()); err != nil {
			return err
		}
	}
	if err := l.cur.fw.WriteBuffered(rec); err != nil {
		return fmt.Errorf("write %s: %w", l.cur.tmp, err)
	}
	l.cur.rows += rec.NumRows()
	l.cur.memBytes += recordBytes(rec)
	l.cur.cursor = cursor
	l.r.trace(TraceEvent{Kind: TraceBatchWritten, Stream: l.name, Path: l.cur.tmp, Seq: l.cur.seq})
	return nil
}

func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, col := range rec.Columns() {
		for _, b := range col.Data().Buffers() {
			if b != nil {
				n += int64(b.Len())
			}
		}
	}
	return n
}

func (l *lane) open(schema *arrow.Schema) error {
	if !l.dirReady {
		if err := mkdirAllSync(l.dtDir); err != nil {
			return fmt.Errorf("create %s: %w", l.dtDir, err)
		}
		l.dirReady = true
	}
	seq := l.last + 1
	name := PartName(string(l.r.runID), seq)
	p := &partFile{
		schema: schema,
		final:  filepath.Join(l.dtDir, name),
		tmp:    filepath.Join(l.dtDir, "."+name+tmpSuffix),
		seq:    seq,
	}
	f, err := os.OpenFile(p.tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	p.f = f
	p.bw = bufio.NewWriterSize(f, 1<<20)
	p.fw, err = pqarrow.NewFileWriter(schema, p.bw, l.r.writerProps(schema, l.keys), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		os.Remove(p.tmp)
		return fmt.Errorf("parquet writer for %s: %w", p.tmp, err)
	}
	l.last = seq
	l.cur = p
	return nil
}

// closePart finishes the open part: footer with metadata, flush, fsync, rename into place,
// fsync of the folder. The part is then pending until the next commit.
func (l *lane) closePart() error {
	p := l.cur
	if p == nil {
		return nil
	}
	l.cur = nil
	meta := [][2]string{
		{MetaSource, l.source},
		{MetaStream, l.name},
		{MetaRunID, string(l.r.runID)},
		{MetaSeq, strconv.FormatInt(p.seq, 10)},
		{MetaCursor, metaCursor(p.cursor)},
		{MetaRows, strconv.FormatInt(p.rows, 10)},
		{MetaLandedAt, l.r.now().UTC().Format("2006-01-02T15:04:05.000000Z07:00")},
	}
	var err error
	for _, kv := range meta {
		if err == nil {
			err = p.fw.AppendKeyValueMetadata(kv[0], kv[1])
		}
	}
	if err == nil {
		err = p.fw.Close()
	}
	if err == nil {
		err = p.bw.Flush()
	}
	if err == nil {
		err = p.f.Sync()
	}
	var size int64
	if err == nil {
		var fi os.FileInfo
		if fi, err = p.f.Stat(); err == nil {
			size = fi.Size()
		}
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.tmp, p.final)
	}
	if err != nil {
		os.Remove(p.tmp)
		return fmt.Errorf("land %s: %w", p.final, err)
	}
	if err := syncDir(l.dtDir); err != nil {
		return fmt.Errorf("land %s: %w", p.final, err)
	}
	l.pending = append(l.pending, landedPart{path: p.final, rows: p.rows, size: size})
	l.r.trace(TraceEvent{Kind: TracePartRenamed, Stream: l.name, Path: p.final, Seq: p.seq})
	return nil
}

// committedNow marks the pending parts as committed and returns them.
func (l *lane) committedNow() []landedPart {
	out := l.pending
	l.pending = nil
	l.committed = l.last
	return out
}

// abort removes the open temp file and the pending (renamed, uncommitted) parts, so an
// interrupted run leaves the lake as the last commit left it.
func (l *lane) abort() {
	if p := l.cur; p != nil {
		l.cur = nil
		p.f.Close()
		os.Remove(p.tmp)
	}
	for _, p := range l.pending {
		os.Remove(p.path)
	}
	if len(l.pending) > 0 {
		syncDir(l.dtDir)
	}
	l.pending = nil
	l.last = l.committed
}
