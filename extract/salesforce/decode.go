package salesforce

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/revcast/revcast/extract"
)

// SchemaError is a field whose type in the org no longer matches the type it has been
// landed as. Extraction of the object stops: mixing types in one column would corrupt it.
type SchemaError struct {
	Object, Field string
	Landed        string // the column's type in the lake
	Now           string // what the org says or sends now
}

// Error names the object and field and says how to recover.
func (e *SchemaError) Error() string {
	return fmt.Sprintf("salesforce: %s.%s changed type: landed as %s, the org now has %s; rename the field in Salesforce or re-extract %s with --full after moving its lake folder aside",
		e.Object, e.Field, e.Landed, e.Now, e.Object)
}

// column is one landed column and its builder.
type column struct {
	name  string
	kind  kind
	extra bool // not in the fixed field list (schema drift): lands as text
	sb    *array.StringBuilder
	db    *array.Decimal128Builder
	fb    *array.Float64Builder
	ib    *array.Int64Builder
	bb    *array.BooleanBuilder
	dab   *array.Date32Builder
	tsb   *array.TimestampBuilder
}

// cell is one field of the record being decoded, staged before the row is appended so a
// row that cannot be read leaves the builders untouched.
type cell struct {
	set  bool
	null bool
	raw  []byte // string or text bytes, still JSON-escaped when esc
	esc  bool
	i    int64 // cents, int, days or microseconds
	f    float64
	b    bool
}

// decoder turns query result pages into Arrow record batches, one record at a time,
// straight from the response bytes (no intermediate maps).
type decoder struct {
	object  string
	mem     memory.Allocator
	cols    []column
	index   map[string]int
	schema  *arrow.Schema
	rb      *array.RecordBuilder
	cells   []cell
	idCol   int
	tsCol   int
	delCol  int
	unknown []string // response fields with no column, seen in the current page
	unesc   []byte
}

func newDecoder(mem memory.Allocator, object string, fields []fieldDef, extras []string) *decoder {
	d := &decoder{object: object, mem: mem, index: map[string]int{}}
	for _, f := range fields {
		d.cols = append(d.cols, column{name: f.Name, kind: f.Kind})
	}
	for _, e := range extras {
		d.cols = append(d.cols, column{name: e, kind: kString, extra: true})
	}
	d.build()
	return d
}

// build (re)creates the schema and builders from d.cols.
func (d *decoder) build() {
	if d.rb != nil {
		d.rb.Release()
	}
	fs := make([]arrow.Field, len(d.cols))
	clear(d.index)
	for i, c := range d.cols {
		fs[i] = arrow.Field{Name: c.name, Type: c.kind.arrowType(), Nullable: true}
		d.index[c.name] = i
	}
	md := arrow.NewMetadata([]string{"salesforce.object"}, []string{d.object})
	d.schema = arrow.NewSchema(fs, &md)
	d.rb = array.NewRecordBuilder(d.mem, d.schema)
	for i := range d.cols {
		c := &d.cols[i]
		c.sb, c.db, c.fb, c.ib, c.bb, c.dab, c.tsb = nil, nil, nil, nil, nil, nil, nil
		switch b := d.rb.Field(i).(type) {
		case *array.StringBuilder:
			c.sb = b
		case *array.Decimal128Builder:
			c.db = b
		case *array.Float64Builder:
			c.fb = b
		case *array.Int64Builder:
			c.ib = b
		case *array.BooleanBuilder:
			c.bb = b
		case *array.Date32Builder:
			c.dab = b
		case *array.TimestampBuilder:
			c.tsb = b
		}
	}
	d.cells = make([]cell, len(d.cols))
	d.idCol, d.tsCol, d.delCol = d.col("Id"), d.col("SystemModstamp"), d.col("IsDeleted")
}

func (d *decoder) col(name string) int {
	if i, ok := d.index[name]; ok {
		return i
	}
	return -1
}

// addExtras adds text columns for fields that appeared in responses without a column.
func (d *decoder) addExtras(names []string) {
	for _, n := range names {
		if _, ok := d.index[n]; !ok {
			d.cols = append(d.cols, column{name: n, kind: kString, extra: true})
			d.index[n] = len(d.cols) - 1
		}
	}
	d.build()
}

func (d *decoder) release() {
	if d.rb != nil {
		d.rb.Release()
		d.rb = nil
	}
}

// page is the envelope of one query response.
type page struct {
	totalSize int64
	done      bool
	next      string
}

// peekNext reads a query response's envelope up to its records and returns the
// nextRecordsUrl when the response says it is not done. Salesforce writes totalSize,
// done and nextRecordsUrl before records; a response that does not (or is malformed)
// gives ok false, and decodePage, which reads the whole response, has the last word.
func peekNext(body []byte) (next string, ok bool) {
	s := &scanner{b: body}
	done, seenDone := false, false
	stop := errors.New("records reached")
	s.object(func(key []byte) {
		switch string(key) {
		case "records":
			s.abort(stop)
		case "done":
			vt, raw, _ := s.value()
			done, seenDone = vt == jsonBool && raw[0] == 't', vt == jsonBool
		case "nextRecordsUrl":
			vt, raw, esc := s.value()
			if vt == jsonString {
				if esc {
					raw = unescape(raw, nil)
				}
				next = string(raw)
			}
		default:
			s.value()
		}
	})
	if s.err != stop || !seenDone || done || next == "" {
		return "", false
	}
	return next, true
}

// recordInfo is what the reader needs of every record: its key, change time and whether
// it is a deletion.
type recordInfo struct {
	id      []byte // valid until the next record
	ts      int64  // SystemModstamp in microseconds
	deleted bool
}

// decodePage walks one query response in a single pass. Each record is staged and
// handed to decide, which says whether to land it; kept records are appended to the
// builders (deleted ones too, with IsDeleted true; the reader also makes them
// tombstones). A record with
// a value that cannot be converted becomes a Reject (Line is its 1-based position in the
// page). Type changes are fatal (*SchemaError); fields without a column are collected in
// d.unknown.
func (d *decoder) decodePage(body []byte, decide func(recordInfo) bool) (p page, rejects []extract.Reject, err error) {
	d.unknown = d.unknown[:0]
	s := &scanner{b: body}
	var seenDone, seenRecords bool
	pos := 0
	s.object(func(key []byte) {
		switch string(key) {
		case "totalSize":
			vt, raw, _ := s.value()
			n, err := strconv.ParseInt(unsafeString(raw), 10, 64)
			if vt != jsonNumber || err != nil {
				s.abort(errors.New("totalSize is not a number"))
				return
			}
			p.totalSize = n
		case "done":
			vt, raw, _ := s.value()
			if vt != jsonBool {
				s.abort(errors.New("done is not a boolean"))
				return
			}
			p.done, seenDone = raw[0] == 't', true
		case "nextRecordsUrl":
			vt, raw, esc := s.value()
			if vt == jsonString {
				if esc {
					raw = unescape(raw, nil)
				}
				p.next = string(raw)
			}
		case "records":
			seenRecords = true
			s.array(func() {
				pos++
				if r, err := d.record(s, pos, decide); err != nil {
					s.abort(err)
				} else if r != nil {
					rejects = append(rejects, *r)
				}
			})
		default:
			s.value()
		}
	})
	if s.err == nil && s.peek() != 0 {
		s.fail("data after the response object")
	}
	if s.err != nil {
		var se *SchemaError
		if errors.As(s.err, &se) {
			return p, rejects, s.err
		}
		return p, rejects, fmt.Errorf("malformed query response: %w", s.err)
	}
	if !seenDone || !seenRecords {
		return p, rejects, errors.New("malformed query response: no done or records")
	}
	if !p.done && p.next == "" {
		return p, rejects, errors.New("malformed query response: done is false without nextRecordsUrl")
	}
	return p, rejects, nil
}

// record decodes the record at s into the cells, asks decide, and appends it. It returns
// a Reject for a record whose values do not convert.
func (d *decoder) record(s *scanner, pos int, decide func(recordInfo) bool) (*extract.Reject, error) {
	if s.peek() != '{' {
		return nil, fmt.Errorf("record %d is not an object", pos)
	}
	start := s.i
	for i := range d.cells {
		d.cells[i] = cell{}
	}
	var fe *extract.FieldError
	var fatal error
	next := 0 // fields come back in SELECT order: try the next column before the map
	s.object(func(key []byte) {
		ci, ok := next, next < len(d.cols) && d.cols[next].name == string(key)
		if !ok {
			ci, ok = d.index[string(key)]
		}
		if ok {
			next = ci + 1
		}
		if !ok {
			if string(key) != "attributes" && !slices.Contains(d.unknown, string(key)) {
				d.unknown = append(d.unknown, string(key))
			}
			s.value()
			return
		}
		vt, raw, esc := s.value()
		if err := d.stage(ci, vt, raw, esc); err != nil {
			var f *extract.FieldError
			if errors.As(err, &f) {
				if fe == nil {
					fe = f
				}
				return
			}
			fatal = err
			s.abort(err)
		}
	})
	if fatal != nil || s.err != nil {
		return nil, cmp.Or(fatal, s.err)
	}
	info, err := d.info()
	if err != nil {
		return nil, err
	}
	if !decide(info) {
		return nil, nil
	}
	if fe != nil {
		return &extract.Reject{Line: int64(pos), Field: fe.Field, Reason: fe.Reason, Raw: truncate(s.b[start:s.i], 2000)}, nil
	}
	d.appendRow()
	return nil, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

func (d *decoder) info() (recordInfo, error) {
	var info recordInfo
	if d.idCol < 0 || !d.cells[d.idCol].set || d.cells[d.idCol].null {
		return info, fmt.Errorf("salesforce: %s record without Id", d.object)
	}
	if d.tsCol < 0 || !d.cells[d.tsCol].set || d.cells[d.tsCol].null {
		return info, fmt.Errorf("salesforce: %s record %s without SystemModstamp", d.object, d.cells[d.idCol].raw)
	}
	info.id = d.cells[d.idCol].raw
	info.ts = d.cells[d.tsCol].i
	if d.delCol >= 0 {
		info.deleted = d.cells[d.delCol].b
	}
	return info, nil
}

func (d *decoder) typeChange(c *column, vt jsonType, value []byte) error {
	now := "JSON " + vt.String() + " values"
	if vt == jsonString {
		now = fmt.Sprintf("text values such as %q", truncate(value, 40))
	}
	return &SchemaError{Object: d.object, Field: c.name, Landed: c.kind.String(), Now: now}
}

// stage converts one JSON value into cell ci.
func (d *decoder) stage(ci int, vt jsonType, value []byte, esc bool) error {
	c := &d.cols[ci]
	x := &d.cells[ci]
	x.set = true
	if vt == jsonNull {
		x.null = true
		return nil
	}
	if c.extra {
		// Drift columns land as text: strings unescaped, anything else as its JSON text.
		x.raw, x.esc = value, esc
		return nil
	}
	bad := func(reason string) error {
		return &extract.FieldError{Field: c.name, Value: truncate(value, 80), Reason: reason}
	}
	switch c.kind {
	case kString:
		if vt != jsonString {
			return d.typeChange(c, vt, value)
		}
		x.raw, x.esc = value, esc
	case kDecimal:
		if vt != jsonNumber {
			return d.typeChange(c, vt, value)
		}
		cents, ok := parseCents(value)
		if !ok {
			return bad("not a currency amount that fits decimal(18,2)")
		}
		x.i = cents
	case kFloat:
		if vt != jsonNumber {
			return d.typeChange(c, vt, value)
		}
		f, err := strconv.ParseFloat(unsafeString(value), 64)
		if err != nil || math.IsInf(f, 0) {
			return bad("not a number")
		}
		x.f = f
	case kInt:
		if vt != jsonNumber {
			return d.typeChange(c, vt, value)
		}
		n, err := strconv.ParseInt(unsafeString(value), 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(unsafeString(value), 64)
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return bad("not a whole number")
			}
			n = int64(f)
		}
		x.i = n
	case kBool:
		if vt != jsonBool {
			return d.typeChange(c, vt, value)
		}
		x.b = value[0] == 't'
	case kDate:
		if vt != jsonString {
			return d.typeChange(c, vt, value)
		}
		days, ok := parseDate(value)
		if !ok {
			return bad("not a date like 2024-05-20")
		}
		x.i = days
	case kTimestamp:
		if vt != jsonString {
			return d.typeChange(c, vt, value)
		}
		us, ok := parseTimestamp(value)
		if !ok {
			return bad("not a datetime like 2024-05-20T20:49:32.000+0000")
		}
		x.i = us
	}
	return nil
}

// appendRow appends the staged cells to the builders; unset cells are null.
func (d *decoder) appendRow() {
	for i := range d.cols {
		c := &d.cols[i]
		x := &d.cells[i]
		if !x.set || x.null {
			d.rb.Field(i).AppendNull()
			continue
		}
		switch c.kind {
		case kString:
			if x.esc {
				d.unesc = unescape(x.raw, d.unesc)
				c.sb.BinaryBuilder.Append(d.unesc)
				continue
			}
			c.sb.BinaryBuilder.Append(x.raw)
		case kDecimal:
			c.db.Append(decimal128.FromI64(x.i))
		case kFloat:
			c.fb.Append(x.f)
		case kInt:
			c.ib.Append(x.i)
		case kBool:
			c.bb.Append(x.b)
		case kDate:
			c.dab.Append(arrow.Date32(x.i))
		case kTimestamp:
			c.tsb.Append(arrow.Timestamp(x.i))
		}
	}
}

// rows returns the number of rows in the builders.
func (d *decoder) rows() int { return d.rb.Field(0).Len() }

// flush returns the built rows as a record batch (nil when there are none) and resets
// the builders.
func (d *decoder) flush() arrow.RecordBatch {
	if d.rows() == 0 {
		return nil
	}
	return d.rb.NewRecordBatch()
}

// discard drops the rows in the builders.
func (d *decoder) discard() {
	if d.rows() > 0 {
		d.rb.NewRecordBatch().Release()
	}
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// parseCents reads a JSON number as hundredths, exactly: plain (1234.56) or Java's
// scientific notation for large doubles (1.25E7). More than two decimals are rounded half
// away from zero: the field is a currency field of scale 2 and the JSON number is its
// double rendering. ok is false beyond decimal(18,2).
func parseCents(b []byte) (int64, bool) {
	i, neg := 0, false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	var digits [40]byte
	nd, point, sawDigit := 0, -1, false
scan:
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			sawDigit = true
			if nd == 0 && c == '0' && point < 0 {
				continue // leading zeros of the integer part
			}
			if nd >= len(digits) {
				return 0, false
			}
			digits[nd] = c - '0'
			nd++
		case c == '.' && point < 0:
			point = nd
		default:
			break scan
		}
	}
	if !sawDigit {
		return 0, false
	}
	if point < 0 {
		point = nd
	}
	exp := 0
	if i < len(b) {
		if b[i] != 'e' && b[i] != 'E' {
			return 0, false
		}
		e, err := strconv.Atoi(unsafeString(b[i+1:]))
		if err != nil || e > 40 || e < -40 {
			return 0, false
		}
		exp = e
	}
	// value = 0.d1d2...dn × 10^(point+exp); cents = value × 100.
	intDigits := point + exp + 2 // digits before the cents point
	var cents int64
	for k := 0; k < intDigits; k++ {
		var dg int64
		if k < nd {
			dg = int64(digits[k])
		}
		if cents > (math.MaxInt64-dg)/10 {
			return 0, false
		}
		cents = cents*10 + dg
	}
	// Round half away from zero on the first dropped digit.
	if r := intDigits; r >= 0 && r < nd && digits[r] >= 5 {
		cents++
	} else if r < 0 {
		cents = 0
	}
	if cents > 999_999_999_999_999_999 {
		return 0, false
	}
	if neg {
		cents = -cents
	}
	return cents, true
}

func digit2(b []byte, i int) (int, bool) {
	c0, c1 := b[i]-'0', b[i+1]-'0'
	if c0 > 9 || c1 > 9 {
		return 0, false
	}
	return int(c0)*10 + int(c1), true
}

// parseDate reads YYYY-MM-DD as days since the epoch.
func parseDate(b []byte) (int64, bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	y1, ok1 := digit2(b, 0)
	y2, ok2 := digit2(b, 2)
	m, ok3 := digit2(b, 5)
	d, ok4 := digit2(b, 8)
	if !ok1 || !ok2 || !ok3 || !ok4 || m < 1 || m > 12 || d < 1 || d > daysIn(y1*100+y2, m) {
		return 0, false
	}
	return daysFromCivil(y1*100+y2, m, d), true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is Howard Hinnant's days_from_civil.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// parseTimestamp reads a Salesforce datetime (2024-05-20T20:49:32.000+0000; also Z,
// +01:00, no or any fraction) as microseconds since the epoch.
func parseTimestamp(b []byte) (int64, bool) {
	if len(b) < 20 || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	days, ok := parseDate(b[:10])
	if !ok {
		return 0, false
	}
	h, ok1 := digit2(b, 11)
	mi, ok2 := digit2(b, 14)
	sec, ok3 := digit2(b, 17)
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 60 {
		return 0, false
	}
	i := 19
	var frac int64
	if b[i] == '.' {
		i++
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if n < 6 {
				frac = frac*10 + int64(b[i]-'0')
				n++
			}
			i++
		}
		if n == 0 {
			return 0, false
		}
		for ; n < 6; n++ {
			frac *= 10
		}
	}
	var off int64
	switch rest := b[i:]; {
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == 5 && (rest[0] == '+' || rest[0] == '-'):
		oh, ok1 := digit2(rest, 1)
		om, ok2 := digit2(rest, 3)
		if !ok1 || !ok2 {
			return 0, false
		}
		off = int64(oh*3600 + om*60)
		if rest[0] == '-' {
			off = -off
		}
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digit2(rest, 1)
		om, ok2 := digit2(rest, 4)
		if !ok1 || !ok2 {
			return 0, false
		}
		off = int64(oh*3600 + om*60)
		if rest[0] == '-' {
			off = -off
		}
	default:
		return 0, false
	}
	secs := days*86400 + int64(h*3600+mi*60+sec) - off
	return secs*1_000_000 + frac, true
}
