package html

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/internal/duckx"
	"github.com/revcast/revcast/reports/narrative"
)

// Options say what Load reads and how.
type Options struct {
	// AsOf is the date the report is as of. Zero: the latest forecast run's as-of, else the
	// warehouse's meta.settings as-of, else today (UTC).
	AsOf time.Time
	// RunID is used when the warehouse has no forecast run to name the report by; empty
	// gives a new revcast.RunID.
	RunID string
	// Currency is the base currency (config base_currency); empty: meta.settings, else USD.
	Currency string
	// FiscalYearStartMonth (1–12, default 1) and HorizonQuarters (default 2) define the
	// window of close dates the pipeline-change waterfall counts: from the start of the
	// fiscal quarter holding the as-of date, HorizonQuarters quarters long.
	FiscalYearStartMonth int
	HorizonQuarters      int
	// ChangeDays is how far back the pipeline-change waterfall compares (default 7).
	ChangeDays int
	// Rows is the most rows a section's table shows (default 15).
	Rows int
	// Title heads the page (default "revcast report").
	Title string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Section titles, in report order.
var sectionOrder = []struct{ key, title string }{
	{narrative.SectionHeadline, "Headline forecast"},
	{narrative.SectionForecast, "Forecast by period"},
	{narrative.SectionPipelineChanges, "Pipeline changes"},
	{narrative.SectionAtRisk, "Deals at risk"},
	{narrative.SectionSupply, "Supply risks"},
	{narrative.SectionCredit, "Credit alerts and receivables aging"},
	{narrative.SectionCollections, "Collections forecast"},
	{narrative.SectionRenewals, "Renewals at risk"},
	{narrative.SectionReconciliation, "Reconciliation variances"},
	{narrative.SectionOrders, "Order status changes to review"},
	{narrative.SectionAccuracy, "Model accuracy"},
}

// errMissing marks a section whose data is not there; its message is what the report shows.
type errMissing struct{ msg string }

func (e *errMissing) Error() string { return e.msg }

func missing(format string, args ...any) error {
	return &errMissing{msg: "no data yet: " + fmt.Sprintf(format, args...)}
}

// Load reads the report from the warehouse db (read-only use). It probes which tables and
// columns exist: a section whose table is missing or empty gets Section.Missing saying
// what produces it, and a section whose table cannot be read (an unexpected shape) gets
// Missing with the reason and a line in warnings; neither stops the rest of the report.
// It fails only when the warehouse itself cannot be queried or ctx ends.
func Load(ctx context.Context, db *sql.DB, o Options) (r *Report, warnings []string, err error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FiscalYearStartMonth < 1 || o.FiscalYearStartMonth > 12 {
		o.FiscalYearStartMonth = 1
	}
	if o.HorizonQuarters <= 0 {
		o.HorizonQuarters = 2
	}
	if o.ChangeDays <= 0 {
		o.ChangeDays = 7
	}
	if o.Rows <= 0 {
		o.Rows = 15
	}
	l := &loader{db: db, o: o}
	if l.cat, err = readCatalog(ctx, db); err != nil {
		return nil, nil, fmt.Errorf("report: read the warehouse catalog: %w", err)
	}
	r = &Report{Title: o.Title, Currency: o.Currency, GeneratedAt: o.Now().UTC()}
	if r.Title == "" {
		r.Title = "revcast report"
	}
	if err := l.loadMeta(ctx, r); err != nil {
		return nil, nil, err
	}
	loaders := map[string]func(context.Context) (Content, error){
		narrative.SectionHeadline:        l.headline,
		narrative.SectionForecast:        l.forecast,
		narrative.SectionPipelineChanges: l.pipelineChanges,
		narrative.SectionAtRisk:          l.atRisk,
		narrative.SectionSupply:          l.supply,
		narrative.SectionCredit:          l.credit,
		narrative.SectionCollections:     l.collections,
		narrative.SectionRenewals:        l.renewals,
		narrative.SectionReconciliation:  l.reconciliation,
		narrative.SectionOrders:          l.orderStatus,
		narrative.SectionAccuracy:        l.accuracy,
	}
	for _, s := range sectionOrder {
		sec := &Section{Key: s.key, Title: s.title}
		c, err := loaders[s.key](ctx)
		var m *errMissing
		switch {
		case err == nil:
			sec.Content = c
		case errors.As(err, &m):
			sec.Missing = m.msg
		case ctx.Err() != nil:
			return nil, nil, ctx.Err()
		default:
			sec.Missing = "could not be read: " + err.Error()
			warnings = append(warnings, fmt.Sprintf("report section %s: %v", s.key, err))
		}
		r.Sections = append(r.Sections, sec)
	}
	return r, warnings, nil
}

// loader holds what every section query needs.
type loader struct {
	db   *sql.DB
	o    Options
	cat  catalog
	asOf time.Time
	cur  string
	run  *forecastRun // newest forecast run (loadMeta); nil when none
	prev *forecastRun // the one before it in the same order
}

type forecastRun struct {
	id        string
	asOf      time.Time
	createdAt time.Time
}

// loadMeta fills the report's header: as-of, run id, currency, freshness, people.
func (l *loader) loadMeta(ctx context.Context, r *Report) error {
	var settingsAsOf time.Time
	var settingsCur string
	if l.cat.has("meta.settings", "as_of") {
		var a sql.NullTime
		var c sql.NullString
		cur := "null"
		if l.cat.has("meta.settings", "base_currency") {
			cur = "base_currency"
		}
		if err := l.db.QueryRowContext(ctx, `select as_of, `+cur+` from meta.settings limit 1`).Scan(&a, &c); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("report: read meta.settings: %w", err)
		}
		settingsAsOf, settingsCur = a.Time, c.String
	}
	if l.cat.has("forecast_runs", "run_id", "as_of", "created_at") {
		// The current forecast (revcast.ForecastRunOrder, as write-back picks it) and the
		// run before it in that order, the headline's comparison.
		rows, err := l.db.QueryContext(ctx, `select cast(run_id as varchar), as_of, created_at from forecast_runs
			order by `+revcast.ForecastRunOrder+` limit 2`)
		if err != nil {
			return fmt.Errorf("report: read forecast_runs: %w", err)
		}
		var runs []*forecastRun
		for rows.Next() {
			var f forecastRun
			var a, c sql.NullTime
			if err := rows.Scan(&f.id, &a, &c); err != nil {
				rows.Close()
				return fmt.Errorf("report: read forecast_runs: %w", err)
			}
			f.asOf, f.createdAt = a.Time, c.Time
			runs = append(runs, &f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("report: read forecast_runs: %w", err)
		}
		if len(runs) > 0 {
			l.run = runs[0]
		}
		if len(runs) > 1 {
			l.prev = runs[1]
		}
	}
	switch {
	case !l.o.AsOf.IsZero():
		l.asOf = l.o.AsOf
	case l.run != nil && !l.run.asOf.IsZero():
		l.asOf = l.run.asOf
	case !settingsAsOf.IsZero():
		l.asOf = settingsAsOf
	default:
		l.asOf = l.o.Now()
	}
	l.asOf = civilDate(l.asOf)
	r.AsOf = l.asOf
	switch {
	case l.run != nil:
		r.RunID = l.run.id
	case l.o.RunID != "":
		r.RunID = l.o.RunID
	default:
		r.RunID = string(revcast.NewRunID(l.o.Now()))
	}
	if r.Currency == "" {
		r.Currency = settingsCur
	}
	if r.Currency == "" {
		r.Currency = "USD"
	}
	l.cur = r.Currency

	if l.cat.has("meta.loaded_files", "source", "loaded_at") {
		rows, err := l.db.QueryContext(ctx, `select coalesce(source, '?'), max(loaded_at), count(*) from meta.loaded_files group by 1 order by 1`)
		if err != nil {
			return fmt.Errorf("report: read meta.loaded_files: %w", err)
		}
		for rows.Next() {
			var f Freshness
			var t sql.NullTime
			if err := rows.Scan(&f.Source, &t, &f.Files); err != nil {
				rows.Close()
				return fmt.Errorf("report: read meta.loaded_files: %w", err)
			}
			f.LoadedAt = t.Time
			r.Freshness = append(r.Freshness, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	if l.cat.has("users", "full_name") {
		rows, err := l.db.QueryContext(ctx, `select distinct full_name from users where full_name is not null order by 1`)
		if err != nil {
			return fmt.Errorf("report: read users: %w", err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			r.People = append(r.People, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// civilDate is t's calendar date at midnight UTC.
func civilDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ---------------------------------------------------------------------------------------
// Catalog

// catalog maps "table" (schema main) or "schema.table" to its columns and their types.
type catalog map[string]map[string]string

func readCatalog(ctx context.Context, db *sql.DB) (catalog, error) {
	rows, err := db.QueryContext(ctx, `select schema_name, table_name, column_name, data_type from duckdb_columns()
		where schema_name in ('main', 'meta') and database_name = current_database()`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	c := catalog{}
	for rows.Next() {
		var schema, table, col, typ string
		if err := rows.Scan(&schema, &table, &col, &typ); err != nil {
			return nil, err
		}
		if schema != "main" {
			table = schema + "." + table
		}
		if c[table] == nil {
			c[table] = map[string]string{}
		}
		c[table][strings.ToLower(col)] = strings.ToUpper(typ)
	}
	return c, rows.Err()
}

// has reports whether table exists with all the columns.
func (c catalog) has(table string, cols ...string) bool {
	t, ok := c[table]
	if !ok {
		return false
	}
	for _, col := range cols {
		if _, ok := t[col]; !ok {
			return false
		}
	}
	return true
}

// pick returns the first of the candidate columns the table has, or "".
func (c catalog) pick(table string, candidates ...string) string {
	for _, col := range candidates {
		if c.has(table, col) {
			return col
		}
	}
	return ""
}

// ident quotes an SQL identifier.
func ident(s string) string { return duckx.Ident(s) }

// lit quotes an SQL string literal.
func lit(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// colOr returns the quoted column when table has it, else the SQL expression def.
func (l *loader) colOr(table, col, def string) string {
	if l.cat.has(table, col) {
		return ident(col)
	}
	return def
}

// qcol returns alias.col when table has col, else null.
func (l *loader) qcol(alias, table, col string) string {
	if l.cat.has(table, col) {
		return alias + "." + ident(col)
	}
	return "null"
}

// and returns " and cond", or "" when cond is "".
func and(cond string) string {
	if cond == "" {
		return ""
	}
	return " and " + cond
}

// count returns the number of rows of table (0 when it does not exist).
func (l *loader) count(ctx context.Context, table, where string) (int, error) {
	if _, ok := l.cat[table]; !ok {
		return 0, nil
	}
	q := `select count(*) from ` + ident(table)
	if where != "" {
		q += " where " + where
	}
	var n int
	err := l.db.QueryRowContext(ctx, q).Scan(&n)
	return n, err
}

// latest returns the filter selecting a result table's latest rows: the newest forecast
// run's (loadMeta) when the table has run_id rows for it, else the newest forecast run in
// the same order that has rows there, else (a table of other runs, or no forecast run) its
// greatest run_id; the greatest as_of for a mart with an as_of column; "" for anything
// else.
func (l *loader) latest(ctx context.Context, table string) (string, error) {
	switch {
	case l.cat.has(table, "run_id"):
		if l.run != nil {
			n, err := l.count(ctx, table, `run_id = `+lit(l.run.id))
			if err != nil {
				return "", err
			}
			if n > 0 {
				return `run_id = ` + lit(l.run.id), nil
			}
		}
		if l.run != nil {
			// The newest forecast run (loadMeta's order) that wrote rows here; a table of
			// other runs (backtest_results) has none of them: its greatest run_id.
			return fmt.Sprintf(`run_id = coalesce(
				(select run_id from forecast_runs r where exists (select 1 from %[1]s t where t.run_id = r.run_id)
					order by %[2]s limit 1),
				(select max(run_id) from %[1]s))`, ident(table), revcast.ForecastRunOrder), nil
		}
		return fmt.Sprintf(`run_id = (select max(run_id) from %s)`, ident(table)), nil
	case l.cat.has(table, "as_of"):
		return fmt.Sprintf(`as_of = (select max(as_of) from %s)`, ident(table)), nil
	}
	return "", nil
}

// requireRows returns a missing-data error when table is absent or has no rows.
func (l *loader) requireRows(ctx context.Context, table, producer string) error {
	if _, ok := l.cat[table]; !ok {
		return missing("%s, written by %s", table, producer)
	}
	n, err := l.count(ctx, table, "")
	if err != nil {
		return err
	}
	if n == 0 {
		return missing("%s is empty; it is written by %s", table, producer)
	}
	return nil
}

// requireCols returns an error naming the contract columns table lacks.
func (l *loader) requireCols(table string, cols ...string) error {
	var miss []string
	for _, c := range cols {
		if !l.cat.has(table, c) {
			miss = append(miss, c)
		}
	}
	if len(miss) > 0 {
		return fmt.Errorf("%s lacks column(s) %s of the contract in DESIGN.md", table, strings.Join(miss, ", "))
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// Headline and forecast by period

const forecastProducer = "revcast forecast"

// forecastRows reads the total-segment rows of forecast_periods for run id, by period.
func (l *loader) forecastRows(ctx context.Context, runID string) ([]PeriodForecast, error) {
	const t = "forecast_periods"
	// The total segment: {"total", "all"} as models/pipeline writes it.
	var segType, seg string
	err := l.db.QueryRowContext(ctx, `select segment_type, segment from forecast_periods where run_id = $1
		order by case when lower(segment_type) = 'total' then 0 when lower(segment) in ('all', 'total') then 1 else 2 end,
		segment_type, segment limit 1`, runID).Scan(&segType, &seg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(segType, "total") && !strings.EqualFold(seg, "all") && !strings.EqualFold(seg, "total") {
		return nil, fmt.Errorf("forecast_periods has no total segment (segment_type 'total') for run %s", runID)
	}
	target := "null"
	switch {
	case l.cat.has(t, "target_base"):
		target = "f.target_base"
	case l.cat.has("targets", "period"):
		if v := l.cat.pick("targets", "target_base", "amount_base", "target"); v != "" {
			cond := "targets.period = f.period"
			if l.cat.has("targets", "segment_type") {
				cond += " and lower(targets.segment_type) = 'total'"
			}
			target = fmt.Sprintf(`(select sum(cast(%s as double)) from targets where %s)`, ident(v), cond)
		}
	}
	q := fmt.Sprintf(`select cast(f.period as varchar),
			cast(coalesce(f.closed_base, 0) as double), cast(f.expected_base as double),
			cast(f.p10_base as double), cast(f.p50_base as double), cast(f.p90_base as double),
			cast(%s as double), cast(%s as double), cast(%s as double)
		from forecast_periods f
		where f.run_id = $1 and f.segment_type = $2 and f.segment = $3
		order by f.period`,
		l.qcol("f", t, "stage_weighted_base"), l.qcol("f", t, "commit_base"), target)
	rows, err := l.db.QueryContext(ctx, q, runID, segType, seg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PeriodForecast
	for rows.Next() {
		var p PeriodForecast
		var v [8]sql.NullFloat64
		if err := rows.Scan(&p.Period, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]); err != nil {
			return nil, err
		}
		p.Closed, p.Expected, p.P10, p.P50, p.P90 = nf(v[0]), nf(v[1]), nf(v[2]), nf(v[3]), nf(v[4])
		p.StageWeighted, p.Commit, p.Target = nf(v[5]), nf(v[6]), nf(v[7])
		out = append(out, p)
	}
	return out, rows.Err()
}

// nf is a nullable float: NaN for NULL.
func nf(v sql.NullFloat64) float64 {
	if !v.Valid {
		return math.NaN()
	}
	return v.Float64
}

func (l *loader) requireForecast(ctx context.Context) error {
	if err := l.requireRows(ctx, "forecast_periods", forecastProducer); err != nil {
		return err
	}
	if l.run == nil {
		return missing("%s writes forecast_runs", forecastProducer)
	}
	return l.requireCols("forecast_periods", "run_id", "period", "segment_type", "segment", "expected_base", "p10_base", "p50_base", "p90_base")
}

func (l *loader) forecast(ctx context.Context) (Content, error) {
	if err := l.requireForecast(ctx); err != nil {
		return nil, err
	}
	rows, err := l.forecastRows(ctx, l.run.id)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, missing("forecast_periods has no rows for run %s; it is written by %s", l.run.id, forecastProducer)
	}
	return &ForecastPeriods{RunID: l.run.id, Rows: rows}, nil
}

func (l *loader) headline(ctx context.Context) (Content, error) {
	if err := l.requireForecast(ctx); err != nil {
		return nil, err
	}
	rows, err := l.forecastRows(ctx, l.run.id)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, missing("forecast_periods has no rows for run %s; it is written by %s", l.run.id, forecastProducer)
	}
	cur := rows[currentPeriod(rows, l.asOf, l.o.FiscalYearStartMonth)]
	h := &Headline{RunID: l.run.id, AsOf: l.asOf, Period: cur.Period, Closed: cur.Closed, Expected: cur.Expected,
		P10: cur.P10, P50: cur.P50, P90: cur.P90, StageWeighted: cur.StageWeighted, Commit: cur.Commit,
		Target: cur.Target, PrevP50: math.NaN()}
	if l.prev != nil {
		prev, err := l.forecastRows(ctx, l.prev.id)
		if err != nil {
			return nil, err
		}
		for _, p := range prev {
			if p.Period == cur.Period {
				h.PrevRunID, h.PrevAsOf, h.PrevP50 = l.prev.id, civilDate(l.prev.asOf), p.P50
			}
		}
	}
	return h, nil
}

var (
	quarterRE = regexp.MustCompile(`^(?:FY)?(\d{4})[- ]?Q([1-4])$`)
	monthRE   = regexp.MustCompile(`^(\d{4})-(\d{2})(?:-(\d{2}))?$`)
)

// periodRange returns the dates a period label covers, as models/forecast names them:
// "2026-Q3" or "FY2027-Q1" (quarter n of the fiscal year that ends in that calendar year
// and starts in month fyStart), "2026-07" (a month), "2026-07-01" (a period starting that
// day, a month long).
func periodRange(label string, fyStart int) (start, end time.Time, ok bool) {
	label = strings.TrimSpace(strings.ToUpper(label))
	if m := quarterRE.FindStringSubmatch(label); m != nil {
		y, q := atoi(m[1]), atoi(m[2])
		fy := y
		if fyStart != 1 {
			fy = y - 1 // a fiscal year starting in, say, April 2026 ends in 2027
		}
		start = time.Date(fy, time.Month(fyStart), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 3*(q-1), 0)
		return start, start.AddDate(0, 3, -1), true
	}
	if m := monthRE.FindStringSubmatch(label); m != nil {
		day := 1
		if m[3] != "" {
			day = atoi(m[3])
		}
		start = time.Date(atoi(m[1]), time.Month(atoi(m[2])), day, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, -1), true
	}
	return time.Time{}, time.Time{}, false
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// currentPeriod returns the index of the period holding asOf, else the first one after
// it, else the first.
func currentPeriod(rows []PeriodForecast, asOf time.Time, fyStart int) int {
	after := -1
	for i, r := range rows {
		s, e, ok := periodRange(r.Period, fyStart)
		if !ok {
			continue
		}
		if !asOf.Before(s) && !asOf.After(e) {
			return i
		}
		if after < 0 && s.After(asOf) {
			after = i
		}
	}
	if after >= 0 {
		return after
	}
	return 0
}

// ---------------------------------------------------------------------------------------
// Pipeline changes

// changeSteps are the waterfall's movements in the order they are drawn.
var changeSteps = []struct{ key, label string }{
	{"new", "New"},
	{"pulled_in", "Pulled in"},
	{"amount_up", "Amount up"},
	{"won", "Won"},
	{"lost", "Lost"},
	{"pushed_out", "Pushed out"},
	{"amount_down", "Amount down"},
	// Keep in step with stepWords (sections.go).
}

// pipelineMovesSQL classifies every deal open and closing in the window at either
// snapshot ($1 = from, $2 = to, instants; $3, $4 = the window's first and last close
// date): in both → amount up/down; only at from → won, lost (or gone), or pushed out of
// the window; only at to → pulled in (was open, closing outside the window) or new.
// Amounts are signed changes to the window's open pipeline.
const pipelineMovesSQL = `with
snap_from as (
    select opportunity_id, stage, close_date, cast(coalesce(amount_base, 0) as double) as amount
    from opportunity_history
    where valid_from <= $1 and (valid_to is null or valid_to > $1)
    qualify row_number() over (partition by opportunity_id order by valid_from desc) = 1
),
snap_to as (
    select opportunity_id, stage, close_date, cast(coalesce(amount_base, 0) as double) as amount
    from opportunity_history
    where valid_from <= $2 and (valid_to is null or valid_to > $2)
    qualify row_number() over (partition by opportunity_id order by valid_from desc) = 1
),
paired as (
    select
        coalesce(a.opportunity_id, b.opportunity_id) as opportunity_id,
        a.opportunity_id is not null and a.stage not ilike '%won%' and a.stage not ilike '%lost%' as open_from,
        b.opportunity_id is not null and b.stage not ilike '%won%' and b.stage not ilike '%lost%' as open_to,
        a.close_date between cast($3 as date) and cast($4 as date) as window_from,
        b.close_date between cast($3 as date) and cast($4 as date) as window_to,
        coalesce(b.stage ilike '%won%', false) as won_to,
        a.amount as amount_from,
        b.amount as amount_to
    from snap_from a
    full outer join snap_to b on a.opportunity_id = b.opportunity_id
),
counted as (
    select *,
        coalesce(open_from and window_from, false) as in_from,
        coalesce(open_to and window_to, false) as in_to
    from paired
),
moves as (
    select opportunity_id, in_from, in_to, amount_from, amount_to,
        case
            when in_from and in_to and amount_to > amount_from then 'amount_up'
            when in_from and in_to and amount_to < amount_from then 'amount_down'
            when in_from and in_to then null
            when in_from and won_to then 'won'
            when in_from and not open_to then 'lost'
            when in_from then 'pushed_out'
            when open_from then 'pulled_in'
            else 'new'
        end as kind
    from counted
    where in_from or in_to
)`

func (l *loader) pipelineChanges(ctx context.Context) (Content, error) {
	const producer = "revcast extract and revcast transform (CRM opportunity history)"
	if err := l.requireRows(ctx, "opportunity_history", producer); err != nil {
		return nil, err
	}
	if err := l.requireCols("opportunity_history", "opportunity_id", "valid_from", "valid_to", "stage", "close_date", "amount_base"); err != nil {
		return nil, err
	}
	p := &PipelineChanges{To: l.asOf, From: l.asOf.AddDate(0, 0, -l.o.ChangeDays)}
	p.WindowStart = quarterStart(l.asOf, l.o.FiscalYearStartMonth)
	p.WindowEnd = p.WindowStart.AddDate(0, 3*l.o.HorizonQuarters, -1)
	// Snapshots at the end of each day: the state after everything that happened that day.
	from, to := p.From.AddDate(0, 0, 1), p.To.AddDate(0, 0, 1)
	args := []any{from, to, p.WindowStart, p.WindowEnd}
	rows, err := l.db.QueryContext(ctx, pipelineMovesSQL+`
select 'start', count(*), coalesce(sum(amount_from), 0) from moves where in_from
union all
select 'end', count(*), coalesce(sum(amount_to), 0) from moves where in_to
union all
select kind, count(*), sum(case
        when kind in ('amount_up', 'amount_down') then amount_to - amount_from
        when kind in ('won', 'lost', 'pushed_out') then -amount_from
        else amount_to end)
from moves where kind is not null group by kind`, args...)
	if err != nil {
		return nil, err
	}
	got := map[string]ChangeStep{}
	for rows.Next() {
		var s ChangeStep
		if err := rows.Scan(&s.Key, &s.Deals, &s.Amount); err != nil {
			rows.Close()
			return nil, err
		}
		got[s.Key] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Both snapshots counted start and end from the full set of deals, so the end is
	// exactly the start plus the movements (rounding aside).
	p.Start, p.StartDeals = got["start"].Amount, got["start"].Deals
	p.End, p.EndDeals = got["end"].Amount, got["end"].Deals
	for _, s := range changeSteps {
		st := got[s.key]
		p.Steps = append(p.Steps, ChangeStep{Key: s.key, Label: s.label, Amount: st.Amount, Deals: st.Deals})
	}
	if p.StartDeals == 0 && p.EndDeals == 0 {
		return nil, missing("no open pipeline closing %s – %s in opportunity_history at %s or %s",
			p.WindowStart.Format(revcast.DateLayout), p.WindowEnd.Format(revcast.DateLayout),
			p.From.Format(revcast.DateLayout), p.To.Format(revcast.DateLayout))
	}

	name, account := "null", "null"
	join := ""
	if l.cat.has("opportunities", "opportunity_id") {
		join = ` left join opportunities o on o.opportunity_id = m.opportunity_id`
		name = l.qcol("o", "opportunities", "name")
		if l.cat.has("opportunities", "account_id") && l.cat.has("accounts", "account_id", "account_name") {
			join += ` left join accounts acc on acc.account_id = o.account_id`
			account = "acc.account_name"
		}
	}
	labels := map[string]string{}
	for _, s := range changeSteps {
		labels[s.key] = s.label
	}
	mrows, err := l.db.QueryContext(ctx, pipelineMovesSQL+fmt.Sprintf(`,
signed as (
    select opportunity_id, kind, case
        when kind in ('amount_up', 'amount_down') then amount_to - amount_from
        when kind in ('won', 'lost', 'pushed_out') then -amount_from
        else amount_to end as amount
    from moves where kind is not null
)
select m.opportunity_id, coalesce(cast(%s as varchar), ''), coalesce(cast(%s as varchar), ''), m.kind, m.amount
from signed m%s
order by abs(m.amount) desc, m.opportunity_id
limit %d`, name, account, join, l.o.Rows/3+5), args...)
	if err != nil {
		return nil, err
	}
	defer mrows.Close()
	for mrows.Next() {
		var mv PipelineMove
		if err := mrows.Scan(&mv.OpportunityID, &mv.Name, &mv.Account, &mv.Change, &mv.Amount); err != nil {
			return nil, err
		}
		mv.Change = labels[mv.Change]
		p.Movers = append(p.Movers, mv)
	}
	return p, mrows.Err()
}

// quarterStart returns the first day of the fiscal quarter holding t.
func quarterStart(t time.Time, fyStart int) time.Time {
	m := (int(t.Month()) - fyStart + 12) % 12 // months since the fiscal year began
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start.AddDate(0, -(m % 3), 0)
}

// ---------------------------------------------------------------------------------------
// At-risk deals

func (l *loader) atRisk(ctx context.Context) (Content, error) {
	const t = "forecast_opportunities"
	if err := l.requireRows(ctx, t, forecastProducer); err != nil {
		return nil, err
	}
	if err := l.requireCols(t, "run_id", "opportunity_id", "p_win"); err != nil {
		return nil, err
	}
	if err := l.requireCols("opportunities", "opportunity_id", "stage", "amount_base", "is_closed"); err != nil {
		return nil, err
	}
	filter, err := l.latest(ctx, t)
	if err != nil {
		return nil, err
	}
	o := func(col string) string { return l.qcol("o", "opportunities", col) }
	account, owner, joins := "null", "null", ""
	if l.cat.has("accounts", "account_id", "account_name") && l.cat.has("opportunities", "account_id") {
		joins += " left join accounts a on a.account_id = o.account_id"
		account = "a.account_name"
	}
	if l.cat.has("users", "user_id", "full_name") && l.cat.has("opportunities", "owner_id") {
		joins += " left join users u on u.user_id = o.owner_id"
		owner = "u.full_name"
	}
	factors := "null"
	if l.cat.has(t, "factors") {
		factors = "cast(f.factors as varchar)"
	}
	supply, credit := l.qcol("f", t, "supply_factor"), l.qcol("f", t, "credit_factor")
	where := fmt.Sprintf(`f.%s and not o.is_closed and f.p_win < 0.5
		and (lower(coalesce(cast(%s as varchar), '')) in ('commit', 'best_case', 'best case') or coalesce(%s, 0) >= 50)`,
		filter, o("forecast_category"), o("probability"))
	from := ` from forecast_opportunities f join opportunities o on o.opportunity_id = f.opportunity_id` + joins
	a := &AtRiskDeals{}
	var amt sql.NullFloat64
	if err := l.db.QueryRowContext(ctx, `select count(*), sum(cast(o.amount_base as double))`+from+` where `+where).Scan(&a.Count, &amt); err != nil {
		return nil, err
	}
	a.Amount = amt.Float64
	q := fmt.Sprintf(`select o.opportunity_id, coalesce(cast(%s as varchar), ''), coalesce(cast(%s as varchar), ''),
			coalesce(cast(%s as varchar), ''), coalesce(cast(o.stage as varchar), ''), coalesce(cast(%s as varchar), ''),
			cast(%s as date), cast(o.amount_base as double), cast(%s as double), cast(f.p_win as double), %s,
			cast(%s as double), cast(%s as double)
		%s where %s
		order by cast(o.amount_base as double) * greatest(coalesce(%s, 50) / 100.0 - f.p_win, 0) desc, o.opportunity_id
		limit %d`,
		o("name"), account, owner, o("forecast_category"), o("close_date"), o("probability"), factors,
		supply, credit, from, where, o("probability"), l.o.Rows)
	rows, err := l.db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var d AtRiskDeal
		var cd sql.NullTime
		var prob sql.NullFloat64
		var f sql.NullString
		var sf, cf sql.NullFloat64
		if err := rows.Scan(&d.OpportunityID, &d.Name, &d.Account, &d.Owner, &d.Stage, &d.ForecastCategory,
			&cd, &d.Amount, &prob, &d.PWin, &f, &sf, &cf); err != nil {
			return nil, err
		}
		d.CloseDate, d.CRMProbability = cd.Time, nf(prob)
		// The ERP's signals first: they are what the CRM cannot see.
		if sf.Valid && sf.Float64 < 1 {
			d.Factors = append(d.Factors, fmt.Sprintf("stock short for its lines (supply factor %s)", formatNumber(math.Round(sf.Float64*100)/100)))
		}
		if cf.Valid && cf.Float64 < 1 {
			d.Factors = append(d.Factors, fmt.Sprintf("account on credit alert (credit factor %s)", formatNumber(math.Round(cf.Float64*100)/100)))
		}
		d.Factors = append(d.Factors, parseFactors(f.String, 3)...)
		a.Deals = append(a.Deals, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

// ---------------------------------------------------------------------------------------
// Credit and AR aging

var agingOrder = []string{"current", "1-30", "31-60", "61-90", "90+"}

func (l *loader) credit(ctx context.Context) (Content, error) {
	const producer = "revcast transform"
	c := &Credit{}
	alerts, err := l.listing(ctx, creditAlertsSpec)
	var m *errMissing
	switch {
	case err == nil:
		c.Alerts = alerts
	case errors.As(err, &m):
		c.AlertsMissing = m.msg
	default:
		return nil, err
	}
	if err := l.requireRows(ctx, "ar_aging", producer); err != nil {
		if c.Alerts == nil {
			return nil, missing("ar_aging and credit_alerts, built by %s", producer)
		}
		return c, nil
	}
	if err := l.requireCols("ar_aging", "customer_id", "bucket", "amount_base"); err != nil {
		return nil, err
	}
	filter, err := l.latest(ctx, "ar_aging")
	if err != nil {
		return nil, err
	}
	where := ""
	if filter != "" {
		where = " where " + filter
	}
	rows, err := l.db.QueryContext(ctx, `select cast(bucket as varchar), sum(cast(amount_base as double)), count(distinct customer_id)
		from ar_aging`+where+` group by 1`)
	if err != nil {
		return nil, err
	}
	byBucket := map[string]AgingBucket{}
	for rows.Next() {
		var b AgingBucket
		if err := rows.Scan(&b.Bucket, &b.Amount, &b.Customers); err != nil {
			rows.Close()
			return nil, err
		}
		byBucket[b.Bucket] = b
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, k := range agingOrder {
		if b, ok := byBucket[k]; ok {
			c.Aging = append(c.Aging, b)
			delete(byBucket, k)
		} else {
			c.Aging = append(c.Aging, AgingBucket{Bucket: k})
		}
	}
	var other []string
	for k := range byBucket {
		other = append(other, k)
	}
	sort.Strings(other)
	for _, k := range other {
		c.Aging = append(c.Aging, byBucket[k])
	}

	name, limit, join := "null", "null", ""
	if l.cat.has("erp_customers", "customer_id") {
		join = " left join erp_customers e on e.customer_id = g.customer_id"
		if l.cat.has("erp_customers", "customer_name") {
			name = "e.customer_name"
		}
		if l.cat.has("erp_customers", "credit_limit_base") {
			limit = "cast(e.credit_limit_base as double)"
		}
	}
	q := fmt.Sprintf(`with g as (
		select customer_id,
			sum(cast(amount_base as double)) filter (where bucket <> 'current') as past_due,
			sum(cast(amount_base as double)) filter (where bucket in ('61-90', '90+')) as over_60,
			sum(cast(amount_base as double)) as open
		from ar_aging%s group by customer_id
	)
	select g.customer_id, coalesce(cast(%s as varchar), ''), g.past_due, coalesce(g.over_60, 0), g.open, %s
	from g%s where g.past_due > 0
	order by g.past_due desc, g.customer_id limit %d`, where, name, limit, join, l.o.Rows)
	tbl := &Table{Columns: []Column{{Name: "customer_id", Label: "Customer"}, {Label: "Name"},
		{Label: "Past due", Kind: KindMoney}, {Label: "Over 60 days", Kind: KindMoney},
		{Label: "Open", Kind: KindMoney}, {Label: "Credit limit", Kind: KindMoney}}}
	rows, err = l.db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, nm string
		var past, over, open float64
		var lim sql.NullFloat64
		if err := rows.Scan(&id, &nm, &past, &over, &open, &lim); err != nil {
			return nil, err
		}
		tbl.Rows = append(tbl.Rows, []Cell{TextCell(id), TextCell(nm), NumCell(past), NumCell(over), NumCell(open), NumCell(nf(lim))})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := l.db.QueryRowContext(ctx, `select count(distinct customer_id) from ar_aging where bucket <> 'current'`+and(filter)).Scan(&tbl.Total); err != nil {
		return nil, err
	}
	c.Overdue = tbl
	return c, nil
}

// ---------------------------------------------------------------------------------------
// Reconciliation

func (l *loader) reconciliation(ctx context.Context) (Content, error) {
	const t = "reconciliation_variances"
	const producer = "revcast transform (reconciliation)"
	if err := l.requireRows(ctx, t, producer); err != nil {
		return nil, err
	}
	if err := l.requireCols(t, "kind"); err != nil {
		return nil, err
	}
	filter, err := l.latest(ctx, t)
	if err != nil {
		return nil, err
	}
	where := ""
	if filter != "" {
		where = " where " + filter
	}
	// The amount at stake: |difference_base| (actual − expected) when the mart has it, else
	// |CRM − ERP| (one side missing counts as zero: a won deal without an order).
	diff := fmt.Sprintf("abs(coalesce(cast(%s as double), 0) - coalesce(cast(%s as double), 0))",
		l.colOr(t, "crm_amount_base", "null"), l.colOr(t, "erp_amount_base", "null"))
	if l.cat.has(t, "difference_base") {
		diff = "coalesce(abs(cast(difference_base as double)), " + diff + ")"
	}
	high := "0"
	sevRank := "0"
	if typ, ok := l.cat[t]["severity"]; ok {
		if isNumericType(typ) {
			high = "count(*) filter (where severity >= 3)"
			sevRank = "-severity"
		} else {
			high = "count(*) filter (where lower(severity) in ('high', 'critical'))"
			sevRank = "case lower(severity) when 'critical' then 0 when 'high' then 1 when 'medium' then 2 when 'low' then 3 else 4 end"
		}
	}
	rows, err := l.db.QueryContext(ctx, fmt.Sprintf(`select coalesce(cast(kind as varchar), '?'), count(*), %s, sum(%s)
		from %s%s group by 1 order by 4 desc, 2 desc, 1`, high, diff, t, where))
	if err != nil {
		return nil, err
	}
	r := &Reconciliation{}
	for rows.Next() {
		var k VarianceKind
		if err := rows.Scan(&k.Kind, &k.Count, &k.High, &k.Amount); err != nil {
			rows.Close()
			return nil, err
		}
		r.ByKind = append(r.ByKind, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	spec := listSpec{
		table: t, producer: producer,
		cols: []colSpec{
			{names: []string{"kind"}, label: "Kind"},
			{names: []string{"severity"}, label: "Severity"},
			{names: []string{"crm_record_id"}, label: "CRM record"},
			{names: []string{"erp_record_id"}, label: "ERP record"},
			{names: []string{"crm_amount_base"}, label: "CRM amount", kind: KindMoney},
			{names: []string{"erp_amount_base"}, label: "ERP amount", kind: KindMoney},
			{expr: diff, label: "Difference", kind: KindMoney},
			{names: []string{"explanation"}, label: "Explanation"},
		},
		order: []string{sevRank, diff + " desc"},
	}
	tbl, err := l.table(ctx, spec)
	if err != nil {
		return nil, err
	}
	r.Top = tbl
	return r, nil
}

func isNumericType(typ string) bool {
	if strings.ContainsAny(typ, "[<") || strings.HasPrefix(typ, "STRUCT") || strings.HasPrefix(typ, "MAP") {
		return false
	}
	base, _, _ := strings.Cut(typ, "(")
	switch base {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
		"UBIGINT", "UHUGEINT", "FLOAT", "REAL", "DOUBLE", "DECIMAL", "NUMERIC":
		return true
	}
	return false
}

// ---------------------------------------------------------------------------------------
// Model accuracy

// summaryMetrics are the backtest's summary metrics (models/backtest), in the order the
// table shows them; fractions are shown as percentages.
var summaryMetrics = []struct {
	name, label string
	kind        Kind
}{
	{"mape", "MAPE", KindRatio},
	{"bias", "Bias", KindRatio},
	{"coverage", "P10–P90 coverage", KindRatio},
	{"brier", "Brier", KindNumber},
	{"auc", "AUC", KindNumber},
	{"log_loss", "Log loss", KindNumber},
	{"ece", "ECE", KindNumber},
	{"brier_in_quarter", "Brier (in quarter)", KindNumber},
}

func (l *loader) accuracy(ctx context.Context) (Content, error) {
	const t = "backtest_results"
	if err := l.requireRows(ctx, t, "revcast backtest"); err != nil {
		return nil, err
	}
	filter, err := l.latest(ctx, t)
	if err != nil {
		return nil, err
	}
	conds := []string{}
	if filter != "" {
		conds = append(conds, filter)
	}
	if l.cat.has(t, "segment_type") {
		conds = append(conds, "coalesce(lower(segment_type), 'total') = 'total'")
	}
	where := ""
	if len(conds) > 0 {
		where = " where " + strings.Join(conds, " and ")
	}
	a := &Accuracy{}
	model := l.cat.pick(t, "model", "method", "forecaster", "baseline")
	modelExpr := "'revcast'"
	if model != "" {
		modelExpr = "coalesce(cast(" + ident(model) + " as varchar), '')"
	}
	type key struct{ model, metric string }
	vals := map[key]float64{}
	var models, metrics []string
	seenModel, seenMetric := map[string]bool{}, map[string]bool{}
	add := func(m, metric string, v float64) {
		vals[key{m, metric}] = v
		if !seenModel[m] {
			seenModel[m] = true
			models = append(models, m)
		}
		if !seenMetric[metric] {
			seenMetric[metric] = true
			metrics = append(metrics, metric)
		}
	}
	valueCol := l.cat.pick(t, "value", "metric_value")
	long := l.cat.has(t, "metric") && valueCol != ""
	if long {
		rows, err := l.db.QueryContext(ctx, fmt.Sprintf(`select %s, cast(metric as varchar), avg(cast(%s as double))
			from %s%s%s group by all order by 1, 2`, modelExpr, ident(valueCol), t, where,
			and2(where, "metric not like 'calibration%' and metric not like '%by_week'")))
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var m, metric string
			var v sql.NullFloat64
			if err := rows.Scan(&m, &metric, &v); err != nil {
				rows.Close()
				return nil, err
			}
			if v.Valid && m != "actual" {
				add(m, metric, v.Float64)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	} else {
		var cols []string
		for c, typ := range l.cat[t] {
			if isNumericType(typ) && !nonMetric(c) && !strings.Contains(c, "predicted") && !strings.Contains(c, "observed") {
				cols = append(cols, c)
			}
		}
		sort.Strings(cols)
		if len(cols) > 0 {
			sel := make([]string, len(cols))
			for i, c := range cols {
				sel[i] = fmt.Sprintf("avg(cast(%s as double))", ident(c))
			}
			rows, err := l.db.QueryContext(ctx, fmt.Sprintf(`select %s, %s from %s%s group by 1 order by 1`, modelExpr, strings.Join(sel, ", "), t, where))
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var m string
				vs := make([]sql.NullFloat64, len(cols))
				dst := []any{&m}
				for i := range vs {
					dst = append(dst, &vs[i])
				}
				if err := rows.Scan(dst...); err != nil {
					rows.Close()
					return nil, err
				}
				for i, v := range vs {
					if v.Valid {
						add(m, cols[i], v.Float64)
					}
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	// Known summary metrics, when there are any, in their order; otherwise all.
	var shown []Column
	for _, sm := range summaryMetrics {
		if seenMetric[sm.name] {
			shown = append(shown, Column{Name: sm.name, Label: sm.label, Kind: sm.kind})
		}
	}
	if len(shown) == 0 {
		for _, m := range metrics {
			shown = append(shown, Column{Name: m, Label: m, Kind: KindNumber})
		}
	}
	// revcast first, then its variants, then the baselines.
	sort.SliceStable(models, func(i, j int) bool { return modelRank(models[i]) < modelRank(models[j]) })
	if len(shown) > 0 {
		tbl := &Table{Columns: append([]Column{{Label: "Model"}}, shown...)}
		for _, m := range models {
			row := []Cell{TextCell(m)}
			for _, c := range shown {
				if v, ok := vals[key{m, c.Name}]; ok {
					row = append(row, NumCell(v))
				} else {
					row = append(row, NullCell())
				}
			}
			tbl.Rows = append(tbl.Rows, row)
		}
		tbl.Total = len(tbl.Rows)
		a.Metrics = tbl
		want := []struct{ model, metric string }{
			{"revcast", "mape"}, {"stage_weighted", "mape"}, {"commit", "mape"}, {"revcast", "coverage"},
			{"revcast", "brier"}, {"stage_weighted", "brier"}, {"revcast", "auc"},
		}
		for _, w := range want {
			v, ok := vals[key{w.model, w.metric}]
			if !ok {
				continue
			}
			for _, c := range shown {
				if c.Name == w.metric {
					a.Figures = append(a.Figures, Figure{Key: w.model + "_" + w.metric, Label: c.Label + ", " + w.model,
						Kind: c.Kind, Value: NumCell(round4(v))})
				}
			}
		}
		if len(a.Figures) == 0 {
			a.Figures = append(a.Figures, Figure{Key: "models", Label: "Models compared", Kind: KindCount, Value: NumCell(float64(len(models)))})
		}
	}
	if long {
		if week := l.cat.pick(t, "week_of_quarter", "week"); week != "" {
			rows, err := l.db.QueryContext(ctx, fmt.Sprintf(`select %s, cast(%s as bigint), avg(cast(%s as double)) from %s%s%s
				group by 1, 2 order by 1, 2`, modelExpr, ident(week), ident(valueCol), t, where, and2(where, "metric = 'mape_by_week'")))
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var we WeekError
				if err := rows.Scan(&we.Model, &we.Week, &we.MAPE); err != nil {
					rows.Close()
					return nil, err
				}
				a.ByWeek = append(a.ByWeek, we)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
			sort.SliceStable(a.ByWeek, func(i, j int) bool { return modelRank(a.ByWeek[i].Model) < modelRank(a.ByWeek[j].Model) })
		}
		if bin := l.cat.pick(t, "bin"); bin != "" {
			rows, err := l.db.QueryContext(ctx, fmt.Sprintf(`select %s, %s,
					max(cast(%[3]s as double)) filter (where metric = 'calibration_mean_predicted'),
					max(cast(%[3]s as double)) filter (where metric = 'calibration_observed_rate'),
					coalesce(max(cast(%[3]s as double)) filter (where metric = 'calibration_count'), 0)
				from %s%s%s group by 1, 2 order by 1, 2`, modelExpr, ident(bin), ident(valueCol), t, where,
				and2(where, "metric like 'calibration_%'")))
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var m string
				var b int64
				var p, o sql.NullFloat64
				var n float64
				if err := rows.Scan(&m, &b, &p, &o, &n); err != nil {
					rows.Close()
					return nil, err
				}
				if p.Valid && o.Valid && n > 0 {
					a.Calibration = append(a.Calibration, CalibrationBin{Model: m, Predicted: p.Float64, Observed: o.Float64, Count: int(n)})
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	// Or a calibration table of its own.
	if len(a.Calibration) == 0 {
		for _, ct := range []string{"backtest_calibration", t} {
			pred := l.cat.pick(ct, "mean_predicted", "predicted", "p_mean", "predicted_mean")
			obs := l.cat.pick(ct, "observed_rate", "observed", "actual_rate", "observed_mean")
			if pred == "" || obs == "" {
				continue
			}
			cf, err := l.latest(ctx, ct)
			if err != nil {
				return nil, err
			}
			w := fmt.Sprintf(" where %s is not null and %s is not null", ident(pred), ident(obs))
			if cf != "" {
				w += " and " + cf
			}
			m := "''"
			if mc := l.cat.pick(ct, "model", "method"); mc != "" {
				m = "coalesce(cast(" + ident(mc) + " as varchar), '')"
			}
			cnt := "0"
			if cc := l.cat.pick(ct, "count", "n", "rows"); cc != "" {
				cnt = "cast(" + ident(cc) + " as bigint)"
			}
			rows, err := l.db.QueryContext(ctx, fmt.Sprintf(`select %s, cast(%s as double), cast(%s as double), coalesce(%s, 0) from %s%s order by 1, 2`,
				m, ident(pred), ident(obs), cnt, ident(ct), w))
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var b CalibrationBin
				if err := rows.Scan(&b.Model, &b.Predicted, &b.Observed, &b.Count); err != nil {
					rows.Close()
					return nil, err
				}
				a.Calibration = append(a.Calibration, b)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
			break
		}
	}
	if a.Metrics == nil && len(a.Calibration) == 0 && len(a.ByWeek) == 0 {
		return nil, missing("backtest_results has no metric values; it is written by revcast backtest")
	}
	return a, nil
}

// and2 returns " and cond" after a WHERE clause, or " where cond" when there is none.
func and2(where, cond string) string {
	if where == "" {
		return " where " + cond
	}
	return " and " + cond
}

// modelRank orders models: revcast, its variants, other models, then the baselines.
func modelRank(m string) int {
	switch {
	case m == "revcast":
		return 0
	case strings.HasPrefix(m, "revcast"):
		return 1
	case m == "stage_weighted":
		return 3
	case m == "commit":
		return 4
	}
	return 2
}

// nonMetric reports whether a numeric backtest column is a dimension, not a metric.
func nonMetric(c string) bool {
	for _, p := range []string{"run_id", "seed", "week", "horizon", "origin", "period", "year", "quarter", "month", "fold", "bin", "n", "count", "rows", "id"} {
		if c == p || strings.HasSuffix(c, "_"+p) || strings.HasPrefix(c, p+"_") {
			return true
		}
	}
	return false
}
