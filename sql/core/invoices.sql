-- invoices: customer invoices, amount also in the base currency (rate at invoice date).
-- grain: one row per billing document
-- key: invoice_id
-- incremental: invoice_id = staging.files__invoices, staging.sap__invoices, staging.netsuite__invoices
-- sources: staging.files__invoices, staging.sap__invoices, staging.netsuite__invoices, fx_rates_daily
-- Every ERP's staging model has exactly the canonical columns; a company runs one ERP per
-- legal entity, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__invoices
    union all by name
    select * from staging.sap__invoices
    union all by name
    select * from staging.netsuite__invoices
)
select
    s.invoice_id,
    s.order_id,
    s.customer_id,
    s.invoice_date,
    s.due_date,
    s.amount,
    s.currency,
    s.is_cancelled,
    s.modified_at,
    to_base(s.amount, s.currency, fx.rate_to_base) as amount_base,
    s._source as source,
    s.invoice_id as source_id
from unioned s
left join fx_rates_daily fx on fx.currency = s.currency and fx.rate_date = least(cast(s.invoice_date as date), (select max(rate_date) from fx_rates_daily))