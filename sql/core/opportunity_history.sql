-- opportunity_history: opportunity state over time: each row holds from valid_from until valid_to (null: still current).
-- grain: one row per opportunity state
-- key: history_id
-- incremental: opportunity_id = staging.files__opportunity_history, staging.salesforce__opportunity_history, opportunities
-- sources: staging.files__opportunity_history, staging.salesforce__opportunity_history, opportunities, fx_rates_daily
-- Every CRM's staging model has exactly the canonical columns; a company usually runs one
-- CRM per business unit, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__opportunity_history
    union all by name
    select * from staging.salesforce__opportunity_history
)
select
    s.history_id,
    s.opportunity_id,
    s.valid_from,
    s.valid_to,
    s.stage,
    s.probability,
    s.amount,
    s.close_date,
    s.forecast_category,
    s.modified_at,
    to_base(s.amount, o.currency, fx.rate_to_base) as amount_base,
    s._source as source,
    s.history_id as source_id
from unioned s
left join opportunities o on o.opportunity_id = s.opportunity_id
left join fx_rates_daily fx on fx.currency = o.currency and fx.rate_date = least(cast(s.valid_from as date), (select max(rate_date) from fx_rates_daily))