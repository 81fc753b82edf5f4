package transform

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// TestSnapshotChunks_CountsOpenDeals: the running-sum count of open deals per date equals
// the count of a join of every deal with every date, for deals created and closed on,
// before and after the dates, never closed, closed before created (bad data), and for two
// samples.
func TestSnapshotChunks_CountsOpenDeals(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
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
