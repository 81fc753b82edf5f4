-- sales_orders: ERP sales order headers, net value also in the base currency (rate at order date).
-- grain: one row per sales order
-- key: order_id
-- incremental: order_id = staging.files__sales_orders, staging.sap__sales_orders, staging.netsuite__sales_orders
-- sources: staging.files__sales_orders, staging.sap__sales_orders, staging.netsuite__sales_orders, fx_rates_daily
-- Every ERP's staging model has exactly the canonical columns; a company runs one ERP per
-- legal entity, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__sales_orders
    union all by name
    select * from staging.sap__sales_orders
    union all by name
    select * from staging.netsuite__sales_orders
)
select
    s.order_id,
    s.customer_id,
    s.opportunity_id,
    s.order_date,
    s.requested_date,
    s.status,
    s.delivery_status,
    s.credit_block,
    s.rejection_reason,
    s.amount,
    s.currency,
    s.modified_at,
    to_base(s.amount, s.currency, fx.rate_to_base) as amount_base,
    s._source as source,
    s.order_id as source_id
from unioned s
left join fx_rates_daily fx on fx.currency = s.currency and fx.rate_date = least(cast(s.order_date as date), (select max(rate_date) from fx_rates_daily))