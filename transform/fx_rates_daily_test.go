package transform_test

import (
	"slices"
	"testing"
)

// TestFxRatesDaily_MatchesAsOfJoin: the core models convert amounts by an equality join
// of fx_rates_daily on (currency, least(day, its last rate_date)); that must give every
// (currency, day) the rate an as-of join of fx_rates gives (the latest rate on or before
// the day): between rates (a gap of days), on a rate's day, before a currency's first
// rate (none), after its last rate while another currency's rates go on, far in the
// future (the open pipeline's close dates; '9999-12-31' stands for no date), a null
// rate, a null day and a currency with no rates. A null day gets the currency's last rate
// both ways: the sort-merge as-of join the warehouse forces (asof_loop_join_threshold = 0;
// DuckDB's nested-loop plan for small inputs gives none) sorts it after every date, and
// least() ignores a null. A rate dated 'infinity' is left out of fx_rates_daily (it could
// only have matched a null day).
func TestFxRatesDaily_MatchesAsOfJoin(t *testing.T) {
	_, conn := mustConn(t)
	mustExec(t, conn,
		`create temp table fx_rates (currency varchar, rate_date date, rate_to_base double)`,
		`insert into fx_rates values
			('EUR', '2026-01-05', 1.10), ('EUR', '2026-01-09', 1.12), ('EUR', '2026-02-02', 1.15),
			('GBP', '2025-12-30', 1.30), ('GBP', '2026-01-06', null), ('GBP', '2026-01-07', 1.27),
			('JPY', '2026-01-08', 0.0068), ('CHF', 'infinity', 0.9)`,
		`create temp table fx_rates_daily as `+modelSQL(t, "core/fx_rates_daily.sql"),
		`create temp table amounts as
			select currency, d::date as day
			from (values ('EUR'), ('GBP'), ('JPY'), ('CHF')) c(currency),
			     (select unnest(generate_series(date '2025-12-25', date '2026-02-10', interval 1 day)) as d
			      union all select date '2030-06-30' union all select date '9999-12-31' union all select null) days`)
	asOf := queryStrings(t, conn, `
		select a.currency || ' ' || coalesce(a.day::varchar, 'null') || ' ' || coalesce(fx.rate_to_base::varchar, 'none')
		from amounts a
		asof left join (select * from fx_rates where isfinite(rate_date)) fx on fx.currency = a.currency and a.day >= fx.rate_date
		order by all`)
	daily := queryStrings(t, conn, `
		select a.currency || ' ' || coalesce(a.day::varchar, 'null') || ' ' || coalesce(fx.rate_to_base::varchar, 'none')
		from amounts a
		left join fx_rates_daily fx on fx.currency = a.currency
			and fx.rate_date = least(cast(a.day as date), (select max(rate_date) from fx_rates_daily))
		order by all`)
	if len(asOf) != 4*(48+3) {
		t.Fatalf("%d (currency, day) rows, want %d", len(asOf), 4*(48+3))
	}
	if !slices.Equal(asOf, daily) {
		for i := range asOf {
			if i < len(daily) && asOf[i] != daily[i] {
				t.Errorf("as-of join %q, fx_rates_daily %q", asOf[i], daily[i])
			}
		}
		t.Fatalf("fx_rates_daily gives other rates than the as-of join (%d and %d rows)", len(asOf), len(daily))
	}
	// spot checks of what both say
	for _, want := range []string{"EUR 2026-01-08 1.1", "EUR 2026-01-04 none", "GBP 2026-01-06 none", "GBP 2026-02-10 1.27",
		"JPY 9999-12-31 0.0068", "EUR 2030-06-30 1.15", "CHF 2026-01-10 none", "CHF null none", "EUR null 1.15"} {
		if !slices.Contains(daily, want) {
			t.Errorf("want %q among the rates", want)
		}
	}
}
