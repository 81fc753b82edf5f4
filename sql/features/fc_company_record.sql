-- fc_company_record: running count of closed and won deals of the company, by close day
-- grain: one row per close day
-- key: close_day
-- sources: fc_deal (temp)
--
-- Built once per Snapshots call as a temp table by transform.Warehouse.Snapshots, before the
-- snapshot query runs over chunks of dates (fc_snapshots.sql joins it as of each date); it
-- depends on no snapshot date, so building it per chunk would repeat the same work.
with closed as (
    select owner_id, account_id, close_day, is_won, amount_base, type
    from fc_deal
    where close_day is not null
)
select close_day, sum(sum(is_won::int)) over w as wins, sum(count(*)) over w as n
from closed
group by close_day
window w as (order by close_day)
