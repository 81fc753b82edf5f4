-- fc_case_count: running count of cases per account, by created date
-- grain: one row per account and created date
-- key: account_id, created_date
-- sources: cases
--
-- Built once per Snapshots call as a temp table by transform.Warehouse.Snapshots, before the
-- snapshot query runs over chunks of dates (fc_snapshots.sql joins it as of each date); it
-- depends on no snapshot date, so building it per chunk would repeat the same work.
select account_id, created_date, sum(count(*)) over (partition by account_id order by created_date) as n
from cases where account_id is not null and created_date is not null
group by account_id, created_date
