package dynamics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/buger/jsonparser"

	"github.com/revcast/revcast/extract"
)

// cursor is the saved position of one entity set.
type cursor struct {
	Mode string `json:"mode"`
	// Delta mode: the query of the page to read next (mid-read), and of the delta link
	// (between runs). Queries, not URLs, so a changed org_url still resumes.
	Next  string `json:"next,omitempty"`
	Delta string `json:"delta,omitempty"`
	// modifiedon mode: the second of the last landed row, the ids landed in it, and the
	// keyset walk (walkGE, walkIDs, walkGT) with the last id walked at TS.
	TS            string   `json:"ts,omitempty"`
	IDs           []string `json:"ids,omitempty"`
	Walk          string   `json:"walk,omitempty"`
	AfterID       string   `json:"after_id,omitempty"`
	FullRefreshAt string   `json:"full_refresh_at,omitempty"`

	idSet map[string]struct{}
}

func (c *cursor) marshal() json.RawMessage {
	b, _ := json.Marshal(c)
	return b
}

// Keyset walks of modifiedon mode.
const (
	walkGE  = ""    // modifiedon ge TS, skipping ids landed at TS
	walkIDs = "ids" // modifiedon eq TS and key gt AfterID, by key
	walkGT  = "gt"  // modifiedon gt TS
)

// reader reads one entity set page by page.
type reader struct {
	s        *Source
	e        entityDef
	cur      *cursor
	rb       *extract.RowBuilder
	colOf    map[string]int
	keyCol   string
	sel      string
	finished bool
	stopErr  error
	retried  bool
}

// Read opens the stream of one entity set after cursor (nil: a full read). It asks the
// attribute metadata which columns exist; see the package documentation for the drift
// rules.
func (s *Source) Read(ctx context.Context, stream extract.Stream, raw json.RawMessage) (extract.Reader, error) {
	var def entityDef
	found := false
	for _, e := range s.entities {
		if e.Set == stream.Name {
			def, found = e, true
		}
	}
	if !found {
		return nil, fmt.Errorf("dynamics: no configured entity set for stream %q", stream.Name)
	}
	cur := &cursor{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, cur); err != nil {
			return nil, fmt.Errorf("dynamics: %s: cursor is corrupt (%v); delete the stream's state file to re-extract it in full", def.Set, err)
		}
	}
	now := s.Now().UTC()
	fresh := cur.Delta == "" && cur.Next == "" && cur.TS == ""
	switch {
	case cur.Mode != "" && cur.Mode != s.Mode:
		s.Logger.Info("dynamics: mode changed; reading in full", "entity", def.Set, "from", cur.Mode, "to", s.Mode)
		cur = &cursor{}
		fresh = true
	case !fresh && s.fullEvery > 0:
		last, err := time.Parse(time.RFC3339, cur.FullRefreshAt)
		if err != nil || now.Sub(last) >= s.fullEvery {
			s.Logger.Info("dynamics: periodic full refresh", "entity", def.Set, "last", cur.FullRefreshAt, "every", s.FullRefreshEvery)
			cur = &cursor{}
			fresh = true
		}
	}
	if fresh {
		cur.FullRefreshAt = now.Format(time.RFC3339)
	}
	cur.Mode = s.Mode
	cur.idSet = map[string]struct{}{}
	for _, id := range cur.IDs {
		cur.idSet[id] = struct{}{}
	}
	attrs, err := s.metadata(ctx, def)
	if err != nil {
		return nil, err
	}
	var sel []string
	known := map[string]bool{}
	for _, c := range def.fields() {
		known[c.Name] = true
		a, ok := attrs[c.Name]
		if !ok {
			continue // the table lacks it: the column lands as null
		}
		if !accepts(c.Type, a.Type) {
			return nil, &SchemaError{Entity: def.Set, Column: c.Name, Landed: c.Type.String(), Now: a.Type}
		}
		sel = append(sel, c.Name)
	}
	for _, need := range []string{def.Key, "modifiedon"} {
		if !slices.Contains(sel, need) {
			return nil, fmt.Errorf("dynamics: %s has no %s column; it cannot be extracted incrementally", def.Set, need)
		}
	}
	var extras []string
	if !s.IgnoreNewColumns {
		for name, a := range attrs {
			if a.Custom && !known[name] && selectable(a.Type) {
				extras = append(extras, name)
			}
		}
		sort.Strings(extras)
		if len(extras) > 0 {
			s.Logger.Info("dynamics: new columns land as text columns", "entity", def.Set, "columns", extras)
		}
	}
	cols := def.columns(extras)
	r := &reader{s: s, e: def, cur: cur, rb: extract.NewRowBuilder(s.Allocator, "", cols, extract.Parser{}),
		colOf: map[string]int{}, keyCol: def.Key, sel: strings.Join(append(sel, extras...), ",")}
	for i, c := range cols {
		r.colOf[c.Name] = i
	}
	return r, nil
}

// withSelect returns the saved query with the current $select.
func (r *reader) withSelect(rawQuery string) string {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		q = url.Values{}
	}
	q.Set("$select", r.sel)
	return q.Encode()
}

func (r *reader) prefer() []string {
	p := []string{fmt.Sprintf("odata.maxpagesize=%d", r.s.PageSize)}
	if r.s.Mode == ModeDelta {
		p = append(p, "odata.track-changes")
	}
	return p
}

// pageURL is the URL of the next page to read.
func (r *reader) pageURL() string {
	base := r.s.apiURL(r.e.Set)
	if r.s.Mode == ModeDelta {
		switch {
		case r.cur.Next != "":
			return base + "?" + r.withSelect(r.cur.Next)
		case r.cur.Delta != "":
			return base + "?" + r.withSelect(r.cur.Delta)
		}
		return base + "?" + url.Values{"$select": {r.sel}}.Encode()
	}
	// modifiedon: every page is a new query anchored at the cursor (the first page of it
	// only), so a row committed late with the cursor's second is still found.
	q := url.Values{"$select": {r.sel}, "$orderby": {"modifiedon asc," + r.e.Key + " asc"}}
	switch r.cur.Walk {
	case walkIDs:
		f := "modifiedon eq " + r.cur.TS
		if r.cur.AfterID != "" {
			f += " and " + r.e.Key + " gt " + r.cur.AfterID
		}
		q.Set("$filter", f)
		q.Set("$orderby", r.e.Key+" asc")
	case walkGT:
		q.Set("$filter", "modifiedon gt "+r.cur.TS)
	default:
		if r.cur.TS != "" {
			q.Set("$filter", "modifiedon ge "+r.cur.TS)
		}
	}
	return base + "?" + q.Encode()
}

// Next returns the next page as a batch; io.EOF after the last.
func (r *reader) Next(ctx context.Context) (extract.Batch, error) {
	if r.stopErr != nil {
		return extract.Batch{}, r.stopErr
	}
	if r.finished {
		return extract.Batch{}, io.EOF
	}
	resp, err := r.s.get(ctx, r.e.Set, r.pageURL(), r.prefer())
	if err != nil {
		var api *APIError
		if r.s.Mode == ModeDelta && r.cur.Next != "" && !r.retried && errors.As(err, &api) && (api.Status == http.StatusBadRequest || api.Status == http.StatusGone) {
			// The saved page link is no longer valid: restart from the delta link. Rows of
			// that read landed before the crash arrive again (the warehouse keeps the latest).
			r.s.Logger.Warn("dynamics: saved page link rejected; restarting from the delta link", "entity", r.e.Set, "err", err)
			r.retried = true
			r.cur.Next = ""
			return r.Next(ctx)
		}
		var qe *QuotaError
		if errors.As(err, &qe) {
			r.stopErr = err
		}
		return extract.Batch{}, err
	}
	landedBefore := r.rb.Len()
	deleted, rejects, err := r.decode(resp.Body)
	if err != nil {
		r.rb.DiscardRow()
		return extract.Batch{}, fmt.Errorf("dynamics: %s: %w", r.e.Set, err)
	}
	next, _ := jsonparser.GetString(resp.Body, "@odata.nextLink")
	deltaLink, _ := jsonparser.GetString(resp.Body, "@odata.deltaLink")
	if r.s.Mode == ModeDelta {
		switch {
		case next != "":
			r.cur.Next = rawQuery(next)
		case deltaLink != "":
			r.cur.Next, r.cur.Delta = "", rawQuery(deltaLink)
			r.finished = true
		default:
			return extract.Batch{}, fmt.Errorf("dynamics: %s: a change-tracking page has neither @odata.nextLink nor @odata.deltaLink; is change tracking enabled for the table? (else use mode: modifiedon)", r.e.Set)
		}
	} else {
		full := next != ""
		switch {
		case !full && r.cur.Walk == walkIDs:
			r.cur.Walk, r.cur.AfterID = walkGT, ""
		case !full:
			r.finished = true
		case r.cur.Walk == walkIDs:
		case r.rb.Len() == landedBefore && len(rejects) == 0 && r.cur.Walk == walkGE:
			// A whole page of ties already landed: walk this second by key.
			r.cur.Walk, r.cur.AfterID = walkIDs, ""
		}
	}
	b := extract.Batch{Cursor: r.cur.marshal(), Deleted: deleted, Rejects: rejects}
	if r.rb.Len() > 0 {
		b.Record = r.rb.NewRecord()
	}
	return b, nil
}

func rawQuery(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return u.RawQuery
}

// decode appends the page's rows to the builder and returns the ids of deleted entries.
func (r *reader) decode(body []byte) (deleted []string, rejects []extract.Reject, err error) {
	line := 0
	var perr error
	stop := false
	_, err = jsonparser.ArrayEach(body, func(v []byte, _ jsonparser.ValueType, _ int, _ error) {
		if perr != nil {
			return
		}
		line++
		if ctx, _ := jsonparser.GetString(v, "@odata.context"); strings.Contains(ctx, "$deletedEntity") {
			id, err := jsonparser.GetString(v, "id")
			if err != nil {
				perr = fmt.Errorf("a $deletedEntity entry has no id")
				return
			}
			deleted = append(deleted, id)
			return
		}
		id, err := jsonparser.GetString(v, r.keyCol)
		if err != nil {
			perr = fmt.Errorf("a row has no %s", r.keyCol)
			return
		}
		if r.s.Mode == ModeModifiedOn {
			if stop {
				return
			}
			mod, _ := jsonparser.GetString(v, "modifiedon")
			t, err := time.Parse(time.RFC3339, mod)
			if err != nil {
				perr = fmt.Errorf("row %s: modifiedon %q is not a datetime", id, mod)
				return
			}
			var ok bool
			if ok, stop = r.advance(id, t.UTC().Format(time.RFC3339)); !ok {
				return
			}
		}
		if err := r.row(v); err != nil {
			rejects = append(rejects, extract.Reject{Line: int64(line), Field: fieldOf(err), Reason: err.Error(), Raw: id})
		}
	}, "value")
	if perr != nil {
		return nil, nil, perr
	}
	if err != nil && !errors.Is(err, jsonparser.KeyPathNotFoundError) {
		return nil, nil, fmt.Errorf("malformed response: %w", err)
	}
	return deleted, rejects, nil
}

// advance decides whether the row (id, modifiedon second ts) lands in modifiedon mode,
// and moves the cursor over it; stop asks to end the page (too many ties to remember:
// the rest of the second is walked by key).
func (r *reader) advance(id, ts string) (land, stop bool) {
	c := r.cur
	if c.Walk == walkIDs {
		c.AfterID = id
		if _, ok := c.idSet[id]; ok || ts != c.TS {
			return false, false
		}
	} else {
		switch {
		case ts < c.TS:
			return false, false // cannot happen with ge and ascending order
		case ts == c.TS:
			if _, ok := c.idSet[id]; ok {
				return false, false
			}
			if len(c.IDs) >= r.s.maxCursIDs {
				c.Walk, c.AfterID = walkIDs, ""
				return false, true
			}
		default:
			c.TS, c.IDs, c.Walk, c.AfterID = ts, c.IDs[:0], walkGE, ""
			clear(c.idSet)
		}
	}
	if len(c.IDs) < r.s.maxCursIDs {
		c.IDs = append(c.IDs, id)
		c.idSet[id] = struct{}{}
	}
	return true, false
}

func fieldOf(err error) string {
	var fe *extract.FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

// row stages and appends one row.
func (r *reader) row(v []byte) error {
	rb := r.rb
	err := jsonparser.ObjectEach(v, func(key, value []byte, vt jsonparser.ValueType, _ int) error {
		if len(key) > 0 && key[0] == '@' || bytes.IndexByte(key, '@') > 0 {
			return nil // annotations
		}
		i, ok := r.colOf[string(key)]
		if !ok {
			return nil
		}
		switch vt {
		case jsonparser.String:
			s, err := jsonparser.ParseString(value)
			if err != nil {
				return err
			}
			rb.SetString(i, s)
		case jsonparser.Number:
			rb.SetString(i, string(value))
		case jsonparser.Boolean:
			rb.SetBool(i, value[0] == 't')
		}
		return nil
	})
	if err != nil {
		rb.DiscardRow()
		return err
	}
	return rb.EndRow()
}

// Close releases the reader's buffers.
func (r *reader) Close() error {
	r.rb.Release()
	return nil
}
