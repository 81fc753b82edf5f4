-- fc_open_ids: the opportunities the snapshot query can return: open at 00:00 UTC of some snapshot date (and in that date's sample).
-- grain: one row per opportunity
-- key: opportunity_id
-- sources: fc_dates_all, fc_deal (temp tables)
--
-- Built as a temp table by transform.Warehouse.Snapshots after fc_deal, with the condition of
-- fc_snapshots.sql's open_deals over every date (fc_dates_all, not one chunk). fc_history and
-- fc_deal_supply are built for these deals only: the nightly forecast that reuses its model
-- snapshots one date, whose open deals (large: 124,540 of 994,601) need their history and
-- stock, not the whole CRM's; a training frame sampled at large scale needs a fraction too.
select distinct x.opportunity_id
from fc_dates_all d
join fc_deal x on x.created_t < cast(d.day as double) * 86400
     and (x.closed_t is null or x.closed_t >= cast(d.day as double) * 86400)
where d.sample_mod <= 1 or hash(x.opportunity_id) % d.sample_mod = 0
