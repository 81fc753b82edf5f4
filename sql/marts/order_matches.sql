-- order_matches: which CRM opportunity each ERP sales order belongs to — the deal id typed on the order, else the won deal it matches — and which orders duplicate an earlier one.
-- grain: one row per sales order
-- key: order_id
-- sources: sales_orders, sales_order_lines, opportunities, opportunity_lines, customers, account_matches, reconcile_settings
--
-- method:
--   reference     the order carries the deal's id (sales_orders.opportunity_id) and the CRM has it
--   duplicate     a duplicate order: it takes the deal of the order it repeats
--   inferred      no usable id: a won deal that closed 0..order_match_days before the order,
--                 scored: customer link (golden record) auto 3 / review 2 / none 0, same
--                 products and quantities 4 (same products 2), same amount and currency 3 (same
--                 currency 1); at least 5, and the deal's best order as the order's best deal
--                 (one deal, one order). A deal of an unlinked account needs the same lines,
--                 amount and currency.
--   unknown_reference  the id on the order is not a CRM opportunity
--   none          nothing fits: an order without opportunity
-- duplicate_of_order_id: an earlier order of the same customer with the same lines (product,
-- quantity, unit price), currency and amount entered up to duplicate_order_days before, unless
-- the two name different deals.
with settings as (
    select order_match_days, duplicate_order_days from reconcile_settings
),
order_lines as (
    -- the lines as an order-free fingerprint (a sum of line hashes): equal fingerprints, equal lines
    select
        order_id,
        sum(hash(product_id, quantity)::hugeint) as quantity_signature,
        sum(hash(product_id, quantity, unit_price)::hugeint) as price_signature,
        sum(hash(product_id)::hugeint) as product_signature
    from sales_order_lines
    group by order_id
),
orders as (
    select
        o.order_id,
        o.customer_id,
        o.order_date,
        o.amount,
        o.currency,
        case when p.opportunity_id is not null then o.opportunity_id end as opportunity_ref,
        o.opportunity_id is not null and p.opportunity_id is null as unknown_reference,
        l.quantity_signature,
        l.price_signature,
        l.product_signature
    from sales_orders o
    left join opportunities p on p.opportunity_id = o.opportunity_id
    left join order_lines l on l.order_id = o.order_id
),
repeats as (
    -- every earlier twin of an order; the earliest is the one it duplicates (ties on the date
    -- to the lower order id: a struct compares field by field, dates as dates)
    select
        b.order_id,
        arg_min(a.order_id, (a.order_date, a.order_id)) as duplicate_of_order_id
    from orders a
    join orders b
      on b.customer_id = a.customer_id
     and b.currency = a.currency
     and b.amount = a.amount
     and b.price_signature = a.price_signature
     and (b.order_date > a.order_date or (b.order_date = a.order_date and b.order_id > a.order_id))
    cross join settings s
    where b.order_date <= a.order_date + s.duplicate_order_days
      and (a.opportunity_ref is null or b.opportunity_ref is null or a.opportunity_ref = b.opportunity_ref)
    group by b.order_id
),
originals as (
    -- orders that are not duplicates, with a deal id taken from a duplicate when only it has one
    select
        o.*,
        coalesce(o.opportunity_ref, (
            select min(d.opportunity_ref) from repeats r join orders d on d.order_id = r.order_id
            where r.duplicate_of_order_id = o.order_id)) as deal_ref
    from orders o
    anti join repeats r on r.order_id = o.order_id
),
won_deals as (
    select
        p.opportunity_id,
        p.account_id,
        p.close_date,
        p.amount,
        p.currency,
        l.quantity_signature,
        l.product_signature
    from opportunities p
    left join (
        select
            l.opportunity_id,
            sum(hash(l.product_id, l.quantity)::hugeint) as quantity_signature,
            sum(hash(l.product_id)::hugeint) as product_signature
        from opportunity_lines l
        semi join opportunities w on w.opportunity_id = l.opportunity_id and w.is_won
        group by l.opportunity_id
    ) l on l.opportunity_id = p.opportunity_id
    where p.is_won
      and p.opportunity_id not in (select deal_ref from originals where deal_ref is not null)
),
customer_accounts as (
    -- which accounts an ERP customer may buy through: golden record (auto) first, then reviews
    select erp_customer_id as customer_id, unnest(account_ids) as account_id, 3 as link_points
    from customers
    where erp_customer_id is not null
    union all
    select erp_customer_id, crm_account_id, 2
    from account_matches
    where decision = 'review'
),
linked_deals as (
    -- the won deals of the order's customer that closed shortly before it, with the best customer link
    select o.order_id, w.opportunity_id, max(a.link_points) as link_points
    from originals o
    join customer_accounts a on a.customer_id = o.customer_id
    join won_deals w on w.account_id = a.account_id
    cross join settings s
    where o.deal_ref is null
      and not o.unknown_reference
      and o.order_date between w.close_date and w.close_date + s.order_match_days
    group by o.order_id, w.opportunity_id
    union all
    -- whoever the customer is: the same lines, amount and currency shortly after the deal closed
    select o.order_id, w.opportunity_id, 0
    from originals o
    join won_deals w
      on w.currency = o.currency and w.amount = o.amount and w.quantity_signature = o.quantity_signature
    cross join settings s
    where o.deal_ref is null
      and not o.unknown_reference
      and o.order_date between w.close_date and w.close_date + s.order_match_days
),
candidates as (
    select
        k.order_id,
        k.opportunity_id,
        date_diff('day', w.close_date, o.order_date) as days_after_close,
        k.link_points
        + case when o.quantity_signature = w.quantity_signature then 4
               when o.product_signature = w.product_signature then 2 else 0 end
        + case when o.currency = w.currency and o.amount = w.amount then 3
               when o.currency = w.currency then 1 else 0 end as points
    from (
        select order_id, opportunity_id, max(link_points) as link_points
        from linked_deals
        group by order_id, opportunity_id
    ) k
    join originals o on o.order_id = k.order_id
    join won_deals w on w.opportunity_id = k.opportunity_id
),
best as (
    select
        *,
        row_number() over (partition by order_id order by points desc, days_after_close, opportunity_id) as order_rank,
        row_number() over (partition by opportunity_id order by points desc, days_after_close, order_id) as deal_rank
    from candidates
    where points >= 5
),
inferred as (
    select order_id, opportunity_id, points
    from best
    where order_rank = 1 and deal_rank = 1
),
resolved as (
    select
        o.order_id,
        coalesce(o.deal_ref, i.opportunity_id) as opportunity_id,
        case
            when o.opportunity_ref is not null then 'reference'
            when o.deal_ref is not null then 'reference'
            when o.unknown_reference then 'unknown_reference'
            when i.opportunity_id is not null then 'inferred'
            else 'none'
        end as method,
        i.points as match_points
    from originals o
    left join inferred i on i.order_id = o.order_id
)
select
    o.order_id,
    coalesce(r.opportunity_id, d.opportunity_id) as opportunity_id,
    case when rp.order_id is not null then 'duplicate' else r.method end as method,
    rp.duplicate_of_order_id,
    r.match_points,
    o.customer_id
from orders o
left join resolved r on r.order_id = o.order_id
left join repeats rp on rp.order_id = o.order_id
left join resolved d on d.order_id = rp.duplicate_of_order_id
