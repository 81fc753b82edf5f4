package html

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/reports/narrative"
)

// Figure is one headline number of a section: shown as a card and given to the narrative.
type Figure struct {
	Key   string // stable key, also the narrative fact's key
	Label string // what it is, in words
	Kind  Kind   // how Value is written
	Value Cell
}

// fact converts the figure into a narrative fact.
func (f Figure) fact(currency string) narrative.Fact {
	v := f.Value
	num := v.Num
	if v.Null {
		num = math.NaN()
	}
	switch f.Kind {
	case KindMoney:
		return narrative.Money(f.Key, f.Label, num, currency)
	case KindCount:
		return narrative.Count(f.Key, f.Label, int(math.Round(num)))
	case KindRatio:
		return narrative.Ratio(f.Key, f.Label, num)
	case KindPercent:
		return narrative.Percent(f.Key, f.Label, num)
	case KindNumber:
		return narrative.Number(f.Key, f.Label, num)
	case KindDate, KindTime:
		if v.Null {
			return narrative.Text(f.Key, f.Label, "n/a")
		}
		return narrative.Date(f.Key, f.Label, v.Time.UTC())
	}
	return narrative.Text(f.Key, f.Label, v.Text)
}

func figuresFacts(fs []Figure, currency string) []narrative.Fact {
	out := make([]narrative.Fact, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.fact(currency))
	}
	return out
}

// cards renders figures as a row of cards, amounts in short form.
func cards(fs []Figure, currency string) template.HTML {
	if len(fs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<div class="cards">`)
	for _, f := range fs {
		val := formatCell(f.Value, f.Kind, currency)
		if f.Kind == KindMoney && !f.Value.Null {
			val = narrative.FormatMoneyShort(f.Value.Num, currency)
		}
		fmt.Fprintf(&b, `<div class="card"><div class="label">%s</div><div class="value">%s</div></div>`,
			template.HTMLEscapeString(f.Label), template.HTMLEscapeString(val))
	}
	b.WriteString("</div>\n")
	return template.HTML(b.String())
}

// card is one free-form card of the headline.
func card(label, value, sub, class string) string {
	cls := "value"
	if class != "" {
		cls += " " + class
	}
	s := fmt.Sprintf(`<div class="card"><div class="label">%s</div><div class="%s">%s</div>`,
		template.HTMLEscapeString(label), cls, template.HTMLEscapeString(value))
	if sub != "" {
		s += fmt.Sprintf(`<div class="sub">%s</div>`, template.HTMLEscapeString(sub))
	}
	return s + "</div>"
}

func signClass(v float64) string {
	switch {
	case v > 0:
		return "pos"
	case v < 0:
		return "neg"
	}
	return ""
}

// signedMoney writes a change with its sign: +$1.2M, -$300K.
func signedMoney(v float64, currency string) string {
	s := narrative.FormatMoneyShort(v, currency)
	if v > 0 {
		return "+" + s
	}
	return s
}

// ---------------------------------------------------------------------------------------
// Headline

// Headline is the forecast for the current period of the latest run, against the target
// and the previous run. Amounts in the base currency; NaN means "not available".
type Headline struct {
	RunID         string
	AsOf          time.Time
	Period        string
	Closed        float64 // already booked in the period
	Expected      float64
	P10, P50, P90 float64
	StageWeighted float64 // the CRM's stage-probability-weighted pipeline plus closed
	Commit        float64 // the reps' commit plus closed
	Target        float64 // NaN when no target exists
	PrevRunID     string  // "" when there is no earlier run
	PrevAsOf      time.Time
	PrevP50       float64 // the previous run's P50 for the same period; NaN when none
}

// Facts implements Content.
func (h *Headline) Facts(cur string) []narrative.Fact {
	fs := []narrative.Fact{
		narrative.Text("period", "Period", h.Period),
		narrative.Money("p50", "P50 bookings forecast", h.P50, cur),
	}
	if !math.IsNaN(h.Target) {
		fs = append(fs, narrative.Money("target", "Target", h.Target, cur),
			narrative.Money("gap", "P50 minus target", h.P50-h.Target, cur))
		if h.Target != 0 {
			fs = append(fs, narrative.Ratio("attainment", "P50 as a share of target", h.P50/h.Target))
		}
	}
	fs = append(fs,
		narrative.Money("p10", "P10 (downside)", h.P10, cur),
		narrative.Money("p90", "P90 (upside)", h.P90, cur),
		narrative.Money("expected", "Expected bookings", h.Expected, cur),
		narrative.Money("closed", "Already closed in the period", h.Closed, cur),
	)
	if !math.IsNaN(h.StageWeighted) {
		fs = append(fs, narrative.Money("stage_weighted", "CRM stage-weighted forecast", h.StageWeighted, cur))
	}
	if !math.IsNaN(h.Commit) {
		fs = append(fs, narrative.Money("commit", "Reps' commit", h.Commit, cur))
	}
	if h.PrevRunID != "" && !math.IsNaN(h.PrevP50) {
		fs = append(fs,
			narrative.Date("prev_as_of", "Previous forecast as of", h.PrevAsOf),
			narrative.Money("prev_p50", "Previous P50", h.PrevP50, cur),
			narrative.Money("p50_change", "Change in P50 since the previous forecast", h.P50-h.PrevP50, cur))
	}
	return fs
}

// Body implements Content.
func (h *Headline) Body(cur string) template.HTML {
	var b strings.Builder
	b.WriteString(`<div class="cards">`)
	b.WriteString(card("P50 forecast, "+h.Period, narrative.FormatMoneyShort(h.P50, cur),
		"expected "+narrative.FormatMoneyShort(h.Expected, cur), ""))
	b.WriteString(card("Range P10 – P90", narrative.FormatMoneyShort(h.P10, cur)+" – "+narrative.FormatMoneyShort(h.P90, cur),
		"80% of outcomes fall in this range", ""))
	if !math.IsNaN(h.Target) {
		sub := "P50 " + signedMoney(h.P50-h.Target, cur) + " vs target"
		if h.Target != 0 {
			sub += fmt.Sprintf(" (%s of target)", narrative.FormatPercent(100*h.P50/h.Target))
		}
		b.WriteString(card("Target", narrative.FormatMoneyShort(h.Target, cur), sub, signClass(h.P50-h.Target)))
	} else {
		b.WriteString(card("Target", "none set", "no target table in the warehouse", ""))
	}
	b.WriteString(card("Closed so far", narrative.FormatMoneyShort(h.Closed, cur), "booked in "+h.Period, ""))
	if h.PrevRunID != "" && !math.IsNaN(h.PrevP50) {
		b.WriteString(card("Change since previous run", signedMoney(h.P50-h.PrevP50, cur),
			"P50 was "+narrative.FormatMoneyShort(h.PrevP50, cur)+" as of "+h.PrevAsOf.Format(revcast.DateLayout), signClass(h.P50-h.PrevP50)))
	} else {
		b.WriteString(card("Change since previous run", "–", "this is the first forecast run", ""))
	}
	b.WriteString("</div>\n")
	var cmp []string
	if !math.IsNaN(h.StageWeighted) {
		cmp = append(cmp, "CRM stage-weighted "+narrative.FormatMoneyShort(h.StageWeighted, cur))
	}
	if !math.IsNaN(h.Commit) {
		cmp = append(cmp, "reps' commit "+narrative.FormatMoneyShort(h.Commit, cur))
	}
	if len(cmp) > 0 {
		fmt.Fprintf(&b, `<p class="caption">For comparison in %s: %s.</p>`+"\n", template.HTMLEscapeString(h.Period), template.HTMLEscapeString(strings.Join(cmp, ", ")))
	}
	return template.HTML(b.String())
}

// ---------------------------------------------------------------------------------------
// Forecast by period

// PeriodForecast is the total forecast of one period (forecast_periods, segment total).
type PeriodForecast struct {
	Period                string
	Closed, Expected      float64
	P10, P50, P90         float64
	StageWeighted, Commit float64 // NaN when not available
	Target                float64 // NaN when no target exists
}

// ForecastPeriods is the latest run's forecast by period: the fan chart.
type ForecastPeriods struct {
	RunID string
	Rows  []PeriodForecast // in period order
}

// Facts implements Content.
func (f *ForecastPeriods) Facts(cur string) []narrative.Fact {
	var fs []narrative.Fact
	total, widest, wi := 0.0, -1.0, -1
	for i, r := range f.Rows {
		total += r.Expected
		if w := r.P90 - r.P10; w > widest {
			widest, wi = w, i
		}
	}
	fs = append(fs, narrative.Count("periods", "Periods forecast", len(f.Rows)),
		narrative.Money("expected_total", "Expected bookings over all periods", total, cur))
	for i, r := range f.Rows {
		if i == 6 {
			break
		}
		fs = append(fs, narrative.Money("p50_"+r.Period, "P50 for "+r.Period, r.P50, cur))
	}
	if wi >= 0 {
		r := f.Rows[wi]
		fs = append(fs, narrative.Text("widest_period", "Period with the widest P10–P90 range", r.Period),
			narrative.Money("widest_p10", "P10 in "+r.Period, r.P10, cur),
			narrative.Money("widest_p90", "P90 in "+r.Period, r.P90, cur))
	}
	return fs
}

// Body implements Content.
func (f *ForecastPeriods) Body(cur string) template.HTML {
	t := &Table{Columns: []Column{
		{Label: "Period"}, {Label: "Closed", Kind: KindMoney}, {Label: "P10", Kind: KindMoney},
		{Label: "P50", Kind: KindMoney}, {Label: "P90", Kind: KindMoney}, {Label: "Expected", Kind: KindMoney},
		{Label: "CRM stage-weighted", Kind: KindMoney}, {Label: "Reps' commit", Kind: KindMoney},
	}}
	hasTarget := false
	for _, r := range f.Rows {
		hasTarget = hasTarget || !math.IsNaN(r.Target)
	}
	if hasTarget {
		t.Columns = append(t.Columns, Column{Label: "Target", Kind: KindMoney})
	}
	for _, r := range f.Rows {
		row := []Cell{TextCell(r.Period), NumCell(r.Closed), NumCell(r.P10), NumCell(r.P50), NumCell(r.P90),
			NumCell(r.Expected), NumCell(r.StageWeighted), NumCell(r.Commit)}
		if hasTarget {
			row = append(row, NumCell(r.Target))
		}
		t.Rows = append(t.Rows, row)
	}
	t.Total = len(t.Rows)
	return fanChart("chart_forecast", f.Rows) + renderTable(t, cur, "")
}

// ---------------------------------------------------------------------------------------
// Pipeline changes

// ChangeStep is one movement of the pipeline between two snapshots. Amount is signed:
// positive adds to the pipeline (new, pulled in, amount up), negative removes from it.
type ChangeStep struct {
	Key    string // new, pulled_in, amount_up, won, lost, pushed_out, amount_down
	Label  string
	Amount float64
	Deals  int
}

// PipelineMove is one deal's movement, for the table of the largest.
type PipelineMove struct {
	OpportunityID, Name, Account, Change string
	Amount                               float64 // signed, as in ChangeStep
}

// PipelineChanges is the open pipeline closing in [WindowStart, WindowEnd] as it stood at
// From and at To (both from opportunity_history), and the movements between them:
//
//	End = Start + sum(Steps[i].Amount)
type PipelineChanges struct {
	From, To               time.Time
	WindowStart, WindowEnd time.Time // close dates counted, inclusive
	Start, End             float64
	StartDeals, EndDeals   int
	Steps                  []ChangeStep
	Movers                 []PipelineMove // largest movements by absolute amount
}

// Facts implements Content.
func (p *PipelineChanges) Facts(cur string) []narrative.Fact {
	fs := []narrative.Fact{
		narrative.Date("from", "Compared from", p.From),
		narrative.Date("to", "Compared to", p.To),
		narrative.Money("start", "Open pipeline at the start", p.Start, cur),
		narrative.Money("end", "Open pipeline at the end", p.End, cur),
		narrative.Money("net", "Net change", p.End-p.Start, cur),
	}
	steps := append([]ChangeStep(nil), p.Steps...)
	sort.SliceStable(steps, func(i, j int) bool { return math.Abs(steps[i].Amount) > math.Abs(steps[j].Amount) })
	for i, s := range steps {
		if i == 4 || s.Deals == 0 {
			break
		}
		w, ok := stepWords[s.Key]
		if !ok {
			w = [2]string{s.Label, "Deals: " + s.Label}
		}
		fs = append(fs, narrative.Money(s.Key, w[0], s.Amount, cur), narrative.Count(s.Key+"_deals", w[1], s.Deals))
	}
	return fs
}

// stepWords label a movement's amount and deal count in the narrative's facts.
var stepWords = map[string][2]string{
	"new":         {"New deals added", "Deals added"},
	"pulled_in":   {"Pulled into the window", "Deals pulled in"},
	"amount_up":   {"Amount increases", "Deals with a higher amount"},
	"won":         {"Won and so left the open pipeline", "Deals won"},
	"lost":        {"Lost", "Deals lost"},
	"pushed_out":  {"Pushed out of the window", "Deals pushed out"},
	"amount_down": {"Amount decreases", "Deals with a lower amount"},
}

// Body implements Content.
func (p *PipelineChanges) Body(cur string) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<p class="caption">Open pipeline closing %s – %s, as it stood on %s and on %s (from opportunity_history).</p>`+"\n",
		p.WindowStart.Format(revcast.DateLayout), p.WindowEnd.Format(revcast.DateLayout),
		p.From.Format(revcast.DateLayout), p.To.Format(revcast.DateLayout))
	b.WriteString(string(waterfallChart("chart_pipeline_changes", p)))
	t := &Table{Columns: []Column{{Label: "Movement"}, {Label: "Amount", Kind: KindMoney}, {Label: "Deals", Kind: KindCount}}}
	t.Rows = append(t.Rows, []Cell{TextCell("Start"), NumCell(p.Start), NumCell(float64(p.StartDeals))})
	for _, s := range p.Steps {
		t.Rows = append(t.Rows, []Cell{TextCell(s.Label), NumCell(s.Amount), NumCell(float64(s.Deals))})
	}
	t.Rows = append(t.Rows, []Cell{TextCell("End"), NumCell(p.End), NumCell(float64(p.EndDeals))})
	t.Total = len(t.Rows)
	b.WriteString(string(renderTable(t, cur, "")))
	if len(p.Movers) > 0 {
		m := &Table{Columns: []Column{{Label: "Opportunity"}, {Label: "Name"}, {Label: "Account"}, {Label: "Change"}, {Label: "Amount", Kind: KindMoney}}}
		for _, mv := range p.Movers {
			m.Rows = append(m.Rows, []Cell{TextCell(mv.OpportunityID), TextCell(mv.Name), TextCell(mv.Account), TextCell(mv.Change), NumCell(mv.Amount)})
		}
		m.Total = len(m.Rows)
		b.WriteString("<h3>Largest movements</h3>\n")
		b.WriteString(string(renderTable(m, cur, "")))
	}
	return template.HTML(b.String())
}

// ---------------------------------------------------------------------------------------
// At-risk deals

// AtRiskDeal is an open deal the reps count on (commit or best case, or a CRM probability
// of 50 or more) that revcast gives less than an even chance.
type AtRiskDeal struct {
	OpportunityID, Name, Account, Owner, Stage, ForecastCategory string
	CloseDate                                                    time.Time
	Amount                                                       float64
	CRMProbability                                               float64  // 0–100
	PWin                                                         float64  // 0–1
	Factors                                                      []string // what lowers p_win, most first
}

// AtRiskDeals lists the at-risk deals of the latest run, largest exposure first.
type AtRiskDeals struct {
	Deals  []AtRiskDeal // the top ones
	Count  int          // all at-risk deals
	Amount float64      // their total amount
}

// Facts implements Content.
func (a *AtRiskDeals) Facts(cur string) []narrative.Fact {
	fs := []narrative.Fact{
		narrative.Count("deals", "Deals at risk", a.Count),
		narrative.Money("amount", "Amount at risk", a.Amount, cur),
	}
	for i, d := range a.Deals {
		if i == 3 {
			break
		}
		k := fmt.Sprintf("deal%d_", i+1)
		fs = append(fs,
			narrative.Text(k+"account", fmt.Sprintf("At-risk deal %d: account", i+1), d.Account),
			narrative.Money(k+"amount", fmt.Sprintf("At-risk deal %d: amount", i+1), d.Amount, cur),
			narrative.Ratio(k+"p_win", fmt.Sprintf("At-risk deal %d: revcast win probability", i+1), d.PWin),
			narrative.Percent(k+"crm_probability", fmt.Sprintf("At-risk deal %d: CRM probability", i+1), d.CRMProbability))
		if len(d.Factors) > 0 {
			fs = append(fs, narrative.Text(k+"factors", fmt.Sprintf("At-risk deal %d: factors lowering its odds", i+1), strings.Join(d.Factors, ", ")))
		}
	}
	return fs
}

// Body implements Content.
func (a *AtRiskDeals) Body(cur string) template.HTML {
	figs := []Figure{
		{Key: "deals", Label: "Deals at risk", Kind: KindCount, Value: NumCell(float64(a.Count))},
		{Key: "amount", Label: "Amount at risk", Kind: KindMoney, Value: NumCell(a.Amount)},
	}
	t := &Table{Total: a.Count, Columns: []Column{
		{Label: "Opportunity"}, {Label: "Name"}, {Label: "Account"}, {Label: "Owner"}, {Label: "Stage"},
		{Label: "Category"}, {Label: "Close date", Kind: KindDate}, {Label: "Amount", Kind: KindMoney},
		{Label: "CRM prob.", Kind: KindPercent}, {Label: "revcast p(win)", Kind: KindRatio}, {Label: "Factors lowering the odds"},
	}}
	for _, d := range a.Deals {
		t.Rows = append(t.Rows, []Cell{TextCell(d.OpportunityID), TextCell(d.Name), TextCell(d.Account), TextCell(d.Owner),
			TextCell(d.Stage), TextCell(d.ForecastCategory), TimeCell(d.CloseDate), NumCell(d.Amount),
			NumCell(d.CRMProbability), NumCell(d.PWin), TextCell(strings.Join(d.Factors, "; "))})
	}
	return cards(figs, cur) + renderTable(t, cur, "Open deals in commit or best case (or CRM probability ≥ 50%) that revcast gives under 50%, largest exposure first.")
}

// ---------------------------------------------------------------------------------------
// Listings: a few figures over a table (supply risks, renewals, order status, ...)

// Listing is a section that shows some figures over rows of one table.
type Listing struct {
	Figures []Figure
	Caption string
	Table   *Table
}

// Facts implements Content.
func (l *Listing) Facts(cur string) []narrative.Fact { return figuresFacts(l.Figures, cur) }

// Body implements Content.
func (l *Listing) Body(cur string) template.HTML {
	out := cards(l.Figures, cur)
	if l.Table != nil {
		out += renderTable(l.Table, cur, l.Caption)
	}
	return out
}

// Collections is the cash expected by week (collections_forecast) with its band.
type Collections struct {
	Listing
	Labels             []string  // week (or period) labels, in order
	Expected, P10, P90 []float64 // per label; P10 and P90 nil when not available
}

// Body implements Content.
func (c *Collections) Body(cur string) template.HTML {
	out := cards(c.Figures, cur)
	if len(c.Labels) > 0 {
		out += bandChart("chart_collections", c.Labels, c.Expected, c.P10, c.P90)
	}
	if c.Table != nil {
		out += renderTable(c.Table, cur, c.Caption)
	}
	return out
}

// ---------------------------------------------------------------------------------------
// Credit and AR aging

// AgingBucket is the open receivables of one age bucket (ar_aging).
type AgingBucket struct {
	Bucket    string // current, 1-30, 31-60, 61-90, 90+
	Amount    float64
	Customers int
}

// Credit is the credit alerts (credit_alerts, when it exists) and AR aging (ar_aging).
type Credit struct {
	Aging         []AgingBucket // in bucket order
	Overdue       *Table        // customers with the most past-due receivables
	Alerts        *Listing      // nil when credit_alerts is missing or empty
	AlertsMissing string        // why Alerts is nil
}

// Facts implements Content.
func (c *Credit) Facts(cur string) []narrative.Fact {
	var fs []narrative.Fact
	if c.Alerts != nil {
		fs = append(fs, c.Alerts.Facts(cur)...)
	}
	total, past, past60 := 0.0, 0.0, 0.0
	for _, b := range c.Aging {
		total += b.Amount
		if b.Bucket != "current" {
			past += b.Amount
		}
		if b.Bucket == "61-90" || b.Bucket == "90+" {
			past60 += b.Amount
		}
	}
	fs = append(fs, narrative.Money("ar_open", "Open receivables", total, cur),
		narrative.Money("ar_past_due", "Past due", past, cur))
	if total > 0 {
		fs = append(fs, narrative.Ratio("ar_past_due_share", "Share past due", past/total))
	}
	fs = append(fs, narrative.Money("ar_over_60", "More than 60 days past due", past60, cur))
	for _, b := range c.Aging {
		if b.Bucket == "90+" {
			fs = append(fs, narrative.Money("ar_90", "More than 90 days past due", b.Amount, cur),
				narrative.Count("ar_90_customers", "Customers with items more than 90 days past due", b.Customers))
		}
	}
	if c.Overdue != nil && len(c.Overdue.Rows) > 0 {
		r := c.Overdue.Rows[0]
		fs = append(fs, narrative.Text("top_overdue_customer", "Customer with the most past due", r[1].Text),
			narrative.Money("top_overdue_amount", "Its past-due amount", r[2].Num, cur))
	}
	return fs
}

// Body implements Content.
func (c *Credit) Body(cur string) template.HTML {
	var b strings.Builder
	b.WriteString("<h3>Credit alerts</h3>\n")
	if c.Alerts != nil {
		b.WriteString(string(c.Alerts.Body(cur)))
	} else {
		fmt.Fprintf(&b, `<p class="missing">%s</p>`+"\n", template.HTMLEscapeString(c.AlertsMissing))
	}
	b.WriteString("<h3>Receivables aging</h3>\n")
	if len(c.Aging) > 0 {
		labels := make([]string, len(c.Aging))
		vals := make([]float64, len(c.Aging))
		for i, a := range c.Aging {
			labels[i], vals[i] = a.Bucket, a.Amount
		}
		b.WriteString(string(barChart("chart_ar_aging", "280px", labels, false, true,
			barSeries{name: "Open receivables", color: colorBlue, values: vals})))
		t := &Table{Columns: []Column{{Label: "Bucket"}, {Label: "Amount", Kind: KindMoney}, {Label: "Customers", Kind: KindCount}}}
		for _, a := range c.Aging {
			t.Rows = append(t.Rows, []Cell{TextCell(a.Bucket), NumCell(a.Amount), NumCell(float64(a.Customers))})
		}
		t.Total = len(t.Rows)
		b.WriteString(string(renderTable(t, cur, "")))
	} else {
		b.WriteString(`<p class="empty">No open receivables.</p>` + "\n")
	}
	if c.Overdue != nil && len(c.Overdue.Rows) > 0 {
		b.WriteString(string(renderTable(c.Overdue, cur, "Customers with the most past-due receivables.")))
	}
	return template.HTML(b.String())
}

// ---------------------------------------------------------------------------------------
// Reconciliation

// VarianceKind summarises one kind of reconciliation variance.
type VarianceKind struct {
	Kind   string
	Count  int
	High   int     // of which severity high (or critical)
	Amount float64 // sum of |crm_amount_base - erp_amount_base|
}

// Reconciliation is the variances by kind and the top records.
type Reconciliation struct {
	ByKind []VarianceKind // largest amount first
	Top    *Table
}

// Facts implements Content.
func (r *Reconciliation) Facts(cur string) []narrative.Fact {
	n, amt := 0, 0.0
	for _, k := range r.ByKind {
		n += k.Count
		amt += k.Amount
	}
	fs := []narrative.Fact{
		narrative.Count("variances", "Variances found", n),
		narrative.Money("amount", "Total difference", amt, cur),
		narrative.Count("kinds", "Kinds of variance", len(r.ByKind)),
	}
	for i, k := range r.ByKind {
		if i == 5 {
			break
		}
		fs = append(fs, narrative.Money("kind_"+k.Kind, "Difference from "+k.Kind, k.Amount, cur),
			narrative.Count("kind_"+k.Kind+"_count", "Variances of kind "+k.Kind, k.Count))
	}
	return fs
}

// Body implements Content.
func (r *Reconciliation) Body(cur string) template.HTML {
	labels := make([]string, len(r.ByKind))
	counts := make([]float64, len(r.ByKind))
	amts := make([]float64, len(r.ByKind))
	// Horizontal bars read bottom-up: reverse so the largest is on top.
	for i, k := range r.ByKind {
		j := len(r.ByKind) - 1 - i
		labels[j], counts[j], amts[j] = k.Kind, float64(k.Count), k.Amount
	}
	h := fmt.Sprintf("%dpx", 80+28*len(r.ByKind))
	out := barChart("chart_reconciliation", h, labels, true, true, barSeries{name: "Difference", color: colorOrange, values: amts})
	t := &Table{Columns: []Column{{Label: "Kind"}, {Label: "Variances", Kind: KindCount}, {Label: "High severity", Kind: KindCount}, {Label: "Difference", Kind: KindMoney}}}
	for _, k := range r.ByKind {
		t.Rows = append(t.Rows, []Cell{TextCell(k.Kind), NumCell(float64(k.Count)), NumCell(float64(k.High)), NumCell(k.Amount)})
	}
	t.Total = len(t.Rows)
	out += renderTable(t, cur, "By kind.")
	if r.Top != nil {
		out += renderTable(r.Top, cur, "Top records, most severe and largest first.")
	}
	return out
}

// ---------------------------------------------------------------------------------------
// Model accuracy

// CalibrationBin is one point of a calibration table: in a bin of predictions, the mean
// predicted probability and the observed rate.
type CalibrationBin struct {
	Model     string
	Predicted float64
	Observed  float64
	Count     int
}

// WeekError is a model's mean absolute percentage error of the quarter's forecast made in
// a given week of the quarter (backtest metric mape_by_week).
type WeekError struct {
	Model string
	Week  int
	MAPE  float64 // a fraction: 0.12 is 12%
}

// Accuracy is the backtest's metrics per model, its error by week of quarter, and the
// calibration of the win probability.
type Accuracy struct {
	Figures     []Figure
	Metrics     *Table
	ByWeek      []WeekError
	Calibration []CalibrationBin
}

// Facts implements Content.
func (a *Accuracy) Facts(cur string) []narrative.Fact { return figuresFacts(a.Figures, cur) }

// Body implements Content.
func (a *Accuracy) Body(cur string) template.HTML {
	out := cards(a.Figures, cur)
	if a.Metrics != nil {
		out += renderTable(a.Metrics, cur, "Backtest over past quarters (rolling origin): lower MAPE, bias near zero, coverage near 80%, lower Brier and higher AUC are better.")
	}
	if len(a.ByWeek) > 0 {
		out += "<h3>Forecast error by week of the quarter</h3>\n" + weekErrorChart("chart_accuracy_by_week", a.ByWeek)
	}
	if len(a.Calibration) > 0 {
		out += "<h3>Calibration of the win probability</h3>\n" + calibrationChart("chart_calibration", a.Calibration)
	}
	return out
}
