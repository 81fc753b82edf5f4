-- ar_aging: open receivables in the base currency by customer and age bucket, as of the run's as-of date.
-- grain: one row per customer per age bucket that holds money
-- key: as_of, customer_id, bucket
-- sources: ar_open_items, meta.settings
-- Buckets by days past the net due date: current (not yet due), 1-30, 31-60, 61-90, 90+.
-- Sum over a customer's buckets equals the sum of its open items to the cent.
with aged as (
    select
        i.customer_id,
        i.open_amount_base,
        date_diff('day', i.due_date, s.as_of) as days_past_due,
        s.as_of
    from ar_open_items i
    cross join meta.settings s
)
select
    as_of,
    customer_id,
    case
        when days_past_due <= 0 then 'current'
        when days_past_due <= 30 then '1-30'
        when days_past_due <= 60 then '31-60'
        when days_past_due <= 90 then '61-90'
        else '90+'
    end as bucket,
    sum(open_amount_base) as amount_base,
    count(*) as items
from aged
group by all
order by customer_id, bucket
