package sap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/buger/jsonparser"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
)

// cursor is the saved position of an incremental stream: the last LastChangeDateTime landed
// (UTC, milliseconds) and the keys landed at that instant. Snapshot streams save only when
// their last snapshot was read.
type cursor struct {
	TS       string   `json:"ts,omitempty"`
	Keys     []string `json:"keys,omitempty"`
	Snapshot string   `json:"snapshot,omitempty"`

	ms   int64
	seen map[string]struct{}
	// raw and rawFor are the bytes the cursor was read from and what it marshalled to
	// then: an unchanged cursor is handed back byte for byte, so a run without changes
	// does not rewrite the state file (the Runner compares bytes).
	raw, rawFor json.RawMessage
}

const cursorLayout = "2006-01-02T15:04:05.000Z"

func parseCursor(raw json.RawMessage) (*cursor, error) {
	c := &cursor{seen: map[string]struct{}{}}
	if len(raw) == 0 || string(raw) == "null" {
		return c, nil
	}
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, err
	}
	if c.TS != "" {
		t, err := time.Parse(time.RFC3339Nano, c.TS)
		if err != nil {
			return nil, fmt.Errorf("ts %q: %w", c.TS, err)
		}
		c.ms = t.UnixMilli()
	}
	for _, k := range c.Keys {
		c.seen[k] = struct{}{}
	}
	c.raw = raw
	c.rawFor, _ = json.Marshal(c)
	return c, nil
}

// landed reports whether the record (key, ms) is covered by the cursor already.
func (c *cursor) landed(key string, ms int64) bool {
	if c.TS == "" || ms > c.ms {
		return false
	}
	if ms < c.ms {
		return true
	}
	_, ok := c.seen[key]
	return ok
}

// advance records that (key, ms) was landed; records come in (ms, key) order.
func (c *cursor) advance(key string, ms int64) {
	if c.TS == "" || ms > c.ms {
		c.ms, c.TS = ms, time.UnixMilli(ms).UTC().Format(cursorLayout)
		c.Keys = c.Keys[:0]
		clear(c.seen)
	}
	if _, ok := c.seen[key]; !ok {
		c.seen[key] = struct{}{}
		c.Keys = append(c.Keys, key)
	}
}

func (c *cursor) clone() *cursor {
	d := &cursor{TS: c.TS, Keys: slices.Clone(c.Keys), Snapshot: c.Snapshot, ms: c.ms, seen: make(map[string]struct{}, len(c.Keys)),
		raw: c.raw, rawFor: c.rawFor}
	for _, k := range d.Keys {
		d.seen[k] = struct{}{}
	}
	return d
}

func (c *cursor) marshal() json.RawMessage {
	b, _ := json.Marshal(c)
	if c.raw != nil && bytes.Equal(b, c.rawFor) {
		return c.raw
	}
	return b
}

// reader reads one entity page by page.
type reader struct {
	s     *Source
	e     entity
	cur   *cursor
	rb    *extract.RowBuilder
	cols  []revcast.Column
	index map[string]int // column name → position
	sel   []string       // properties selected (the catalog's that exist, then extras)

	changedCol int            // header stream: LastChangeDateTime column; item stream: the header's
	keyPos     map[string]int // key property → position in keyVals (header keys for item streams)
	keyAt      []int          // column → position in keyVals, -1 (row keys of header streams)
	keyVals    []string       // key values of the entity being decoded
	ms         int64          // its change timestamp
	hasMS      bool
	snapAt     time.Time
	next       string // URL to follow (a __next link), "" for a fresh keyset query
	skip       int    // $skip of a keyset query that brought nothing new
	done       bool
	pages      int
	unknown    []string
	buf        []byte
}

// Read opens the stream of one entity after cursor (nil: from the beginning). It reads
// the service's $metadata first; see the package documentation for the drift rules.
func (s *Source) Read(ctx context.Context, stream extract.Stream, raw json.RawMessage) (extract.Reader, error) {
	var e entity
	found := false
	for _, x := range s.entities {
		if x.Stream == stream.Name {
			e, found = x, true
		}
	}
	if !found {
		return nil, fmt.Errorf("sap: no configured stream %q", stream.Name)
	}
	cur, err := parseCursor(raw)
	if err != nil {
		return nil, fmt.Errorf("sap: %s: cursor is corrupt (%v); delete the stream's state file to re-extract it in full", e.Set, err)
	}
	meta, err := s.metadata(ctx, e.Service)
	if err != nil {
		return nil, err
	}
	props, ok := meta[e.Type]
	if !ok {
		return nil, fmt.Errorf("sap: %s $metadata has no entity type %s; check that the service version serves %s", e.Service, e.Type, e.Set)
	}
	if e.Nav != "" || !e.snapshot() {
		hdr := meta[e.Set+"Type"]
		if p, ok := hdr[e.Changed]; !ok || p.Type != "Edm.DateTimeOffset" && p.Type != "Edm.DateTime" {
			return nil, fmt.Errorf("sap: %s has no %s property; it cannot be extracted incrementally", e.Set, e.Changed)
		}
	}
	r := &reader{s: s, e: e, cur: cur, index: map[string]int{}, snapAt: s.Now().UTC().Truncate(time.Millisecond)}
	known := map[string]bool{}
	for _, f := range e.Fields {
		known[f.Name] = true
		p, ok := props[f.Name]
		if !ok {
			continue // the system lacks it: the column lands as null
		}
		if !accepts(f.Kind, p.Type, p.Display) {
			return nil, &SchemaError{Entity: e.Set, Field: f.Name, Landed: strings.ToLower(f.Kind.String()), Now: p.Type}
		}
		r.sel = append(r.sel, f.Name)
	}
	for _, k := range e.Keys {
		if !slices.Contains(r.sel, k) {
			return nil, fmt.Errorf("sap: %s $metadata lacks key property %s", e.Type, k)
		}
	}
	r.cols = e.columns()
	var extras []string
	for name := range props {
		if !known[name] {
			extras = append(extras, name)
		}
	}
	sort.Strings(extras)
	for _, name := range extras {
		p := props[name]
		r.cols = append(r.cols, revcast.Column{Name: name, Type: driftKind(p.Type, p.Display, scaleOf(p))})
		r.sel = append(r.sel, name)
	}
	if len(extras) > 0 {
		s.Logger.Info("sap: new properties land as extra columns", "entity", e.Type, "properties", extras)
	}
	r.build()
	return r, nil
}

// build (re)creates the row builder from r.cols.
func (r *reader) build() {
	if r.rb != nil {
		r.rb.Release()
	}
	r.rb = extract.NewRowBuilder(r.s.Allocator, "", r.cols, extract.Parser{})
	clear(r.index)
	for i, c := range r.cols {
		r.index[c.Name] = i
	}
	r.changedCol = -1
	if r.e.Changed != "" {
		r.changedCol = r.index[r.e.Changed]
	}
	keys := r.e.Keys
	if r.e.Nav != "" {
		keys = r.e.HeaderKeys
	}
	r.keyPos = map[string]int{}
	r.keyVals = make([]string, len(keys))
	r.keyAt = make([]int, len(r.cols))
	for i := range r.keyAt {
		r.keyAt[i] = -1
	}
	for p, k := range keys {
		r.keyPos[k] = p
		if i, ok := r.index[k]; ok && r.e.Nav == "" {
			r.keyAt[i] = p
		}
	}
}

// query returns the URL of the next request.
func (r *reader) query() (string, int) {
	if r.next != "" {
		return r.next, 0
	}
	e := r.e
	q := url.Values{"$format": {"json"}}
	sel := r.sel
	keys := e.Keys
	if e.Nav != "" {
		keys = e.HeaderKeys
		sel = append(slices.Clone(keys), e.Changed, e.Nav)
		q.Set("$expand", e.Nav)
	}
	q.Set("$select", strings.Join(sel, ","))
	top := 0
	if e.snapshot() {
		q.Set("$orderby", strings.Join(keys, ","))
	} else {
		q.Set("$orderby", e.Changed+","+strings.Join(keys, ","))
		if r.cur.TS != "" {
			q.Set("$filter", e.Changed+" ge datetimeoffset'"+r.cur.TS+"'")
		}
		top = min(r.s.PageSize+len(r.cur.Keys), MaxPageSize)
		q.Set("$top", strconv.Itoa(top))
		if r.skip > 0 {
			q.Set("$skip", strconv.Itoa(r.skip))
		}
	}
	return r.s.serviceURL(e.Service, e.Set, q), top
}

// Next returns the next page as a batch; io.EOF after the last.
func (r *reader) Next(ctx context.Context) (extract.Batch, error) {
	if r.done {
		return extract.Batch{}, io.EOF
	}
	u, top := r.query()
	op := fmt.Sprintf("%s page", r.e.Set)
	if r.cur.TS != "" {
		op = fmt.Sprintf("%s page ts=%s", r.e.Set, r.cur.TS)
	}
	if r.next != "" {
		if i := strings.Index(r.next, "$skiptoken="); i >= 0 {
			op = fmt.Sprintf("%s page skiptoken=%s", r.e.Set, strings.SplitN(r.next[i+len("$skiptoken="):], "&", 2)[0])
		}
	}
	resp, err := r.s.get(ctx, u)
	if err != nil {
		return extract.Batch{}, wrap(op, err)
	}
	results, next, err := parseEnvelope(resp.Body)
	if err != nil {
		return extract.Batch{}, fmt.Errorf("sap: %s: %w", op, err)
	}
	before := r.cur.clone()
	var rejects []extract.Reject
	var n, landed int
	for {
		rejects, n, landed, err = r.decodePage(results)
		if err != nil {
			r.discard()
			return extract.Batch{}, fmt.Errorf("sap: %s: %w", op, err)
		}
		if len(r.unknown) == 0 {
			break
		}
		// Properties appeared that $metadata did not list when the read began.
		r.s.Logger.Info("sap: new properties land as text columns", "entity", r.e.Type, "properties", r.unknown)
		r.discard()
		for _, name := range r.unknown {
			r.cols = append(r.cols, revcast.Column{Name: name, Type: revcast.String})
		}
		r.unknown = nil
		r.build()
		r.cur = before.clone()
	}
	r.pages++
	b := extract.Batch{Record: r.rb.NewRecord(), Rejects: rejects}
	if r.e.snapshot() {
		r.next = next
		if next == "" {
			r.done = true
			r.cur.Snapshot = r.snapAt.Format(cursorLayout)
			b.Cursor = r.cur.marshal()
		}
		return b, nil
	}
	more := next != "" || (top > 0 && n >= top)
	switch {
	case !more:
		r.done = true
	case landed > 0:
		r.next, r.skip = "", 0 // a fresh keyset query from the new cursor
	case next != "":
		r.next = next // more records share one instant than a page holds: page on
	default:
		r.next, r.skip = "", r.skip+n
	}
	b.Cursor = r.cur.marshal()
	return b, nil
}

// parseEnvelope reads {"d":{"results":[...],"__next":"..."}} in one pass over "d".
func parseEnvelope(body []byte) (results []byte, next string, err error) {
	var d []byte
	err = jsonparser.ObjectEach(body, func(k, v []byte, vt jsonparser.ValueType, _ int) error {
		if string(k) == "d" && vt == jsonparser.Object {
			d = v
		}
		return nil
	})
	if err != nil || d == nil {
		return nil, "", errors.New(`malformed OData response: no "d" object`)
	}
	found := false
	err = jsonparser.ObjectEach(d, func(k, v []byte, vt jsonparser.ValueType, _ int) error {
		switch string(k) {
		case "results":
			if vt != jsonparser.Array {
				return errors.New(`"d.results" is not an array`)
			}
			results, found = v, true
		case "__next":
			if vt == jsonparser.String {
				s, err := jsonparser.ParseString(v)
				if err != nil {
					return fmt.Errorf("malformed __next: %w", err)
				}
				next = s
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("malformed OData response: %w", err)
	}
	if !found {
		return nil, "", errors.New(`malformed OData response: no "d.results" array`)
	}
	return results, next, nil
}

func (r *reader) discard() {
	if r.rb.Len() > 0 {
		r.rb.NewRecord().Release()
	}
	r.rb.DiscardRow()
}

// decodePage appends the page's new records to the builder and advances the cursor. n is
// the number of entities in the page, landed how many were not covered by the cursor.
// Each entity is read in one pass: its properties are staged while its key and change
// timestamp are picked up, and the staged row is dropped if the cursor covers it.
func (r *reader) decodePage(results []byte) (rejects []extract.Reject, n, landed int, err error) {
	var perr error
	pos := 0
	_, aerr := jsonparser.ArrayEach(results, func(ent []byte, vt jsonparser.ValueType, _ int, _ error) {
		if perr != nil {
			return
		}
		pos++
		n++
		if vt != jsonparser.Object {
			perr = fmt.Errorf("result %d is not an object", pos)
			return
		}
		if r.e.Nav != "" {
			key, ms, items, err := r.headerInfo(ent)
			if err != nil {
				perr = fmt.Errorf("result %d: %w", pos, err)
				return
			}
			if r.cur.landed(key, ms) {
				return
			}
			r.cur.advance(strings.Clone(key), ms)
			landed++
			_, err = jsonparser.ArrayEach(items, func(it []byte, vt jsonparser.ValueType, _ int, _ error) {
				if vt != jsonparser.Object {
					return
				}
				serr := r.stage(it)
				if serr == nil {
					serr = r.endRow(ms)
				} else {
					r.rb.DiscardRow()
				}
				if serr != nil {
					rejects = append(rejects, reject(pos, key, serr))
				}
			})
			if err != nil {
				perr = fmt.Errorf("result %d: %s: %w", pos, r.e.Nav, err)
			}
			return
		}
		serr := r.stage(ent)
		key := r.key()
		if key == "" && !r.e.snapshot() {
			r.rb.DiscardRow()
			perr = fmt.Errorf("result %d has no key (%s)", pos, strings.Join(r.e.Keys, ", "))
			return
		}
		if !r.e.snapshot() {
			if !r.hasMS {
				r.rb.DiscardRow()
				perr = fmt.Errorf("result %d (%s) has no %s", pos, key, r.e.Changed)
				return
			}
			if r.cur.landed(key, r.ms) {
				r.rb.DiscardRow()
				return
			}
			r.cur.advance(strings.Clone(key), r.ms)
		}
		landed++
		if serr == nil {
			serr = r.endRow(r.ms)
		} else {
			r.rb.DiscardRow()
		}
		if serr != nil {
			rejects = append(rejects, reject(pos, key, serr))
		}
	})
	if aerr != nil && perr == nil {
		perr = fmt.Errorf("malformed results: %w", aerr)
	}
	return rejects, n, landed, perr
}

func reject(pos int, key string, err error) extract.Reject {
	rj := extract.Reject{Line: int64(pos), Reason: err.Error(), Raw: strings.Clone(key)}
	var fe *extract.FieldError
	if errors.As(err, &fe) {
		rj.Field, rj.Reason = fe.Field, fe.Reason
	}
	return rj
}

// key returns the staged entity's key (values joined by "|"); "" if a key property is
// missing.
func (r *reader) key() string {
	for _, v := range r.keyVals {
		if v == "" {
			return ""
		}
	}
	if len(r.keyVals) == 1 {
		return r.keyVals[0]
	}
	return strings.Join(r.keyVals, "|")
}

// headerInfo reads the key, the change timestamp and the items array of a header entity
// of an item stream, in one pass.
func (r *reader) headerInfo(ent []byte) (key string, ms int64, items []byte, err error) {
	clear(r.keyVals)
	r.hasMS = false
	err = jsonparser.ObjectEach(ent, func(k, v []byte, vt jsonparser.ValueType, _ int) error {
		name := string(k)
		switch {
		case name == r.e.Nav:
			if vt == jsonparser.Object {
				if res, rvt, _, err := jsonparser.Get(v, "results"); err == nil && rvt == jsonparser.Array {
					items = res
				}
			}
		case name == r.e.Changed && vt == jsonparser.String:
			s, _ := jsonparser.ParseString(v)
			if ms, r.hasMS = odataMillis(s); !r.hasMS {
				return fmt.Errorf("%s %q is not an OData date", name, s)
			}
		default:
			if i, ok := r.keyPos[name]; ok && vt == jsonparser.String {
				s, _ := jsonparser.ParseString(v)
				r.keyVals[i] = s
			}
		}
		return nil
	})
	if err != nil {
		return "", 0, nil, err
	}
	if key = r.key(); key == "" {
		return "", 0, nil, fmt.Errorf("no key (%s)", strings.Join(r.e.HeaderKeys, ", "))
	}
	if !r.hasMS {
		return "", 0, nil, fmt.Errorf("%s has no %s", key, r.e.Changed)
	}
	if items == nil {
		return "", 0, nil, fmt.Errorf("%s of %s is missing or not expanded", r.e.Nav, key)
	}
	return key, ms, items, nil
}

// odataMillis parses /Date(ms)/ or /Date(ms±hhmm)/: ms is the UTC instant, the offset only
// says where it was recorded.
func odataMillis(s string) (int64, bool) {
	body, ok := strings.CutPrefix(s, "/Date(")
	if !ok {
		return 0, false
	}
	body, ok = strings.CutSuffix(body, ")/")
	if !ok || body == "" {
		return 0, false
	}
	if j := strings.IndexAny(body[1:], "+-"); j >= 0 {
		body = body[:j+1]
	}
	ms, err := strconv.ParseInt(body, 10, 64)
	return ms, err == nil
}

// stage stages one entity's properties (the row is not ended), picking up its key
// properties and change timestamp on the way.
func (r *reader) stage(obj []byte) error {
	clear(r.keyVals)
	r.hasMS = false
	return jsonparser.ObjectEach(obj, func(k, v []byte, vt jsonparser.ValueType, _ int) error {
		i, ok := r.index[string(k)]
		if !ok {
			if len(k) > 0 && k[0] != '_' && vt != jsonparser.Object && string(k) != r.e.Nav {
				r.noteUnknown(string(k))
			}
			return nil
		}
		return r.set(i, v, vt)
	})
}

// endRow completes the staged row: the header's change timestamp for item streams, the
// snapshot stamp for snapshots.
func (r *reader) endRow(headerMS int64) error {
	rb := r.rb
	if r.e.Nav != "" && r.changedCol >= 0 {
		rb.SetTime(r.changedCol, time.UnixMilli(headerMS).UTC())
	}
	if r.e.snapshot() {
		rb.SetTime(r.index[SnapshotColumn], r.snapAt)
	}
	return rb.EndRow()
}

func (r *reader) noteUnknown(name string) {
	if !slices.Contains(r.unknown, name) {
		r.unknown = append(r.unknown, name)
	}
}

// set stages one JSON value in column i.
func (r *reader) set(i int, v []byte, vt jsonparser.ValueType) error {
	rb := r.rb
	switch vt {
	case jsonparser.Null:
		rb.SetNull(i)
		return nil
	case jsonparser.Boolean:
		return rb.SetBool(i, len(v) > 0 && v[0] == 't')
	case jsonparser.Number:
		return rb.SetString(i, string(v))
	case jsonparser.String:
	default:
		return nil // objects (deferred navigation) and arrays are not columns
	}
	var str string
	if bytes.IndexByte(v, '\\') >= 0 {
		u, err := jsonparser.Unescape(v, r.buf[:0])
		if err != nil {
			return &extract.FieldError{Field: r.cols[i].Name, Value: string(v), Reason: "malformed JSON string"}
		}
		str = string(u)
	} else if len(v) > 0 {
		// The page body outlives the row: a view is enough for parsing and for Append,
		// which copies.
		str = unsafe.String(&v[0], len(v))
	}
	if p := r.keyAt[i]; p >= 0 {
		r.keyVals[p] = str
	}
	switch r.cols[i].Type {
	case revcast.Date, revcast.Timestamp:
		if strings.HasPrefix(str, "/Date(") {
			ms, ok := odataMillis(str)
			if !ok {
				return &extract.FieldError{Field: r.cols[i].Name, Value: str, Reason: "not an OData date"}
			}
			if i == r.changedCol && r.e.Nav == "" {
				r.ms, r.hasMS = ms, true
			}
			return rb.SetTime(i, time.UnixMilli(ms).UTC())
		}
	}
	return rb.SetString(i, str)
}

// Close releases the reader's buffers.
func (r *reader) Close() error {
	if r.rb != nil {
		r.rb.Release()
		r.rb = nil
	}
	return nil
}
