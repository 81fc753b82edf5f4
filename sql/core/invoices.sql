-- invoices: customer invoices, amount also in the base currency (rate at invoice date).
-- grain: one row per billing document
-- key: invoice_id
-- sources: staging.files__invoices, fx_rates
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
from staging.files__invoices s
asof left join fx_rates fx on fx.currency = s.currency and s.invoice_date >= fx.rate_date
