-- opportunities: CRM opportunities in their current state, amounts also in the base currency (rate at close date).
-- grain: one row per opportunity
-- key: opportunity_id
-- incremental: opportunity_id = staging.files__opportunities, staging.salesforce__opportunity, staging.hubspot__deals, staging.dynamics__opportunities
-- sources: staging.files__opportunities, staging.salesforce__opportunity, staging.hubspot__deals, staging.dynamics__opportunities, fx_rates_daily
-- Every CRM's staging model has exactly the canonical columns; a company usually runs one
-- CRM per business unit, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__opportunities
    union all by name
    select * from staging.salesforce__opportunity
    union all by name
    select * from staging.hubspot__deals
    union all by name
    select * from staging.dynamics__opportunities
)
select
    s.opportunity_id,
    s.account_id,
    s.owner_id,
    s.name,
    s.type,
    s.stage,
    s.forecast_category,
    s.probability,
    s.amount,
    s.currency,
    s.discount_pct,
    s.close_date,
    s.created_date,
    s.is_closed,
    s.is_won,
    s.lead_source,
    s.contract_id,
    s.modified_at,
    to_base(s.amount, s.currency, fx.rate_to_base) as amount_base,
    s._source as source,
    s.opportunity_id as source_id
from unioned s
left join fx_rates_daily fx on fx.currency = s.currency and fx.rate_date = least(cast(s.close_date as date), (select max(rate_date) from fx_rates_daily))