-- opportunity_lines: CRM opportunity line items, total also in the base currency (rate at the opportunity's close date).
-- grain: one row per line item
-- key: line_id
-- sources: staging.files__opportunity_lines, fx_rates, staging.files__opportunities
select
    s.line_id,
    s.opportunity_id,
    s.product_id,
    s.quantity,
    s.unit_price,
    s.list_price,
    s.total_price,
    s.currency,
    s.modified_at,
    to_base(s.total_price, s.currency, fx.rate_to_base) as amount_base,
    s._source as source,
    s.line_id as source_id
from staging.files__opportunity_lines s
left join staging.files__opportunities o using (opportunity_id)
asof left join fx_rates fx on fx.currency = s.currency and coalesce(o.close_date, date '9999-12-31') >= fx.rate_date
