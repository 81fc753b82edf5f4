-- credit_alerts: ERP customers over their credit limit, with receivables more than 60 or 90 days past due, or on credit hold — with the open pipeline their CRM accounts have at stake.
-- grain: one row per ERP customer with at least one reason
-- key: customer_id
-- sources: erp_customers, ar_open_items, sales_orders, fx_rates, customers, opportunities, meta.settings
--
-- exposure_base: the customer's open items (credits from unapplied payments included) at the
-- as_of rate, against credit_limit_base (the limit at the as_of rate): over_limit when exposure
-- exceeds it. past_due_61_90_base / past_due_90_plus_base: open debit items that many days past
-- their net due date as of as_of (ar_aging's buckets). credit_blocked: the ERP's credit hold,
-- blocked_orders its orders waiting with credit_block.
-- reasons lists over_limit, past_due_90, past_due_60 (61-90 days), credit_blocked.
-- open_pipeline_base / open_opportunities: open deals of the customer's CRM accounts (golden
-- record) — what a credit hold puts at risk.
-- severity: high for a credit hold, items 90+ days past due or exposure 20% over the limit; else medium.
with settings as (
    select as_of, base_currency from meta.settings
),
latest_rates as (
    select r.currency, arg_max(r.rate_to_base, r.rate_date) as rate_to_base
    from fx_rates r
    cross join settings s
    where r.rate_date <= s.as_of
    group by r.currency
),
exposure as (
    select
        i.customer_id,
        sum(i.open_amount * case when i.currency = s.base_currency then 1 else r.rate_to_base end) as exposure_base,
        sum(i.open_amount_base) filter (where i.open_amount > 0 and date_diff('day', i.due_date, s.as_of) between 61 and 90) as past_due_61_90_base,
        sum(i.open_amount_base) filter (where i.open_amount > 0 and date_diff('day', i.due_date, s.as_of) > 90) as past_due_90_plus_base,
        max(date_diff('day', i.due_date, s.as_of)) filter (where i.open_amount > 0) as oldest_days_past_due
    from ar_open_items i
    cross join settings s
    left join latest_rates r on r.currency = i.currency
    group by i.customer_id
),
held_orders as (
    select customer_id, count(*) as blocked_orders, sum(amount_base) as blocked_orders_base
    from sales_orders
    where credit_block and status not in ('completed', 'cancelled')
    group by customer_id
),
pipeline as (
    select g.erp_customer_id as customer_id, count(*) as open_opportunities, sum(o.amount_base) as open_pipeline_base
    from (select erp_customer_id, unnest(account_ids) as account_id from customers where in_erp) g
    join opportunities o on o.account_id = g.account_id
    where not o.is_closed
    group by g.erp_customer_id
),
assessed as (
    select
        c.customer_id,
        c.customer_name,
        c.country,
        c.currency,
        cast(c.credit_limit * case when c.currency = s.base_currency then 1 else r.rate_to_base end as decimal(18, 2)) as credit_limit_base,
        cast(coalesce(e.exposure_base, 0) as decimal(18, 2)) as exposure_base,
        coalesce(e.past_due_61_90_base, 0) as past_due_61_90_base,
        coalesce(e.past_due_90_plus_base, 0) as past_due_90_plus_base,
        e.oldest_days_past_due,
        coalesce(c.credit_blocked, false) as credit_blocked,
        coalesce(h.blocked_orders, 0) as blocked_orders,
        coalesce(h.blocked_orders_base, 0) as blocked_orders_base,
        coalesce(p.open_opportunities, 0) as open_opportunities,
        coalesce(p.open_pipeline_base, 0) as open_pipeline_base,
        s.as_of
    from erp_customers c
    cross join settings s
    left join latest_rates r on r.currency = c.currency
    left join exposure e on e.customer_id = c.customer_id
    left join held_orders h on h.customer_id = c.customer_id
    left join pipeline p on p.customer_id = c.customer_id
),
flagged as (
    select
        a.*,
        a.credit_limit_base is not null and a.exposure_base > a.credit_limit_base as over_limit,
        list_filter([
            case when a.credit_limit_base is not null and a.exposure_base > a.credit_limit_base then 'over_limit' end,
            case when a.past_due_90_plus_base > 0 then 'past_due_90' end,
            case when a.past_due_61_90_base > 0 then 'past_due_60' end,
            case when a.credit_blocked then 'credit_blocked' end
        ], x -> x is not null) as reasons
    from assessed a
)
select
    customer_id,
    customer_name,
    country,
    reasons,
    case
        when credit_blocked or past_due_90_plus_base > 0 or exposure_base > 1.2 * credit_limit_base then 'high'
        else 'medium'
    end as severity,
    credit_limit_base,
    exposure_base,
    exposure_base - credit_limit_base as over_limit_base,
    over_limit,
    past_due_61_90_base,
    past_due_90_plus_base,
    oldest_days_past_due,
    credit_blocked,
    blocked_orders,
    blocked_orders_base,
    open_opportunities,
    open_pipeline_base,
    as_of
from flagged
where len(reasons) > 0
