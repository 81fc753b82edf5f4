package html

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
)

// The marts and result tables below are being built alongside the report; DESIGN.md fixes
// only some of their columns. Each section therefore names the columns it wants by
// alias, with the candidate names in order of preference, and uses whichever exist: a
// filter or sort term whose columns are absent is dropped, and a table with too few of the
// expected columns is shown with its own columns instead.

// colSpec is one displayed column: the first present of names, or an SQL expression.
type colSpec struct {
	names []string
	expr  string // used when names is empty
	label string
	kind  Kind // KindText: inferred from the column's type and name
	// factors: the column holds model drivers (a winprob explanation as JSON); show the
	// ones that lower the odds (parseFactors).
	factors bool
}

// figSpec is one figure: an aggregate over the section's rows. exprs are alternatives in
// {alias} form; the first whose aliases all resolve is used. all ignores the section's
// filter (counts over every row of the latest run).
type figSpec struct {
	key, label string
	kind       Kind
	exprs      []string
	all        bool
}

// listSpec describes a listing section.
type listSpec struct {
	table, producer, caption string
	alias                    map[string][]string // {alias} → candidate columns
	cols                     []colSpec
	where                    [][]string // AND of groups; in each group the first resolvable alternative
	order                    []string   // sort terms; unresolvable ones dropped
	figures                  []figSpec
}

var placeholderRE = regexp.MustCompile(`\{([a-z_0-9]+)\}`)

// resolve replaces {alias} placeholders with the table's columns; ok is false when one
// has no column.
func (l *loader) resolve(s listSpec, expr string) (string, bool) {
	ok := true
	out := placeholderRE.ReplaceAllStringFunc(expr, func(m string) string {
		a := m[1 : len(m)-1]
		c := l.cat.pick(s.table, s.alias[a]...)
		if c == "" {
			ok = false
			return m
		}
		return ident(c)
	})
	return out, ok
}

// filter returns the WHERE condition of a spec: the latest run, and its groups.
func (l *loader) filter(ctx context.Context, s listSpec, withGroups bool) (string, error) {
	latest, err := l.latest(ctx, s.table)
	if err != nil {
		return "", err
	}
	conds := []string{}
	if latest != "" {
		conds = append(conds, latest)
	}
	if withGroups {
		for _, g := range s.where {
			for _, alt := range g {
				if e, ok := l.resolve(s, alt); ok {
					conds = append(conds, "("+e+")")
					break
				}
			}
		}
	}
	return strings.Join(conds, " and "), nil
}

// inferKind guesses how to show a column from its DuckDB type and name.
func inferKind(name, typ string) Kind {
	switch {
	case typ == "DATE":
		return KindDate
	case strings.HasPrefix(typ, "TIMESTAMP"):
		return KindTime
	case !isNumericType(typ):
		return KindText
	}
	n := strings.ToLower(name)
	switch {
	case n == "probability" || strings.Contains(n, "pct") || strings.Contains(n, "percent"):
		return KindPercent
	case strings.HasSuffix(n, "_base") || strings.Contains(n, "amount") || strings.Contains(n, "value") ||
		strings.Contains(n, "cash") || strings.Contains(n, "revenue") || strings.Contains(n, "price"):
		return KindMoney
	case strings.HasPrefix(n, "p_") || strings.HasPrefix(n, "prob") || strings.HasSuffix(n, "_rate") ||
		strings.HasSuffix(n, "_share") || strings.HasSuffix(n, "_ratio") || strings.HasSuffix(n, "_probability"):
		return KindRatio
	case strings.HasPrefix(typ, "DOUBLE") || strings.HasPrefix(typ, "FLOAT") || strings.HasPrefix(typ, "DECIMAL") || strings.HasPrefix(typ, "REAL"):
		return KindNumber
	}
	return KindCount
}

// selectExpr casts an SQL expression to what a column of kind k scans into.
func selectExpr(e string, k Kind) string {
	switch k {
	case KindText:
		return "cast(" + e + " as varchar)"
	case KindDate:
		return "cast(" + e + " as date)"
	case KindTime:
		return "cast(" + e + " as timestamptz)"
	}
	return "cast(" + e + " as double)"
}

// listText writes a LIST column as "a, b, c" rather than DuckDB's "[a, b, c]".
func listText(col, typ string) string {
	if strings.HasSuffix(typ, "[]") {
		return "array_to_string(" + col + ", ', ')"
	}
	return col
}

// humanize turns a column name into a header: "open_amount_base" → "Open amount".
func humanize(c string) string {
	c = strings.TrimSuffix(c, "_base")
	c = strings.ReplaceAll(c, "_", " ")
	if c == "" {
		return c
	}
	return strings.ToUpper(c[:1]) + c[1:]
}

// table reads the rows of a listing: its columns, filtered and sorted, at most Options.Rows.
func (l *loader) table(ctx context.Context, s listSpec) (*Table, error) {
	where, err := l.filter(ctx, s, true)
	if err != nil {
		return nil, err
	}
	cols := l.cat[s.table]
	var exprs []string
	t := &Table{}
	present := 0
	var factorCols []int
	for _, c := range s.cols {
		if len(c.names) == 0 {
			e, ok := l.resolve(s, c.expr)
			if !ok {
				continue
			}
			exprs = append(exprs, selectExpr(e, c.kind))
			t.Columns = append(t.Columns, Column{Label: c.label, Kind: c.kind})
			continue
		}
		name := l.cat.pick(s.table, c.names...)
		if name == "" {
			continue
		}
		present++
		k := c.kind
		if k == KindText {
			k = inferKind(name, cols[name])
		}
		exprs = append(exprs, selectExpr(listText(ident(name), cols[name]), k))
		t.Columns = append(t.Columns, Column{Name: name, Label: c.label, Kind: k})
		if c.factors {
			factorCols = append(factorCols, len(t.Columns)-1)
		}
	}
	if present < 2 {
		// Not the shape we expected: show the table's own columns.
		exprs, t.Columns = nil, nil
		var names []string
		for n := range cols {
			if n != "run_id" && n != "as_of" {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		if len(names) > 8 {
			names = names[:8]
		}
		for _, n := range names {
			k := inferKind(n, cols[n])
			exprs = append(exprs, selectExpr(listText(ident(n), cols[n]), k))
			t.Columns = append(t.Columns, Column{Name: n, Label: humanize(n), Kind: k})
		}
	}
	var order []string
	for _, o := range s.order {
		if e, ok := l.resolve(s, o); ok {
			order = append(order, e+" nulls last")
		}
	}
	if len(order) == 0 {
		order = []string{"all"}
	}
	q := "select " + strings.Join(exprs, ", ") + " from " + ident(s.table)
	if where != "" {
		q += " where " + where
	}
	q += " order by " + strings.Join(order, ", ") + fmt.Sprintf(" limit %d", l.o.Rows)
	rows, err := l.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.table, err)
	}
	defer rows.Close()
	for rows.Next() {
		dst := make([]any, len(t.Columns))
		for i, c := range t.Columns {
			switch c.Kind {
			case KindText:
				dst[i] = new(sql.NullString)
			case KindDate, KindTime:
				dst[i] = new(sql.NullTime)
			default:
				dst[i] = new(sql.NullFloat64)
			}
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("%s: %w", s.table, err)
		}
		row := make([]Cell, len(dst))
		for i, d := range dst {
			switch v := d.(type) {
			case *sql.NullString:
				row[i] = Cell{Text: v.String, Null: !v.Valid}
			case *sql.NullTime:
				row[i] = Cell{Time: v.Time, Null: !v.Valid}
			case *sql.NullFloat64:
				row[i] = Cell{Num: v.Float64, Null: !v.Valid || math.IsNaN(v.Float64)}
			}
		}
		for _, i := range factorCols {
			if !row[i].Null {
				row[i].Text = strings.Join(parseFactors(row[i].Text, 3), "; ")
			}
		}
		t.Rows = append(t.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	q = "select count(*) from " + ident(s.table)
	if where != "" {
		q += " where " + where
	}
	if err := l.db.QueryRowContext(ctx, q).Scan(&t.Total); err != nil {
		return nil, err
	}
	return t, nil
}

// figures computes a spec's figures; those whose columns are absent are left out.
func (l *loader) figures(ctx context.Context, s listSpec) ([]Figure, error) {
	filtered, err := l.filter(ctx, s, true)
	if err != nil {
		return nil, err
	}
	all, err := l.filter(ctx, s, false)
	if err != nil {
		return nil, err
	}
	var out []Figure
	for _, f := range s.figures {
		for _, alt := range f.exprs {
			e, ok := l.resolve(s, alt)
			if !ok {
				continue
			}
			where := filtered
			if f.all {
				where = all
			}
			q := "select " + selectExpr(e, f.kind) + " from " + ident(s.table)
			if where != "" {
				q += " where " + where
			}
			fig := Figure{Key: f.key, Label: f.label, Kind: f.kind}
			switch f.kind {
			case KindText:
				var v sql.NullString
				err = l.db.QueryRowContext(ctx, q).Scan(&v)
				fig.Value = Cell{Text: v.String, Null: !v.Valid}
			case KindDate, KindTime:
				var v sql.NullTime
				err = l.db.QueryRowContext(ctx, q).Scan(&v)
				fig.Value = Cell{Time: v.Time, Null: !v.Valid}
			default:
				var v sql.NullFloat64
				err = l.db.QueryRowContext(ctx, q).Scan(&v)
				fig.Value = Cell{Num: v.Float64, Null: !v.Valid}
				if !v.Valid && (f.kind == KindCount || f.kind == KindMoney) {
					fig.Value = Cell{} // a sum or count over no rows is zero
				}
			}
			if err != nil {
				return nil, fmt.Errorf("%s: figure %s: %w", s.table, f.key, err)
			}
			if !fig.Value.Null {
				out = append(out, fig)
			}
			break
		}
	}
	return out, nil
}

// listing loads a listing section, or a missing-data error when its table is absent or empty.
func (l *loader) listing(ctx context.Context, s listSpec) (*Listing, error) {
	if err := l.requireRows(ctx, s.table, s.producer); err != nil {
		return nil, err
	}
	t, err := l.table(ctx, s)
	if err != nil {
		return nil, err
	}
	figs, err := l.figures(ctx, s)
	if err != nil {
		return nil, err
	}
	return &Listing{Figures: figs, Caption: s.caption, Table: t}, nil
}

// ---------------------------------------------------------------------------------------
// The listing sections

var supplySpec = listSpec{
	table:    "inventory_risk",
	producer: "revcast transform (operational marts)",
	caption:  "Open deal lines that cannot ship by the date they are needed (available to promise short), largest first.",
	alias: map[string][]string{
		"opp":      {"opportunity_id"},
		"canship":  {"can_ship_by_need_date"},
		"short":    {"shortfall_qty", "shortfall", "short_qty", "quantity_short"},
		"req":      {"need_date", "requested_date", "required_date", "close_date"},
		"earliest": {"earliest_ship_date", "earliest_date", "can_ship_date", "available_date"},
		"amt":      {"amount_base", "amount_at_risk_base", "at_risk_base", "line_amount_base", "total_base"},
	},
	cols: []colSpec{
		{names: []string{"opportunity_id"}, label: "Opportunity"},
		{names: []string{"product_id", "sku"}, label: "Product"},
		{names: []string{"plant"}, label: "Plant"},
		{names: []string{"need_date", "requested_date", "required_date", "close_date"}, label: "Needed"},
		{names: []string{"quantity", "requested_qty", "qty"}, label: "Qty", kind: KindNumber},
		{names: []string{"atp_qty", "available_to_promise", "atp"}, label: "ATP", kind: KindNumber},
		{names: []string{"shortfall_qty", "shortfall", "short_qty", "quantity_short"}, label: "Shortfall", kind: KindNumber},
		{names: []string{"earliest_ship_date", "earliest_date", "can_ship_date", "available_date"}, label: "Earliest ship"},
		{names: []string{"amount_base", "amount_at_risk_base", "at_risk_base", "line_amount_base", "total_base"}, label: "Amount", kind: KindMoney},
		{names: []string{"alternative_product_ids", "alternatives", "alternative_products"}, label: "Alternatives in stock"},
	},
	where: [][]string{{"not {canship}", "{short} > 0", "{earliest} > {req}"}},
	order: []string{"{amt} desc", "{short} desc", "{earliest} desc"},
	figures: []figSpec{
		{key: "lines", label: "Deal lines that cannot ship in time", kind: KindCount, exprs: []string{"count(*)"}},
		{key: "deals", label: "Deals affected", kind: KindCount, exprs: []string{"count(distinct {opp})"}},
		{key: "amount", label: "Amount of those lines", kind: KindMoney, exprs: []string{"sum({amt})"}},
		{key: "latest_ship", label: "Latest earliest-ship date", kind: KindDate, exprs: []string{"max({earliest})"}},
	},
}

var creditAlertsSpec = listSpec{
	table:    "credit_alerts",
	producer: "revcast transform (operational marts)",
	caption:  "Customers over their credit limit, on credit hold or with items past 60/90 days; most severe and most pipeline at stake first.",
	alias: map[string][]string{
		"cust": {"customer_id", "erp_customer_id", "account_id"},
		"sev":  {"severity"},
		"p90":  {"past_due_90_plus_base"},
		"past": {"past_due_base", "overdue_base", "past_due_61_90_base", "over_60_base", "past_due_amount_base"},
		"open": {"exposure_base", "open_ar_base", "ar_open_base", "open_amount_base", "balance_base"},
		"pipe": {"open_pipeline_base", "pipeline_at_risk_base", "pipeline_base", "at_risk_base"},
		"hold": {"credit_blocked"},
	},
	cols: []colSpec{
		{names: []string{"customer_id", "erp_customer_id", "account_id"}, label: "Customer"},
		{names: []string{"customer_name", "account_name", "name"}, label: "Name"},
		{names: []string{"reasons", "reason", "alert", "alert_type", "kind"}, label: "Why"},
		{names: []string{"severity"}, label: "Severity"},
		{names: []string{"exposure_base", "open_ar_base", "ar_open_base", "open_amount_base", "balance_base"}, label: "Exposure", kind: KindMoney},
		{names: []string{"credit_limit_base"}, label: "Credit limit", kind: KindMoney},
		{names: []string{"past_due_61_90_base", "past_due_base", "overdue_base"}, label: "61–90 days", kind: KindMoney},
		{names: []string{"past_due_90_plus_base"}, label: "90+ days", kind: KindMoney},
		{names: []string{"open_pipeline_base", "pipeline_at_risk_base", "pipeline_base", "at_risk_base"}, label: "Open pipeline at stake", kind: KindMoney},
	},
	order: []string{"case lower({sev}) when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end", "{pipe} desc", "{p90} desc", "{open} desc"},
	figures: []figSpec{
		{key: "alert_customers", label: "Customers on credit alert", kind: KindCount, exprs: []string{"count(distinct {cust})", "count(*)"}},
		{key: "alert_high", label: "Of which high severity", kind: KindCount, exprs: []string{"count(*) filter (where lower({sev}) in ('high', 'critical'))"}},
		{key: "alert_on_hold", label: "On credit hold", kind: KindCount, exprs: []string{"count(*) filter (where {hold})"}},
		{key: "alert_pipeline", label: "Open pipeline of customers on alert", kind: KindMoney, exprs: []string{"sum({pipe})"}},
	},
}

var collectionsSpec = listSpec{
	table:    "collections_forecast",
	producer: "revcast forecast (collections model)",
	caption:  "Expected cash receipts by week, all sources together.",
	alias: map[string][]string{
		"week":    {"week_start", "week", "period_start", "period", "week_ending", "date"},
		"exp":     {"expected_base", "expected_cash_base", "expected_amount_base", "expected"},
		"p10":     {"p10_base"},
		"p90":     {"p90_base"},
		"segtype": {"component", "segment_type"},
	},
	cols: []colSpec{
		{names: []string{"week_start", "week", "period_start", "period", "week_ending", "date"}, label: "Week"},
		{names: []string{"expected_base", "expected_cash_base", "expected_amount_base", "expected"}, label: "Expected", kind: KindMoney},
		{names: []string{"p10_base"}, label: "P10", kind: KindMoney},
		{names: []string{"p50_base"}, label: "P50", kind: KindMoney},
		{names: []string{"p90_base"}, label: "P90", kind: KindMoney},
	},
	where: [][]string{{"lower({segtype}) = 'total'"}},
	order: []string{"{week}"},
	figures: []figSpec{
		{key: "expected_total", label: "Expected cash over the horizon", kind: KindMoney, exprs: []string{"sum({exp})"}},
		{key: "from_ar", label: "Of which from open receivables", kind: KindMoney, exprs: []string{"sum({exp}) filter (where lower({segtype}) = 'ar')"}, all: true},
		{key: "from_orders", label: "Of which from won orders not yet billed", kind: KindMoney, exprs: []string{"sum({exp}) filter (where lower({segtype}) = 'unbilled_orders')"}, all: true},
		{key: "from_bookings", label: "Of which from forecast bookings", kind: KindMoney, exprs: []string{"sum({exp}) filter (where lower({segtype}) = 'bookings')"}, all: true},
		{key: "weeks", label: "Weeks forecast", kind: KindCount, exprs: []string{"count(distinct {week})"}},
	},
}

var renewalsSpec = listSpec{
	table:    "renewal_forecast",
	producer: "revcast forecast (renewal model)",
	caption:  "Contracts ending in the horizon with under 50% chance of renewal, most value at risk first.",
	alias: map[string][]string{
		"p":   {"p_renew", "p_renewal", "renewal_probability", "probability"},
		"cur": {"annual_value_base", "current_amount_base", "acv_base", "amount_base"},
		"exp": {"expected_renewal_base", "expected_amount_base", "expected_base"},
	},
	cols: []colSpec{
		{names: []string{"contract_id"}, label: "Contract"},
		{names: []string{"account_id", "customer_id"}, label: "Account"},
		{names: []string{"account_name", "customer_name"}, label: "Name"},
		{names: []string{"end_date", "renewal_date", "term_end"}, label: "Ends"},
		{names: []string{"annual_value_base", "current_amount_base", "acv_base", "amount_base"}, label: "Annual value", kind: KindMoney},
		{names: []string{"p_renew", "p_renewal", "renewal_probability"}, label: "p(renew)", kind: KindRatio},
		{names: []string{"expected_renewal_base", "expected_amount_base", "expected_base"}, label: "Expected renewal", kind: KindMoney},
		{names: []string{"drivers", "factors", "risk_drivers"}, label: "What lowers the odds", factors: true},
	},
	where: [][]string{{"{p} < 0.5"}},
	order: []string{"{cur} * (1 - {p}) desc", "{cur} desc"},
	figures: []figSpec{
		{key: "contracts", label: "Contracts ending in the horizon", kind: KindCount, exprs: []string{"count(*)"}, all: true},
		{key: "at_risk", label: "Contracts at risk", kind: KindCount, exprs: []string{"count(*)"}},
		{key: "at_risk_value", label: "Annual value of contracts at risk", kind: KindMoney, exprs: []string{"sum({cur})"}},
		{key: "expected_renewal", label: "Expected renewal value, all contracts", kind: KindMoney, exprs: []string{"sum({exp})"}, all: true},
	},
}

var orderStatusSpec = listSpec{
	table:    "order_status_updates",
	producer: "revcast transform (operational marts)",
	caption:  "Orders delayed or rejected in the ERP (flagged for review), latest first.",
	alias: map[string][]string{
		"status":  {"erp_status", "status", "latest_status"},
		"review":  {"needs_review", "review", "flagged", "requires_review"},
		"changed": {"status_date", "changed_at", "updated_at", "status_changed_at"},
		"amt":     {"order_amount_base", "amount_base"},
		"chg":     {"change"},
	},
	cols: []colSpec{
		{names: []string{"opportunity_id"}, label: "Opportunity"},
		{names: []string{"order_id"}, label: "Order"},
		{names: []string{"previous_status", "prev_status"}, label: "Was"},
		{names: []string{"erp_status", "status", "latest_status"}, label: "Status"},
		{names: []string{"status_date", "changed_at", "updated_at", "status_changed_at"}, label: "Since"},
		{names: []string{"tracking_numbers", "tracking_number"}, label: "Tracking"},
		{names: []string{"order_amount_base", "amount_base"}, label: "Order amount", kind: KindMoney},
		{names: []string{"what_changed", "reason", "note", "explanation", "review_reason"}, label: "What changed"},
	},
	where: [][]string{{"{review}", "lower(cast({status} as varchar)) in ('delayed', 'delay', 'rejected')"}},
	order: []string{"{changed} desc", "{amt} desc"},
	figures: []figSpec{
		{key: "review", label: "Orders needing review", kind: KindCount, exprs: []string{"count(*)"}},
		{key: "review_amount", label: "Their order value", kind: KindMoney, exprs: []string{"sum({amt})"}},
		{key: "delayed", label: "Delayed", kind: KindCount, exprs: []string{"count(*) filter (where lower(cast({status} as varchar)) like 'delay%')"}, all: true},
		{key: "rejected", label: "Rejected", kind: KindCount, exprs: []string{"count(*) filter (where lower(cast({status} as varchar)) like 'reject%')"}, all: true},
		{key: "changed", label: "Orders whose status changed since the previous run", kind: KindCount, exprs: []string{"count(*) filter (where {chg} = 'status')"}, all: true},
		{key: "updates", label: "Orders tracked", kind: KindCount, exprs: []string{"count(*)"}, all: true},
	},
}

func (l *loader) supply(ctx context.Context) (Content, error) { return l.listing(ctx, supplySpec) }

func (l *loader) renewals(ctx context.Context) (Content, error) { return l.listing(ctx, renewalsSpec) }

func (l *loader) orderStatus(ctx context.Context) (Content, error) {
	return l.listing(ctx, orderStatusSpec)
}

// collections adds the weekly series to the listing when the table has one row per week.
func (l *loader) collections(ctx context.Context) (Content, error) {
	s := collectionsSpec
	ls, err := l.listing(ctx, s)
	if err != nil {
		return nil, err
	}
	c := &Collections{Listing: *ls}
	week, okW := l.resolve(s, "{week}")
	exp, okE := l.resolve(s, "{exp}")
	if !okW || !okE {
		return c, nil
	}
	where, err := l.filter(ctx, s, true)
	if err != nil {
		return nil, err
	}
	if where != "" {
		where = " where " + where
	}
	var n, weeks int
	if err := l.db.QueryRowContext(ctx, fmt.Sprintf(`select count(*), count(distinct %s) from collections_forecast%s`, week, where)).Scan(&n, &weeks); err != nil {
		return nil, err
	}
	p10, ok10 := l.resolve(s, "{p10}")
	p90, ok90 := l.resolve(s, "{p90}")
	band := ok10 && ok90 && n == weeks // quantiles of several rows a week do not add up
	if !band {
		p10, p90 = "null", "null"
	}
	rows, err := l.db.QueryContext(ctx, fmt.Sprintf(`select cast(%s as varchar), sum(cast(%s as double)), sum(cast(%s as double)), sum(cast(%s as double))
		from collections_forecast%s group by 1 order by min(%s)`, week, exp, p10, p90, where, week))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var label string
		var e, lo, hi sql.NullFloat64
		if err := rows.Scan(&label, &e, &lo, &hi); err != nil {
			return nil, err
		}
		if len(label) > 10 && label[4] == '-' {
			label = label[:10] // a timestamp's date
		}
		c.Labels = append(c.Labels, label)
		c.Expected = append(c.Expected, nf(e))
		if band {
			c.P10 = append(c.P10, nf(lo))
			c.P90 = append(c.P90, nf(hi))
		}
	}
	return c, rows.Err()
}

// ---------------------------------------------------------------------------------------
// Factors

// parseFactors turns a forecast_opportunities.factors value into at most k short phrases
// naming what lowers the deal's odds, most first. It understands the winprob explanation
// ({"negative": [{"feature", "value", "contribution"}], ...}), a list of such factors,
// and a list of strings; anything else is shown as it is.
func parseFactors(raw string, k int) []string {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "null" {
		return nil
	}
	type factor struct {
		Feature      string   `json:"feature"`
		Name         string   `json:"name"`
		Value        *float64 `json:"value"`
		Contribution *float64 `json:"contribution"`
	}
	phrase := func(f factor) string {
		name := f.Feature
		if name == "" {
			name = f.Name
		}
		name = strings.ReplaceAll(name, "_", " ")
		if f.Value != nil {
			return fmt.Sprintf("%s (%s)", name, formatNumber(*f.Value))
		}
		return name
	}
	var obj struct {
		Negative []factor `json:"negative"`
	}
	if err := json.Unmarshal([]byte(raw), &obj); err == nil && len(obj.Negative) > 0 {
		var out []string
		for i, f := range obj.Negative {
			if i == k {
				break
			}
			out = append(out, phrase(f))
		}
		return out
	}
	var list []factor
	if err := json.Unmarshal([]byte(raw), &list); err == nil && len(list) > 0 {
		neg := list[:0:0]
		for _, f := range list {
			if f.Contribution == nil || *f.Contribution < 0 {
				neg = append(neg, f)
			}
		}
		sort.SliceStable(neg, func(i, j int) bool {
			ci, cj := 0.0, 0.0
			if neg[i].Contribution != nil {
				ci = *neg[i].Contribution
			}
			if neg[j].Contribution != nil {
				cj = *neg[j].Contribution
			}
			return ci < cj
		})
		var out []string
		for i, f := range neg {
			if i == k {
				break
			}
			out = append(out, phrase(f))
		}
		return out
	}
	var strs []string
	if err := json.Unmarshal([]byte(raw), &strs); err == nil {
		if len(strs) > k {
			strs = strs[:k]
		}
		return strs
	}
	if len(raw) > 120 {
		raw = raw[:117] + "..."
	}
	return []string{raw}
}
