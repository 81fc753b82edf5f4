-- inventory_risk: for each line of an open deal, whether the plant that would ship it can promise the quantity by the date it is needed, the shortfall, the earliest date it can ship and alternatives in the same family with stock.
-- grain: one row per open opportunity line of a stocked product
-- key: line_id
-- sources: opportunity_lines, opportunities, products, inventory, supply_receipts, serving_plants, customers, accounts, meta.settings
--
-- plant: deals have no plant, so the ERP's rule applies (serving_plants: US, CA and JP are served
-- by US10; GB by GB10, or DE10 for products GB10 does not stock; the rest of Europe by DE10). The
-- country is the ERP customer's (golden record), else the account's; a country without a rule
-- leaves plant empty (shortfall unknown).
-- need_date: the deal's close date, or as_of for a deal already past it.
-- available_qty = on_hand_qty − allocated_qty (today); atp_qty (available to promise at
-- need_date) = available_qty + open supply receipts expected by need_date (overdue open
-- receipts count as arriving today); shortfall_qty = max(0, quantity − atp_qty).
-- earliest_ship_date: as_of when available_qty covers the line; else the first date the open
-- receipts make it up, or as_of + the product's lead time (a replenishment ordered today),
-- whichever comes first; can_ship_by_need_date compares it with need_date.
-- pipeline_ahead_qty: other open deals' quantity of the product at the plant needed earlier
-- (they compete for the same stock; atp_qty does not subtract it).
-- alternative_product_ids: up to three other active products of the same family whose
-- available stock at the plant covers the quantity, most available first.
with account_country as (
    select a.account_id, coalesce(c.country, a.country) as country
    from accounts a
    left join (
        select unnest(g.account_ids) as account_id, g.country
        from customers g
        where g.in_erp
    ) c on c.account_id = a.account_id
),
stocked as (
    select distinct product_id from inventory
),
open_lines as (
    select
        l.line_id,
        l.opportunity_id,
        o.account_id,
        l.product_id,
        p.family,
        p.lead_time_days,
        l.quantity,
        l.amount_base,
        ac.country,
        case
            when r.fallback_plant is not null
                 and not exists (select 1 from inventory i where i.product_id = l.product_id and i.plant = r.plant)
            then r.fallback_plant
            else r.plant
        end as plant,
        greatest(o.close_date, s.as_of) as need_date,
        s.as_of
    from opportunity_lines l
    join opportunities o on o.opportunity_id = l.opportunity_id
    join stocked k on k.product_id = l.product_id
    left join products p on p.product_id = l.product_id
    left join account_country ac on ac.account_id = o.account_id
    left join serving_plants r on r.country = ac.country
    cross join meta.settings s
    where not o.is_closed
),
receipts as (
    -- open supply by product and plant, running total in arrival order
    select
        product_id,
        plant,
        arrival_date,
        sum(quantity) over (partition by product_id, plant order by arrival_date, receipt_id) as cumulative_qty
    from (
        select r.product_id, r.plant, r.receipt_id, r.quantity, greatest(r.expected_date, s.as_of) as arrival_date
        from supply_receipts r
        cross join meta.settings s
        where r.status = 'open'
    )
),
promised as (
    select
        l.*,
        i.on_hand_qty,
        coalesce(i.allocated_qty, 0) as allocated_qty,
        coalesce(i.on_hand_qty - coalesce(i.allocated_qty, 0), 0) as available_qty,
        coalesce((
            select max(r.cumulative_qty) from receipts r
            where r.product_id = l.product_id and r.plant = l.plant and r.arrival_date <= l.need_date), 0) as receipts_by_need_qty,
        (
            select min(r.arrival_date) from receipts r
            where r.product_id = l.product_id and r.plant = l.plant
              and coalesce(i.on_hand_qty - coalesce(i.allocated_qty, 0), 0) + r.cumulative_qty >= l.quantity) as covered_date
    from open_lines l
    left join inventory i on i.product_id = l.product_id and i.plant = l.plant
),
family_stock as (
    -- per product and plant, the other active products of its family stocked there, most available first
    select
        i.product_id,
        i.plant,
        list({'product_id': a.product_id, 'available_qty': a.on_hand_qty - coalesce(a.allocated_qty, 0)}
             order by a.on_hand_qty - coalesce(a.allocated_qty, 0) desc, a.product_id) as others
    from (select distinct product_id, plant from open_lines where plant is not null) i
    join products p on p.product_id = i.product_id
    join products q on q.family = p.family and q.product_id <> p.product_id and coalesce(q.is_active, true)
    join inventory a on a.product_id = q.product_id and a.plant = i.plant
    group by i.product_id, i.plant
),
alternatives as (
    select
        l.line_id,
        list_transform(list_filter(f.others, x -> x.available_qty >= l.quantity)[1:3], x -> x.product_id) as alternative_product_ids
    from open_lines l
    join family_stock f on f.product_id = l.product_id and f.plant = l.plant
)
select
    p.line_id,
    p.opportunity_id,
    p.account_id,
    p.product_id,
    p.family,
    p.quantity,
    p.amount_base,
    p.country,
    p.plant,
    p.need_date,
    p.on_hand_qty,
    p.allocated_qty,
    p.available_qty,
    p.receipts_by_need_qty,
    case when p.plant is not null then p.available_qty + p.receipts_by_need_qty end as atp_qty,
    case when p.plant is not null then greatest(0, p.quantity - (p.available_qty + p.receipts_by_need_qty)) end as shortfall_qty,
    case
        when p.plant is null then null
        when p.available_qty >= p.quantity then p.as_of
        else least(p.covered_date, p.as_of + p.lead_time_days::integer)
    end as earliest_ship_date,
    case
        when p.plant is null then null
        when p.available_qty >= p.quantity then true
        else least(p.covered_date, p.as_of + p.lead_time_days::integer) <= p.need_date
    end as can_ship_by_need_date,
    coalesce(sum(p.quantity) over (
        partition by p.product_id, p.plant order by p.need_date, p.line_id
        rows between unbounded preceding and 1 preceding), 0) as pipeline_ahead_qty,
    coalesce(a.alternative_product_ids, []) as alternative_product_ids,
    p.as_of
from promised p
left join alternatives a on a.line_id = p.line_id
