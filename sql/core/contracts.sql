-- contracts: subscription contracts, annual value also in the base currency (rate at start date).
-- grain: one row per contract term
-- key: contract_id
-- incremental: contract_id = staging.files__contracts, staging.salesforce__contract
-- sources: staging.files__contracts, staging.salesforce__contract, fx_rates_daily
-- Every CRM's staging model has exactly the canonical columns; a company usually runs one
-- CRM per business unit, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__contracts
    union all by name
    select * from staging.salesforce__contract
)
select
    s.contract_id,
    s.account_id,
    s.customer_id,
    s.product_family,
    s.start_date,
    s.end_date,
    s.annual_value,
    s.currency,
    s.status,
    s.renewal_of,
    s.auto_renew,
    s.modified_at,
    to_base(s.annual_value, s.currency, fx.rate_to_base) as annual_value_base,
    s._source as source,
    s.contract_id as source_id
from unioned s
left join fx_rates_daily fx on fx.currency = s.currency and fx.rate_date = least(cast(s.start_date as date), (select max(rate_date) from fx_rates_daily))