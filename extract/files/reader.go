package files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
)

// cursorState is the files cursor: every file landed (or seen unchanged), by path
// relative to the source folder.
type cursorState struct {
	Files map[string]fileMark `json:"files"`
}

// fileMark identifies the content of a landed file.
type fileMark struct {
	Size     int64     `json:"size"`
	ModTime  time.Time `json:"mtime"`
	SHA256   string    `json:"sha256"`
	Rows     int64     `json:"rows"`
	Rejected int64     `json:"rejected,omitempty"`
}

func decodeCursor(c json.RawMessage) (cursorState, error) {
	st := cursorState{Files: map[string]fileMark{}}
	if len(c) == 0 || string(c) == "null" {
		return st, nil
	}
	if err := json.Unmarshal(c, &st); err != nil {
		return st, revcast.Errorf(revcast.EINVALID, "files: saved cursor is not a files cursor (%v); re-run with --full", err)
	}
	if st.Files == nil {
		st.Files = map[string]fileMark{}
	}
	return st, nil
}

func (c cursorState) encode() json.RawMessage {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // plain structs always marshal
	}
	return b
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// reader lands a stream's planned files one after another.
type reader struct {
	f     *Files
	s     *streamSettings
	tasks []task
	next  int
	state cursorState     // cursor after the files finished so far
	prev  json.RawMessage // last cursor handed out (initially the one Read was given)
	cur   fileReader
	ended bool
}

// fileReader reads one file into record batches.
type fileReader interface {
	// read returns the next batch; eof reports that the file is finished (rec may still
	// hold its last rows).
	read(ctx context.Context) (rec arrow.RecordBatch, rejects []extract.Reject, eof bool, err error)
	mark() fileMark
	close() error
}

// Next implements extract.Reader.
func (r *reader) Next(ctx context.Context) (extract.Batch, error) {
	if err := ctx.Err(); err != nil {
		return extract.Batch{}, err
	}
	if r.cur == nil {
		if r.next == len(r.tasks) {
			if !r.ended {
				r.ended = true
				// Files touched without a content change, or gone, still change the cursor.
				if c := r.state.encode(); !bytes.Equal(c, r.prev) {
					r.prev = c
					return extract.Batch{Cursor: c}, nil
				}
			}
			return extract.Batch{}, io.EOF
		}
		t := r.tasks[r.next]
		r.next++
		fr, err := r.open(ctx, t)
		if err != nil {
			return extract.Batch{}, err
		}
		r.cur = fr
	}
	rec, rejects, eof, err := r.cur.read(ctx)
	if err != nil {
		r.cur.close()
		r.cur = nil
		return extract.Batch{}, err
	}
	b := extract.Batch{Record: rec, Rejects: rejects, Cursor: r.prev}
	if eof {
		fr := r.cur
		r.cur = nil
		if err := fr.close(); err != nil {
			if rec != nil {
				rec.Release()
			}
			return extract.Batch{}, err
		}
		r.state.Files[r.tasks[r.next-1].rel] = fr.mark()
		r.prev = r.state.encode()
		b.Cursor = r.prev
	}
	return b, nil
}

// open returns the file reader for t (never a typed nil).
func (r *reader) open(ctx context.Context, t task) (fileReader, error) {
	if isParquet(t.rel) {
		p, err := openParquet(ctx, t, r.s, r.f.BatchRows)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	c, err := openCSV(t, r.s, r.f.BatchRows)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Close implements extract.Reader.
func (r *reader) Close() error {
	if r.cur != nil {
		err := r.cur.close()
		r.cur = nil
		return err
	}
	return nil
}

func isParquet(rel string) bool {
	switch strings.ToLower(path.Ext(rel)) {
	case ".parquet", ".pq":
		return true
	}
	return false
}

// layout maps a file's columns onto the landed columns.
type layout struct {
	cols     []revcast.Column // the table's columns, then the file's extra columns
	srcIdx   []int            // per source column: index in cols, -1 when dropped
	srcName  map[int]string   // landed index → source name, where they differ
	currency int              // index of currency to fill when empty, -1 if none
	modified int              // index of modified_at to fill with the file time, -1 if the file has it
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// normalize turns a source column name into lower_snake_case.
func normalize(s string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(strings.TrimSpace(s)), "_"), "_")
}

func newLayout(s *streamSettings, rel string, names []string) (*layout, error) {
	t := s.table
	l := &layout{
		cols:     slices.Clone(t.Columns),
		srcIdx:   make([]int, len(names)),
		srcName:  map[int]string{},
		currency: -1,
		modified: -1,
	}
	index := map[string]int{}
	for i, c := range t.Columns {
		index[c.Name] = i
	}
	from := map[int]string{} // canonical index → source column it came from
	used := map[string]bool{}
	for _, c := range t.Columns {
		used[c.Name] = true
	}
	for i, name := range names {
		dst, mapped := s.columns[name]
		if !mapped {
			for src, d := range s.columns {
				if strings.EqualFold(strings.TrimSpace(src), strings.TrimSpace(name)) {
					dst, mapped = d, true
					break
				}
			}
		}
		if mapped && dst == "-" {
			l.srcIdx[i] = -1
			continue
		}
		norm := normalize(name)
		if !mapped {
			if _, ok := index[norm]; ok {
				dst = norm
			}
		}
		if j, ok := index[dst]; ok {
			if prev, dup := from[j]; dup {
				return nil, fmt.Errorf("files: %s: columns %q and %q both map to %s; map one of them elsewhere or to \"-\" under streams.%s.columns", rel, prev, name, dst, t.Name)
			}
			from[j] = name
			l.srcIdx[i] = j
			if name != dst {
				l.srcName[j] = name
			}
			continue
		}
		// An extra column: lands as a string under its normalised name.
		extra := norm
		if extra == "" {
			extra = fmt.Sprintf("column_%d", i+1)
		}
		for k := 2; used[extra]; k++ {
			extra = fmt.Sprintf("%s_%d", norm, k)
		}
		used[extra] = true
		l.srcIdx[i] = len(l.cols)
		l.cols = append(l.cols, revcast.Column{Name: extra, Type: revcast.String, Doc: "source column " + name})
		if name != extra {
			l.srcName[l.srcIdx[i]] = name
		}
	}
	for j, c := range t.Columns {
		if _, ok := from[j]; ok {
			if c.Name == "currency" && s.currency != "" {
				l.currency = j
			}
			continue
		}
		switch {
		case c.Name == "currency" && s.currency != "":
			l.currency = j
		case c.Name == "modified_at":
			l.modified = j
		case c.Required:
			return nil, revcast.Errorf(revcast.EINVALID, "files: %s: required column %q is missing (columns: %s); rename it in the export or map it under streams.%s.columns", rel, c.Name, strings.Join(names, ", "), t.Name)
		}
	}
	return l, nil
}

// fill sets the values that come from the configuration or the file.
func (l *layout) fill(rb *extract.RowBuilder, s *streamSettings, mtime time.Time) {
	if l.currency >= 0 && !rb.IsSet(l.currency) {
		rb.SetString(l.currency, s.currency)
	}
	if l.modified >= 0 {
		rb.SetTime(l.modified, mtime)
	}
}

// reject turns a row error into a Reject.
func (l *layout) reject(rb *extract.RowBuilder, line int64, err error, raw string) extract.Reject {
	var fe *extract.FieldError
	if !errors.As(err, &fe) {
		return extract.Reject{Line: line, Reason: err.Error(), Raw: raw}
	}
	reason := fe.Reason
	src := ""
	if i := rb.Index(fe.Field); i >= 0 {
		src = l.srcName[i]
	}
	switch {
	case fe.Value != "" && src != "":
		reason = fmt.Sprintf("%q (column %q): %s", fe.Value, src, fe.Reason)
	case fe.Value != "":
		reason = fmt.Sprintf("%q: %s", fe.Value, fe.Reason)
	case src != "":
		reason = fmt.Sprintf("%s (column %q)", fe.Reason, src)
	}
	return extract.Reject{Line: line, Field: fe.Field, Reason: reason, Raw: raw}
}

// countingHash hashes and counts what passes through it.
type countingHash struct {
	h hash.Hash
	n int64
}

// Write implements io.Writer.
func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}
