-- opportunity_lines: CRM opportunity line items, total also in the base currency (rate at the opportunity's close date).
-- grain: one row per line item
-- key: line_id
-- incremental: opportunity_id = staging.files__opportunity_lines, staging.salesforce__opportunity_line_item, opportunities
-- sources: staging.files__opportunity_lines, staging.salesforce__opportunity_line_item, opportunities, fx_rates_daily
-- Every CRM's staging model has exactly the canonical columns; a company usually runs one
-- CRM per business unit, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__opportunity_lines
    union all by name
    select * from staging.salesforce__opportunity_line_item
)
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
from unioned s
left join opportunities o on o.opportunity_id = s.opportunity_id
left join fx_rates_daily fx on fx.currency = s.currency and fx.rate_date = least(cast(coalesce(o.close_date, date '9999-12-31') as date), (select max(rate_date) from fx_rates_daily))