package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/revcast/revcast/extract"
)

// cursor is the saved position of one object: the SystemModstamp of the last landed
// record and the ids landed in that second (or, past MaxCursorIDs of them, only the last
// id in (SystemModstamp, Id) order).
type cursor struct {
	TS            string   `json:"ts,omitempty"` // RFC 3339, UTC, microseconds
	IDs           []string `json:"ids,omitempty"`
	AfterID       string   `json:"after_id,omitempty"`
	Overflow      bool     `json:"overflow,omitempty"`
	FullRefreshAt string   `json:"full_refresh_at,omitempty"` // when the last full read began

	ts    int64 // TS in microseconds, when set
	set   bool  // a record has been landed under this cursor (TS is valid)
	idSet map[string]struct{}
	max   int
}

const tsLayout = "2006-01-02T15:04:05.000000Z"

func parseCursor(raw json.RawMessage, max int) (*cursor, error) {
	c := &cursor{max: max}
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
		c.ts, c.set = t.UnixMicro(), true
	}
	return c, nil
}

func floorSecond(us int64) int64 { return us - ((us%1e6)+1e6)%1e6 }

// seen reports whether the record (id, ts) was landed under this cursor already.
func (c *cursor) seen(id []byte, ts int64) bool {
	if !c.set || ts > c.ts || floorSecond(ts) < floorSecond(c.ts) {
		return false
	}
	if c.Overflow {
		return ts < c.ts || string(id) <= c.AfterID
	}
	return c.has(string(id))
}

// smallSet is the size up to which the cursor's ids are searched linearly.
const smallSet = 32

func (c *cursor) has(id string) bool {
	if len(c.IDs) <= smallSet {
		return slices.Contains(c.IDs, id)
	}
	if c.idSet == nil {
		c.idSet = make(map[string]struct{}, len(c.IDs))
		for _, x := range c.IDs {
			c.idSet[x] = struct{}{}
		}
	}
	_, ok := c.idSet[id]
	return ok
}

// advance records that (id, ts) was landed.
func (c *cursor) advance(id string, ts int64) {
	switch {
	case !c.set || floorSecond(ts) > floorSecond(c.ts):
		c.IDs, c.Overflow, c.idSet = c.IDs[:0], false, nil
		c.add(id)
		c.ts, c.set, c.AfterID = ts, true, id
		return
	case ts > c.ts:
		c.ts, c.AfterID = ts, id
	case ts == c.ts && id > c.AfterID:
		c.AfterID = id
	}
	if floorSecond(ts) == floorSecond(c.ts) {
		c.add(id)
	}
}

func (c *cursor) add(id string) {
	if c.Overflow || c.has(id) {
		return
	}
	c.IDs = append(c.IDs, id)
	if c.idSet != nil {
		c.idSet[id] = struct{}{}
	}
	if len(c.IDs) > c.max {
		// Too many records share this second to remember them all: fall back to
		// (SystemModstamp, Id) order within it.
		c.Overflow, c.IDs, c.idSet = true, nil, nil
	}
}

func (c *cursor) marshal() json.RawMessage {
	if c.set {
		c.TS = time.UnixMicro(c.ts).UTC().Format(tsLayout)
	}
	b, _ := json.Marshal(c)
	return b
}

// reader reads one object page by page.
type reader struct {
	s      *Source
	object objectDef
	dec    *decoder
	cur    *cursor
	fields []string // selected, in query order
	base   string

	next     string // nextRecordsUrl of the page to read; "" before the first
	finished bool
	stopErr  error // sticky: returned by Next after the batch that saw it
	deleted  []string

	// ahead delivers the page at next, requested while the previous page was decoded
	// (nil when no request is in flight); stopAhead cancels that request.
	ahead     chan fetched
	aheadNext string
	stopAhead context.CancelFunc
}

// fetched is one page's response, or the error that replaced it.
type fetched struct {
	body []byte
	hdr  http.Header
	err  error
}

// Read opens the stream of one object after cursor (nil: a full read). It asks describe
// which fields the org has; see the package documentation for the drift rules.
func (s *Source) Read(ctx context.Context, stream extract.Stream, raw json.RawMessage) (extract.Reader, error) {
	var def objectDef
	found := false
	for _, o := range s.objects {
		if StreamName(o.Name) == stream.Name {
			def, found = o, true
		}
	}
	if !found {
		return nil, fmt.Errorf("salesforce: no configured object for stream %q", stream.Name)
	}
	cur, err := parseCursor(raw, s.maxCursIDs)
	if err != nil {
		return nil, fmt.Errorf("salesforce: %s: cursor is corrupt (%v); delete the stream's state file to re-extract it in full", def.Name, err)
	}
	now := s.Now().UTC()
	if !cur.set {
		cur.FullRefreshAt = now.Format(time.RFC3339)
	} else if s.fullEvery > 0 {
		last, err := time.Parse(time.RFC3339, cur.FullRefreshAt)
		if err != nil || now.Sub(last) >= s.fullEvery {
			s.Logger.Info("salesforce: periodic full refresh", "object", def.Name, "last", cur.FullRefreshAt, "every", s.FullRefreshEvery)
			cur = &cursor{max: s.maxCursIDs, FullRefreshAt: now.Format(time.RFC3339)}
		}
	}
	described, hdr, err := s.describe(ctx, def.Name)
	if err != nil {
		return nil, err
	}
	if err := s.overQuota(def.Name, hdr); err != nil {
		return nil, err
	}
	var fields []string
	known := map[string]bool{}
	for _, f := range def.fields() {
		known[strings.ToLower(f.Name)] = true
		t, ok := described[f.Name]
		if !ok {
			continue // the org lacks it: the column lands as null
		}
		if !f.Kind.accepts(t) {
			return nil, &SchemaError{Object: def.Name, Field: f.Name, Landed: f.Kind.String(), Now: "type " + t + " (describe)"}
		}
		fields = append(fields, f.Name)
	}
	for _, need := range []string{"Id", "SystemModstamp"} {
		if !slices.Contains(fields, need) {
			return nil, fmt.Errorf("salesforce: %s has no %s field; it cannot be extracted incrementally", def.Name, need)
		}
	}
	var extras []string
	if !s.IgnoreNewFields {
		for name, t := range described {
			if strings.HasSuffix(name, "__c") && !known[strings.ToLower(name)] && queryable(t) {
				extras = append(extras, name)
			}
		}
		sort.Strings(extras)
		if len(extras) > 0 {
			s.Logger.Info("salesforce: new fields land as text columns", "object", def.Name, "fields", extras)
		}
	}
	base, err := s.base(ctx)
	if err != nil {
		return nil, err
	}
	return &reader{
		s:      s,
		object: def,
		dec:    newDecoder(s.Allocator, def.Name, def.fields(), extras),
		cur:    cur,
		fields: append(fields, extras...),
		base:   base,
	}, nil
}

// soql is the keyset query from the current cursor.
func (r *reader) soql() string {
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(r.fields, ", "))
	b.WriteString(" FROM ")
	b.WriteString(r.object.Name)
	if r.cur.set {
		// Whole seconds: the literal forms SOQL documents. Records of that second
		// already landed are skipped by the cursor.
		b.WriteString(" WHERE SystemModstamp >= ")
		b.WriteString(time.UnixMicro(floorSecond(r.cur.ts)).UTC().Format("2006-01-02T15:04:05Z"))
	}
	b.WriteString(" ORDER BY SystemModstamp ASC, Id ASC")
	return b.String()
}

// fetch gets the next page: the one requested ahead when there is one, else the query
// itself or the nextRecordsUrl of the last page. A query locator that expired
// (INVALID_QUERY_LOCATOR) restarts the query from the cursor, which the keyset makes safe.
func (r *reader) fetch(ctx context.Context) ([]byte, http.Header, error) {
	var f fetched
	if r.ahead != nil {
		select {
		case f = <-r.ahead:
		case <-ctx.Done():
			r.dropAhead()
			return nil, nil, ctx.Err()
		}
		r.ahead = nil
		r.stopAhead()
		// The request ran under the context of the Next that made it; a caller that
		// gives each Next its own context may have cancelled that one since. The page
		// is still wanted: ask again under this call's context.
		if ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
			f = r.get(ctx, r.base+r.aheadNext)
		}
	} else if r.next == "" {
		f = r.get(ctx, r.s.dataURL(r.base, "queryAll?q="+url.QueryEscape(r.soql())))
	} else {
		f = r.get(ctx, r.base+r.next)
	}
	var ae *APIError
	if r.next != "" && errors.As(f.err, &ae) && ae.Code == "INVALID_QUERY_LOCATOR" {
		r.s.Logger.Warn("salesforce: query locator expired; restarting the query from the cursor", "object", r.object.Name)
		r.next = ""
		f = r.get(ctx, r.s.dataURL(r.base, "queryAll?q="+url.QueryEscape(r.soql())))
	}
	return f.body, f.hdr, f.err
}

// get sends one page request (retried by the client on transient failures).
func (r *reader) get(ctx context.Context, u string) fetched {
	h := http.Header{"Accept": {"application/json"}, "Sforce-Query-Options": {"batchSize=" + strconv.Itoa(r.s.BatchSize)}}
	resp, err := r.s.api.Do(ctx, http.MethodGet, u, h, nil)
	if err != nil {
		return fetched{err: apiError(err)}
	}
	return fetched{body: resp.Body, hdr: resp.Header}
}

// requestAhead requests the page at next (a nextRecordsUrl) in the background, so that
// the org prepares and sends it while this client decodes the page before it: the two
// overlap instead of taking turns (a full read of a large object is one page after
// another). The URL comes from the response envelope and does not depend on the cursor;
// only a query restart does, and fetch makes that one after the decode.
//
// The cost: a caller that stops reading before the last page (Close) has had one page
// more requested than it used, which Salesforce counts against the daily API limit
// like any other, and one page body (a few MB at batchSize 2000) is held meanwhile.
func (r *reader) requestAhead(ctx context.Context, next string) {
	actx, cancel := context.WithCancel(ctx)
	ch := make(chan fetched, 1)
	u := r.base + next
	go func() { ch <- r.get(actx, u) }()
	r.ahead, r.aheadNext, r.stopAhead = ch, next, cancel
}

// dropAhead cancels the page requested ahead, if any, and waits for its request to end.
func (r *reader) dropAhead() {
	if r.ahead != nil {
		r.stopAhead()
		<-r.ahead
		r.ahead = nil
	}
}

// Next returns the next page as a batch; io.EOF after the last.
func (r *reader) Next(ctx context.Context) (extract.Batch, error) {
	if r.stopErr != nil {
		return extract.Batch{}, r.stopErr
	}
	if r.finished {
		return extract.Batch{}, io.EOF
	}
	body, hdr, err := r.fetch(ctx)
	if err != nil {
		if isLimitExceeded(err) {
			r.stopErr = &QuotaError{Object: r.object.Name, Code: "REQUEST_LIMIT_EXCEEDED", Share: r.s.QuotaShare}
			return extract.Batch{}, r.stopErr
		}
		return extract.Batch{}, wrap("query "+r.object.Name, err)
	}
	// The envelope names the next page before the records (Salesforce's documented
	// order): request it now, unless this page's usage already stops the read.
	if next, ok := peekNext(body); ok && r.s.overQuota(r.object.Name, hdr) == nil {
		r.requestAhead(ctx, next)
	}
	before := *r.cur
	before.IDs, before.idSet = slices.Clone(r.cur.IDs), nil
	var rejects []extract.Reject
	var p page
	for {
		r.deleted = nil
		p, rejects, err = r.dec.decodePage(body, r.decide)
		if err != nil {
			r.dec.discard()
			r.dropAhead()
			return extract.Batch{}, wrap("query "+r.object.Name, err)
		}
		if len(r.dec.unknown) == 0 {
			break
		}
		// The response has fields without a column: add them and decode the page again.
		r.s.Logger.Info("salesforce: new fields land as text columns", "object", r.object.Name, "fields", r.dec.unknown)
		r.dec.discard()
		r.dec.addExtras(r.dec.unknown)
		restored := before
		restored.IDs, restored.idSet = slices.Clone(before.IDs), nil
		*r.cur = restored
	}
	r.next = p.next
	if p.done {
		r.finished = true
	}
	if err := r.s.overQuota(r.object.Name, hdr); err != nil && !r.finished {
		r.stopErr = err
	}
	// No request ahead is made when this page's usage stops the read (stopErr), so only
	// the envelope disagreeing with the whole page leaves one to cancel (not seen in
	// practice).
	if r.ahead != nil && (r.finished || r.aheadNext != r.next) {
		r.dropAhead()
	}
	return extract.Batch{Record: r.dec.flush(), Rejects: rejects, Cursor: r.cur.marshal(), Deleted: r.deleted}, nil
}

// decide is called for every record in page order: it skips records the cursor has
// landed already, and advances the cursor over the rest.
func (r *reader) decide(info recordInfo) bool {
	if r.cur.seen(info.id, info.ts) {
		return false
	}
	id := string(info.id)
	r.cur.advance(id, info.ts)
	if info.deleted {
		r.deleted = append(r.deleted, id)
	}
	return true
}

// Close cancels a page requested ahead and releases the reader's buffers.
func (r *reader) Close() error {
	r.dropAhead()
	r.dec.release()
	return nil
}
