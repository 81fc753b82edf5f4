-- sales_orders: ERP sales order headers, net value also in the base currency (rate at order date).
-- grain: one row per sales order
-- key: order_id
-- sources: staging.files__sales_orders, fx_rates
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
from staging.files__sales_orders s
asof left join fx_rates fx on fx.currency = s.currency and s.order_date >= fx.rate_date
