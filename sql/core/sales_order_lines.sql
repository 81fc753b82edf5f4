-- sales_order_lines: ERP sales order items, net amount also in the base currency (rate at order date).
-- grain: one row per order item
-- key: line_id
-- incremental: order_id = staging.files__sales_order_lines, staging.sap__sales_order_lines, staging.netsuite__sales_order_lines, sales_orders
-- sources: staging.files__sales_order_lines, staging.sap__sales_order_lines, staging.netsuite__sales_order_lines, sales_orders, fx_rates_daily
-- Every ERP's staging model has exactly the canonical columns; a company runs one ERP per
-- legal entity, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__sales_order_lines
    union all by name
    select * from staging.sap__sales_order_lines
    union all by name
    select * from staging.netsuite__sales_order_lines
)
select
    s.line_id,
    s.order_id,
    s.line_no,
    s.product_id,
    s.quantity,
    s.unit_price,
    s.net_amount,
    s.currency,
    s.plant,
    s.requested_date,
    s.rejection_reason,
    s.modified_at,
    to_base(s.net_amount, s.currency, fx.rate_to_base) as amount_base,
    s._source as source,
    s.line_id as source_id
from unioned s
left join sales_orders o on o.order_id = s.order_id
left join fx_rates_daily fx on fx.currency = s.currency and fx.rate_date = least(cast(coalesce(o.order_date, date '9999-12-31') as date), (select max(rate_date) from fx_rates_daily))