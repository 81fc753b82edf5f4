package netsuite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/buger/jsonparser"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
)

// mark is a keyset position: the last change instant landed (Unix seconds, UTC) and the
// ids landed at it.
type mark struct {
	TS  string   `json:"ts,omitempty"` // RFC 3339 UTC
	IDs []string `json:"ids,omitempty"`

	sec  int64
	seen map[string]struct{}
}

func (m *mark) init() error {
	m.seen = make(map[string]struct{}, len(m.IDs))
	for _, id := range m.IDs {
		m.seen[id] = struct{}{}
	}
	if m.TS == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, m.TS)
	if err != nil {
		return fmt.Errorf("ts %q: %w", m.TS, err)
	}
	m.sec = t.Unix()
	return nil
}

func (m *mark) landed(id string, sec int64) bool {
	if m.TS == "" || sec > m.sec {
		return false
	}
	if sec < m.sec {
		return true
	}
	_, ok := m.seen[id]
	return ok
}

func (m *mark) advance(id string, sec int64) {
	if m.TS == "" || sec > m.sec {
		m.sec, m.TS = sec, time.Unix(sec, 0).UTC().Format(time.RFC3339)
		m.IDs = m.IDs[:0]
		clear(m.seen)
	}
	if _, ok := m.seen[id]; !ok {
		m.seen[id] = struct{}{}
		m.IDs = append(m.IDs, id)
	}
}

func (m mark) clone() mark {
	c := mark{TS: m.TS, IDs: slices.Clone(m.IDs), sec: m.sec}
	c.init()
	return c
}

// cursor is the saved position of a stream: its rows, its tombstones, or the time of its
// last snapshot.
type cursor struct {
	Rows     mark   `json:"rows"`
	Deleted  mark   `json:"deleted"`
	Snapshot string `json:"snapshot,omitempty"`

	raw, rawFor json.RawMessage
}

func parseCursor(raw json.RawMessage) (*cursor, error) {
	c := &cursor{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, c); err != nil {
			return nil, err
		}
	}
	if err := c.Rows.init(); err != nil {
		return nil, err
	}
	if err := c.Deleted.init(); err != nil {
		return nil, err
	}
	if len(raw) > 0 {
		c.raw = raw
		c.rawFor, _ = json.Marshal(c)
	}
	return c, nil
}

// marshal returns the cursor's JSON; an unchanged cursor is returned byte for byte as it
// was read, so a run without changes does not rewrite the state file.
func (c *cursor) marshal() json.RawMessage {
	b, _ := json.Marshal(c)
	if c.raw != nil && bytes.Equal(b, c.rawFor) {
		return c.raw
	}
	return b
}

const (
	tsPrefix   = "revcast_ts_"
	wallLayout = "2006-01-02 15:04:05"
	wallModel  = "YYYY-MM-DD HH24:MI:SS"
)

type phase int

const (
	phaseRows phase = iota
	phaseDeleted
	phaseDone
)

// reader reads one stream page by page.
type reader struct {
	s      *Source
	st     stream
	cur    *cursor
	rb     *extract.RowBuilder
	cols   []revcast.Column
	index  map[string]int
	tsCols []string // date/time fields selected through TO_CHAR

	phase   phase
	offset  int   // offset within the current query (when a page brought nothing new)
	prev    int64 // instant of the last row placed in the current query (DST ordering)
	after   []int64
	snapAt  time.Time
	unknown []string
	buf     []byte
}

// Read opens a stream after cursor (nil: from the beginning).
func (s *Source) Read(ctx context.Context, es extract.Stream, raw json.RawMessage) (extract.Reader, error) {
	var st stream
	found := false
	for _, x := range s.streams {
		if x.Name == es.Name {
			st, found = x, true
		}
	}
	if !found {
		return nil, fmt.Errorf("netsuite: no configured stream %q", es.Name)
	}
	cur, err := parseCursor(raw)
	if err != nil {
		return nil, fmt.Errorf("netsuite: %s: cursor is corrupt (%v); delete the stream's state file to re-extract it in full", st.Name, err)
	}
	r := &reader{s: s, st: st, cur: cur, cols: st.columns(), index: map[string]int{}, snapAt: s.Now().UTC().Truncate(time.Second)}
	for _, f := range st.Fields {
		if f.Kind == revcast.Timestamp {
			r.tsCols = append(r.tsCols, f.Name)
		}
	}
	if st.Deleted != "" && cur.Rows.TS == "" && cur.Deleted.TS == "" {
		// First read: only deletions from now on matter (older ones were never landed).
		cur.Deleted.advance("", r.snapAt.Add(-10*time.Minute).Unix())
		cur.Deleted.IDs, cur.Deleted.seen = nil, map[string]struct{}{}
	}
	r.build()
	return r, nil
}

func (r *reader) build() {
	if r.rb != nil {
		r.rb.Release()
	}
	r.rb = extract.NewRowBuilder(r.s.Allocator, "", r.cols, extract.Parser{DateLayouts: []string{r.s.goLayout}})
	clear(r.index)
	for i, c := range r.cols {
		r.index[c.Name] = i
	}
}

// literal returns the TO_TIMESTAMP literal of an instant in the user's time zone: the
// wall time, or the wall time an hour earlier when this one occurs twice, so the literal
// never reads as later than the instant.
func (r *reader) literal(sec int64) (string, int64) {
	t := time.Unix(sec, 0).In(r.s.loc)
	if early, late := wallInstants(t.Format(wallLayout), r.s.loc); late != early {
		t = t.Add(-time.Hour)
	}
	early, _ := wallInstants(t.Format(wallLayout), r.s.loc)
	return t.Format(wallLayout), early
}

// wallInstants returns the earliest and latest instants (Unix seconds) a wall time denotes
// in loc: equal unless the wall time repeats; a wall time skipped by DST moves forward.
func wallInstants(wall string, loc *time.Location) (early, late int64) {
	t, err := time.ParseInLocation(wallLayout, wall, loc)
	if err != nil {
		return math.MinInt64, math.MinInt64
	}
	early, late = t.Unix(), t.Unix()
	for _, d := range []time.Duration{-time.Hour, time.Hour} {
		if u := t.Add(d); u.Format(wallLayout) == wall {
			early, late = min(early, u.Unix()), max(late, u.Unix())
		}
	}
	return early, late
}

// sql builds the query of the current phase.
func (r *reader) sql() (string, int64) {
	st := r.st
	var b strings.Builder
	lower := int64(math.MinInt64)
	if r.phase == phaseDeleted {
		b.WriteString("SELECT recordid, TO_CHAR(deleteddate, '" + wallModel + "') AS " + tsPrefix + "deleteddate FROM deletedrecord WHERE recordtype = '")
		b.WriteString(st.Deleted)
		b.WriteString("'")
		if r.cur.Deleted.TS != "" {
			lit, l := r.literal(r.cur.Deleted.sec)
			lower = l
			b.WriteString(" AND deleteddate >= TO_TIMESTAMP('" + lit + "', '" + wallModel + "')")
		}
		b.WriteString(" ORDER BY deleteddate, recordid")
		return b.String(), lower
	}
	a := st.Alias
	b.WriteString("SELECT " + a + ".*")
	for _, c := range r.tsCols {
		b.WriteString(", TO_CHAR(" + a + "." + c + ", '" + wallModel + "') AS " + tsPrefix + c)
	}
	b.WriteString(" FROM " + st.Table + " " + a)
	if st.Join != "" {
		b.WriteString(" " + st.Join)
	}
	var conds []string
	if st.Where != "" {
		conds = append(conds, st.Where)
	}
	switch {
	case st.snapshot():
		// Keyset on the integer key columns, so no query pages past the result cap.
		if len(r.after) == len(st.Keys) {
			var or []string
			for i := range st.Keys {
				var and []string
				for j := 0; j < i; j++ {
					and = append(and, fmt.Sprintf("%s.%s = %d", a, st.Keys[j], r.after[j]))
				}
				and = append(and, fmt.Sprintf("%s.%s > %d", a, st.Keys[i], r.after[i]))
				or = append(or, "("+strings.Join(and, " AND ")+")")
			}
			conds = append(conds, "("+strings.Join(or, " OR ")+")")
		}
	case r.cur.Rows.TS != "":
		lit, l := r.literal(r.cur.Rows.sec)
		lower = l
		conds = append(conds, a+"."+st.Changed+" >= TO_TIMESTAMP('"+lit+"', '"+wallModel+"')")
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
	b.WriteString(" ORDER BY ")
	if st.snapshot() {
		for i, k := range st.Keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(a + "." + k)
		}
	} else {
		b.WriteString(a + "." + st.Changed + ", " + a + "." + st.Key)
	}
	return b.String(), lower
}

var missingField = regexp.MustCompile(`Field '([^']+)' for record`)

// Next returns the next page (or the tombstones) as a batch; io.EOF after the last.
func (r *reader) Next(ctx context.Context) (extract.Batch, error) {
	for {
		switch r.phase {
		case phaseDone:
			return extract.Batch{}, io.EOF
		case phaseDeleted:
			return r.nextDeleted(ctx)
		}
		q, lower := r.sql()
		limit := r.s.PageSize
		if !r.st.snapshot() {
			limit = min(MaxPageSize, r.s.PageSize+len(r.cur.Rows.IDs))
		}
		op := fmt.Sprintf("suiteql %s page", r.st.Name)
		if r.cur.Rows.TS != "" {
			op += " ts=" + r.cur.Rows.TS
		}
		if r.offset > 0 {
			op += fmt.Sprintf(" offset=%d", r.offset)
		}
		body, err := r.s.query(ctx, q, limit, r.offset)
		if err != nil {
			var ae *APIError
			if errors.As(err, &ae) && ae.Status == 400 {
				if m := missingField.FindStringSubmatch(ae.Detail); m != nil && slices.Contains(r.tsCols, m[1]) && m[1] != r.st.Changed {
					// A date/time field was removed: it lands as null from now on.
					r.s.Logger.Info("netsuite: field no longer exists; it lands as null", "stream", r.st.Name, "field", m[1])
					r.tsCols = slices.DeleteFunc(r.tsCols, func(c string) bool { return c == m[1] })
					continue
				}
			}
			return extract.Batch{}, wrap(op, err)
		}
		if r.offset == 0 {
			r.prev = lower
		}
		items, hasMore, err := parsePage(body)
		if err != nil {
			return extract.Batch{}, fmt.Errorf("netsuite: %s: %w", op, err)
		}
		before := r.cur.Rows.clone()
		prev := r.prev
		var rejects []extract.Reject
		var n, landed int
		for {
			rejects, n, landed, err = r.decodePage(items)
			if err != nil {
				r.discard()
				return extract.Batch{}, wrap(op, err)
			}
			if len(r.unknown) == 0 {
				break
			}
			r.s.Logger.Info("netsuite: new fields land as text columns", "stream", r.st.Name, "fields", r.unknown)
			r.discard()
			for _, name := range r.unknown {
				r.cols = append(r.cols, revcast.Column{Name: name, Type: revcast.String})
			}
			r.unknown = nil
			r.build()
			r.cur.Rows, r.prev = before.clone(), prev
		}
		b := extract.Batch{Record: r.rb.NewRecord(), Rejects: rejects}
		switch {
		case !hasMore:
			r.offset = 0
			r.phase = phaseDone
			if r.st.Deleted != "" {
				r.phase = phaseDeleted
			}
		case r.st.snapshot():
			r.offset = 0
		case landed > 0:
			r.offset = 0 // a fresh keyset query from the new cursor
		default:
			r.offset += n // more rows share one second than a page holds: page on
		}
		if r.st.snapshot() {
			if r.phase == phaseDone {
				r.cur.Snapshot = r.snapAt.Format(time.RFC3339)
				b.Cursor = r.cur.marshal()
			}
			return b, nil
		}
		b.Cursor = r.cur.marshal()
		return b, nil
	}
}

// nextDeleted reads one page of deletedrecord and returns the ids as tombstones.
func (r *reader) nextDeleted(ctx context.Context) (extract.Batch, error) {
	q, lower := r.sql()
	limit := min(MaxPageSize, r.s.PageSize+len(r.cur.Deleted.IDs))
	op := fmt.Sprintf("suiteql %s deletedrecord page", r.st.Name)
	body, err := r.s.query(ctx, q, limit, r.offset)
	if err != nil {
		return extract.Batch{}, wrap(op, err)
	}
	if r.offset == 0 {
		r.prev = lower
	}
	items, hasMore, err := parsePage(body)
	if err != nil {
		return extract.Batch{}, fmt.Errorf("netsuite: %s: %w", op, err)
	}
	var deleted []string
	n := 0
	_, err = jsonparser.ArrayEach(items, func(it []byte, vt jsonparser.ValueType, _ int, _ error) {
		n++
		id, e1 := jsonparser.GetString(it, "recordid")
		wall, e2 := jsonparser.GetString(it, tsPrefix+"deleteddate")
		if e1 != nil || e2 != nil {
			return
		}
		sec, ok := r.place(wall)
		if !ok || r.cur.Deleted.landed(id, sec) {
			return
		}
		r.cur.Deleted.advance(id, sec)
		deleted = append(deleted, id)
	})
	if err != nil {
		return extract.Batch{}, fmt.Errorf("netsuite: %s: malformed items: %w", op, err)
	}
	switch {
	case !hasMore:
		r.phase, r.offset = phaseDone, 0
	case len(deleted) > 0:
		r.offset = 0
	default:
		r.offset += n
	}
	return extract.Batch{Deleted: deleted, Cursor: r.cur.marshal()}, nil
}

// place converts a wall time of the user's zone to an instant, using the order rows
// arrive in to choose between the two instants of a repeated wall time.
func (r *reader) place(wall string) (int64, bool) {
	early, late := wallInstants(wall, r.s.loc)
	if early == math.MinInt64 {
		return 0, false
	}
	sec := late
	if early >= r.prev {
		sec = early
	}
	r.prev = max(r.prev, sec)
	return sec, true
}

// parsePage reads the items array and hasMore of a SuiteQL response.
func parsePage(body []byte) (items []byte, hasMore bool, err error) {
	items, vt, _, err := jsonparser.Get(body, "items")
	if err != nil || vt != jsonparser.Array {
		return nil, false, errors.New(`malformed SuiteQL response: no "items" array`)
	}
	hasMore, err = jsonparser.GetBoolean(body, "hasMore")
	if err != nil {
		return nil, false, errors.New(`malformed SuiteQL response: no "hasMore"`)
	}
	return items, hasMore, nil
}

func (r *reader) discard() {
	if r.rb.Len() > 0 {
		r.rb.NewRecord().Release()
	}
	r.rb.DiscardRow()
}

// decodePage appends the page's new rows and advances the cursor.
func (r *reader) decodePage(items []byte) (rejects []extract.Reject, n, landed int, err error) {
	var perr error
	snap := r.st.snapshot()
	_, aerr := jsonparser.ArrayEach(items, func(it []byte, vt jsonparser.ValueType, _ int, _ error) {
		if perr != nil {
			return
		}
		n++
		if vt != jsonparser.Object {
			perr = fmt.Errorf("item %d is not an object", n)
			return
		}
		var id string
		var sec int64
		if snap {
			keys := make([]int64, len(r.st.Keys))
			for i, k := range r.st.Keys {
				v, err := jsonparser.GetString(it, k)
				if err != nil {
					perr = fmt.Errorf("item %d has no %s", n, k)
					return
				}
				if keys[i], err = strconv.ParseInt(v, 10, 64); err != nil {
					perr = &SchemaError{Table: r.st.Table, Field: k, Landed: "bigint", Value: v}
					return
				}
			}
			r.after = keys
		} else {
			var err error
			id, err = jsonparser.GetString(it, r.st.Key)
			if err != nil {
				perr = fmt.Errorf("item %d has no %s", n, r.st.Key)
				return
			}
			wall, err := jsonparser.GetString(it, tsPrefix+r.st.Changed)
			if err != nil {
				perr = fmt.Errorf("%s %s has no %s", r.st.Key, id, r.st.Changed)
				return
			}
			var ok bool
			if sec, ok = r.place(wall); !ok {
				perr = &SchemaError{Table: r.st.Table, Field: r.st.Changed, Landed: "timestamp", Value: wall}
				return
			}
			if r.cur.Rows.landed(id, sec) {
				return
			}
			r.cur.Rows.advance(id, sec)
		}
		landed++
		if err := r.decodeRow(it); err != nil {
			var se *SchemaError
			if errors.As(err, &se) {
				perr = err
				return
			}
			rj := extract.Reject{Line: int64(n), Reason: err.Error(), Raw: id}
			var fe *extract.FieldError
			if errors.As(err, &fe) {
				rj.Field, rj.Reason = fe.Field, fe.Reason
			}
			rejects = append(rejects, rj)
		}
	})
	if aerr != nil && perr == nil {
		perr = fmt.Errorf("malformed items: %w", aerr)
	}
	return rejects, n, landed, perr
}

// decodeRow stages one item and ends the row. Values that do not parse as their column's
// type mean the field changed type: a *SchemaError.
func (r *reader) decodeRow(it []byte) error {
	rb := r.rb
	err := jsonparser.ObjectEach(it, func(k, v []byte, vt jsonparser.ValueType, _ int) error {
		if vt != jsonparser.String {
			return nil // "links": [] and anything that is not a value
		}
		name := string(k)
		ts := false
		if c, ok := strings.CutPrefix(name, tsPrefix); ok {
			name, ts = c, true
		}
		i, ok := r.index[name]
		if !ok {
			if !ts {
				r.noteUnknown(name)
			}
			return nil
		}
		col := r.cols[i]
		if col.Type == revcast.Timestamp && !ts {
			return nil // the date-only rendering of a date/time: its TO_CHAR twin carries it
		}
		var str string
		if bytes.IndexByte(v, '\\') >= 0 {
			u, err := jsonparser.Unescape(v, r.buf[:0])
			if err != nil {
				return &extract.FieldError{Field: col.Name, Value: string(v), Reason: "malformed JSON string"}
			}
			str = string(u)
		} else if len(v) > 0 {
			str = unsafe.String(&v[0], len(v))
		}
		if ts {
			early, late := wallInstants(str, r.s.loc)
			if early == math.MinInt64 {
				return &SchemaError{Table: r.st.Table, Field: col.Name, Landed: "timestamp", Value: str}
			}
			sec := early
			if name == r.st.Changed && !r.st.snapshot() {
				sec = r.cur.Rows.sec // placed by order already
				if late != early && sec != early && sec != late {
					sec = early
				}
			}
			return rb.SetTime(i, time.Unix(sec, 0).UTC())
		}
		if err := rb.SetString(i, str); err != nil {
			if col.Type != revcast.String {
				rb.DiscardRow()
				return &SchemaError{Table: r.st.Table, Field: col.Name, Landed: strings.ToLower(col.Type.String()), Value: str}
			}
			return err
		}
		return nil
	})
	if err != nil {
		rb.DiscardRow()
		return err
	}
	if r.st.snapshot() {
		rb.SetTime(r.index[SnapshotColumn], r.snapAt)
	}
	return rb.EndRow()
}

func (r *reader) noteUnknown(name string) {
	if !slices.Contains(r.unknown, name) {
		r.unknown = append(r.unknown, name)
	}
}

// Close releases the reader's buffers.
func (r *reader) Close() error {
	if r.rb != nil {
		r.rb.Release()
		r.rb = nil
	}
	return nil
}
