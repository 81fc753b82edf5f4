-- fc_bookings: running sum of won non-renewal bookings (base currency) per account, by close day
-- grain: one row per account and close day
-- key: account_id, close_day
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
select account_id, close_day, sum(sum(amount_base)) over w as won_base
from closed where is_won and account_id is not null and type <> 'renewal'
group by account_id, close_day
window w as (partition by account_id order by close_day)
