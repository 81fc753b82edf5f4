package hubspot

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
	"time"

	"github.com/buger/jsonparser"

	"github.com/revcast/revcast/extract"
)

// Keyset modes of a search cursor.
const (
	modeGTE = ""    // hs_lastmodifieddate GTE ts, skipping ids landed at ts
	modeIDs = "ids" // hs_lastmodifieddate EQ ts AND hs_object_id GT after_id, by id
	modeGT  = "gt"  // hs_lastmodifieddate GT ts
)

// cursor is the saved position of one object.
type cursor struct {
	TS      int64    `json:"ts"`                 // hs_lastmodifieddate (ms) of the last landed record
	IDs     []string `json:"ids,omitempty"`      // ids landed at TS
	Mode    string   `json:"mode,omitempty"`     // keyset mode (modeGTE, modeIDs, modeGT)
	AfterID int64    `json:"after_id,omitempty"` // modeIDs: last id walked at TS
	// ArchivedSince (ms) and ArchivedIDs ("id@archivedAt"): archived records with
	// archivedAt >= since are reported unless listed (the previous scan reported them).
	ArchivedSince int64    `json:"archived_since,omitempty"`
	ArchivedIDs   []string `json:"archived_ids,omitempty"`
	FullRefreshAt string   `json:"full_refresh_at,omitempty"` // when the last full read began

	idSet map[string]struct{}
}

func parseCursor(raw json.RawMessage) (*cursor, error) {
	c := &cursor{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, c); err != nil {
			return nil, err
		}
	}
	c.idSet = make(map[string]struct{}, len(c.IDs))
	for _, id := range c.IDs {
		c.idSet[id] = struct{}{}
	}
	return c, nil
}

func (c *cursor) marshal() json.RawMessage {
	b, _ := json.Marshal(c)
	return b
}

func (c *cursor) seen(id string) bool {
	_, ok := c.idSet[id]
	return ok
}

// land records that (id, ts) was landed; max bounds the ids kept for one millisecond.
func (c *cursor) land(id string, ts int64, max int) {
	if ts > c.TS {
		c.TS, c.IDs, c.Mode = ts, c.IDs[:0], modeGTE
		clear(c.idSet)
	}
	if len(c.IDs) < max {
		c.IDs = append(c.IDs, id)
		c.idSet[id] = struct{}{}
	}
}

// searchReader reads one object through search pages, then its archived records.
type searchReader struct {
	s       *Source
	obj     objectDef
	cur     *cursor
	rb      *extract.RowBuilder
	colOf   map[string]int // property name → column
	idCol   int
	compCol int
	archCol int
	props   []string // requested, in order

	searchDone bool
	finished   bool
	stopErr    error
	since      int64 // archived scan lower bound when the cursor has none (first run)
	pages      int
}

// Read opens the stream of one object after cursor (nil: a full read). It asks the
// properties API which properties the portal has; see the package documentation for the
// drift rules.
func (s *Source) Read(ctx context.Context, stream extract.Stream, raw json.RawMessage) (extract.Reader, error) {
	var def objectDef
	found := false
	for _, o := range s.objects {
		if o.Name == stream.Name {
			def, found = o, true
		}
	}
	if !found {
		return nil, fmt.Errorf("hubspot: no configured object for stream %q", stream.Name)
	}
	cur, err := parseCursor(raw)
	if err != nil {
		return nil, fmt.Errorf("hubspot: %s: cursor is corrupt (%v); delete the stream's state file to re-extract it in full", def.Name, err)
	}
	if !def.Search {
		return newOwnerReader(s, raw)
	}
	now := s.Now().UTC()
	if cur.FullRefreshAt == "" && cur.TS == 0 {
		cur.FullRefreshAt = now.Format(time.RFC3339)
	} else if s.fullEvery > 0 {
		last, err := time.Parse(time.RFC3339, cur.FullRefreshAt)
		if err != nil || now.Sub(last) >= s.fullEvery {
			s.Logger.Info("hubspot: periodic full refresh", "object", def.Name, "last", cur.FullRefreshAt, "every", s.FullRefreshEvery)
			cur.TS, cur.IDs, cur.Mode, cur.AfterID = 0, nil, modeGTE, 0
			clear(cur.idSet)
			cur.FullRefreshAt = now.Format(time.RFC3339)
		}
	}
	portal, hdr, err := s.properties(ctx, def.Name)
	if err != nil {
		return nil, err
	}
	if err := s.overQuota(def.Name, hdr); err != nil {
		return nil, err
	}
	var props []string
	known := map[string]bool{}
	for _, f := range def.Properties {
		known[f.Name] = true
		p, ok := portal[f.Name]
		if !ok {
			continue // the portal lacks it: the column lands as null
		}
		if !accepts(f.Type, p.Type) {
			return nil, &SchemaError{Object: def.Name, Property: f.Name, Landed: f.Type.String(), Now: p.Type}
		}
		props = append(props, f.Name)
	}
	if _, ok := portal["hs_lastmodifieddate"]; !ok {
		return nil, fmt.Errorf("hubspot: %s has no hs_lastmodifieddate property; it cannot be extracted incrementally", def.Name)
	}
	var extras []string
	if !s.IgnoreNewProperties {
		for name, p := range portal {
			if !p.Defined && !known[name] {
				extras = append(extras, name)
			}
		}
		sort.Strings(extras)
		if len(extras) > 0 {
			s.Logger.Info("hubspot: new properties land as text columns", "object", def.Name, "properties", extras)
		}
	}
	cols := def.columns(extras)
	r := &searchReader{s: s, obj: def, cur: cur, rb: extract.NewRowBuilder(s.Allocator, "", cols, extract.Parser{}),
		colOf: map[string]int{}, props: append(props, extras...), since: serverTime(hdr, s.Now).UnixMilli() - 2000}
	for i, c := range cols {
		r.colOf[c.Name] = i
	}
	r.idCol, r.archCol = r.colOf[ColID], r.colOf[ColArchived]
	r.compCol = -1
	if i, ok := r.colOf[ColCompanyID]; ok {
		r.compCol = i
	}
	// The id column is filled from the record's id, never from a property of that name.
	delete(r.colOf, ColID)
	delete(r.colOf, ColArchived)
	delete(r.colOf, ColCompanyID)
	return r, nil
}

// request is the search body for the cursor's keyset mode.
func (r *searchReader) request() []byte {
	type filter struct {
		PropertyName string `json:"propertyName"`
		Operator     string `json:"operator"`
		Value        string `json:"value"`
	}
	type group struct {
		Filters []filter `json:"filters"`
	}
	ts := strconv.FormatInt(r.cur.TS, 10)
	sortBy := "hs_lastmodifieddate"
	var g group
	switch r.cur.Mode {
	case modeIDs:
		g.Filters = []filter{{"hs_lastmodifieddate", "EQ", ts}, {"hs_object_id", "GT", strconv.FormatInt(r.cur.AfterID, 10)}}
		sortBy = "hs_object_id"
	case modeGT:
		g.Filters = []filter{{"hs_lastmodifieddate", "GT", ts}}
	default:
		g.Filters = []filter{{"hs_lastmodifieddate", "GTE", ts}}
	}
	return jsonBody(map[string]any{
		"filterGroups": []group{g},
		"sorts":        []map[string]string{{"propertyName": sortBy, "direction": "ASCENDING"}},
		"properties":   append([]string{"hs_lastmodifieddate"}, r.props...),
		"limit":        r.s.PageSize,
	})
}

// rawRecord is one search result before it is decided on.
type rawRecord struct {
	id    string
	ts    int64
	props []byte
}

// Next returns the next search page as a batch, then the archived scan's tombstones;
// io.EOF after that.
func (r *searchReader) Next(ctx context.Context) (extract.Batch, error) {
	if r.stopErr != nil {
		return extract.Batch{}, r.stopErr
	}
	if r.finished {
		return extract.Batch{}, io.EOF
	}
	if r.searchDone {
		return r.archived(ctx)
	}
	resp, err := r.s.call(ctx, r.obj.Name, http.MethodPost, "/crm/v3/objects/"+r.obj.Name+"/search", r.request())
	if err != nil {
		var qe *QuotaError
		if errors.As(err, &qe) {
			r.stopErr = err
		}
		return extract.Batch{}, err
	}
	if r.pages == 0 && r.cur.ArchivedSince == 0 {
		r.since = serverTime(resp.Header, r.s.Now).UnixMilli() - 2000
	}
	r.pages++
	recs, full, err := parseSearch(resp.Body, r.s.PageSize)
	if err != nil {
		return extract.Batch{}, fmt.Errorf("hubspot: search %s: %w", r.obj.Name, err)
	}
	// Decide which records land and advance the cursor over them.
	var land []rawRecord
	full = full || len(recs) == r.s.PageSize
records:
	for _, rec := range recs {
		switch r.cur.Mode {
		case modeIDs:
			id, err := strconv.ParseInt(rec.id, 10, 64)
			if err != nil {
				return extract.Batch{}, fmt.Errorf("hubspot: search %s: id %q is not a number", r.obj.Name, rec.id)
			}
			r.cur.AfterID = max(r.cur.AfterID, id)
			if rec.ts != r.cur.TS || r.cur.seen(rec.id) {
				continue
			}
			r.cur.land(rec.id, rec.ts, r.s.maxCursIDs)
		default:
			if rec.ts < r.cur.TS || (rec.ts == r.cur.TS && r.cur.seen(rec.id)) {
				continue
			}
			if rec.ts == r.cur.TS && len(r.cur.IDs) >= r.s.maxCursIDs {
				// Too many ties to remember: walk the rest of this millisecond by id.
				r.cur.Mode, r.cur.AfterID = modeIDs, 0
				full = true
				break records
			}
			r.cur.land(rec.id, rec.ts, r.s.maxCursIDs)
		}
		land = append(land, rec)
	}
	switch {
	case !full && r.cur.Mode == modeIDs:
		// Every record of this millisecond has been walked: continue after it.
		r.cur.Mode, r.cur.AfterID = modeGT, 0
	case !full:
		r.searchDone = true
	case r.cur.Mode == modeIDs:
	case len(land) == 0 && r.cur.Mode == modeGTE:
		// A whole page of ties already landed: walk the millisecond by id.
		r.s.Logger.Debug("hubspot: a page of ties already landed; walking the millisecond by id", "object", r.obj.Name, "ts", r.cur.TS)
		r.cur.Mode, r.cur.AfterID = modeIDs, 0
	}
	var companies map[string]string
	if r.compCol >= 0 && len(land) > 0 {
		if companies, err = r.associations(ctx, land); err != nil {
			return extract.Batch{}, err
		}
	}
	var rejects []extract.Reject
	for k, rec := range land {
		if err := r.row(rec, companies); err != nil {
			rejects = append(rejects, extract.Reject{Line: int64(k + 1), Field: fieldOf(err), Reason: err.Error(), Raw: rec.id})
		}
	}
	b := extract.Batch{Cursor: r.cur.marshal(), Rejects: rejects}
	if r.rb.Len() > 0 {
		b.Record = r.rb.NewRecord()
	}
	if err := r.s.overQuota(r.obj.Name, resp.Header); err != nil {
		r.stopErr = err
	}
	return b, nil
}

func fieldOf(err error) string {
	var fe *extract.FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

// parseSearch reads the results of a search page (id, hs_lastmodifieddate, the raw
// properties) and whether more follow (paging.next).
func parseSearch(body []byte, limit int) ([]rawRecord, bool, error) {
	recs := make([]rawRecord, 0, limit)
	var perr error
	_, err := jsonparser.ArrayEach(body, func(v []byte, _ jsonparser.ValueType, _ int, _ error) {
		if perr != nil {
			return
		}
		id, err := jsonparser.GetString(v, "id")
		if err != nil {
			perr = fmt.Errorf("a result has no id")
			return
		}
		props, _, _, err := jsonparser.Get(v, "properties")
		if err != nil {
			perr = fmt.Errorf("result %s has no properties", id)
			return
		}
		mod, err := jsonparser.GetString(props, "hs_lastmodifieddate")
		if err != nil {
			mod, _ = jsonparser.GetString(v, "updatedAt")
		}
		t, err := time.Parse(time.RFC3339Nano, mod)
		if err != nil {
			perr = fmt.Errorf("result %s: hs_lastmodifieddate %q is not a datetime", id, mod)
			return
		}
		recs = append(recs, rawRecord{id: id, ts: t.UnixMilli(), props: props})
	}, "results")
	if err != nil && !errors.Is(err, jsonparser.KeyPathNotFoundError) {
		return nil, false, fmt.Errorf("malformed response: %w", err)
	}
	if perr != nil {
		return nil, false, perr
	}
	_, _, _, nerr := jsonparser.Get(body, "paging", "next", "after")
	return recs, nerr == nil, nil
}

// row stages and appends one record.
func (r *searchReader) row(rec rawRecord, companies map[string]string) error {
	rb := r.rb
	rb.SetString(r.idCol, rec.id)
	rb.SetBool(r.archCol, false)
	if r.compCol >= 0 {
		rb.SetString(r.compCol, companies[rec.id])
	}
	err := jsonparser.ObjectEach(rec.props, func(key, value []byte, vt jsonparser.ValueType, _ int) error {
		i, ok := r.colOf[string(key)]
		if !ok || vt != jsonparser.String {
			return nil // null, or a property without a column (hs_object_id)
		}
		v, err := jsonparser.ParseString(value)
		if err != nil {
			return err
		}
		rb.SetString(i, v)
		return nil
	})
	if err != nil {
		rb.DiscardRow()
		return fmt.Errorf("properties of %s: %w", rec.id, err)
	}
	return rb.EndRow()
}

// associations returns the company associated with each record (deals only), through
// the associations batch API.
func (r *searchReader) associations(ctx context.Context, recs []rawRecord) (map[string]string, error) {
	type in struct {
		ID string `json:"id"`
	}
	inputs := make([]in, len(recs))
	for i, rec := range recs {
		inputs[i] = in{rec.id}
	}
	resp, err := r.s.call(ctx, r.obj.Name, http.MethodPost, "/crm/v3/associations/deals/companies/batch/read", jsonBody(map[string]any{"inputs": inputs}))
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(recs))
	var perr error
	_, err = jsonparser.ArrayEach(resp.Body, func(v []byte, _ jsonparser.ValueType, _ int, _ error) {
		from, err1 := jsonparser.GetString(v, "from", "id")
		to, err2 := jsonparser.GetString(v, "to", "[0]", "id")
		if err1 != nil || err2 != nil {
			perr = fmt.Errorf("hubspot: associations of deals: malformed result")
			return
		}
		out[from] = to
	}, "results")
	if perr != nil {
		return nil, perr
	}
	if err != nil && !errors.Is(err, jsonparser.KeyPathNotFoundError) {
		return nil, fmt.Errorf("hubspot: associations of deals: malformed response: %w", err)
	}
	return out, nil
}

// archived lists the object's archived records and returns those archived since the
// previous scan as tombstones, with the run's final cursor.
func (r *searchReader) archived(ctx context.Context) (extract.Batch, error) {
	since := r.cur.ArchivedSince
	if since == 0 {
		since = r.since
	}
	prev := make(map[string]bool, len(r.cur.ArchivedIDs))
	for _, id := range r.cur.ArchivedIDs {
		prev[id] = true
	}
	type arch struct {
		id string
		at int64
	}
	var all []arch
	var deleted []string
	var scanStart int64
	after := ""
	for page := 0; ; page++ {
		q := url.Values{"archived": {"true"}, "limit": {"100"}, "properties": {"hs_object_id"}}
		if after != "" {
			q.Set("after", after)
		}
		resp, err := r.s.call(ctx, r.obj.Name, http.MethodGet, "/crm/v3/objects/"+r.obj.Name+"?"+q.Encode(), nil)
		if err != nil {
			var qe *QuotaError
			if errors.As(err, &qe) {
				r.stopErr = err
			}
			return extract.Batch{}, err
		}
		if page == 0 {
			scanStart = serverTime(resp.Header, r.s.Now).UnixMilli()
		}
		var perr error
		_, err = jsonparser.ArrayEach(resp.Body, func(v []byte, _ jsonparser.ValueType, _ int, _ error) {
			id, err1 := jsonparser.GetString(v, "id")
			at, err2 := jsonparser.GetString(v, "archivedAt")
			t, err3 := time.Parse(time.RFC3339Nano, at)
			if err1 != nil || err2 != nil || err3 != nil {
				perr = fmt.Errorf("hubspot: archived %s: a result has no id or archivedAt", r.obj.Name)
				return
			}
			ms := t.UnixMilli()
			all = append(all, arch{id, ms})
			if ms >= since && !prev[id+"@"+strconv.FormatInt(ms, 10)] {
				deleted = append(deleted, id)
			}
		}, "results")
		if perr != nil {
			return extract.Batch{}, perr
		}
		if err != nil && !errors.Is(err, jsonparser.KeyPathNotFoundError) {
			return extract.Batch{}, fmt.Errorf("hubspot: archived %s: malformed response: %w", r.obj.Name, err)
		}
		next, err := jsonparser.GetString(resp.Body, "paging", "next", "after")
		if err != nil || next == "" {
			break
		}
		after = next
	}
	// The next scan reports what was archived from shortly before this scan began (the
	// list is in id order, so a record archived while it ran may have been passed), minus
	// what this scan already reported.
	r.cur.ArchivedSince = scanStart - 2000
	r.cur.ArchivedIDs = r.cur.ArchivedIDs[:0]
	for _, a := range all {
		if a.at >= r.cur.ArchivedSince {
			r.cur.ArchivedIDs = append(r.cur.ArchivedIDs, a.id+"@"+strconv.FormatInt(a.at, 10))
		}
	}
	slices.Sort(r.cur.ArchivedIDs)
	r.finished = true
	return extract.Batch{Deleted: deleted, Cursor: r.cur.marshal()}, nil
}

// Close releases the reader's buffers.
func (r *searchReader) Close() error {
	r.rb.Release()
	return nil
}

// ownerCursor is the saved position of the owners stream.
type ownerCursor struct {
	Since int64    `json:"since"`          // updatedAt (ms) from which owners are landed
	Seen  []string `json:"seen,omitempty"` // "id@updatedAt" landed at or after Since
}

// ownerReader lists owners (active, then archived) and lands those updated since the
// previous run. The list cannot be resumed half-way, so only the last batch carries the
// new cursor.
type ownerReader struct {
	s        *Source
	oc       ownerCursor
	prev     map[string]bool
	rb       *extract.RowBuilder
	archived bool // listing archived owners
	after    string
	start    int64
	seen     []string // "id@ms" of every owner listed
	ats      []int64
	done     bool
}

func newOwnerReader(s *Source, raw json.RawMessage) (*ownerReader, error) {
	r := &ownerReader{s: s, prev: map[string]bool{}, rb: extract.NewRowBuilder(s.Allocator, "", ownerColumns, extract.Parser{})}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &r.oc); err != nil {
			r.rb.Release()
			return nil, fmt.Errorf("hubspot: owners: cursor is corrupt (%v); delete the stream's state file to re-extract it in full", err)
		}
	}
	for _, k := range r.oc.Seen {
		r.prev[k] = true
	}
	return r, nil
}

// Next returns the next page of owners; the last batch carries the cursor.
func (r *ownerReader) Next(ctx context.Context) (extract.Batch, error) {
	if r.done {
		return extract.Batch{}, io.EOF
	}
	q := url.Values{"limit": {"500"}, "archived": {strconv.FormatBool(r.archived)}}
	if r.after != "" {
		q.Set("after", r.after)
	}
	resp, err := r.s.call(ctx, "owners", http.MethodGet, "/crm/v3/owners?"+q.Encode(), nil)
	if err != nil {
		return extract.Batch{}, err
	}
	if r.start == 0 {
		r.start = serverTime(resp.Header, r.s.Now).UnixMilli()
	}
	var rejects []extract.Reject
	var perr error
	line := 0
	_, err = jsonparser.ArrayEach(resp.Body, func(v []byte, _ jsonparser.ValueType, _ int, _ error) {
		line++
		id, _ := jsonparser.GetString(v, "id")
		upd, _ := jsonparser.GetString(v, "updatedAt")
		t, err := time.Parse(time.RFC3339Nano, upd)
		if id == "" || err != nil {
			perr = fmt.Errorf("hubspot: owners: a result has no id or updatedAt")
			return
		}
		ms := t.UnixMilli()
		key := id + "@" + strconv.FormatInt(ms, 10)
		r.seen, r.ats = append(r.seen, key), append(r.ats, ms)
		if ms < r.oc.Since || r.prev[key] {
			return
		}
		rb := r.rb
		get := func(k string) string { s, _ := jsonparser.GetString(v, k); return s }
		rb.SetString(0, id)
		rb.SetString(1, get("email"))
		rb.SetString(2, get("firstName"))
		rb.SetString(3, get("lastName"))
		if uid, err := jsonparser.GetInt(v, "userId"); err == nil {
			rb.SetInt64(4, uid)
		}
		team, _ := jsonparser.GetString(v, "teams", "[0]", "name")
		rb.SetString(5, team)
		rb.SetString(6, get("createdAt"))
		rb.SetString(7, upd)
		arch, _ := jsonparser.GetBoolean(v, "archived")
		rb.SetBool(8, arch)
		if err := rb.EndRow(); err != nil {
			rejects = append(rejects, extract.Reject{Line: int64(line), Field: fieldOf(err), Reason: err.Error(), Raw: id})
		}
	}, "results")
	if perr != nil {
		return extract.Batch{}, perr
	}
	if err != nil && !errors.Is(err, jsonparser.KeyPathNotFoundError) {
		return extract.Batch{}, fmt.Errorf("hubspot: owners: malformed response: %w", err)
	}
	b := extract.Batch{Rejects: rejects}
	if r.rb.Len() > 0 {
		b.Record = r.rb.NewRecord()
	}
	if next, err := jsonparser.GetString(resp.Body, "paging", "next", "after"); err == nil && next != "" {
		r.after = next
		return b, nil
	}
	if !r.archived {
		r.archived, r.after = true, ""
		return b, nil
	}
	// Both lists read: the next run lands owners updated from shortly before this one
	// began, minus the versions this run listed at or after that instant.
	nc := ownerCursor{Since: r.start - 2000, Seen: []string{}}
	for i, k := range r.seen {
		if r.ats[i] >= nc.Since {
			nc.Seen = append(nc.Seen, k)
		}
	}
	slices.Sort(nc.Seen)
	raw, _ := json.Marshal(nc)
	b.Cursor = raw
	r.done = true
	return b, nil
}

// Close releases the reader's buffers.
func (r *ownerReader) Close() error {
	r.rb.Release()
	return nil
}
