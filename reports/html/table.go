package html

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/reports/narrative"
)

// Kind says how a table column is written and sorted.
type Kind int

// Column kinds.
const (
	KindText    Kind = iota // Cell.Text as is
	KindMoney               // Cell.Num, an amount in the report's base currency
	KindDate                // Cell.Time, a calendar date
	KindTime                // Cell.Time, an instant (written in UTC)
	KindPercent             // Cell.Num in percent points (12.5 = 12.5%)
	KindRatio               // Cell.Num a fraction written as a percentage (0.125 = 12.5%)
	KindNumber              // Cell.Num, a plain number
	KindCount               // Cell.Num, a whole count
)

// Column is one column of a Table.
type Column struct {
	Name  string // the warehouse column it came from, "" for a computed one
	Label string // the header shown
	Kind  Kind
}

// Cell is one value of a Table; which field holds it depends on the column's Kind.
type Cell struct {
	Null bool      // no value (NULL)
	Text string    // KindText
	Num  float64   // KindMoney, KindPercent, KindRatio, KindNumber, KindCount
	Time time.Time // KindDate, KindTime
}

// TextCell returns a text cell.
func TextCell(s string) Cell { return Cell{Text: s} }

// NumCell returns a numeric cell; NaN gives a missing value.
func NumCell(v float64) Cell { return Cell{Num: v, Null: math.IsNaN(v)} }

// TimeCell returns a date or time cell; the zero time gives a missing value.
func TimeCell(t time.Time) Cell { return Cell{Time: t, Null: t.IsZero()} }

// NullCell returns a missing value.
func NullCell() Cell { return Cell{Null: true} }

func (c Cell) isNum(k Kind) bool { return k != KindText && k != KindDate && k != KindTime }

// Table is a sortable table: the rows shown (at most a section's limit) and how many rows
// matched in all.
type Table struct {
	Columns []Column
	Rows    [][]Cell
	Total   int // rows that matched, ≥ len(Rows)
}

// Col returns the index of the column loaded from the warehouse column name, or -1.
func (t *Table) Col(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// formatCell writes a cell as the report shows it.
func formatCell(c Cell, k Kind, currency string) string {
	if c.Null {
		return "–"
	}
	switch k {
	case KindMoney:
		return narrative.FormatMoney(c.Num, currency)
	case KindDate:
		return c.Time.Format(revcast.DateLayout)
	case KindTime:
		return c.Time.UTC().Format("2006-01-02 15:04 UTC")
	case KindPercent:
		return narrative.FormatPercent(c.Num)
	case KindRatio:
		return narrative.FormatPercent(c.Num * 100)
	case KindCount:
		return narrative.FormatCount(c.Num)
	case KindNumber:
		return formatNumber(c.Num)
	}
	return c.Text
}

// formatNumber writes a plain number with at most three significant decimals.
func formatNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return narrative.FormatCount(v)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// sortKey is the value the table's script sorts a cell by: numbers and dates compare as
// numbers, text as text.
func sortKey(c Cell, k Kind) string {
	if c.Null {
		return ""
	}
	switch k {
	case KindText:
		return c.Text
	case KindDate, KindTime:
		return strconv.FormatInt(c.Time.Unix(), 10)
	}
	return strconv.FormatFloat(c.Num, 'g', 12, 64)
}

// renderTable writes t as a sortable HTML table (see the page script), with a caption line
// saying how many of how many rows are shown.
func renderTable(t *Table, currency, caption string) template.HTML {
	var b strings.Builder
	if caption != "" || t.Total > len(t.Rows) {
		b.WriteString(`<p class="caption">`)
		b.WriteString(template.HTMLEscapeString(caption))
		if t.Total > len(t.Rows) {
			if caption != "" {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "(top %s of %s)", narrative.FormatCount(float64(len(t.Rows))), narrative.FormatCount(float64(t.Total)))
		}
		b.WriteString("</p>\n")
	}
	if len(t.Rows) == 0 {
		b.WriteString(`<p class="empty">No rows.</p>` + "\n")
		return template.HTML(b.String())
	}
	b.WriteString(`<div class="scroll"><table class="sortable">` + "\n<thead><tr>")
	for _, c := range t.Columns {
		cls := ""
		if (Cell{}).isNum(c.Kind) || c.Kind == KindDate || c.Kind == KindTime {
			cls = ` class="num"`
		}
		fmt.Fprintf(&b, `<th%s data-type="%s" title="click to sort">%s</th>`, cls, sortType(c.Kind), template.HTMLEscapeString(c.Label))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, row := range t.Rows {
		b.WriteString("<tr>")
		for i, c := range t.Columns {
			var cell Cell
			if i < len(row) {
				cell = row[i]
			} else {
				cell = NullCell()
			}
			cls := ""
			if cell.isNum(c.Kind) || c.Kind == KindDate || c.Kind == KindTime {
				cls = ` class="num"`
				if c.Kind == KindMoney && !cell.Null && cell.Num < 0 {
					cls = ` class="num neg"`
				}
			}
			fmt.Fprintf(&b, `<td%s data-v="%s">%s</td>`, cls, template.HTMLEscapeString(sortKey(cell, c.Kind)),
				template.HTMLEscapeString(formatCell(cell, c.Kind, currency)))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table></div>\n")
	return template.HTML(b.String())
}

func sortType(k Kind) string {
	if k == KindText {
		return "text"
	}
	return "num"
}
