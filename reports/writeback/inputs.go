package writeback

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/internal/duckx"
)

// Inputs are the warehouse results a run writes back, for the opportunities of one CRM.
// Tables that do not exist yet leave their part empty and add a note.
type Inputs struct {
	// RunID, AsOf and CreatedAt describe the newest forecast run (forecast_runs).
	RunID     string
	AsOf      time.Time
	CreatedAt time.Time
	// Periods are that run's forecast_periods rows.
	Periods []PeriodRow
	// Deals are the target's opportunities that have a score of that run or an ERP
	// order, by opportunity_id, in opportunity_id order.
	Deals []*DealRow
	// OrderReviews are the target's deals whose ERP order needs review (delayed, rejected).
	OrderReviews []OrderReview
	// Variances are the high-severity reconciliation variances on the target's deals.
	Variances []VarianceRow
	// Notes say what is missing and what produces it.
	Notes []string
}

// PeriodRow is one forecast_periods row (amounts in the base currency).
type PeriodRow struct {
	ForecastType                                           string // forecast_type when the table has it, else "bookings"
	Period                                                 string
	SegmentType                                            string
	Segment                                                string
	Closed, Expected, P10, P50, P90, StageWeighted, Commit sql.NullFloat64
}

// DealRow is what revcast knows about one CRM opportunity.
type DealRow struct {
	OpportunityID string // canonical id (opportunities.opportunity_id)
	RecordID      string // the CRM's id (opportunities.source_id)
	OwnerID       string // the CRM owner's id
	Scored        bool
	PWin          float64 // 0-1
	Expected      sql.NullFloat64
	HasOrder      bool
	OrderID       string
	ERPStatus     string
	Tracking      string
	CreditBlock   bool
	Flags         []string // risk flags, sorted
}

// OrderReview is a deal whose ERP order needs review.
type OrderReview struct {
	Deal        *DealRow
	OrderID     string
	ERPStatus   string
	StatusDate  string // YYYY-MM-DD
	WhatChanged string
	AsOf        string // the build's as-of date, YYYY-MM-DD
}

// VarianceRow is a high-severity reconciliation variance on a deal.
type VarianceRow struct {
	Deal        *DealRow
	VarianceID  string
	Kind        string
	ERPRecordID string
	CRMAmount   sql.NullFloat64
	ERPAmount   sql.NullFloat64
	Explanation string
}

// catalog knows which tables and columns the warehouse has.
type catalog map[string]map[string]bool

func loadCatalog(ctx context.Context, db *sql.DB) (catalog, error) {
	rows, err := db.QueryContext(ctx, `select table_name, column_name from information_schema.columns where table_schema = 'main'`)
	if err != nil {
		return nil, fmt.Errorf("writeback: read the warehouse catalog: %w", err)
	}
	defer rows.Close()
	c := catalog{}
	for rows.Next() {
		var t, col string
		if err := rows.Scan(&t, &col); err != nil {
			return nil, fmt.Errorf("writeback: read the warehouse catalog: %w", err)
		}
		if c[t] == nil {
			c[t] = map[string]bool{}
		}
		c[t][col] = true
	}
	return c, rows.Err()
}

func (c catalog) has(table string, cols ...string) bool {
	t := c[table]
	if t == nil {
		return false
	}
	for _, col := range cols {
		if !t[col] {
			return false
		}
	}
	return true
}

// LoadInputs reads what write-back needs for the CRM configured as source name target:
// the newest forecast run's periods and deal scores, order status and variances. Deals
// are the rows of opportunities whose source is target; their CRM id is source_id.
func LoadInputs(ctx context.Context, db *sql.DB, target string) (*Inputs, error) {
	cat, err := loadCatalog(ctx, db)
	if err != nil {
		return nil, err
	}
	in := &Inputs{}
	runNote, err := in.findRun(ctx, db, cat)
	if err != nil {
		return nil, err
	}
	deals := map[string]*DealRow{}
	if !cat.has("opportunities", "opportunity_id", "source", "source_id") {
		in.Notes = append(in.Notes, "opportunities (with source and source_id) does not exist yet: run 'revcast transform'; deal fields and tasks are skipped")
	} else {
		owner := "null"
		if cat.has("opportunities", "owner_id") {
			owner = "owner_id"
		}
		// Only the deals some result refers to (not every deal of a large CRM), and of the
		// forecast only the newest run's (findRun): forecast_opportunities keeps every
		// run, a large company's 124k open deals a night.
		var refs []string
		for t, col := range map[string]string{"order_status_updates": "opportunity_id", "reconciliation_variances": "crm_record_id"} {
			if cat.has(t, col) {
				refs = append(refs, "select cast("+col+" as varchar) from "+t)
			}
		}
		if in.RunID != "" && cat.has("forecast_opportunities", "opportunity_id", "run_id") {
			refs = append(refs, "select cast(opportunity_id as varchar) from forecast_opportunities where run_id = "+duckx.Literal(in.RunID))
		}
		if cat.has("reconciliation_variances", "crm_record_id") && cat.has("opportunity_lines", "line_id", "opportunity_id") {
			refs = append(refs, "select cast(l.opportunity_id as varchar) from opportunity_lines l join reconciliation_variances v on v.crm_record_id = l.line_id")
		}
		if len(refs) == 0 {
			refs = append(refs, "select null::varchar")
		}
		slices.Sort(refs)
		rows, err := db.QueryContext(ctx, `select cast(opportunity_id as varchar), cast(source_id as varchar), cast(`+owner+` as varchar)
			from opportunities where source = ? and source_id is not null
			and cast(opportunity_id as varchar) in (`+strings.Join(refs, " union ")+`)`, target)
		if err != nil {
			return nil, fmt.Errorf("writeback: read opportunities: %w", err)
		}
		for rows.Next() {
			var id, rec string
			var own sql.NullString
			if err := rows.Scan(&id, &rec, &own); err != nil {
				rows.Close()
				return nil, fmt.Errorf("writeback: read opportunities: %w", err)
			}
			deals[id] = &DealRow{OpportunityID: id, RecordID: rec, OwnerID: own.String}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("writeback: read opportunities: %w", err)
		}
	}
	used := map[string]bool{}

	if runNote != "" {
		in.Notes = append(in.Notes, runNote)
	}
	if err := in.loadForecast(ctx, db, cat, deals, used); err != nil {
		return nil, err
	}
	if err := in.loadOrders(ctx, db, cat, deals, used); err != nil {
		return nil, err
	}
	if err := in.loadVariances(ctx, db, cat, deals); err != nil {
		return nil, err
	}
	if err := loadSupplyFlags(ctx, db, cat, deals, used); err != nil {
		return nil, err
	}
	for id := range used {
		d := deals[id]
		slices.Sort(d.Flags)
		d.Flags = slices.Compact(d.Flags)
		in.Deals = append(in.Deals, d)
	}
	slices.SortFunc(in.Deals, func(a, b *DealRow) int { return strings.Compare(a.OpportunityID, b.OpportunityID) })
	return in, nil
}

// findRun sets RunID, AsOf and CreatedAt to the current forecast run's
// (revcast.ForecastRunOrder: the latest as-of date, then the latest created, then the
// greatest id). Without one it leaves them empty and returns the note that says so.
func (in *Inputs) findRun(ctx context.Context, db *sql.DB, cat catalog) (note string, err error) {
	if !cat.has("forecast_runs", "run_id", "as_of", "created_at") {
		return "forecast_runs does not exist yet: run 'revcast forecast'; forecasts and deal scores are skipped", nil
	}
	var asOf, created sql.NullTime
	err = db.QueryRowContext(ctx, `select cast(run_id as varchar), cast(as_of as timestamp), cast(created_at as timestamptz)
		from forecast_runs order by `+revcast.ForecastRunOrder+` limit 1`).Scan(&in.RunID, &asOf, &created)
	if err == sql.ErrNoRows {
		return "forecast_runs is empty: run 'revcast forecast'; forecasts and deal scores are skipped", nil
	}
	if err != nil {
		return "", fmt.Errorf("writeback: read forecast_runs: %w", err)
	}
	in.AsOf, in.CreatedAt = asOf.Time.UTC(), created.Time.UTC()
	return "", nil
}

// loadForecast reads the newest run's (findRun) period forecasts and deal scores.
func (in *Inputs) loadForecast(ctx context.Context, db *sql.DB, cat catalog, deals map[string]*DealRow, used map[string]bool) error {
	if in.RunID == "" {
		return nil // findRun's note says why
	}

	if cat.has("forecast_periods", "run_id", "period", "segment_type", "segment") {
		col := func(name string) string {
			if cat.has("forecast_periods", name) {
				return "cast(" + name + " as double)"
			}
			return "null::double"
		}
		ftype := "'bookings'"
		if cat.has("forecast_periods", "forecast_type") {
			ftype = "coalesce(cast(forecast_type as varchar), 'bookings')"
		}
		rows, err := db.QueryContext(ctx, `select `+ftype+`, cast(period as varchar), coalesce(cast(segment_type as varchar), 'total'),
			coalesce(cast(segment as varchar), 'all'), `+col("closed_base")+`, `+col("expected_base")+`, `+col("p10_base")+`,
			`+col("p50_base")+`, `+col("p90_base")+`, `+col("stage_weighted_base")+`, `+col("commit_base")+`
			from forecast_periods where run_id = ? order by 1, 2, 3, 4`, in.RunID)
		if err != nil {
			return fmt.Errorf("writeback: read forecast_periods: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var p PeriodRow
			if err := rows.Scan(&p.ForecastType, &p.Period, &p.SegmentType, &p.Segment, &p.Closed, &p.Expected,
				&p.P10, &p.P50, &p.P90, &p.StageWeighted, &p.Commit); err != nil {
				return fmt.Errorf("writeback: read forecast_periods: %w", err)
			}
			in.Periods = append(in.Periods, p)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("writeback: read forecast_periods: %w", err)
		}
	} else {
		in.Notes = append(in.Notes, "forecast_periods does not exist yet: run 'revcast forecast'; period forecasts are skipped")
	}

	if cat.has("forecast_opportunities", "run_id", "opportunity_id", "p_win") {
		exp := "null::double"
		if cat.has("forecast_opportunities", "expected_amount_base") {
			exp = "cast(expected_amount_base as double)"
		}
		rows, err := db.QueryContext(ctx, `select cast(opportunity_id as varchar), cast(p_win as double), `+exp+`
			from forecast_opportunities where run_id = ?`, in.RunID)
		if err != nil {
			return fmt.Errorf("writeback: read forecast_opportunities: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var p sql.NullFloat64
			var e sql.NullFloat64
			if err := rows.Scan(&id, &p, &e); err != nil {
				return fmt.Errorf("writeback: read forecast_opportunities: %w", err)
			}
			d := deals[id]
			if d == nil || !p.Valid || math.IsNaN(p.Float64) {
				continue
			}
			d.Scored, d.PWin, d.Expected = true, p.Float64, e
			used[id] = true
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("writeback: read forecast_opportunities: %w", err)
		}
	} else {
		in.Notes = append(in.Notes, "forecast_opportunities does not exist yet: run 'revcast forecast'; deal scores are skipped")
	}
	return nil
}

func (in *Inputs) loadOrders(ctx context.Context, db *sql.DB, cat catalog, deals map[string]*DealRow, used map[string]bool) error {
	const t = "order_status_updates"
	if !cat.has(t, "opportunity_id", "erp_status") {
		in.Notes = append(in.Notes, t+" does not exist yet: run 'revcast transform'; ERP order status and order tasks are skipped")
		return nil
	}
	col := func(name, typ, def string) string {
		if cat.has(t, name) {
			return "cast(" + name + " as " + typ + ")"
		}
		return def
	}
	q := `select cast(opportunity_id as varchar), ` + col("order_id", "varchar", "null::varchar") + `, cast(erp_status as varchar), ` +
		col("tracking_numbers", "varchar", "null::varchar") + `, ` + col("needs_review", "boolean", "false") + `, ` +
		col("credit_block", "boolean", "false") + `, ` + col("status_date", "varchar", "null::varchar") + `, ` +
		col("what_changed", "varchar", "null::varchar") + `, ` + col("as_of", "varchar", "null::varchar") +
		` from ` + t + ` order by 1`
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("writeback: read %s: %w", t, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var order, status, tracking, statusDate, what, asOf sql.NullString
		var review, credit sql.NullBool
		if err := rows.Scan(&id, &order, &status, &tracking, &review, &credit, &statusDate, &what, &asOf); err != nil {
			return fmt.Errorf("writeback: read %s: %w", t, err)
		}
		d := deals[id]
		if d == nil {
			continue
		}
		used[id] = true
		d.HasOrder, d.OrderID, d.ERPStatus, d.Tracking, d.CreditBlock = true, order.String, status.String, tracking.String, credit.Bool
		if review.Bool {
			d.Flags = append(d.Flags, "ERP order "+status.String)
			in.OrderReviews = append(in.OrderReviews, OrderReview{Deal: d, OrderID: order.String, ERPStatus: status.String,
				StatusDate: dateOnly(statusDate.String), WhatChanged: what.String, AsOf: dateOnly(asOf.String)})
		}
		if credit.Bool {
			d.Flags = append(d.Flags, "ERP credit hold")
		}
	}
	return rows.Err()
}

func (in *Inputs) loadVariances(ctx context.Context, db *sql.DB, cat catalog, deals map[string]*DealRow) error {
	const t = "reconciliation_variances"
	if !cat.has(t, "variance_id", "kind", "severity", "crm_record_id") {
		in.Notes = append(in.Notes, t+" does not exist yet: run 'revcast transform'; variance tasks are skipped")
		return nil
	}
	col := func(name, typ string) string {
		if cat.has(t, name) {
			return "cast(v." + name + " as " + typ + ")"
		}
		return "null::" + typ
	}
	// A variance names a deal, a deal line (resolved through opportunity_lines) or an order
	// (resolved through order_status_updates).
	deal := "v.crm_record_id"
	join := ""
	if cat.has("opportunity_lines", "line_id", "opportunity_id") {
		join += " left join opportunity_lines l on l.line_id = v.crm_record_id"
		deal = "coalesce(l.opportunity_id, " + deal + ")"
	}
	if cat.has(t, "order_id") && cat.has("order_status_updates", "order_id", "opportunity_id") {
		join += " left join (select distinct order_id, opportunity_id from order_status_updates) o on o.order_id = v.order_id"
		deal = "coalesce(" + deal + ", o.opportunity_id)"
	}
	q := `select cast(v.variance_id as varchar), cast(v.kind as varchar), cast(` + deal + ` as varchar), ` + col("erp_record_id", "varchar") +
		`, ` + col("crm_amount_base", "double") + `, ` + col("erp_amount_base", "double") + `, ` + col("explanation", "varchar") +
		` from ` + t + ` v` + join + ` where lower(v.severity) = 'high' order by 1`
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("writeback: read %s: %w", t, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v VarianceRow
		var dealID, erp, expl sql.NullString
		if err := rows.Scan(&v.VarianceID, &v.Kind, &dealID, &erp, &v.CRMAmount, &v.ERPAmount, &expl); err != nil {
			return fmt.Errorf("writeback: read %s: %w", t, err)
		}
		d := deals[dealID.String]
		if d == nil {
			continue // no record of this CRM to attach a task to
		}
		v.Deal, v.ERPRecordID, v.Explanation = d, erp.String, expl.String
		d.Flags = append(d.Flags, "variance "+v.Kind+" (high)")
		in.Variances = append(in.Variances, v)
	}
	return rows.Err()
}

// loadSupplyFlags flags scored or ordered deals with a line that cannot ship in time.
func loadSupplyFlags(ctx context.Context, db *sql.DB, cat catalog, deals map[string]*DealRow, used map[string]bool) error {
	if !cat.has("inventory_risk", "opportunity_id", "can_ship_by_need_date") {
		return nil
	}
	rows, err := db.QueryContext(ctx, `select cast(opportunity_id as varchar), count(*) from inventory_risk
		where not can_ship_by_need_date group by 1`)
	if err != nil {
		return fmt.Errorf("writeback: read inventory_risk: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return fmt.Errorf("writeback: read inventory_risk: %w", err)
		}
		if d := deals[id]; d != nil && used[id] {
			d.Flags = append(d.Flags, fmt.Sprintf("supply: %d line(s) cannot ship by the close date", n))
		}
	}
	return rows.Err()
}

// dateOnly returns the YYYY-MM-DD prefix of a date or timestamp text.
func dateOnly(s string) string {
	if len(s) >= 10 {
		return s[:10]
	}
	return s
}
