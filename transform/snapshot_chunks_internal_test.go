package transform

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/revcast/revcast/models/forecast"
)

// tempConn opens a fresh warehouse and one connection to it (temp tables live on it),
// closed when the test ends.
func tempConn(t *testing.T) *sql.Conn {
	t.Helper()
	ctx := context.Background()
	w, err := Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestSnapshotChunks_CountsOpenDeals: the running-sum count of open deals per date equals
// the count of a join of every deal with every date, for deals created and closed on,
// before and after the dates, never closed, closed before created (bad data), and for two
// samples.
func TestSnapshotChunks_CountsOpenDeals(t *testing.T) {
	ctx := context.Background()
	conn := tempConn(t)
	if _, err := conn.ExecContext(ctx, `
		create temp table fc_dates_all as
		select * from (values (date '1970-01-11', 10, 1), (date '1970-01-13', 12, 1), (date '1970-01-16', 15, 1),
		                      (date '1970-01-21', 20, 3), (date '1970-01-26', 25, 3)) v(snapshot_date, day, sample_mod);
		create temp table fc_deal as
		select 'o' || i as opportunity_id,
		       cast((i * 7919) % (30 * 86400) as double) as created_t,
		       case when i % 5 = 0 then null
		            when i % 11 = 0 then cast((i * 7919) % (30 * 86400) as double) - 86400   -- closed before created
		            when i % 13 = 0 then cast(12 * 86400 as double)                             -- closed at a date's instant
		            else cast((i * 7919) % (30 * 86400) + (i % 9) * 86400 as double) end as closed_t
		from range(1, 3000) r(i)
		union all select 'at', cast(10 * 86400 as double), null   -- created at a date's instant: not open then`); err != nil {
		t.Fatal(err)
	}
	got, err := openPerDate(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(ctx, `
		select d.day, count(x.opportunity_id) from fc_dates_all d
		left join fc_deal x on x.created_t < d.day * 86400.0 and (x.closed_t is null or x.closed_t >= d.day * 86400.0)
		     and (d.sample_mod <= 1 or hash(x.opportunity_id) % d.sample_mod = 0)
		group by d.day order by d.day`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var want []dayCount
	for rows.Next() {
		var c dayCount
		if err := rows.Scan(&c.day, &c.deals); err != nil {
			t.Fatal(err)
		}
		want = append(want, c)
	}
	if !slices.Equal(got, want) || len(want) != 5 {
		t.Errorf("open deals per date:\n got %v\nwant %v", got, want)
	}
	chunks, total, err := snapshotChunks(ctx, conn, want[0].deals+want[1].deals)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, c := range want {
		sum += c.deals
	}
	if total != sum || len(chunks) < 2 || chunks[0] != [2]int32{10, 12} {
		t.Errorf("chunks %v (total %d), want the first two dates together and %d in all", chunks, total, sum)
	}
}

// TestReadOutcomes_Pages: the outcomes read in pages are every deal of fc_deal once, in id
// order, with the same values as read in one page, and the snapshotted deals get their
// attributes (fc_deal holds 300,000 deals, several of DuckDB's row groups written in
// parallel, in no particular order; one has no supply row). Read won only, they are the
// won deals' of those, the same values, with the same count of deals, first created day
// and attributes. A deal twice in fc_deal_supply, and a snapshotted deal missing from
// fc_open_ids (whose attributes are read apart), are errors that say so.
func TestReadOutcomes_Pages(t *testing.T) {
	ctx := context.Background()
	conn := tempConn(t)
	if _, err := conn.ExecContext(ctx, `
		create temp table fc_deal as
		select 'o' || ((i * 7919) % 300000) as opportunity_id, 20000 + i % 50 as created_day,
		       case when i % 3 = 0 then null else 20100 + i % 7 end as close_day, i % 3 = 1 as is_won,
		       i * 10.5 as amount_base, 'u' || i % 17 as owner_id, 't' || i % 5 as team, 'r' || i % 3 as region,
		       'f' || i % 4 as family, 'new' as type, 'web' as lead_source, 'mid' as segment,
		       'a' || i % 90 as account_id, 0.1 as discount, i % 2 = 0 as auto_renew, false as is_renewal_contract,
		       case when i % 4 = 0 then null else date '2020-01-01' + cast(i as integer) end as account_created_date,
		       20000 + i % 60 as first_close_day
		from range(0, 300000) r(i);
		create temp table fc_deal_supply as
		select opportunity_id, 0.25 as short_share, 0.5 as uncovered_share from fc_deal where opportunity_id <> 'o5';
		-- the deals the snapshots can hold: a superset of those snapshotted
		create temp table fc_open_ids as
		select opportunity_id from fc_deal where opportunity_id in ('o5', 'o42') or opportunity_id like '%7'`); err != nil {
		t.Fatal(err)
	}
	created := map[*forecast.Deal]int64{}
	read := func(pageRows int, wonOnly bool) (*SnapshotData, map[string]*forecast.Deal) {
		t.Helper()
		deals := map[string]*forecast.Deal{"o5": {OpportunityID: "o5"}, "o42": {OpportunityID: "o42"}}
		var out SnapshotData
		if err := readOutcomes(ctx, conn, deals, created, pageRows, wonOnly, &out); err != nil {
			t.Fatal(err)
		}
		return &out, deals
	}
	all, _ := read(1_000_000, false)
	one := all.Outcomes
	data, deals := read(100_003, false)
	paged := data.Outcomes
	if len(one) != 300_000 || !slices.Equal(one, paged) {
		t.Fatalf("%d outcomes in one page, %d in pages of 100,003 (equal: %v), want 300,000 equal", len(one), len(paged), slices.Equal(one, paged))
	}
	if !slices.IsSortedFunc(paged, func(a, b forecast.Outcome) int { return strings.Compare(a.OpportunityID, b.OpportunityID) }) {
		t.Error("outcomes not in id order")
	}
	if data.Opportunities != 300_000 || data.FirstCreated != 20000 {
		t.Errorf("%d opportunities first created on day %d, want 300,000 and 20000", data.Opportunities, data.FirstCreated)
	}
	if d := deals["o42"]; d.Owner == "" || d.Team == "" || d.Region == "" || d.Family == "" || d.ShortShare != 0.25 || d.UncoveredShare != 0.5 || d.Type != "new" || d.Account == "" || d.FirstClose == 0 || d.CreatedDay == 0 {
		t.Errorf("o42's attributes %+v, want its owner, team, region, family, type, account, first close, created day and supply shares 0.25, 0.5", *d)
	}
	// The same attributes as its outcome carries.
	if i, ok := slices.BinarySearchFunc(one, "o42", func(o forecast.Outcome, id string) int { return strings.Compare(o.OpportunityID, id) }); !ok {
		t.Error("o42 has no outcome")
	} else if d, o := deals["o42"], one[i]; d.CreatedDay != o.CreatedDay || d.Owner != o.Owner || d.Team != o.Team || d.Region != o.Region || d.Family != o.Family {
		t.Errorf("o42's attributes %+v differ from its outcome %+v", *d, o)
	}
	// Won only: the won deals' outcomes, as read in full; the same count, first day and
	// attributes.
	wonData, wonDeals := read(100_003, true)
	var want []forecast.Outcome
	for _, o := range one {
		if o.Won {
			want = append(want, o)
		}
	}
	if len(want) != 100_000 || !slices.Equal(wonData.Outcomes, want) {
		t.Errorf("won only: %d outcomes (equal to the won of all: %v), want %d", len(wonData.Outcomes), slices.Equal(wonData.Outcomes, want), len(want))
	}
	if wonData.Opportunities != 300_000 || wonData.FirstCreated != 20000 || *wonDeals["o42"] != *deals["o42"] {
		t.Errorf("won only: %d opportunities, first created %d, o42 %+v; want 300,000, 20000 and %+v", wonData.Opportunities, wonData.FirstCreated, *wonDeals["o42"], *deals["o42"])
	}
	// Its account created date, when it has one, in days since 1970-01-01.
	var wantCreated sql.NullInt64
	if err := conn.QueryRowContext(ctx, `select account_created_date - date '1970-01-01' from fc_deal where opportunity_id = 'o42'`).Scan(&wantCreated); err != nil {
		t.Fatal(err)
	}
	if got, ok := created[deals["o42"]]; ok != wantCreated.Valid || got != wantCreated.Int64 {
		t.Errorf("o42's account created day %d (set: %v), want %v", got, ok, wantCreated)
	}
	if d := deals["o5"]; d.Owner == "" || d.ShortShare != 0 {
		t.Errorf("o5 (no supply row): %+v, want its owner and no shortage", *d)
	}
	if _, err := conn.ExecContext(ctx, `insert into fc_deal_supply values ('o42', 0.5, 0.5)`); err != nil {
		t.Fatal(err)
	}
	if err := readOutcomes(ctx, conn, map[string]*forecast.Deal{"o42": {OpportunityID: "o42"}}, map[*forecast.Deal]int64{}, 100_003, false, &SnapshotData{}); err == nil || !strings.Contains(err.Error(), `"o42" twice`) {
		t.Errorf("o42 twice in fc_deal_supply: error %v, want one naming it", err)
	}
	// A snapshotted deal fc_open_ids lacks is an error: its attributes would be zero.
	if err := readOutcomes(ctx, conn, map[string]*forecast.Deal{"o8": {OpportunityID: "o8"}}, map[*forecast.Deal]int64{}, 100_003, false, &SnapshotData{}); err == nil || !strings.Contains(err.Error(), `"o8" is snapshotted but not in fc_open_ids`) {
		t.Errorf("o8 snapshotted, not in fc_open_ids: error %v, want one naming it", err)
	}
}
