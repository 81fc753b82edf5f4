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

	ms int64
	at bool // a position is set: ms holds it, and TS once formatted
	// stale: TS is not formatted from ms yet. Formatting a time for every header of a
	// page cost a tenth of decoding it, so it waits until the cursor is read.
	stale bool
	seen  map[string]struct{}
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
		c.ms, c.at = t.UnixMilli(), true
	}
	for _, k := range c.Keys {
		c.seen[k] = struct{}{}
	}
	c.raw = raw
	c.rawFor, _ = json.Marshal(c)
	return c, nil
}

// ts returns the position as text (UTC, milliseconds); "" when none is set.
func (c *cursor) ts() string {
	if c.stale {
		c.TS, c.stale = time.UnixMilli(c.ms).UTC().Format(cursorLayout), false
	}
	return c.TS
}

// landed reports whether the record (key, ms) is covered by the cursor already.
func (c *cursor) landed(key string, ms int64) bool {
	if !c.at || ms > c.ms {
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
	if !c.at || ms > c.ms {
		c.ms, c.at, c.stale = ms, true, true
		c.Keys = c.Keys[:0]
		clear(c.seen)
	}
	if _, ok := c.seen[key]; !ok {
		c.seen[key] = struct{}{}
		c.Keys = append(c.Keys, key)
	}
}

func (c *cursor) clone() *cursor {
	d := &cursor{TS: c.TS, Keys: slices.Clone(c.Keys), Snapshot: c.Snapshot, ms: c.ms, at: c.at, stale: c.stale,
		seen: make(map[string]struct{}, len(c.Keys)), raw: c.raw, rawFor: c.rawFor}
	for _, k := range d.Keys {
		d.seen[k] = struct{}{}
	}
	return d
}

func (c *cursor) marshal() json.RawMessage {
	c.ts()
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
	ferr       error // the first conversion error of the record being staged

	// Property order of the previous entity (and item): SAP writes every record's
	// properties in the same order, so a name is matched against what came at its
	// position last time before the column index is consulted.
	entityOrder, itemOrder propOrder
}

// propOrder remembers, per member position, the member name seen there last and its
// column (-1: not a column).
type propOrder struct {
	names []string
	cols  []int
}

// col returns the column of member j named name (raw, unescaped).
func (o *propOrder) col(j int, name []byte, index map[string]int) int {
	if j < len(o.names) && o.names[j] == string(name) {
		return o.cols[j]
	}
	c, ok := index[string(name)]
	if !ok {
		c = -1
	}
	switch {
	case j < len(o.names):
		o.names[j], o.cols[j] = string(name), c
	case j == len(o.names):
		o.names, o.cols = append(o.names, string(name)), append(o.cols, c)
	}
	return c
}

func (o *propOrder) reset() { o.names, o.cols = o.names[:0], o.cols[:0] }

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
	r.entityOrder.reset()
	r.itemOrder.reset()
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
		if ts := r.cur.ts(); ts != "" {
			q.Set("$filter", e.Changed+" ge datetimeoffset'"+ts+"'")
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
	if ts := r.cur.ts(); ts != "" {
		op = fmt.Sprintf("%s page ts=%s", r.e.Set, ts)
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
	before := r.cur.clone()
	var pg page
	for {
		pg, err = r.decodePage(resp.Body)
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
	next, n, landed := pg.next, pg.n, pg.landed
	b := extract.Batch{Record: r.rb.NewRecord(), Rejects: pg.rejects}
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

// page is what decodePage read from one response: the __next link, the number of
// entities, how many of them were not covered by the cursor, and the rejected records.
type page struct {
	next    string
	n       int
	landed  int
	rejects []extract.Reject
	results bool // the page had a d.results array
}

// decodePage reads one OData v2 page, {"d":{"results":[...],"__next":"..."}}, in a single
// forward pass: each entity's properties (and, for item streams, each header's key,
// change timestamp and expanded items) are staged in the row builder as they are met,
// and the cursor is advanced. Properties keep no copies: strings are views into body.
// A conversion error rejects the record (naming its key and field); malformed JSON
// fails the page, naming the result, its key when known and the property.
func (r *reader) decodePage(body []byte) (page, error) {
	var p page
	sc := &scanner{b: body}
	more, err := sc.objectStart()
	if err != nil {
		return p, fmt.Errorf("malformed OData response: %w", err)
	}
	foundD := false
	for more {
		name, esc, err := sc.key()
		if err != nil {
			return p, fmt.Errorf("malformed OData response: %w", err)
		}
		if !esc && string(name) == "d" && sc.kind() == '{' {
			foundD = true
			if err := r.decodeD(sc, &p); err != nil {
				return p, err
			}
		} else if err := sc.skip(); err != nil {
			return p, fmt.Errorf("malformed OData response: %w", err)
		}
		if more, err = sc.more('}'); err != nil {
			return p, fmt.Errorf("malformed OData response: %w", err)
		}
	}
	if sc.ws() != 0 {
		return p, fmt.Errorf("malformed OData response: %w", sc.fail("data after the response object"))
	}
	if !foundD {
		return p, errors.New(`malformed OData response: no "d" object`)
	}
	if !p.results {
		return p, errors.New(`malformed OData response: no "d.results" array`)
	}
	return p, nil
}

// decodeD reads the "d" object: results and __next.
func (r *reader) decodeD(sc *scanner, p *page) error {
	more, err := sc.objectStart()
	for more && err == nil {
		var name []byte
		var esc bool
		if name, esc, err = sc.key(); err != nil {
			break
		}
		switch {
		case !esc && string(name) == "results":
			if sc.kind() != '[' {
				return errors.New(`malformed OData response: "d.results" is not an array`)
			}
			p.results = true
			if err := r.decodeResults(sc, p); err != nil {
				return err
			}
		case !esc && string(name) == "__next" && sc.kind() == '"':
			raw, esc, serr := sc.str()
			if serr != nil {
				err = serr
				break
			}
			if p.next, serr = r.text(raw, esc); serr != nil {
				return fmt.Errorf("malformed OData response: malformed __next: %w", serr)
			}
			p.next = strings.Clone(p.next)
		default:
			err = sc.skip()
		}
		if err == nil {
			more, err = sc.more('}')
		}
	}
	if err != nil {
		return fmt.Errorf("malformed OData response: %w", err)
	}
	return nil
}

// decodeResults reads the results array.
func (r *reader) decodeResults(sc *scanner, p *page) error {
	more, err := sc.arrayStart()
	if err != nil {
		return fmt.Errorf("malformed results: %w", err)
	}
	for more {
		p.n++
		pos := p.n
		if sc.kind() != '{' {
			return fmt.Errorf("result %d is not an object", pos)
		}
		if r.e.Nav != "" {
			err = r.decodeHeader(sc, pos, p)
		} else {
			err = r.decodeEntity(sc, pos, p)
		}
		if err != nil {
			return err
		}
		if more, err = sc.more(']'); err != nil {
			return fmt.Errorf("malformed results after result %d: %w", pos, err)
		}
	}
	return nil
}

// text returns a JSON string's text: a view of raw, or raw unescaped (a copy) when esc.
func (r *reader) text(raw []byte, esc bool) (string, error) {
	if !esc {
		if len(raw) == 0 {
			return "", nil
		}
		return unsafe.String(&raw[0], len(raw)), nil
	}
	u, err := jsonparser.Unescape(raw, r.buf[:0])
	if err != nil {
		return "", err
	}
	if len(u) > 0 && &u[0] != &raw[0] { // (Unescape hands back raw itself when it has no escapes)
		r.buf = u[:0] // reuse what Unescape grew
	}
	return string(u), nil
}

// where names the record being read in an error: its key when known.
func (r *reader) where(pos int) string {
	if k := r.key(); k != "" {
		return fmt.Sprintf("result %d (%s)", pos, k)
	}
	return fmt.Sprintf("result %d", pos)
}

// decodeEntity stages one entity of a header or snapshot stream and lands it unless the
// cursor covers it.
func (r *reader) decodeEntity(sc *scanner, pos int, p *page) error {
	clear(r.keyVals)
	r.hasMS = false
	r.ferr = nil
	if err := r.stageObject(sc, &r.entityOrder); err != nil {
		r.rb.DiscardRow()
		return fmt.Errorf("%s: %w", r.where(pos), err)
	}
	key := r.key()
	if key == "" && !r.e.snapshot() {
		r.rb.DiscardRow()
		return fmt.Errorf("result %d has no key (%s)", pos, strings.Join(r.e.Keys, ", "))
	}
	if !r.e.snapshot() {
		if !r.hasMS {
			r.rb.DiscardRow()
			var fe *extract.FieldError
			if errors.As(r.ferr, &fe) && fe.Field == r.e.Changed {
				return fmt.Errorf("result %d (%s): %w", pos, key, fe)
			}
			return fmt.Errorf("result %d (%s) has no %s", pos, key, r.e.Changed)
		}
		if r.cur.landed(key, r.ms) {
			r.rb.DiscardRow()
			return nil
		}
		r.cur.advance(strings.Clone(key), r.ms)
	}
	p.landed++
	r.land(pos, key, r.ms, p)
	return nil
}

// land ends the staged row, or rejects it with the first conversion error.
func (r *reader) land(pos int, key string, ms int64, p *page) {
	err := r.ferr
	if err == nil {
		err = r.endRow(ms)
	} else {
		r.rb.DiscardRow()
	}
	if err != nil {
		p.rejects = append(p.rejects, reject(pos, key, err))
	}
}

// decodeHeader reads one header entity of an item stream: its key and change timestamp,
// and its expanded items, which land (unless the cursor covers the header) as they are
// read. Should the items come before the key or the timestamp, they are read again once
// the header is complete.
func (r *reader) decodeHeader(sc *scanner, pos int, p *page) error {
	clear(r.keyVals)
	r.hasMS = false
	var ms int64
	itemsAt, itemsDone := -1, false
	fail := func(err error) error { return fmt.Errorf("%s: %w", r.where(pos), err) }
	more, err := sc.objectStart()
	if err != nil {
		return fail(err)
	}
	for more {
		raw, esc, err := sc.key()
		if err != nil {
			return fail(err)
		}
		name, err := r.text(raw, esc)
		if err != nil {
			return fail(sc.fail("malformed member name"))
		}
		kind := sc.kind()
		switch {
		case name == r.e.Nav && kind == '{':
			m, err := sc.objectStart()
			for m && err == nil {
				var k []byte
				var kesc bool
				if k, kesc, err = sc.key(); err != nil {
					break
				}
				if kesc || string(k) != "results" || sc.kind() != '[' || itemsDone || itemsAt >= 0 {
					err = sc.skip()
				} else if key := r.key(); key != "" && r.hasMS {
					itemsDone = true
					err = r.decodeItems(sc, pos, key, ms, p)
				} else {
					itemsAt = sc.i
					err = sc.skip()
				}
				if err == nil {
					m, err = sc.more('}')
				}
			}
			if err != nil {
				if _, ok := err.(*syntaxError); ok {
					return fail(fmt.Errorf("%s: %w", r.e.Nav, err))
				}
				return err // from decodeItems: names the record already
			}
		case name == r.e.Changed && kind == '"':
			raw, esc, err := sc.str()
			if err != nil {
				return fail(fmt.Errorf("%s: %w", name, err))
			}
			var ok bool
			if ms, ok = r.odataDate(raw, esc); !ok {
				s, _ := r.text(raw, esc)
				return fmt.Errorf("result %d: %s %q is not an OData date", pos, name, s)
			}
			r.hasMS = true
		default:
			if i, ok := r.keyPos[name]; ok && kind == '"' {
				raw, esc, err := sc.str()
				if err != nil {
					return fail(fmt.Errorf("%s: %w", name, err))
				}
				if r.keyVals[i], err = r.text(raw, esc); err != nil {
					return fail(&extract.FieldError{Field: name, Value: string(raw), Reason: "malformed JSON string"})
				}
			} else if err := sc.skip(); err != nil {
				return fail(fmt.Errorf("%s: %w", name, err))
			}
		}
		if more, err = sc.more('}'); err != nil {
			return fail(fmt.Errorf("after %s: %w", name, err))
		}
	}
	key := r.key()
	if key == "" {
		return fmt.Errorf("result %d: no key (%s)", pos, strings.Join(r.e.HeaderKeys, ", "))
	}
	if !r.hasMS {
		return fmt.Errorf("result %d: %s has no %s", pos, key, r.e.Changed)
	}
	if !itemsDone {
		if itemsAt < 0 {
			return fmt.Errorf("result %d: %s of %s is missing or not expanded", pos, r.e.Nav, key)
		}
		again := &scanner{b: sc.b, i: itemsAt}
		if err := r.decodeItems(again, pos, key, ms, p); err != nil {
			return err
		}
	}
	return nil
}

// decodeItems reads a header's items array: skipped if the cursor covers the header,
// else each item is staged and landed with the header's change timestamp.
func (r *reader) decodeItems(sc *scanner, pos int, key string, ms int64, p *page) error {
	fail := func(err error) error { return fmt.Errorf("result %d (%s): %s: %w", pos, key, r.e.Nav, err) }
	if r.cur.landed(key, ms) {
		if err := sc.skip(); err != nil {
			return fail(err)
		}
		return nil
	}
	key = strings.Clone(key)
	r.cur.advance(key, ms)
	p.landed++
	more, err := sc.arrayStart()
	if err != nil {
		return fail(err)
	}
	for k := 1; more; k++ {
		if sc.kind() != '{' {
			return fail(fmt.Errorf("item %d is not an object", k))
		}
		r.ferr = nil
		if err := r.stageObject(sc, &r.itemOrder); err != nil {
			r.rb.DiscardRow()
			return fail(fmt.Errorf("item %d: %w", k, err))
		}
		r.land(pos, key, ms, p)
		if more, err = sc.more(']'); err != nil {
			return fail(err)
		}
	}
	return nil
}

// stageObject stages the properties of one entity or item (the row is not ended),
// picking up its key properties and change timestamp on the way. It returns malformed
// JSON; conversion errors are kept in r.ferr (the first one) and the rest of the object is
// still read, so the record is rejected rather than the page failed.
func (r *reader) stageObject(sc *scanner, order *propOrder) error {
	more, err := sc.objectStart()
	if err != nil {
		return err
	}
	for j := 0; more; j++ {
		raw, esc, err := sc.key()
		if err != nil {
			return err
		}
		col := -1
		if esc {
			name, err := r.text(raw, esc)
			if err != nil {
				return sc.fail("malformed member name")
			}
			if c, ok := r.index[name]; ok {
				col = c
			}
			raw = []byte(name)
		} else {
			col = order.col(j, raw, r.index)
		}
		if col < 0 {
			if len(raw) > 0 && raw[0] != '_' && sc.kind() != '{' && string(raw) != r.e.Nav {
				r.noteUnknown(string(raw))
			}
			if err := sc.skip(); err != nil {
				return fmt.Errorf("%s: %w", raw, err)
			}
		} else if err := r.value(sc, col); err != nil {
			return fmt.Errorf("%s: %w", r.cols[col].Name, err)
		}
		if more, err = sc.more('}'); err != nil {
			return fmt.Errorf("after %s: %w", raw, err)
		}
	}
	return nil
}

// note keeps the first conversion error of the record.
func (r *reader) note(err error) {
	if err != nil && r.ferr == nil {
		r.ferr = err
	}
}

// value stages the JSON value at the scanner in column i.
func (r *reader) value(sc *scanner, i int) error {
	rb := r.rb
	switch sc.kind() {
	case 'u':
		if err := sc.literal("null"); err != nil {
			return err
		}
		rb.SetNull(i)
	case 't', 'f':
		v := sc.b[sc.i] == 't'
		word := "false"
		if v {
			word = "true"
		}
		if err := sc.literal(word); err != nil {
			return err
		}
		r.note(rb.SetBool(i, v))
	case 'n':
		num, err := sc.number()
		if err != nil {
			return err
		}
		r.note(rb.SetString(i, unsafe.String(&num[0], len(num))))
	case '"':
		raw, esc, err := sc.str()
		if err != nil {
			return err
		}
		r.setString(i, raw, esc)
	case '{', '[':
		return sc.skip() // objects (deferred navigation) and arrays are not columns
	default:
		return sc.skip() // reports what is wrong
	}
	return nil
}

// setString stages a JSON string (raw, still escaped when esc) in column i: OData dates
// as times, anything else through the builder's text conversion.
func (r *reader) setString(i int, raw []byte, esc bool) {
	typ := r.cols[i].Type
	if typ == revcast.Date || typ == revcast.Timestamp {
		if ms, ok := odataDateFast(raw); ok {
			r.setTime(i, ms)
			return
		}
	}
	str, err := r.text(raw, esc)
	if err != nil {
		r.note(&extract.FieldError{Field: r.cols[i].Name, Value: string(raw), Reason: "malformed JSON string"})
		return
	}
	if p := r.keyAt[i]; p >= 0 {
		r.keyVals[p] = str
	}
	if (typ == revcast.Date || typ == revcast.Timestamp) && strings.HasPrefix(str, "/Date(") {
		ms, ok := odataMillis(str)
		if !ok {
			r.note(&extract.FieldError{Field: r.cols[i].Name, Value: str, Reason: "not an OData date"})
			return
		}
		r.setTime(i, ms)
		return
	}
	r.note(r.rb.SetString(i, str))
}

// setTime stages the instant ms (an OData date) in column i; it is the record's change
// timestamp when i is the change column of a header stream.
func (r *reader) setTime(i int, ms int64) {
	if i == r.changedCol && r.e.Nav == "" {
		r.ms, r.hasMS = ms, true
	}
	r.note(r.rb.SetTime(i, time.UnixMilli(ms).UTC()))
}

// odataDate parses a JSON string holding an OData date.
func (r *reader) odataDate(raw []byte, esc bool) (int64, bool) {
	if ms, ok := odataDateFast(raw); ok {
		return ms, true
	}
	s, err := r.text(raw, esc)
	if err != nil {
		return 0, false
	}
	return odataMillis(s)
}

// odataDateFast parses the raw JSON text of an OData v2 date as SAP writes it,
// \/Date(ms)\/ or \/Date(ms+0000)\/, without unescaping; false for any other form (the
// caller then unescapes and tries odataMillis).
func odataDateFast(raw []byte) (int64, bool) {
	const pre, suf = `\/Date(`, `)\/`
	if len(raw) <= len(pre)+len(suf) || string(raw[:len(pre)]) != pre || string(raw[len(raw)-len(suf):]) != suf {
		return 0, false
	}
	body := raw[len(pre) : len(raw)-len(suf)]
	if bytes.IndexByte(body, '\\') >= 0 {
		return 0, false
	}
	return odataMillisBody(unsafe.String(&body[0], len(body)))
}

func (r *reader) discard() {
	if r.rb.Len() > 0 {
		r.rb.NewRecord().Release()
	}
	r.rb.DiscardRow()
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

// odataMillis parses /Date(ms)/ or /Date(ms±hhmm)/: ms is the UTC instant, the offset only
// says where it was recorded.
func odataMillis(s string) (int64, bool) {
	body, ok := strings.CutPrefix(s, "/Date(")
	if !ok {
		return 0, false
	}
	body, ok = strings.CutSuffix(body, ")/")
	if !ok {
		return 0, false
	}
	return odataMillisBody(body)
}

// odataMillisBody parses what is between "/Date(" and ")/".
func odataMillisBody(body string) (int64, bool) {
	if body == "" {
		return 0, false
	}
	if j := strings.IndexAny(body[1:], "+-"); j >= 0 {
		body = body[:j+1]
	}
	ms, err := strconv.ParseInt(body, 10, 64)
	return ms, err == nil
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

// Close releases the reader's buffers.
func (r *reader) Close() error {
	if r.rb != nil {
		r.rb.Release()
		r.rb = nil
	}
	return nil
}
