package narrative

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/revcast/revcast"
)

// Finding is one figure in a reply that no fact supports.
type Finding struct {
	Token  string // the figure as written in the reply: "$4.5M", "2031", "March 3"
	Reason string // why no fact supports it
}

// String returns the finding as it is recorded in Narrative.Rejected.
func (f Finding) String() string { return fmt.Sprintf("ungrounded %q: %s", f.Token, f.Reason) }

// Check returns every figure in text that is not grounded in facts, in order of appearance;
// none means the text passes. Text is checked as the model wrote it, with placeholders
// (PERSON_1, EMAIL_1, PHONE_1) still in it, so digits inside personal data are never read.
//
// What counts as a figure, and when it is grounded:
//
//   - Numbers written with digits, with an optional sign (ignored: magnitudes are compared),
//     thousands separators ("1,234,567"), decimals, a scale (K, M, MM, B, bn, mn, thousand,
//     million, billion — attached or after a space), a currency (symbols $ € £ ¥ ₹, US$,
//     A$, C$; ISO codes such as USD or CHF before or after; the words dollars, euros,
//     pounds), a percent ("%", "percent", "per cent", "pct", "pp", "percentage points") or
//     an "x" multiple. A range "$1.2–1.5M" or "10-12%" shares its scale, currency and
//     percent between both ends.
//
//   - A figure written v with k decimals in scale s (1 when none) is grounded by a fact f
//     if |f|/s lies within half a unit of its last place of v: | |f|/s − v | ≤ ½·10^−k.
//     That is, v is f rounded to the precision v is written in ("$1.2M" for 1,234,567;
//     "13%" for 12.5%; "$1,234,567" for 1,234,567.4), and nothing coarser is assumed for
//     "10" or "1,000". An integer of four or more digits that ends in zeros and has at least
//     two significant digits is read as rounded to its last non-zero digit: "1,200,000"
//     stands for 1,150,000..1,250,000.
//
//   - Which facts can ground a figure: one with a currency only a money fact in that
//     currency ("$" covers USD, CAD, AUD, NZD, SGD, HKD, MXN); a percentage only a UnitPercent
//     fact (compared as is) or a UnitRatio fact (compared ×100); any other figure any numeric
//     fact, compared as is. Signs are not compared: "fell by $0.4M" is grounded by −400,000
//     and so is "rose by $0.4M" — a wrong direction is not caught here.
//
//   - Dates: ISO (2026-06-30, 2026-06), numeric (6/30/2026 or 30/6/2026), and with a
//     capitalised English month name (June 30, 2026; 30 June 2026; Jun 30; June 2026). A
//     date is grounded if some date fact — or an ISO date inside a label or text fact —
//     agrees on every part it states (year, month, day), or if it is written verbatim in a
//     label or text fact. A month name without digits is no figure.
//
//   - Years: a bare four-digit integer from 1900 to 2100, and FY26/FY2026/CY2026, are
//     grounded by the year of any date fact or ISO date in a label or text, or by a number
//     written in a label or text fact; otherwise they are checked as numbers.
//
//   - Digits written in a fact's label or text value (the 30 of "30-day collections", the
//     3 of "2026-Q3", the 5 of "Top 5 deals") are grounded as plain numbers: no currency,
//     scale or percent.
//
// What is ignored (never a figure):
//
//   - Quarter and half names Q1–Q4 and H1–H2 (any case), when written as one word.
//   - Ordinals 1st–10th, and integers 1–10 right after "top" ("top 3 deals").
//   - Number words zero to ten on their own ("two deals slipped"): prose counting. This is
//     the one deliberate gap: "two" where the fact says 5 is not caught. Number words
//     above ten ("eleven", "twenty-five"), any number word followed by a scale or percent
//     ("two million", "ten percent"), and "a million"/"a billion" are figures and checked.
//   - Words that mix letters and digits and appear in a label or text fact ("P50" when a
//     label says "P50 bookings"). Any other such word ("Q5", "B2B", "10am") is reported:
//     it may hide a figure, and falling back to the template costs nothing.
//   - Placeholders (PERSON_1, EMAIL_1, PHONE_1); Generate checks separately that each was
//     issued.
//
// Not checked: arithmetic words ("doubled", "half", "a third") and the meaning of a
// sentence — Check guarantees that the figures are the real ones, not that the prose
// about them is right.
func Check(text string, facts Facts) []Finding {
	ix := indexFacts(facts)
	buf := []byte(text)
	blank := func(start, end int) {
		for i := start; i < end; i++ {
			buf[i] = ' '
		}
	}
	var found []Finding
	type hit struct {
		start, end int
		f          Finding
	}
	var hits []hit
	report := func(start, end int, reason string) {
		hits = append(hits, hit{start, end, Finding{Token: strings.TrimSpace(text[start:end]), Reason: reason}})
	}

	for _, loc := range placeholderRE.FindAllStringIndex(text, -1) {
		blank(loc[0], loc[1])
	}

	// Dates first: their digits are not numbers.
	for _, d := range dateREs {
		s := string(buf)
		for _, m := range d.re.FindAllStringSubmatchIndex(s, -1) {
			cands, ok := d.parse(s, m)
			if !ok {
				continue
			}
			if !ix.dateOK(cands) && !ix.literalSpan(s[m[0]:m[1]]) {
				report(m[0], m[1], "no date fact has this date")
			}
			blank(m[0], m[1])
		}
	}

	s := string(buf)
	for _, m := range numberWordRE.FindAllStringSubmatchIndex(s, -1) {
		fg, ok := wordFigure(s, m)
		if !ok {
			continue
		}
		if reason := ix.figureOK(fg); reason != "" && !ix.literalSpan(s[m[0]:m[1]]) {
			report(m[0], m[1], reason)
		}
	}

	for _, fg := range scanFigures(s) {
		if fg.identifier != "" {
			if reason := ix.identifierOK(fg.identifier); reason != "" {
				report(fg.start, fg.end, reason)
			}
			continue
		}
		if reason := ix.figureOK(fg); reason != "" {
			report(fg.start, fg.end, reason)
		}
	}

	// In order of appearance.
	for i := 1; i < len(hits); i++ {
		for j := i; j > 0 && hits[j].start < hits[j-1].start; j-- {
			hits[j], hits[j-1] = hits[j-1], hits[j]
		}
	}
	for _, h := range hits {
		found = append(found, h.f)
	}
	return found
}

// Figure kinds.
const (
	kindPlain = iota
	kindMoney
	kindPercent
)

// figure is one number as written in a reply.
type figure struct {
	start, end int     // byte span in the reply, prefix and suffix included
	afterTop   bool    // written right after "top": "top 3"
	value      float64 // the mantissa as written, without sign
	digits     string  // the digits as written, without separators, e.g. "1200000", "12.5"
	decimals   int
	grouped    bool    // written with thousands separators
	tol        float64 // half a unit of the last place of value
	scale      float64 // 1, 100, 1e3, 1e6, 1e9
	kind       int
	currencies []string // for kindMoney: the currencies the symbol or code may mean
	ordinal    bool     // 3rd
	word       bool     // written as a number word
	identifier string   // set when the digits belong to a word such as Q3 or P50
}

// numFact is a numeric fact as Check compares it.
type numFact struct {
	v    float64
	unit Unit
}

type civil struct{ y, m, d int } // 0 = not stated

// factIndex is what a section's facts allow a reply to say.
type factIndex struct {
	nums     []numFact
	dates    []civil
	years    map[int]bool
	literals map[string]bool // digit strings written in labels and text values
	words    map[string]bool // lower-cased letter+digit words in labels and text values
	texts    []string        // labels and text values, lower-cased
}

var (
	literalRE = regexp.MustCompile(`\d+(?:,\d{3})*(?:\.\d+)?`)
	mixedRE   = regexp.MustCompile(`[\pL\d_]*\d[\pL\d_]*`)
	isoInText = regexp.MustCompile(`\b(\d{4})-(\d{2})-(\d{2})\b`)
)

func indexFacts(facts Facts) *factIndex {
	ix := &factIndex{years: map[int]bool{}, literals: map[string]bool{}, words: map[string]bool{}}
	addText := func(t string) {
		// Personal data is masked in the prompt, so its digits are not the model's to use.
		t = placeholderRE.ReplaceAllString(t, " ")
		t = emailRE.ReplaceAllString(t, " ")
		t = phoneRE.ReplaceAllStringFunc(t, func(p string) string {
			if isPhone(p) {
				return " "
			}
			return p
		})
		ix.texts = append(ix.texts, strings.ToLower(t))
		for _, m := range isoInText.FindAllStringSubmatch(t, -1) {
			y, _ := strconv.Atoi(m[1])
			mo, _ := strconv.Atoi(m[2])
			d, _ := strconv.Atoi(m[3])
			ix.dates = append(ix.dates, civil{y, mo, d})
			ix.years[y] = true
		}
		for _, l := range literalRE.FindAllString(t, -1) {
			ix.literals[strings.ReplaceAll(l, ",", "")] = true
		}
		for _, w := range mixedRE.FindAllString(t, -1) {
			ix.words[strings.ToLower(w)] = true
		}
	}
	for _, f := range facts.Items {
		addText(f.Label)
		switch {
		case f.Unit == UnitDate:
			if t, err := time.Parse(revcast.DateLayout, strings.TrimSpace(f.Text)); err == nil {
				ix.dates = append(ix.dates, civil{t.Year(), int(t.Month()), t.Day()})
				ix.years[t.Year()] = true
			} else {
				addText(f.Text)
			}
		case f.Unit == UnitText:
			addText(f.Text)
		case !math.IsNaN(f.Num) && !math.IsInf(f.Num, 0):
			ix.nums = append(ix.nums, numFact{f.Num, f.Unit})
		}
	}
	return ix
}

// dollarCurrencies are the currencies a bare "$" may stand for.
var dollarCurrencies = []string{"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"}

// isoCurrencies are the codes recognised next to a number.
var isoCurrencies = map[string]bool{
	"USD": true, "EUR": true, "GBP": true, "JPY": true, "CHF": true, "CAD": true, "AUD": true,
	"NZD": true, "SEK": true, "NOK": true, "DKK": true, "PLN": true, "CZK": true, "HUF": true,
	"CNY": true, "HKD": true, "SGD": true, "INR": true, "BRL": true, "MXN": true, "ZAR": true,
	"KRW": true, "ILS": true, "AED": true, "SAR": true, "TRY": true, "RON": true, "THB": true,
}

// figureOK returns "" when fg is grounded or ignored, else why not.
func (ix *factIndex) figureOK(fg figure) string {
	integer := fg.decimals == 0 && fg.value == math.Trunc(fg.value)
	if fg.ordinal && integer && fg.value <= 10 {
		return ""
	}
	if fg.kind == kindPlain && fg.scale == 1 && integer && fg.value >= 1 && fg.value <= 10 && fg.afterTop {
		return ""
	}
	if fg.kind == kindPlain && fg.scale == 1 && !fg.word && ix.literals[fg.digits] {
		return ""
	}
	if fg.kind == kindPlain && fg.scale == 1 && !fg.word && !fg.grouped && integer && len(fg.digits) == 4 &&
		fg.value >= 1900 && fg.value <= 2100 {
		if ix.years[int(fg.value)] || ix.matches(fg) {
			return ""
		}
		return "year is in no date fact"
	}
	if ix.matches(fg) {
		return ""
	}
	switch fg.kind {
	case kindMoney:
		return fmt.Sprintf("no %s fact rounds to it", strings.Join(fg.currencies, "/"))
	case kindPercent:
		return "no percentage fact rounds to it"
	}
	return "no fact rounds to it"
}

// matches reports whether a numeric fact grounds fg (see Check for the rule).
func (ix *factIndex) matches(fg figure) bool {
	for _, nf := range ix.nums {
		x := math.Abs(nf.v)
		switch fg.kind {
		case kindMoney:
			c, ok := nf.unit.Currency()
			if !ok || !contains(fg.currencies, c) {
				continue
			}
		case kindPercent:
			switch nf.unit {
			case UnitPercent:
			case UnitRatio:
				x *= 100
			default:
				continue
			}
		}
		if math.Abs(x/fg.scale-fg.value) <= fg.tol*(1+1e-9)+1e-9*math.Max(1, fg.value) {
			return true
		}
	}
	return false
}

// identifierOK returns "" when a word with digits is allowed, else why not.
func (ix *factIndex) identifierOK(w string) string {
	lw := strings.ToLower(w)
	if ix.words[lw] {
		return ""
	}
	if quarterRE.MatchString(lw) {
		return ""
	}
	if m := fiscalYearRE.FindStringSubmatch(lw); m != nil {
		y, _ := strconv.Atoi(m[2])
		if len(m[2]) == 2 {
			y += 2000
		}
		if ix.years[y] || ix.literals[m[2]] || ix.literals[strconv.Itoa(y)] {
			return ""
		}
		return "year is in no date fact"
	}
	return "word with digits is in no fact"
}

var (
	quarterRE    = regexp.MustCompile(`^(?:q[1-4]|h[12])$`)
	fiscalYearRE = regexp.MustCompile(`^(fy|cy)(\d{2}|\d{4})$`)
)

// dateOK reports whether any candidate reading of a date agrees with a known date on
// every part it states.
func (ix *factIndex) dateOK(cands []civil) bool {
	for _, c := range cands {
		for _, d := range ix.dates {
			if (c.y == 0 || c.y == d.y) && (c.m == 0 || c.m == d.m) && (c.d == 0 || c.d == d.d) {
				return true
			}
		}
	}
	return false
}

// literalSpan reports whether a span appears verbatim in a label or text fact.
func (ix *factIndex) literalSpan(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, t := range ix.texts {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Dates.

const monthAlt = `(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)`

var months = map[string]int{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

func monthNum(s string) int { return months[strings.ToLower(s[:3])] }

type dateRE struct {
	re    *regexp.Regexp
	parse func(s string, m []int) ([]civil, bool)
}

func group(s string, m []int, i int) string {
	if m[2*i] < 0 {
		return ""
	}
	return s[m[2*i]:m[2*i+1]]
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func year(s string) int {
	y := atoi(s)
	if len(s) == 2 {
		y += 2000
	}
	return y
}

var dateREs = []dateRE{
	{regexp.MustCompile(`\b(\d{4})-(\d{1,2})-(\d{1,2})\b`), func(s string, m []int) ([]civil, bool) {
		return []civil{{atoi(group(s, m, 1)), atoi(group(s, m, 2)), atoi(group(s, m, 3))}}, true
	}},
	{regexp.MustCompile(`\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b`), func(s string, m []int) ([]civil, bool) {
		a, b, y := atoi(group(s, m, 1)), atoi(group(s, m, 2)), year(group(s, m, 3))
		return []civil{{y, a, b}, {y, b, a}}, true // month first (US) or day first
	}},
	{regexp.MustCompile(`\b` + monthAlt + `\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(\d{4})\b)?`), func(s string, m []int) ([]civil, bool) {
		return []civil{{year(group(s, m, 3)), monthNum(group(s, m, 1)), atoi(group(s, m, 2))}}, true
	}},
	{regexp.MustCompile(`\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?` + monthAlt + `\b\.?(?:,?\s+(\d{4})\b)?`), func(s string, m []int) ([]civil, bool) {
		return []civil{{year(group(s, m, 3)), monthNum(group(s, m, 2)), atoi(group(s, m, 1))}}, true
	}},
	{regexp.MustCompile(`\b` + monthAlt + `\.?,?\s+(\d{4})\b`), func(s string, m []int) ([]civil, bool) {
		return []civil{{atoi(group(s, m, 2)), monthNum(group(s, m, 1)), 0}}, true
	}},
	{regexp.MustCompile(`\b(\d{4})-(\d{2})\b`), func(s string, m []int) ([]civil, bool) {
		mo := atoi(group(s, m, 2))
		if mo < 1 || mo > 12 {
			return nil, false // "2025-26" is not a month
		}
		return []civil{{atoi(group(s, m, 1)), mo, 0}}, true
	}},
}

// Number words.

var numberWordRE = regexp.MustCompile(`(?i)\b(?:(twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](one|two|three|four|five|six|seven|eight|nine)\b)?|(eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)|(zero|one|two|three|four|five|six|seven|eight|nine|ten)|(a))(?:\s+(hundred|thousand|million|billion|percent|per\s+cent))?\b(?:\s+(dollars|euros|pounds)\b)?`)

var wordValues = map[string]float64{
	"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
	"eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
	"fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
	"nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
	"seventy": 70, "eighty": 80, "ninety": 90,
}

var scaleWords = map[string]float64{"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9}

// wordFigure turns a numberWordRE match into a figure; ok is false when it is ignored.
func wordFigure(s string, m []int) (figure, bool) {
	fg := figure{start: m[0], end: m[1], scale: 1, tol: 0.5, word: true}
	tens, unit, teen, small, a := group(s, m, 1), group(s, m, 2), group(s, m, 3), group(s, m, 4), group(s, m, 5)
	scale := strings.ToLower(strings.Join(strings.Fields(group(s, m, 6)), " "))
	switch strings.ToLower(group(s, m, 7)) {
	case "dollars":
		fg.kind, fg.currencies = kindMoney, dollarCurrencies
	case "euros":
		fg.kind, fg.currencies = kindMoney, []string{"EUR"}
	case "pounds":
		fg.kind, fg.currencies = kindMoney, []string{"GBP"}
	}
	switch {
	case tens != "":
		fg.value = wordValues[strings.ToLower(tens)] + wordValues[strings.ToLower(unit)]
	case teen != "":
		fg.value = wordValues[strings.ToLower(teen)]
	case small != "":
		fg.value = wordValues[strings.ToLower(small)]
	case a != "":
		if scale != "million" && scale != "billion" {
			return fg, false
		}
		fg.value = 1
	}
	switch scale {
	case "":
		if fg.value <= 10 {
			return fg, false // prose counting
		}
	case "percent", "per cent":
		fg.kind = kindPercent
	default:
		fg.scale = scaleWords[scale]
	}
	fg.digits = strconv.FormatFloat(fg.value, 'f', -1, 64)
	return fg, true
}

// Numbers written with digits.

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// wordRuneBefore reports whether the rune ending at i is a letter, digit or underscore.
func wordRuneBefore(s string, i int) bool {
	if i <= 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// wordRuneAt reports whether the rune starting at i is a letter, digit or underscore.
func wordRuneAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// scanFigures finds every number written with digits in s, with its prefix and suffix.
func scanFigures(s string) []figure {
	var out []figure
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		code := ""
		if wordRuneBefore(s, i) {
			// Glued to a word on the left: a currency code ("EUR1.2M") or an identifier.
			ws := i
			for ws > 0 && wordRuneBefore(s, ws) {
				_, size := utf8.DecodeLastRuneInString(s[:ws])
				ws -= size
			}
			if c := s[ws:i]; isoCurrencies[c] {
				code = c
			} else {
				we := i
				for wordRuneAt(s, we) {
					_, size := utf8.DecodeRuneInString(s[we:])
					we += size
				}
				out = append(out, figure{start: ws, end: we, identifier: s[ws:we]})
				i = we
				continue
			}
		}
		fg, next := scanNumber(s, i)
		if fg.identifier == "" {
			if code != "" {
				fg.kind, fg.currencies, fg.start = kindMoney, []string{code}, i-len(code)
			} else {
				scanPrefix(s, &fg)
			}
		}
		out = append(out, fg)
		i = next
	}
	shareRanges(s, out)
	return out
}

// scanNumber reads the number starting at i and what follows it.
func scanNumber(s string, i int) (figure, int) {
	fg := figure{start: i, scale: 1}
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j-i <= 3 {
		for j+3 < len(s) && s[j] == ',' && isDigit(s[j+1]) && isDigit(s[j+2]) && isDigit(s[j+3]) &&
			(j+4 == len(s) || !isDigit(s[j+4])) {
			j += 4
			fg.grouped = true
		}
	}
	if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
		k := j + 1
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		fg.decimals = k - j - 1
		j = k
	}
	fg.digits = strings.ReplaceAll(s[i:j], ",", "")
	fg.value, _ = strconv.ParseFloat(fg.digits, 64)
	fg.tol = 0.5 * math.Pow10(-fg.decimals)
	fg.end = j

	// Attached letters: a scale, "x", an ordinal, or else the digits are part of a word.
	k := j
	for k < len(s) && isASCIILetter(s[k]) {
		k++
	}
	if suf := strings.ToLower(s[j:k]); suf != "" {
		if wordRuneAt(s, k) {
			return identifierFrom(s, i), wordEnd(s, i)
		}
		switch suf {
		case "k":
			fg.scale = 1e3
		case "m", "mm", "mn":
			fg.scale = 1e6
		case "b", "bn":
			fg.scale = 1e9
		case "pp":
			fg.kind = kindPercent
		case "x":
		case "st", "nd", "rd", "th":
			fg.ordinal = true
		default:
			return identifierFrom(s, i), wordEnd(s, i)
		}
		fg.end = k
		if fg.scale != 1 {
			scanCurrencyAfter(s, &fg)
		}
	} else if wordRuneAt(s, j) {
		return identifierFrom(s, i), wordEnd(s, i) // "3_a" and the like
	} else {
		scanSuffixWords(s, &fg)
	}
	if fg.scale == 1 && fg.decimals == 0 && len(fg.digits) >= 4 {
		trimmed := strings.TrimRight(fg.digits, "0")
		if z := len(fg.digits) - len(trimmed); z > 0 && len(trimmed) >= 2 {
			fg.tol = 0.5 * math.Pow10(z)
		}
	}
	return fg, fg.end
}

func wordEnd(s string, i int) int {
	for wordRuneAt(s, i) {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

func identifierFrom(s string, i int) figure {
	e := wordEnd(s, i)
	return figure{start: i, end: e, identifier: s[i:e]}
}

var (
	percentAfter  = regexp.MustCompile(`^\s?(?:%|(?i:percent(?:age points?)?|per\s+cent|pct|pp)\b)`)
	scaleAfter    = regexp.MustCompile(`^\s(?i:(thousand|million|billion|bn|mn|mm))\b`)
	currencyAfter = regexp.MustCompile(`^\s(?:([A-Z]{3})\b|(?i:(dollars|euros|pounds))\b)`)
)

// scanSuffixWords reads "%", "percent", a scale word and a currency after a number.
func scanSuffixWords(s string, fg *figure) {
	rest := s[fg.end:]
	if m := percentAfter.FindString(rest); m != "" {
		fg.kind = kindPercent
		fg.end += len(m)
		return
	}
	if m := scaleAfter.FindStringSubmatch(rest); m != nil {
		switch strings.ToLower(m[1]) {
		case "thousand":
			fg.scale = 1e3
		case "million", "mn", "mm":
			fg.scale = 1e6
		case "billion", "bn":
			fg.scale = 1e9
		}
		fg.end += len(m[0])
	}
	scanCurrencyAfter(s, fg)
}

// scanCurrencyAfter reads a currency code or word after a number: "12.3M USD", "5 euros".
func scanCurrencyAfter(s string, fg *figure) {
	if m := currencyAfter.FindStringSubmatch(s[fg.end:]); m != nil {
		switch {
		case m[1] != "" && isoCurrencies[m[1]]:
			fg.kind, fg.currencies = kindMoney, []string{m[1]}
		case strings.EqualFold(m[2], "dollars"):
			fg.kind, fg.currencies = kindMoney, dollarCurrencies
		case strings.EqualFold(m[2], "euros"):
			fg.kind, fg.currencies = kindMoney, []string{"EUR"}
		case strings.EqualFold(m[2], "pounds"):
			fg.kind, fg.currencies = kindMoney, []string{"GBP"}
		default:
			return
		}
		fg.end += len(m[0])
	}
}

// symbolPrefixes are the currency symbols recognised before a number, longest first.
var symbolPrefixes = []struct {
	sym        string
	currencies []string
}{
	{"US$", []string{"USD"}}, {"CA$", []string{"CAD"}}, {"C$", []string{"CAD"}},
	{"A$", []string{"AUD"}}, {"NZ$", []string{"NZD"}}, {"S$", []string{"SGD"}},
	{"HK$", []string{"HKD"}}, {"$", dollarCurrencies}, {"€", []string{"EUR"}},
	{"£", []string{"GBP"}}, {"¥", []string{"JPY", "CNY"}}, {"₹", []string{"INR"}},
}

var codeBefore = regexp.MustCompile(`(?:^|[^A-Za-z])([A-Z]{3})\s?$`)

// scanPrefix reads a sign and a currency symbol or code before the digits.
func scanPrefix(s string, fg *figure) {
	p := fg.start
	for _, sign := range []string{"-", "+", "−"} {
		if strings.HasSuffix(s[:p], sign) {
			p -= len(sign)
			break
		}
	}
	q := strings.TrimSuffix(s[:p], " ")
	for _, sp := range symbolPrefixes {
		if strings.HasSuffix(q, sp.sym) {
			fg.kind, fg.currencies, fg.start = kindMoney, sp.currencies, len(q)-len(sp.sym)
			return
		}
	}
	lo := max(0, len(q)-6)
	if m := codeBefore.FindStringSubmatchIndex(q[lo:]); m != nil {
		if c := q[lo+m[2] : lo+m[3]]; isoCurrencies[c] {
			fg.kind, fg.currencies, fg.start = kindMoney, []string{c}, lo+m[2]
			return
		}
	}
	if t := strings.ToLower(s[max(0, fg.start-4):fg.start]); t == "top " && !wordRuneBefore(s, fg.start-4) {
		fg.afterTop = true
	}
}

// rangeSeps join the two ends of a range.
var rangeSeps = map[string]bool{"-": true, "–": true, "—": true, " - ": true, " – ": true, " — ": true, " to ": true}

// shareRanges gives both ends of a range the scale, currency and percent that one end
// carries: "$1.2–1.5M", "10-12%".
func shareRanges(s string, figs []figure) {
	for i := 0; i+1 < len(figs); i++ {
		a, b := &figs[i], &figs[i+1]
		if a.identifier != "" || b.identifier != "" || a.end > b.start || !rangeSeps[s[a.end:b.start]] {
			continue
		}
		if a.scale == 1 && b.scale != 1 {
			a.scale = b.scale
			a.tol = 0.5 * math.Pow10(-a.decimals)
		}
		if b.scale == 1 && a.scale != 1 {
			b.scale = a.scale
			b.tol = 0.5 * math.Pow10(-b.decimals)
		}
		switch {
		case a.kind == kindPlain && b.kind != kindPlain:
			a.kind, a.currencies = b.kind, b.currencies
		case b.kind == kindPlain && a.kind != kindPlain:
			b.kind, b.currencies = a.kind, a.currencies
		}
	}
}
