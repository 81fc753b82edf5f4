package transform_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/revcast/revcast/transform"
)

// opps is a Salesforce-like Opportunity file: id, name, amount, the field revcast writes
// back, Salesforce's write stamps (day d of ts) and IsDeleted, typed as the connector lands them.
func opps(rows ...string) string {
	return `select Id, Name, Amount::decimal(18,2) as Amount, Revcast_Win_Probability__c::double as Revcast_Win_Probability__c, ` + ts(0) + ` + to_days(d) as LastModifiedDate,
		` + ts(0) + ` + to_days(d) as SystemModstamp, false as IsDeleted
		from (values ` + strings.Join(rows, ", ") + `) v(Id, Name, Amount, Revcast_Win_Probability__c, d)`
}

// TestLoad_Echo: versions that differ from the record's latest loaded version only in the
// fields revcast writes back and in Salesforce's write stamps go to raw.<table>__echo; every
// other version — a real change, an undelete, a late older version, a version that drops a
// column, a new record — goes to raw.<table>. A source without a rule loads everything.
func TestLoad_Echo(t *testing.T) {
	ctx := context.Background()
	rule := transform.EchoRule{Key: "Id", Order: "SystemModstamp", Ignore: []string{"Revcast_Win_Probability__c", "LastModifiedDate"}}
	withRule := []transform.LakeSource{{Name: "sf", Type: "salesforce", Echo: map[string]transform.EchoRule{"opportunity": rule}}}
	noRule := []transform.LakeSource{{Name: "sf", Type: "salesforce"}}

	type batch struct {
		files      map[string]string // lake stream → select
		rows, echo int64             // want
		echoIDs    string            // want: the ids set aside, sorted, comma-separated
	}
	batches := []batch{
		{files: map[string]string{"opportunity": opps(`('A', 'Acme', 100.0, null, 1)`, `('B', 'Globex', 200.0, null, 1)`,
			`('C', 'Initech', 300.0, null, 1)`, `('E', 'Hooli', 500.0, null, 2)`)}, rows: 4},
		{files: map[string]string{
			"opportunity__deleted": tombstones(`('C', ` + ts(2) + `)`),
			"opportunity": opps(
				`('A', 'Acme', 100.0, 41.5, 3)`,    // revcast wrote its field: echo
				`('B', 'Globex', 250.0, 12.0, 3)`,  // the amount changed too: a change
				`('C', 'Initech', 300.0, null, 3)`, // deleted at day 2, back unchanged: an undelete
				`('D', 'Umbrella', 50.0, null, 3)`, // new
				`('E', 'Hooli', 500.0, null, 1)`),  // older than the loaded version: late, kept
		}, rows: 4, echo: 1, echoIDs: "A"},
		// A again: compared with its latest version in raw.salesforce__opportunity (day 1), not
		// with the echo; E equal to its latest version apart from the stamps: an echo too.
		{files: map[string]string{"opportunity": opps(`('A', 'Acme', 100.0, 39.0, 4)`, `('E', 'Hooli', 500.0, null, 4)`)},
			echo: 2, echoIDs: "A,E"},
		// A file without the Name column: the value went away, a change.
		{files: map[string]string{"opportunity": `select 'A' as Id, 100.0::decimal(18,2) as Amount, 39.0::double as Revcast_Win_Probability__c,
			` + ts(5) + ` as LastModifiedDate, ` + ts(5) + ` as SystemModstamp, false as IsDeleted`}, rows: 1},
		// New records F and G.
		{files: map[string]string{"opportunity": opps(`('F', 'Fox', 100.0, null, 1)`, `('G', 'Gator', 100.0, null, 1)`)}, rows: 2},
		// F changed and changed back, both in one batch: two changes, though the second
		// equals F's loaded version. G: an echo.
		{files: map[string]string{"opportunity": opps(`('F', 'Fox', 200.0, null, 2)`, `('F', 'Fox', 100.0, 12.5, 3)`,
			`('G', 'Gator', 100.0, 30.0, 4)`)}, rows: 2, echo: 1, echoIDs: "G"},
		// G's late version, older than its echo: a change, and the echo goes back to the raw
		// table, so G's latest there is the day-4 one again.
		{files: map[string]string{"opportunity": opps(`('G', 'Gator', 200.0, null, 3)`)}, rows: 1},
	}
	w := mustOpen(t)
	plain := mustOpen(t)
	lake := t.TempDir()
	for i, b := range batches {
		for stream, q := range b.files {
			landParquet(t, w, lake, "sf", stream, fmt.Sprintf("r%d-000001.parquet", i+1), q)
		}
		res, err := w.Load(ctx, lake, withRule)
		if err != nil {
			t.Fatalf("batch %d: %v", i+1, err)
		}
		if got := res.Tables["salesforce__opportunity"]; got != b.rows || res.Echoes != b.echo {
			t.Errorf("batch %d: loaded %d rows and %d echoes, want %d and %d", i+1, got, res.Echoes, b.rows, b.echo)
		}
		if b.echo > 0 {
			var ids string
			q := fmt.Sprintf(`select string_agg(Id, ',' order by Id) from raw.salesforce__opportunity__echo where _file like '%%/r%d-%%'`, i+1)
			if err := w.DB.QueryRow(q).Scan(&ids); err != nil {
				t.Fatal(err)
			}
			if ids != b.echoIDs {
				t.Errorf("batch %d: echoes %s, want %s", i+1, ids, b.echoIDs)
			}
		}
		// Without a rule, every version is loaded.
		res, err = plain.Load(ctx, lake, noRule)
		if err != nil {
			t.Fatal(err)
		}
		if want := b.rows + b.echo; res.Tables["salesforce__opportunity"] != want || res.Echoes != 0 {
			t.Errorf("batch %d without a rule: loaded %d rows and %d echoes, want %d and 0", i+1, res.Tables["salesforce__opportunity"], res.Echoes, want)
		}
	}
	latest := func(id string) (amount float64, day int64) {
		t.Helper()
		if err := w.DB.QueryRow(`select Amount::double, date_diff('day', `+ts(0)+`, SystemModstamp) from raw.salesforce__opportunity
			where Id = ? order by SystemModstamp desc, _file desc limit 1`, id).Scan(&amount, &day); err != nil {
			t.Fatal(err)
		}
		return amount, day
	}
	if a, d := latest("F"); a != 100 || d != 3 {
		t.Errorf("F's latest raw version: amount %v on day %d, want 100 on day 3", a, d)
	}
	if a, d := latest("G"); a != 100 || d != 4 {
		t.Errorf("G's latest raw version: amount %v on day %d, want 100 on day 4 (the echo back)", a, d)
	}
	if n := count(t, w, `select count(*) from raw.salesforce__opportunity__echo where Id = 'G'`); n != 0 {
		t.Errorf("G's echo is still in the echo table (%d rows)", n)
	}
	// Nothing lost: every landed row is in the raw table or its echo table, once.
	if got, want := count(t, w, `select (select count(*) from raw.salesforce__opportunity) + (select count(*) from raw.salesforce__opportunity__echo)`),
		count(t, plain, `select count(*) from raw.salesforce__opportunity`); got != want {
		t.Errorf("rows in raw and echo tables: %d, want %d (all landed)", got, want)
	}
}
