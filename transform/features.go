package transform

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/revcast/revcast/models/forecast"
	revsql "github.com/revcast/revcast/sql"
)

// SnapshotDate is one date at which Snapshots reconstructs the open pipeline. SampleMod > 1
// keeps only the deals with hash(opportunity_id) % SampleMod = 0 (a deterministic sample for
// training dates at large scale); 0 or 1 keeps every deal.
type SnapshotDate struct {
	Day       forecast.Day
	SampleMod int
}

// SnapshotData is the forecast's input read from the warehouse.
type SnapshotData struct {
	Snapshots []forecast.Snapshot // ordered by day, then opportunity id
	// Outcomes holds every opportunity's outcome, ordered by id; read by OpenSnapshots,
	// the won opportunities' only.
	Outcomes []forecast.Outcome
	// Opportunities is the number of opportunities and FirstCreated the earliest day one
	// was created (forecast.ForecastOptions.DataStart), over all of them either way.
	Opportunities int
	FirstCreated  forecast.Day
	// Sources says which optional inputs were used, for the run's metadata.
	Sources map[string]string
	// Seconds is the wall time of each step, for finding the slow one: each feature table
	// by name, "snapshots" (the chunked snapshot query) and "outcomes".
	Seconds map[string]float64
}

// Snapshots reconstructs, for every date, the opportunities open at 00:00 UTC of that date
// as they were then (sql/features/fc_snapshots.sql: state, events and days per stage from
// opportunity_history; track records, payments and receivables dated before the day), and
// reads every opportunity's outcome. The queries run on one connection as temp tables
// (fc_dates, fc_stage, fc_deal, fc_history, ...: featureTables; fc_outcomes), so a
// read-only warehouse works too. History and stock are read for the deals open at some
// date only (fc_open_ids): a single date (the nightly forecast that reuses its model)
// needs a fraction of the CRM's.
//
// Optional inputs: the golden record (customers, else account_matches) maps accounts to
// ERP customers, and serving_plants says which plant ships to a country; without them the
// cross-reference on accounts, the customers on sales orders and the plants on past order
// lines are used. SnapshotData.Sources says which were used.
func (w *Warehouse) Snapshots(ctx context.Context, dates []SnapshotDate) (*SnapshotData, error) {
	return w.snapshots(ctx, dates, false)
}

// OpenSnapshots reads what scoring the pipeline open at asOf with a model already fitted
// needs (the nightly forecast with forecast.refit_days): the snapshots of that one date, as
// Snapshots, and the outcomes of the won opportunities only. forecast.Model.Forecast reads
// no others when given ForecastOptions.DataStart (SnapshotData.FirstCreated): the deals won
// so far in a period, the seasonal analogs of deals not yet created and the growth of won
// bookings. At large scale that is 392k of 994k outcomes: the step reading them took
// 1.35-2.36 s (median 1.66) instead of 3.05-3.57 s (median 3.13), and the forecast's peak
// RSS went from 1.65 GB to 1.45-1.55 GB ('revcast forecast' with the week's model on
// copies of one warehouse, old and new binary interleaved, three runs each; the same
// forecast_opportunities and moments).
func (w *Warehouse) OpenSnapshots(ctx context.Context, asOf forecast.Day) (*SnapshotData, error) {
	return w.snapshots(ctx, []SnapshotDate{{Day: asOf}}, true)
}

// snapshots is Snapshots, reading the won deals' outcomes only when wonOnly.
func (w *Warehouse) snapshots(ctx context.Context, dates []SnapshotDate, wonOnly bool) (*SnapshotData, error) {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	out := &SnapshotData{Sources: map[string]string{}, Seconds: map[string]float64{}}
	timed := func(step string, t0 time.Time) { out.Seconds[step] += time.Since(t0).Seconds() }

	exec := func(what, q string, args ...any) error {
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("forecast features: %s: %w", what, err)
		}
		return nil
	}
	// fc_dates_all holds every date with its chunk; fc_dates (what the snapshot query reads)
	// is one chunk at a time, see below.
	if err := exec("dates", `create or replace temp table fc_dates_all (snapshot_date date, day integer, sample_mod integer)`); err != nil {
		return nil, err
	}
	if len(dates) > 0 {
		var b strings.Builder
		b.WriteString(`insert into fc_dates_all values `)
		for i, d := range dates {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(date '%s', %d, %d)", d.Day, int32(d.Day), max(d.SampleMod, 1))
		}
		if err := exec("dates", b.String()); err != nil {
			return nil, err
		}
	}
	// The account's ERP customer: the golden record (customers) when it exists, else the
	// auto matches of account_matches, else nothing here (fc_deal falls back to the
	// cross-reference on accounts and the customers on sales orders).
	golden, err := w.hasColumns(ctx, conn, "customers", "erp_customer_id", "account_ids", "in_erp")
	if err != nil {
		return nil, err
	}
	matches, err := w.hasColumns(ctx, conn, "account_matches", "crm_account_id", "erp_customer_id", "decision")
	if err != nil {
		return nil, err
	}
	switch {
	case golden:
		out.Sources["account_customer"] = "customers (golden record)"
		err = exec("account matches", `create or replace temp table fc_account_matches as
			select account_id, min(erp_customer_id) as customer_id
			from (select unnest(account_ids) as account_id, erp_customer_id from customers where in_erp and erp_customer_id is not null)
			group by account_id`)
	case matches:
		out.Sources["account_customer"] = "account_matches"
		err = exec("account matches", `create or replace temp table fc_account_matches as
			select crm_account_id as account_id, min(erp_customer_id) as customer_id
			from account_matches
			where decision in ('auto', 'match', 'matched', 'accepted', 'approved')
			group by crm_account_id`)
	default:
		out.Sources["account_customer"] = "accounts.erp_customer_id, sales_orders"
		err = exec("account matches", `create or replace temp table fc_account_matches (account_id varchar, customer_id varchar)`)
	}
	if err != nil {
		return nil, err
	}
	// The plant that ships to a country: the serving_plants rule when it exists, else the
	// most frequent plant on past order lines to that country (fc_deal_supply).
	plants, err := w.hasColumns(ctx, conn, "serving_plants", "country", "plant", "fallback_plant")
	if err != nil {
		return nil, err
	}
	if plants {
		out.Sources["serving_plant"] = "serving_plants"
		err = exec("serving plants", `create or replace temp table fc_serving_plants as
			select country, plant, fallback_plant from serving_plants`)
	} else {
		out.Sources["serving_plant"] = "sales_order_lines (most frequent plant per country)"
		err = exec("serving plants", `create or replace temp table fc_serving_plants (country varchar, plant varchar, fallback_plant varchar)`)
	}
	if err != nil {
		return nil, err
	}
	for _, name := range featureTables {
		q, err := featureSQL(name)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := exec(name, "create or replace temp table "+name+" as\n"+q); err != nil {
			return nil, err
		}
		timed(name, t0)
	}
	if w.SnapshotMemoryLimit != "" {
		var prev string
		if err := conn.QueryRowContext(ctx, `select current_setting('memory_limit')`).Scan(&prev); err != nil {
			return nil, fmt.Errorf("forecast features: memory_limit: %w", err)
		}
		if err := exec("memory_limit", `set global memory_limit = '`+strings.ReplaceAll(w.SnapshotMemoryLimit, "'", "")+`'`); err != nil {
			return nil, err
		}
		defer func() { _ = exec("memory_limit", `set global memory_limit = '`+strings.ReplaceAll(prev, "'", "")+`'`) }()
	}
	// The snapshots first: they say which deals need their attributes (a training frame
	// sampled at large scale holds a fraction of them), then every deal's outcome and, for
	// the deals snapshotted, the attributes every snapshot of the deal shares.
	deals := map[string]*forecast.Deal{}
	t0 := time.Now()
	if len(dates) > 0 {
		// The snapshot query runs over chunks of consecutive dates of at most
		// snapshotChunkRows (deal, date) rows each, so DuckDB's working memory (the history
		// join, the as-of joins) is bounded by the chunk, not by the length of the history.
		chunks, total, err := snapshotChunks(ctx, conn, snapshotChunkRows)
		if err != nil {
			return nil, err
		}
		// total counts every deal open at each date; the query keeps those with a history row
		// before it, so it is an upper bound: one allocation instead of append's regrowth
		// (which held the old and the new array, 2.25 times the rows, at the last copy).
		out.Snapshots = make([]forecast.Snapshot, 0, total)
		r := snapshotReader{deals: deals}
		for _, c := range chunks {
			if err := exec("dates", `create or replace temp table fc_dates as
				select snapshot_date, day, sample_mod from fc_dates_all where day between ? and ?`, c[0], c[1]); err != nil {
				return nil, err
			}
			if out.Snapshots, err = r.read(ctx, conn, out.Snapshots); err != nil {
				return nil, err
			}
		}
	}
	timed("snapshots", t0)
	// The outcomes read fc_deal, fc_deal_supply and fc_open_ids only: the other feature tables (the
	// history of every deal open at some date above all) are dropped first, so DuckDB does
	// not hold them while it sorts a row per opportunity beside the Go heap's snapshots
	// (large refit: the forecast's peak RSS was at this step).
	for _, t := range append(slices.Clone(featureTables), "fc_dates", "fc_dates_all") {
		if t != "fc_deal" && t != "fc_deal_supply" && t != "fc_open_ids" {
			_ = exec("cleanup", "drop table if exists temp."+t)
		}
	}
	accountCreated := map[*forecast.Deal]int64{}
	t0 = time.Now()
	if err := readOutcomes(ctx, conn, deals, accountCreated, outcomeChunkRows, wonOnly, out); err != nil {
		return nil, err
	}
	timed("outcomes", t0)
	// Tenure: snapshot date - account created date, in days (0 without a created date, as
	// the null of the SQL difference was read before).
	for i := range out.Snapshots {
		s := &out.Snapshots[i]
		if c, ok := accountCreated[s.Deal]; ok {
			s.AccountTenureDays = float64(int64(s.Day) - c)
		}
	}
	for _, t := range append(slices.Clone(featureTables), "fc_dates", "fc_dates_all", "fc_account_matches", "fc_serving_plants") {
		_ = exec("cleanup", "drop table if exists temp."+t)
	}
	return out, nil
}

// MaxTrainingSnapshotRows bounds the snapshot rows read for training; larger pipelines
// are sampled by opportunity (SnapshotDate.SampleMod), so the forecast's memory stays
// bounded at any scale (1.5M rows ≈ 0.4 GB of forecast.Snapshot).
const MaxTrainingSnapshotRows = 1_500_000

// TrainingSnapshots reads the forecast's input as of asOf: the open pipeline at every
// training day of the windowDays before it (forecast.TrainingDays), sampled with the
// modulus that keeps those rows near MaxTrainingSnapshotRows (ceil(open deals × days /
// MaxTrainingSnapshotRows), estimated from today's open deals), and every deal open at
// asOf in full. It returns the dates read and the modulus (1: no sampling).
func (w *Warehouse) TrainingSnapshots(ctx context.Context, asOf forecast.Day, windowDays int) (*SnapshotData, []SnapshotDate, int, error) {
	days := forecast.TrainingDays(asOf, windowDays)
	var nOpen int64
	if err := w.DB.QueryRowContext(ctx, `select count(*) from opportunities where not is_closed`).Scan(&nOpen); err != nil {
		return nil, nil, 0, fmt.Errorf("forecast: count open opportunities (run 'revcast transform' first): %w", err)
	}
	sampleMod := max(int(math.Ceil(float64(nOpen)*float64(len(days))/MaxTrainingSnapshotRows)), 1)
	dates := make([]SnapshotDate, 0, len(days)+1)
	for _, d := range days {
		dates = append(dates, SnapshotDate{Day: d, SampleMod: sampleMod})
	}
	dates = append(dates, SnapshotDate{Day: asOf})
	data, err := w.Snapshots(ctx, dates)
	if err != nil {
		return nil, nil, 0, err
	}
	return data, dates, sampleMod, nil
}

// featureTables are the sql/features queries built as temp tables, in order, before the
// snapshot query (fc_snapshots.sql) runs over chunks of dates: the deals, the ones open at
// some date (fc_open_ids), their stock and history, and the date-independent track records
// the snapshot query joins as of each date.
var featureTables = []string{"fc_stage", "fc_deal", "fc_open_ids", "fc_deal_supply", "fc_history",
	"fc_owner_record", "fc_account_record", "fc_company_record", "fc_bookings",
	"fc_pay", "fc_invoice_paid", "fc_invoice_payments", "fc_case_count"}

// featureSQL returns sql/features/<name>.sql.
func featureSQL(name string) (string, error) {
	b, err := fs.ReadFile(revsql.FS, "features/"+name+".sql")
	if err != nil {
		return "", fmt.Errorf("forecast features: %w", err)
	}
	return string(b), nil
}

// hasColumns reports whether main.table exists with all the named columns.
func (w *Warehouse) hasColumns(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, table string, cols ...string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `select count(*) from duckdb_columns()
		where schema_name = 'main' and table_name = ? and list_contains(?, column_name)`,
		table, cols).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("forecast features: look up %s: %w", table, err)
	}
	return n == len(cols), nil
}

// readOutcomes reads every deal's outcome (only the won deals' when wonOnly) from fc_deal
// into out.Outcomes, ordered by id, pageRows rows at a time (outcomeChunkRows; see below),
// sets out.Opportunities and out.FirstCreated over every deal, and fills the attributes of
// the deals in deals (the snapshotted ones; an outcome of one shares its id string) and,
// for those with an account created date, accountCreated (days since 1970-01-01).
// Categorical strings are interned: a few hundred owners, teams and regions repeat over a
// million deals at large scale.
//
// The outcomes are the nine columns every deal needs. The attributes a snapshotted deal
// uses (type, lead source, segment, account, lines, stock, contract, account created, first
// close, created, owner, team, region, family) are read first, in a query of their own, for
// the deals of fc_open_ids (those the snapshots can hold: large nightly, 124k of 994k).
// Reading all twenty columns of every deal took 4.2-4.5 s of the large nightly forecast,
// splitting them 3.0-4.0 s ('revcast forecast' with the week's model on copies of one
// warehouse, three runs each; the same forecast), and reading the won deals' outcomes only
// (OpenSnapshots) a median 1.66 s.
func readOutcomes(ctx context.Context, conn *sql.Conn, deals map[string]*forecast.Deal, accountCreated map[*forecast.Deal]int64, pageRows int, wonOnly bool, out *SnapshotData) error {
	fail := func(err error) error {
		return fmt.Errorf("forecast features: outcomes: %w", err)
	}
	strs := map[string]string{}
	intern := internFunc(strs)
	// The attributes of the snapshotted deals, straight into them.
	filled := make(map[string]bool, len(deals))
	rows, err := conn.QueryContext(ctx, `select d.opportunity_id, type, lead_source, segment, coalesce(account_id, '') as account_id, discount,
		coalesce(s.short_share, 0) as short_share, coalesce(s.uncovered_share, 0) as uncovered_share,
		auto_renew, is_renewal_contract, account_created_date - date '1970-01-01' as account_created_day, first_close_day,
		created_day, coalesce(owner_id, '') as owner_id, team, region, family
		from fc_deal d semi join fc_open_ids o on o.opportunity_id = d.opportunity_id
		left join fc_deal_supply s on s.opportunity_id = d.opportunity_id`)
	if err != nil {
		return fail(err)
	}
	var (
		id         string
		a          forecast.Deal
		created    sql.NullInt64
		first      sql.NullInt32
		createdDay int32
	)
	for rows.Next() {
		if err := rows.Scan(&id, &a.Type, &a.LeadSource, &a.Segment, &a.Account, &a.Discount, &a.ShortShare, &a.UncoveredShare,
			&a.AutoRenew, &a.IsRenewal, &created, &first, &createdDay, &a.Owner, &a.Team, &a.Region, &a.Family); err != nil {
			rows.Close()
			return fail(err)
		}
		d := deals[id]
		if d == nil {
			continue // open at a date, but the snapshot query left it out (no history row before it)
		}
		if filled[id] {
			rows.Close()
			return fail(fmt.Errorf("opportunity %q twice in fc_deal or fc_deal_supply (sql/features): each must hold one row per opportunity", id))
		}
		filled[id] = true
		for _, p := range []*string{&a.Type, &a.LeadSource, &a.Segment, &a.Account, &a.Owner, &a.Team, &a.Region, &a.Family} {
			intern(p)
		}
		a.OpportunityID, a.FirstClose, a.CreatedDay = d.OpportunityID, forecast.Day(first.Int32), forecast.Day(createdDay)
		*d = a
		if created.Valid {
			accountCreated[d] = created.Int64
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return fail(err)
	}
	if err := rows.Close(); err != nil {
		return fail(err)
	}
	if len(filled) < len(deals) {
		for id := range deals {
			if !filled[id] {
				return fail(fmt.Errorf("opportunity %q is snapshotted but not in fc_open_ids (sql/features/fc_open_ids.sql must hold every deal the snapshot query can return)", id))
			}
		}
	}

	keep := "true" // the outcomes read
	if wonOnly {
		keep = "is_won"
	}
	var (
		n      int
		first0 sql.NullInt32
	)
	if err := conn.QueryRowContext(ctx, `select count(*), min(created_day), count(*) filter (where `+keep+`) from fc_deal`).Scan(&out.Opportunities, &first0, &n); err != nil {
		return fail(err)
	}
	out.FirstCreated = forecast.Day(first0.Int32)
	var (
		outcomes = make([]forecast.Outcome, 0, n)
		last     string // the last id read, to check the order
		closed   int32
	)
	// The outcomes are sorted into a temp table, then read in pages of pageRows by rowid:
	// a table created from an ordered query keeps that order while DuckDB's
	// preserve_insertion_order is on (its default; only Load and BuildWith turn it off,
	// and back on when they return), and the ids are checked to ascend. The driver materializes a query's whole result in DuckDB
	// before the first row is read, outside what DuckDB can spill: one query of every
	// opportunity, sorted, was DuckDB's largest share of the forecast's peak (2M rows at
	// twice the large company's size), where the table can spill and a page is a few
	// hundred thousand rows. (Keyset pages, where id > last order by id limit N, need no
	// insertion order but rescan the table per page: 5.4 s against 3.0-3.5 s for 2M rows.)
	if _, err := conn.ExecContext(ctx, `create or replace temp table fc_outcomes as
		select opportunity_id, created_day, coalesce(close_day, 0) as close_day, is_won,
		coalesce(amount_base, 0) as amount_base, coalesce(owner_id, '') as owner_id, team, region, family
		from fc_deal
		where `+keep+`
		order by opportunity_id`); err != nil {
		return fail(err)
	}
	defer func() {
		// A temp table lives as long as the connection; the caller's cleanup drops it too.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `drop table if exists temp.fc_outcomes`)
	}()
	if err := conn.QueryRowContext(ctx, `select count(*) from fc_outcomes`).Scan(&n); err != nil {
		return fail(err)
	}
	for page := 0; page*pageRows < n; page++ {
		rows, err := conn.QueryContext(ctx, `select * from fc_outcomes where rowid >= ? and rowid < ?`,
			page*pageRows, (page+1)*pageRows)
		if err != nil {
			return fail(err)
		}
		for rows.Next() {
			outcomes = append(outcomes, forecast.Outcome{}) // scanned in place, as in snapshotReader.read
			o := &outcomes[len(outcomes)-1]
			if err := rows.Scan(&o.OpportunityID, &createdDay, &closed, &o.Won, &o.Amount, &o.Owner, &o.Team, &o.Region, &o.Family); err != nil {
				rows.Close()
				return fail(err)
			}
			if len(outcomes) > 1 && o.OpportunityID == last {
				rows.Close()
				return fail(fmt.Errorf("opportunity %q twice in fc_deal (sql/features): it must hold one row per opportunity", last))
			}
			if len(outcomes) > 1 && o.OpportunityID < last {
				rows.Close()
				return fail(fmt.Errorf("opportunity %q read after %q: the sorted table's rowids are not in its order (is preserve_insertion_order off?)", o.OpportunityID, last))
			}
			last = o.OpportunityID
			o.CreatedDay, o.ClosedDay = forecast.Day(createdDay), forecast.Day(closed)
			for _, p := range []*string{&o.Owner, &o.Team, &o.Region, &o.Family} {
				intern(p)
			}
			if d := deals[o.OpportunityID]; d != nil {
				o.OpportunityID = d.OpportunityID
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return fail(err)
		}
		if err := rows.Close(); err != nil {
			return fail(err)
		}
	}
	if len(outcomes) != n {
		return fail(fmt.Errorf("read %d of fc_outcomes' %d rows", len(outcomes), n))
	}
	out.Outcomes = outcomes
	return nil
}

// outcomeChunkRows is the page size of readOutcomes: a quarter of a million rows is a
// quarter of the large company's opportunities (twice the large company's: 2M rows read
// in 3.0-3.5 s in pages against 3.3-3.6 s in one query).
const outcomeChunkRows = 250_000

// internFunc returns a function that replaces *p by the first copy of its value seen.
func internFunc(strs map[string]string) func(p *string) {
	return func(p *string) {
		if v, ok := strs[*p]; ok {
			*p = v
		} else {
			strs[*p] = *p
		}
	}
}

// snapshotChunkRows bounds the (deal, date) rows of one run of the snapshot query, so
// that DuckDB's working memory does not grow with the history (the medium company's 629k
// rows in one query peaked at 3.4 GB RSS, before the forecast capped DuckDB for this step,
// Warehouse.SnapshotMemoryLimit). Each chunk probes the history of every open deal
// again, so fewer chunks are faster: on the large company (1.3M rows) 100,000-row chunks
// took 26.4 s, 200,000 23.9 s and 400,000 21.5 s, the forecast's peak RSS 1.69, 1.71 and
// 1.72 GB (its peak is the bookings simulation's); twice the large company at 400,000:
// 1.91 GB against 1.94 GB at 100,000 ('revcast forecast', refit).
const snapshotChunkRows = 400_000

// snapshotChunks splits fc_dates_all into runs of consecutive days, each with at most
// maxRows open (sampled) deals in total — a date with more is a chunk of its own — and
// returns each run's first and last day and the open deals of all dates.
func snapshotChunks(ctx context.Context, conn *sql.Conn, maxRows int64) ([][2]int32, int64, error) {
	counts, err := openPerDate(ctx, conn)
	if err != nil {
		return nil, 0, err
	}
	var chunks [][2]int32
	var n, total int64
	for _, c := range counts {
		if len(chunks) == 0 || n+c.deals > maxRows {
			chunks = append(chunks, [2]int32{c.day, c.day})
			n = 0
		}
		chunks[len(chunks)-1][1] = c.day
		n += c.deals
		total += c.deals
	}
	return chunks, total, nil
}

// dayCount is the number of open (sampled) deals at a snapshot date.
type dayCount struct {
	day   int32
	deals int64
}

// openPerDate counts the open (sampled) deals of fc_deal at each date of fc_dates_all, in
// date order: the snapshot query's open_deals condition.
func openPerDate(ctx context.Context, conn *sql.Conn) ([]dayCount, error) {
	// The open deals at instant t of a sample: those created before t (created_t < t) less
	// those created and closed before t (greatest(created_t, closed_t) < t) — a running sum
	// of +1 at each creation and -1 at each such close, read as of each date (an as-of join),
	// not a join of every deal with every date (at large 128 dates × 1M deals).
	rows, err := conn.QueryContext(ctx, `
		with dates as (
		    select day, sample_mod, cast(day as double) * 86400 as t from fc_dates_all
		),
		sampled as (
		    select x.created_t, x.closed_t, m.sample_mod
		    from fc_deal x
		    cross join (select distinct sample_mod from dates) m
		    where m.sample_mod <= 1 or hash(x.opportunity_id) % m.sample_mod = 0
		),
		events as (
		    select sample_mod, et, sum(delta) as delta
		    from (
		        select sample_mod, created_t as et, 1 as delta from sampled
		        union all
		        select sample_mod, greatest(created_t, closed_t), -1 from sampled where closed_t is not null
		    )
		    group by sample_mod, et
		),
		running as (
		    select sample_mod, et, sum(delta) over (partition by sample_mod order by et) as open_deals
		    from events
		)
		select d.day, coalesce(r.open_deals, 0)
		from dates d
		asof left join running r on r.sample_mod = d.sample_mod and r.et < d.t
		order by d.day`)
	if err != nil {
		return nil, fmt.Errorf("forecast features: count open deals per date: %w", err)
	}
	defer rows.Close()
	var out []dayCount
	for rows.Next() {
		var c dayCount
		if err := rows.Scan(&c.day, &c.deals); err != nil {
			return nil, fmt.Errorf("forecast features: count open deals per date: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// snapshotReader reads the snapshot query's rows, giving every snapshot of a deal one
// shared *forecast.Deal (its id set here, its attributes by readOutcomes).
type snapshotReader struct {
	deals map[string]*forecast.Deal
	block []forecast.Deal // Deals are allocated in blocks, not one by one
	strs  map[string]string
}

// read runs the snapshot query (sql/features/fc_snapshots.sql, ordered by day, then
// opportunity id) over the dates in fc_dates and appends the rows to out.
func (r *snapshotReader) read(ctx context.Context, conn *sql.Conn, out []forecast.Snapshot) ([]forecast.Snapshot, error) {
	q, err := featureSQL("fc_snapshots")
	if err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("forecast features: snapshots (sql/features/fc_snapshots.sql): %w", err)
	}
	defer rows.Close()
	// Stage and category values repeat millions of times at scale: keep one copy of each.
	if r.strs == nil {
		r.strs = map[string]string{}
	}
	intern := internFunc(r.strs)
	var (
		snapDate                      time.Time
		day, rank, closeDay           int32
		adv, reg, push, slip, slipTop int64
		id                            string
		prob, amount                  sql.NullFloat64
		stage, fc                     sql.NullString
		daysInStage                   sql.NullFloat64
	)
	for rows.Next() {
		// Scanned in place: a local Snapshot would escape (Scan takes pointers to its fields)
		// and cost one heap allocation per row.
		out = append(out, forecast.Snapshot{})
		s := &out[len(out)-1]
		err := rows.Scan(&snapDate, &day, &id, &stage, &rank, &prob, &closeDay, &amount, &fc,
			&daysInStage, &adv, &reg, &push, &slip, &slipTop,
			&s.DaysByRank[0], &s.DaysByRank[1], &s.DaysByRank[2], &s.DaysByRank[3], &s.DaysByRank[4], &s.DaysByRank[5],
			&s.OwnerWins, &s.OwnerClosed, &s.AccountWins, &s.AccountClosed, &s.CompanyWins, &s.CompanyClosed,
			&s.Payments, &s.MeanDaysLate, &s.OpenAR, &s.OverdueShare, &s.Overdue30Share,
			&s.Cases365, &s.Bookings365, &s.BookingsPrior365)
		if err != nil {
			return nil, fmt.Errorf("forecast features: snapshots: %w", err)
		}
		d := r.deals[id]
		if d == nil {
			if len(r.block) == 0 {
				r.block = make([]forecast.Deal, 4096)
			}
			d, r.block = &r.block[0], r.block[1:]
			d.OpportunityID = id
			r.deals[id] = d
		}
		s.Deal = d
		s.Day, s.StageRank, s.CloseDate = forecast.Day(day), rank, forecast.Day(closeDay)
		s.Stage, s.ForecastCategory = stage.String, fc.String
		s.CRMProbability, s.Amount, s.DaysInStage = prob.Float64, amount.Float64, daysInStage.Float64
		s.Advances, s.Regressions, s.Pushes, s.Slips, s.SlipsTop = int32(adv), int32(reg), int32(push), int32(slip), int32(slipTop)
		intern(&s.Stage)
		intern(&s.ForecastCategory)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("forecast features: snapshots: %w", err)
	}
	return out, nil
}
