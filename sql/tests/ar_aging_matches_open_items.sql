-- ar_aging_matches_open_items: per customer and in total, the aging buckets hold exactly the open items' amount (base currency, to the cent).
-- table: ar_aging
with aged as (
    select customer_id, sum(amount_base) as aged_base, sum(items) as items
    from ar_aging
    group by customer_id
),
open_items as (
    select customer_id, sum(open_amount_base) as open_base, count(*) as items
    from ar_open_items
    group by customer_id
)
select 'customer ' || coalesce(a.customer_id, o.customer_id) || ': aged ' || coalesce(a.aged_base, 0) || ' vs open ' || coalesce(o.open_base, 0)
from aged a
full join open_items o on o.customer_id = a.customer_id
where coalesce(a.aged_base, 0) <> coalesce(o.open_base, 0) or coalesce(a.items, 0) <> coalesce(o.items, 0)
union all
select 'total: aged ' || (select coalesce(sum(amount_base), 0) from ar_aging) || ' vs open ' || (select coalesce(sum(open_amount_base), 0) from ar_open_items)
where (select coalesce(sum(amount_base), 0) from ar_aging) <> (select coalesce(sum(open_amount_base), 0) from ar_open_items)
