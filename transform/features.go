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
	Outcomes  []forecast.Outcome  // every opportunity, ordered by id
	// Sources says which optional inputs were used, for the run's metadata.
	Sources map[string]string
}

// Snapshots reconstructs, for every date, the opportunities open at 00:00 UTC of that date
// as they were then (sql/features/fc_snapshots.sql: state, events and days per stage from
// opportunity_history; track records, payments and receivables dated before the day), and
// reads every opportunity's outcome. The queries run on one connection as temp tables
// (fc_dates, fc_stage, fc_deal, fc_history), so a read-only warehouse works too.
//
// Optional inputs: the golden record (customers, else account_matches) maps accounts to
// ERP customers, and serving_plants says which plant ships to a country; without them the
// cross-reference on accounts, the customers on sales orders and the plants on past order
// lines are used. SnapshotData.Sources says which were used.
func (w *Warehouse) Snapshots(ctx context.Context, dates []SnapshotDate) (*SnapshotData, error) {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	out := &SnapshotData{Sources: map[string]string{}}

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
	// most frequent plant on past order lines to that country (fc_deal).
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
		if err := exec(name, "create or replace temp table "+name+" as\n"+q); err != nil {
			return nil, err
		}
	}
	if out.Outcomes, err = readOutcomes(ctx, conn); err != nil {
		return nil, err
	}
	if len(dates) > 0 {
		// The snapshot query runs over chunks of consecutive dates of at most
		// snapshotChunkRows (deal, date) rows each, so DuckDB's working memory (the history
		// join, the as-of joins) is bounded by the chunk, not by the length of the history.
		chunks, err := snapshotChunks(ctx, conn, snapshotChunkRows)
		if err != nil {
			return nil, err
		}
		for _, c := range chunks {
			if err := exec("dates", `create or replace temp table fc_dates as
				select snapshot_date, day, sample_mod from fc_dates_all where day between ? and ?`, c[0], c[1]); err != nil {
				return nil, err
			}
			if out.Snapshots, err = readSnapshots(ctx, conn, out.Snapshots); err != nil {
				return nil, err
			}
		}
	}
	for _, t := range append(slices.Clone(featureTables), "fc_dates", "fc_dates_all", "fc_account_matches", "fc_serving_plants") {
		_ = exec("cleanup", "drop table if exists temp."+t)
	}
	return out, nil
}

// MaxTrainingSnapshotRows bounds the snapshot rows read for training; larger pipelines
// are sampled by opportunity (SnapshotDate.SampleMod), so the forecast's memory stays
// bounded at any scale (1.5M rows ≈ 0.7 GB of forecast.Snapshot).
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
// snapshot query (fc_snapshots.sql) runs over chunks of dates: the deals, their history
// and the date-independent track records the snapshot query joins as of each date.
var featureTables = []string{"fc_stage", "fc_deal", "fc_history",
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

func readOutcomes(ctx context.Context, conn *sql.Conn) ([]forecast.Outcome, error) {
	rows, err := conn.QueryContext(ctx, `select opportunity_id, created_day, coalesce(close_day, 0), is_won,
		coalesce(amount_base, 0), coalesce(owner_id, ''), team, region, family
		from fc_deal order by opportunity_id`)
	if err != nil {
		return nil, fmt.Errorf("forecast features: outcomes: %w", err)
	}
	defer rows.Close()
	var out []forecast.Outcome
	for rows.Next() {
		var o forecast.Outcome
		var created, closed int32
		if err := rows.Scan(&o.OpportunityID, &created, &closed, &o.Won, &o.Amount, &o.Owner, &o.Team, &o.Region, &o.Family); err != nil {
			return nil, fmt.Errorf("forecast features: outcomes: %w", err)
		}
		o.CreatedDay, o.ClosedDay = forecast.Day(created), forecast.Day(closed)
		out = append(out, o)
	}
	return out, rows.Err()
}

// snapshotChunkRows bounds the (deal, date) rows of one run of the snapshot query. At
// 100,000 rows DuckDB's peak stays a few hundred MB (measured on the medium company:
// 629k rows in one query peaked at 3.4 GB RSS), while the per-chunk overhead (the
// track-record windows, recomputed per chunk, ~0.1 s each) stays small.
const snapshotChunkRows = 100_000

// snapshotChunks splits fc_dates_all into runs of consecutive days, each with at most
// maxRows open (sampled) deals in total — a date with more is a chunk of its own — and
// returns each run's first and last day.
func snapshotChunks(ctx context.Context, conn *sql.Conn, maxRows int64) ([][2]int32, error) {
	rows, err := conn.QueryContext(ctx, `
		select d.day, count(x.opportunity_id)
		from fc_dates_all d
		left join fc_deal x on x.created_t < cast(d.day as double) * 86400
		     and (x.closed_t is null or x.closed_t >= cast(d.day as double) * 86400)
		     and (d.sample_mod <= 1 or hash(x.opportunity_id) % d.sample_mod = 0)
		group by d.day order by d.day`)
	if err != nil {
		return nil, fmt.Errorf("forecast features: count open deals per date: %w", err)
	}
	defer rows.Close()
	var chunks [][2]int32
	var n int64
	for rows.Next() {
		var day int32
		var k int64
		if err := rows.Scan(&day, &k); err != nil {
			return nil, fmt.Errorf("forecast features: count open deals per date: %w", err)
		}
		if len(chunks) == 0 || n+k > maxRows {
			chunks = append(chunks, [2]int32{day, day})
			n = 0
		}
		chunks[len(chunks)-1][1] = day
		n += k
	}
	return chunks, rows.Err()
}

// readSnapshots runs the snapshot query over the dates in fc_dates and appends the rows
// to out.
func readSnapshots(ctx context.Context, conn *sql.Conn, out []forecast.Snapshot) ([]forecast.Snapshot, error) {
	q, err := featureSQL("fc_snapshots")
	if err != nil {
		return nil, err
	}
	// Static attributes are joined here rather than carried through the snapshot query.
	q = `with f as (` + q + `)
select f.*, x.type, x.lead_source, x.segment, coalesce(x.owner_id, ''), x.team, x.region,
       coalesce(x.account_id, ''), x.family, x.discount, x.short_share, x.uncovered_share, x.auto_renew, x.is_renewal_contract,
       cast(f.snapshot_date - x.account_created_date as double), x.created_day, x.first_close_day
from f join fc_deal x on x.opportunity_id = f.opportunity_id
order by f.day, f.opportunity_id`
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("forecast features: snapshots (sql/features/fc_snapshots.sql): %w", err)
	}
	defer rows.Close()
	// Categorical values repeat millions of times at scale: keep one copy of each.
	strs := map[string]string{}
	intern := func(p *string) {
		if v, ok := strs[*p]; ok {
			*p = v
		} else {
			strs[*p] = *p
		}
	}
	var (
		snapDate                      time.Time
		day, rank, closeDay           int32
		adv, reg, push, slip, slipTop int64
		tenure                        sql.NullFloat64
		created, firstClose           int32
		prob, amount                  sql.NullFloat64
		stage, fc                     sql.NullString
		daysInStage                   sql.NullFloat64
	)
	for rows.Next() {
		var s forecast.Snapshot
		err := rows.Scan(&snapDate, &day, &s.OpportunityID, &stage, &rank, &prob, &closeDay, &amount, &fc,
			&daysInStage, &adv, &reg, &push, &slip, &slipTop,
			&s.DaysByRank[0], &s.DaysByRank[1], &s.DaysByRank[2], &s.DaysByRank[3], &s.DaysByRank[4], &s.DaysByRank[5],
			&s.OwnerWins, &s.OwnerClosed, &s.AccountWins, &s.AccountClosed, &s.CompanyWins, &s.CompanyClosed,
			&s.Payments, &s.MeanDaysLate, &s.OpenAR, &s.OverdueShare, &s.Overdue30Share,
			&s.Cases365, &s.Bookings365, &s.BookingsPrior365,
			&s.Type, &s.LeadSource, &s.Segment, &s.Owner, &s.Team, &s.Region, &s.Account, &s.Family,
			&s.Discount, &s.ShortShare, &s.UncoveredShare, &s.AutoRenew, &s.IsRenewal, &tenure, &created, &firstClose)
		if err != nil {
			return nil, fmt.Errorf("forecast features: snapshots: %w", err)
		}
		s.Day, s.StageRank, s.CloseDate = forecast.Day(day), int(rank), forecast.Day(closeDay)
		s.Stage, s.ForecastCategory = stage.String, fc.String
		s.CRMProbability, s.Amount, s.DaysInStage = prob.Float64, amount.Float64, daysInStage.Float64
		s.Advances, s.Regressions, s.Pushes, s.Slips, s.SlipsTop = int(adv), int(reg), int(push), int(slip), int(slipTop)
		s.AccountTenureDays = tenure.Float64
		for _, p := range []*string{&s.Stage, &s.ForecastCategory, &s.Type, &s.LeadSource, &s.Segment, &s.Owner, &s.Team, &s.Region, &s.Account, &s.Family} {
			intern(p)
		}
		s.CreatedDay, s.FirstClose = forecast.Day(created), forecast.Day(firstClose)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("forecast features: snapshots: %w", err)
	}
	return out, nil
}
