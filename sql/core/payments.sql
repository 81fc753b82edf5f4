-- payments: incoming customer payments, amount also in the base currency (rate at payment date).
-- grain: one row per payment
-- key: payment_id
-- incremental: payment_id = staging.files__payments, staging.sap__payments, staging.netsuite__payments
-- sources: staging.files__payments, staging.sap__payments, staging.netsuite__payments, fx_rates_daily
-- Every ERP's staging model has exactly the canonical columns; a company runs one ERP per
-- legal entity, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__payments
    union all by name
    select * from staging.sap__payments
    union all by name
    select * from staging.netsuite__payments
)
select
    s.payment_id,
    s.invoice_id,
    s.customer_id,
    s.payment_date,
    s.amount,
    s.currency,
    s.modified_at,
    to_base(s.amount, s.currency, fx.rate_to_base) as amount_base,
    s._source as source,
    s.payment_id as source_id
from unioned s
left join fx_rates_daily fx on fx.currency = s.currency and fx.rate_date = least(cast(s.payment_date as date), (select max(rate_date) from fx_rates_daily))