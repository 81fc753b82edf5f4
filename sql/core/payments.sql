-- payments: incoming customer payments, amount also in the base currency (rate at payment date).
-- grain: one row per payment
-- key: payment_id
-- sources: staging.files__payments, fx_rates
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
from staging.files__payments s
asof left join fx_rates fx on fx.currency = s.currency and s.payment_date >= fx.rate_date
