package timeseries

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Series is one series of a long CSV: its id and its values ordered by t.
type Series struct {
	ID     string
	Values []float64
}

// CSVError is a problem with one line of a long CSV: the 1-based line number, the column
// ("series_id", "t", "value", or "header") and what is wrong.
type CSVError struct {
	Line  int
	Field string
	Err   error
}

// Error implements error: "line 7: value: "abc" is not a number".
func (e *CSVError) Error() string { return fmt.Sprintf("line %d: %s: %v", e.Line, e.Field, e.Err) }

// Unwrap returns the cause.
func (e *CSVError) Unwrap() error { return e.Err }

// ReadLongCSV reads series in long format: a header naming the columns series_id, t and
// value (any order, case-insensitive; other columns are ignored), then one row per
// observation. t is an integer index or a date YYYY-MM-DD (one kind per series); rows may come
// in any order and are sorted by t within each series. Missing periods are not filled in:
// values are taken in t order. Series come back in order of first appearance.
//
// A row with a missing series_id, a t that is neither an integer nor a date, a t repeated
// within a series, or a value that is not a finite number fails with a *CSVError naming the
// line and the column.
func ReadLongCSV(r io.Reader) ([]Series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &CSVError{Line: 1, Field: "header", Err: errors.New("empty input: want a header series_id,t,value")}
	}
	if err != nil {
		return nil, csvReadError(err)
	}
	col := map[string]int{"series_id": -1, "t": -1, "value": -1}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))
		if j, ok := col[name]; ok && j < 0 {
			col[name] = i
		}
	}
	for _, name := range []string{"series_id", "t", "value"} {
		if col[name] < 0 {
			return nil, &CSVError{Line: 1, Field: "header", Err: fmt.Errorf("no %q column in %q: want series_id,t,value", name, strings.Join(header, ","))}
		}
	}
	need := max(col["series_id"], col["t"], col["value"]) + 1

	type obs struct {
		t    int64
		v    float64
		line int
	}
	type acc struct {
		obs    []obs
		isDate bool
	}
	bySeries := map[string]*acc{}
	var order []string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvReadError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if len(rec) < need {
			return nil, &CSVError{Line: line, Field: "row", Err: fmt.Errorf("%d fields, want at least %d", len(rec), need)}
		}
		id := strings.TrimSpace(rec[col["series_id"]])
		if id == "" {
			return nil, &CSVError{Line: line, Field: "series_id", Err: errors.New("empty")}
		}
		ts := strings.TrimSpace(rec[col["t"]])
		t, isDate, err := parseT(ts)
		if err != nil {
			return nil, &CSVError{Line: line, Field: "t", Err: err}
		}
		vs := strings.TrimSpace(rec[col["value"]])
		v, err := strconv.ParseFloat(vs, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, &CSVError{Line: line, Field: "value", Err: fmt.Errorf("%q is not a finite number", vs)}
		}
		a := bySeries[id]
		if a == nil {
			a = &acc{isDate: isDate}
			bySeries[id] = a
			order = append(order, id)
		} else if a.isDate != isDate {
			return nil, &CSVError{Line: line, Field: "t", Err: fmt.Errorf("%q: series %q mixes dates and integer indices", ts, id)}
		}
		a.obs = append(a.obs, obs{t: t, v: v, line: line})
	}
	out := make([]Series, 0, len(order))
	for _, id := range order {
		a := bySeries[id]
		sort.SliceStable(a.obs, func(i, j int) bool { return a.obs[i].t < a.obs[j].t })
		s := Series{ID: id, Values: make([]float64, len(a.obs))}
		for i, o := range a.obs {
			if i > 0 && o.t == a.obs[i-1].t {
				first, dup := a.obs[i-1].line, o.line
				if dup < first {
					first, dup = dup, first
				}
				return nil, &CSVError{Line: dup, Field: "t", Err: fmt.Errorf("series %q has this t already on line %d", id, first)}
			}
			s.Values[i] = o.v
		}
		out = append(out, s)
	}
	return out, nil
}

// parseT parses an integer index or a YYYY-MM-DD date (as days since 1970-01-01).
func parseT(s string) (t int64, isDate bool, err error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, false, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false, fmt.Errorf("%q is neither an integer nor a date YYYY-MM-DD", s)
	}
	return d.Unix() / (24 * 60 * 60), true, nil
}

// csvReadError turns an encoding/csv parse error into a *CSVError with its line.
func csvReadError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &CSVError{Line: pe.Line, Field: "row", Err: pe.Err}
	}
	return err
}
