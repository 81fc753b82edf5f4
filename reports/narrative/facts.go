package narrative

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/revcast/revcast"
)

// Unit says what a Fact's value measures, which of Num or Text holds it, and how it is
// written. Besides the constants below, any three upper-case letters are an ISO 4217
// currency code ("USD", "EUR") and Num is an amount in that currency.
type Unit string

// Units other than currencies.
const (
	UnitNumber  Unit = ""      // Num is a plain number (coverage 2.4, a score)
	UnitPercent Unit = "%"     // Num is in percent points: 12.5 means 12.5%
	UnitRatio   Unit = "ratio" // Num is a fraction shown as a percentage: 0.125 means 12.5%
	UnitDays    Unit = "days"  // Num is a number of days
	UnitCount   Unit = "count" // Num is a count of things (deals, invoices)
	UnitDate    Unit = "date"  // Text is a calendar date, YYYY-MM-DD
	UnitText    Unit = "text"  // Text is a word or phrase (a stage, an account, a period name)
)

// Currency reports whether u is a currency code and returns it.
func (u Unit) Currency() (string, bool) {
	if len(u) != 3 {
		return "", false
	}
	for i := 0; i < 3; i++ {
		if u[i] < 'A' || u[i] > 'Z' {
			return "", false
		}
	}
	return string(u), true
}

// Numeric reports whether a fact in unit u holds its value in Num.
func (u Unit) Numeric() bool { return u != UnitDate && u != UnitText }

// Fact is one figure a section shows: the only kind of thing its narrative may state.
type Fact struct {
	Key   string  // stable identifier within the section ("p50", "target"); part of the facts hash
	Label string  // what the figure is, in words for the model and the reader ("P50 bookings")
	Num   float64 // the value when Unit.Numeric(); NaN or ±Inf means "not available"
	Text  string  // the value when Unit is UnitDate (YYYY-MM-DD) or UnitText
	Unit  Unit
}

// Facts are the figures of one report section, in the order the narrative should weigh them.
type Facts struct {
	Section string // the section key, one of the Section* constants or the caller's own
	Items   []Fact
}

// Money returns a fact for an amount in a currency (an ISO 4217 code such as "USD").
func Money(key, label string, amount float64, currency string) Fact {
	return Fact{Key: key, Label: label, Num: amount, Unit: Unit(currency)}
}

// Percent returns a fact in percent points (12.5 for 12.5%).
func Percent(key, label string, pct float64) Fact {
	return Fact{Key: key, Label: label, Num: pct, Unit: UnitPercent}
}

// Ratio returns a fact holding a fraction (0.125) that is written as a percentage (12.5%).
func Ratio(key, label string, r float64) Fact {
	return Fact{Key: key, Label: label, Num: r, Unit: UnitRatio}
}

// Count returns a fact counting things.
func Count(key, label string, n int) Fact {
	return Fact{Key: key, Label: label, Num: float64(n), Unit: UnitCount}
}

// Days returns a fact measured in days.
func Days(key, label string, d float64) Fact {
	return Fact{Key: key, Label: label, Num: d, Unit: UnitDays}
}

// Number returns a fact holding a plain number.
func Number(key, label string, v float64) Fact {
	return Fact{Key: key, Label: label, Num: v, Unit: UnitNumber}
}

// Date returns a fact holding the calendar date of t (in t's location).
func Date(key, label string, t time.Time) Fact {
	return Fact{Key: key, Label: label, Text: t.Format(revcast.DateLayout), Unit: UnitDate}
}

// Text returns a fact holding a word or phrase. Figures belong in numeric facts: digits in
// a text fact are allowed back only as plain numbers (see Check).
func Text(key, label, s string) Fact {
	return Fact{Key: key, Label: label, Text: s, Unit: UnitText}
}

// Value is the fact's value as the report and the template narrative write it: money in
// short form ($1.2M), percentages with at most one decimal, counts with thousands
// separators, "n/a" for a missing number.
func (f Fact) Value() string {
	if !f.Unit.Numeric() {
		return f.Text
	}
	if math.IsNaN(f.Num) || math.IsInf(f.Num, 0) {
		return "n/a"
	}
	if c, ok := f.Unit.Currency(); ok {
		return FormatMoneyShort(f.Num, c)
	}
	switch f.Unit {
	case UnitPercent:
		return FormatPercent(f.Num)
	case UnitRatio:
		return FormatPercent(f.Num * 100)
	case UnitDays:
		if s := formatFixed(f.Num, 1, true); s == "1" || s == "-1" {
			return s + " day"
		}
		return formatFixed(f.Num, 1, true) + " days"
	case UnitCount:
		return FormatCount(f.Num)
	}
	return FormatNumber(f.Num)
}

// promptValue is the value as the prompt shows it: money both in full and short, so the
// model can copy either.
func (f Fact) promptValue() string {
	v := f.Value()
	if c, ok := f.Unit.Currency(); ok && v != "n/a" {
		if full := FormatMoney(f.Num, c); full != v {
			return full + " (short form: " + v + ")"
		}
	}
	return v
}

// Canonical is the stable text form of the facts that FactsSHA256 hashes: one line per
// fact, in order, with exact numbers (shortest round-trip form) and quoted strings.
func (fs Facts) Canonical() string {
	var b strings.Builder
	fmt.Fprintf(&b, "section %q\n", fs.Section)
	for _, f := range fs.Items {
		var v string
		if f.Unit.Numeric() {
			v = strconv.FormatFloat(f.Num, 'g', -1, 64)
		} else {
			v = strconv.Quote(f.Text)
		}
		fmt.Fprintf(&b, "fact key=%q unit=%q value=%s label=%q\n", f.Key, string(f.Unit), v, f.Label)
	}
	return b.String()
}

// SHA256 is the hex SHA-256 of Canonical: equal facts give equal hashes across runs.
func (fs Facts) SHA256() string {
	h := sha256.Sum256([]byte(fs.Canonical()))
	return hex.EncodeToString(h[:])
}

// currencySymbols are the prefixes FormatMoney writes; other currencies are written with
// their code ("CHF 1.2M"). Only USD takes the bare "$" so that the reader is never left to
// guess which dollar.
var currencySymbols = map[string]string{"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}

func moneyPrefix(currency string) string {
	if s, ok := currencySymbols[currency]; ok {
		return s
	}
	return currency + " "
}

// FormatMoney writes an amount in full, rounded to whole units with thousands separators:
// FormatMoney(1234567.4, "USD") == "$1,234,567"; other codes as "CHF 1,234,567".
func FormatMoney(amount float64, currency string) string {
	if math.IsNaN(amount) || math.IsInf(amount, 0) {
		return "n/a"
	}
	s := formatFixed(amount, 0, false)
	if digits, neg := strings.CutPrefix(s, "-"); neg {
		return "-" + moneyPrefix(currency) + digits
	}
	return moneyPrefix(currency) + s
}

// FormatMoneyShort writes an amount with a K, M or B suffix and at most one decimal:
// 1234567 → "$1.2M", 950000 → "$950K", 1999999 → "$2M", 999.6 → "$1,000", 420 → "$420".
func FormatMoneyShort(amount float64, currency string) string {
	if math.IsNaN(amount) || math.IsInf(amount, 0) {
		return "n/a"
	}
	m := shortNumber(math.Abs(amount))
	sign := ""
	if amount < 0 && m != "0" {
		sign = "-"
	}
	return sign + moneyPrefix(currency) + m
}

// shortNumber writes a non-negative value with a K/M/B suffix and one decimal at most
// (trailing ".0" dropped), or as a whole number with separators below 1,000. The suffix is
// the largest that leaves a mantissa of at least 1, moved up one when rounding would
// write 1,000 of it (999,960 is "1M", not "1,000K").
func shortNumber(a float64) string {
	scales := []struct {
		div float64
		suf string
	}{{1e3, "K"}, {1e6, "M"}, {1e9, "B"}}
	i := -1
	for k, s := range scales {
		if a >= s.div {
			i = k
		}
	}
	if i < 0 {
		return formatFixed(a, 0, false)
	}
	m := math.Round(a/scales[i].div*10) / 10
	if m >= 1000 && i+1 < len(scales) {
		i++
		m = math.Round(a/scales[i].div*10) / 10
	}
	return formatFixed(m, 1, true) + scales[i].suf
}

// FormatPercent writes percent points with at most one decimal: 12.53 → "12.5%", 40 → "40%".
func FormatPercent(p float64) string {
	if math.IsNaN(p) || math.IsInf(p, 0) {
		return "n/a"
	}
	return formatFixed(p, 1, true) + "%"
}

// FormatCount writes a count rounded to a whole number with thousands separators: "1,234".
func FormatCount(n float64) string {
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return "n/a"
	}
	return formatFixed(n, 0, false)
}

// FormatNumber writes a plain number with at most two decimals and thousands separators:
// 2.456 → "2.46", 1234.5 → "1,234.5".
func FormatNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return formatFixed(v, 2, true)
}

// formatFixed writes v with the given number of decimals (dropping trailing zeros and the
// point when trim is set), thousands separators in the integer part, and no "-0".
func formatFixed(v float64, decimals int, trim bool) string {
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if trim && strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	out := b.String()
	if neg && strings.Trim(out, "0.,") != "" {
		out = "-" + out
	}
	return out
}
