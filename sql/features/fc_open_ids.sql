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
-- fc_snapshots joins these deals, not all of fc_deal, with each chunk's dates.
--
-- A deal is open at some date of a sample when the first date of that sample after its
-- creation is not after its close: an as-of join per deal and sample, not a join of every
-- deal with every date (the training frame has 128 dates; that join cost ~35 CPU-s at large).
with dates as (
    select sample_mod, cast(day as double) * 86400 as t
    from fc_dates_all
),
sampled as (
    select x.opportunity_id, x.created_t, x.closed_t, m.sample_mod
    from fc_deal x
    cross join (select distinct sample_mod from dates) m
    where m.sample_mod <= 1 or hash(x.opportunity_id) % m.sample_mod = 0
)
select distinct s.opportunity_id
from sampled s
asof join dates d on d.sample_mod = s.sample_mod and s.created_t < d.t
where s.closed_t is null or s.closed_t >= d.t
