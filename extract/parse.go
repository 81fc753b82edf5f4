package extract

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// ISODate is the default date layout (Go reference-time notation).
const ISODate = "2006-01-02"

// DefaultTimestampLayouts are the timestamp layouts a zero Parser tries, after its own
// TimestampLayouts: RFC 3339 (fractional seconds accepted), the Salesforce form
// 2024-05-20T20:49:32.000+0000, and zone-less forms read in Parser.Location.
var DefaultTimestampLayouts = []string{
	time.RFC3339,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
}

// Parser turns the text form of a value into a canonical column type. Its zero value
// parses ISO dates, RFC 3339 timestamps and '.'-separated decimals in UTC. A Parser is
// read-only once configured and safe for concurrent use.
//
// Decisions that connectors and users rely on:
//   - Decimal (money, decimal(18,2)) is exact: an optional sign, digits with optional
//     ThousandsSeparator between them, an optional DecimalSeparator and up to two decimals.
//     More than two decimals are accepted only when the extra digits are zeros
//     ("12.500"); "12.345" is rejected rather than rounded, because rounding money silently
//     would make totals disagree with the source. Exponents, currency symbols and
//     parenthesised negatives are rejected. At most 16 integer digits.
//   - Bool accepts true/false, t/f, 1/0, yes/no, y/n in any case.
//   - Int64 accepts an integer, or a number whose decimals are all zeros ("12.00").
//   - Float64 accepts what strconv.ParseFloat accepts (after DecimalSeparator and
//     ThousandsSeparator are normalised), except NaN and infinities.
//   - Timestamp accepts TimestampLayouts, then DefaultTimestampLayouts, then the OData v2
//     form /Date(ms)/ and finally DateLayouts (midnight in Location).
type Parser struct {
	// DateLayouts are tried in order; empty means {ISODate}.
	DateLayouts []string
	// TimestampLayouts are tried before DefaultTimestampLayouts.
	TimestampLayouts []string
	// DecimalSeparator is '.' (the default when 0) or ','.
	DecimalSeparator byte
	// ThousandsSeparator, when not 0, may appear between integer digits and is ignored.
	ThousandsSeparator byte
	// Location is the zone of timestamps whose text carries none; nil means UTC.
	Location *time.Location
}

var (
	errNotNumber   = errors.New("not a number")
	errTooManyDec  = errors.New("more than 2 decimal places (money is kept exact to the cent; fix the source or round it there)")
	errTooLarge    = errors.New("too large for decimal(18,2)")
	errNotInteger  = errors.New("not an integer")
	errNotFinite   = errors.New("not a finite number")
	errNotBool     = errors.New("not a boolean (true/false, 1/0, yes/no, t/f)")
	errEmptyNumber = errors.New("empty")
)

func (p *Parser) decSep() byte {
	if p.DecimalSeparator == 0 {
		return '.'
	}
	return p.DecimalSeparator
}

// ParseDecimal parses s as a decimal(18,2) value: the result is the number of cents.
func (p *Parser) ParseDecimal(s string) (decimal128.Num, error) {
	c, err := parseCents(s, p.decSep(), p.ThousandsSeparator)
	if err != nil {
		return decimal128.Num{}, err
	}
	return decimal128.FromI64(c), nil
}

// parseCents parses a decimal with up to two decimals into an integer number of cents.
func parseCents(s string, dec, thou byte) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errEmptyNumber
	}
	i, neg := 0, false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		i++
	}
	var units int64
	digits, sig := 0, 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			if sig > 0 || c != '0' {
				sig++
				if sig > 16 {
					return 0, errTooLarge
				}
			}
			units = units*10 + int64(c-'0')
			digits++
			continue
		}
		if thou != 0 && c == thou && digits > 0 && i+1 < len(s) && isDigit(s[i+1]) {
			continue
		}
		break
	}
	var frac int64
	fracDigits := 0
	if i < len(s) && s[i] == dec {
		for i++; i < len(s) && isDigit(s[i]); i++ {
			d := int64(s[i] - '0')
			switch {
			case fracDigits < 2:
				frac = frac*10 + d
			case d != 0:
				return 0, errTooManyDec
			}
			fracDigits++
			digits++
		}
	}
	if i != len(s) || digits == 0 {
		return 0, errNotNumber
	}
	if fracDigits == 1 {
		frac *= 10
	}
	v := units*100 + frac
	if neg {
		v = -v
	}
	return v, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ParseInt64 parses s as an integer; "12.00" is accepted as 12.
func (p *Parser) ParseInt64(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	if j := strings.IndexByte(s, p.decSep()); j > 0 && strings.Trim(s[j+1:], "0") == "" {
		if v, err := strconv.ParseInt(s[:j], 10, 64); err == nil {
			return v, nil
		}
	}
	return 0, errNotInteger
}

// ParseFloat64 parses s as a finite float64.
func (p *Parser) ParseFloat64(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if p.ThousandsSeparator != 0 && strings.IndexByte(s, p.ThousandsSeparator) >= 0 {
		s = strings.ReplaceAll(s, string(p.ThousandsSeparator), "")
	}
	if d := p.decSep(); d != '.' {
		if strings.IndexByte(s, '.') >= 0 {
			return 0, errNotNumber
		}
		s = strings.ReplaceAll(s, string(d), ".")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, errNotNumber
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errNotFinite
	}
	return v, nil
}

// ParseBool parses true/false, t/f, 1/0, yes/no and y/n in any case.
func ParseBool(s string) (bool, error) {
	s = strings.TrimSpace(s)
	for _, t := range [...]string{"true", "t", "1", "yes", "y"} {
		if strings.EqualFold(s, t) {
			return true, nil
		}
	}
	for _, f := range [...]string{"false", "f", "0", "no", "n"} {
		if strings.EqualFold(s, f) {
			return false, nil
		}
	}
	return false, errNotBool
}

func (p *Parser) dateLayouts() []string {
	if len(p.DateLayouts) == 0 {
		return []string{ISODate}
	}
	return p.DateLayouts
}

// ParseDate parses s with DateLayouts; the date is the calendar date written in s.
func (p *Parser) ParseDate(s string) (arrow.Date32, error) {
	s = strings.TrimSpace(s)
	layouts := p.dateLayouts()
	for _, l := range layouts {
		if l == ISODate {
			if d, ok := parseISODate(s); ok {
				return d, nil
			}
			continue
		}
		if t, err := time.Parse(l, s); err == nil {
			return DateOf(t), nil
		}
	}
	return 0, fmt.Errorf("not a date in format %s", describeLayouts(layouts))
}

// ParseTimestamp parses s as an instant (see Parser for the layouts tried).
func (p *Parser) ParseTimestamp(s string) (arrow.Timestamp, error) {
	s = strings.TrimSpace(s)
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	for _, ls := range [2][]string{p.TimestampLayouts, DefaultTimestampLayouts} {
		for _, l := range ls {
			if t, err := time.ParseInLocation(l, s, loc); err == nil {
				return arrow.Timestamp(t.UnixMicro()), nil
			}
		}
	}
	if t, ok := parseODataDate(s); ok {
		return arrow.Timestamp(t.UnixMicro()), nil
	}
	for _, l := range p.dateLayouts() {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return arrow.Timestamp(t.UnixMicro()), nil
		}
	}
	all := append(append([]string{}, p.TimestampLayouts...), "RFC 3339")
	all = append(all, p.dateLayouts()...)
	return 0, fmt.Errorf("not a timestamp in format %s", describeLayouts(all))
}

// parseODataDate parses the OData v2 JSON date /Date(1716238172000)/ (optionally with a
// +hhmm offset, which does not change the instant).
func parseODataDate(s string) (time.Time, bool) {
	if !strings.HasPrefix(s, "/Date(") || !strings.HasSuffix(s, ")/") {
		return time.Time{}, false
	}
	body := s[len("/Date(") : len(s)-2]
	if j := strings.IndexAny(body[min(1, len(body)):], "+-"); j >= 0 {
		body = body[:j+1]
	}
	ms, err := strconv.ParseInt(body, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

func describeLayouts(ls []string) string {
	q := make([]string, len(ls))
	for i, l := range ls {
		if l == "RFC 3339" {
			q[i] = l
			continue
		}
		q[i] = strconv.Quote(l)
	}
	return strings.Join(q, " or ")
}

// parseISODate is a fast path for YYYY-MM-DD that validates the day of the month.
func parseISODate(s string) (arrow.Date32, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	n := func(b string) (int, bool) {
		v := 0
		for i := 0; i < len(b); i++ {
			if !isDigit(b[i]) {
				return 0, false
			}
			v = v*10 + int(b[i]-'0')
		}
		return v, true
	}
	y, ok1 := n(s[:4])
	m, ok2 := n(s[5:7])
	d, ok3 := n(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return arrow.Date32(daysFromCivil(y, m, d)), true
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

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm).
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

// DateOf returns the calendar date of t in t's own location as a date32.
func DateOf(t time.Time) arrow.Date32 {
	y, m, d := t.Date()
	return arrow.Date32(daysFromCivil(y, int(m), d))
}
