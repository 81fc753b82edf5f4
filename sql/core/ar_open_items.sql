-- ar_open_items: open receivable items, open amount also in the base currency (rate at posting date).
-- grain: one row per open item
-- key: item_id
-- incremental: item_id = staging.files__ar_open_items, staging.sap__ar_open_items, staging.netsuite__ar_open_items
-- sources: staging.files__ar_open_items, staging.sap__ar_open_items, staging.netsuite__ar_open_items, fx_rates_daily
-- Every ERP's staging model has exactly the canonical columns; a company runs one ERP per
-- legal entity, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__ar_open_items
    union all by name
    select * from staging.sap__ar_open_items
    union all by name
    select * from staging.netsuite__ar_open_items
)
select
    s.item_id,
    s.invoice_id,
    s.customer_id,
    s.posting_date,
    s.due_date,
    s.original_amount,
    s.open_amount,
    s.currency,
    s.is_disputed,
    s.modified_at,
    to_base(s.open_amount, s.currency, fx.rate_to_base) as open_amount_base,
    to_base(s.original_amount, s.currency, fx.rate_to_base) as original_amount_base,
    s._source as source,
    s.item_id as source_id
from unioned s
left join fx_rates_daily fx on fx.currency = s.currency and fx.rate_date = least(cast(coalesce(s.posting_date, s.due_date) as date), (select max(rate_date) from fx_rates_daily))