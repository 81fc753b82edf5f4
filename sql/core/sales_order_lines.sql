-- sales_order_lines: ERP sales order items, net amount also in the base currency (rate at order date).
-- grain: one row per order item
-- key: line_id
-- sources: staging.files__sales_order_lines, fx_rates, staging.files__sales_orders
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
from staging.files__sales_order_lines s
left join staging.files__sales_orders o using (order_id)
asof left join fx_rates fx on fx.currency = s.currency and coalesce(o.order_date, date '9999-12-31') >= fx.rate_date
