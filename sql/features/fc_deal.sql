-- fc_deal: the static attributes and the outcome of every opportunity, for the forecast's feature snapshots.
-- grain: one row per opportunity
-- key: opportunity_id
-- sources: opportunities, opportunity_history, opportunity_lines, products, users, accounts, contracts, inventory, sales_orders, sales_order_lines, erp_customers, fc_account_matches (temp), fc_serving_plants (temp)
--
-- Built as a temp table by transform.Warehouse.Snapshots. Times are seconds since the epoch
-- (UTC), days are days since 1970-01-01, so comparisons never depend on the session zone.
--
-- created_t / closed_t: the first history row's valid_from and, for a closed deal, the
-- valid_from of its last row (when it closed). close_day is that instant's UTC date: a deal
-- closed on day d is known from snapshot d+1 on.
--
-- Line attributes come from the current opportunity lines (lines are not historised in the
-- CRM, so discount and product mix are the current ones, not the ones at each snapshot).
-- discount = 1 - sum(total_price) / sum(list_price * quantity).
--
-- Supply: the plant that ships a line follows fc_serving_plants (the serving_plants rule
-- when that mart exists: the country's plant, or its fallback plant for products the plant
-- does not stock), else the most frequent plant on past sales-order lines of the same
-- product to customers in the country, else the most frequent plant for that country,
-- else the plant with the most stock of the product. The country is the ERP customer's,
-- else the account's. A line is constrained when the
-- plant's available quantity (on hand - allocated) is below safety stock, and uncovered when
-- it is below the line's quantity. short_share and uncovered_share weight lines by list
-- value. inventory holds only current stock, so every snapshot sees today's stock: the one
-- known look-ahead in these features (documented in models/forecast).
--
-- customer_id: the account's ERP customer from the golden record (fc_account_matches, filled
-- from account_matches when that mart exists), else accounts.erp_customer_id, else the
-- customer most often on sales orders that carry one of the account's opportunity ids.
with last_row as (
    select
        opportunity_id,
        min(epoch(valid_from)) as created_t,
        max(epoch(valid_from)) as last_t,
        arg_min(close_date, epoch(valid_from)) as first_close_date
    from opportunity_history
    group by opportunity_id
),
order_customer as (
    select o.account_id, mode(so.customer_id) as customer_id
    from sales_orders so
    join opportunities o on o.opportunity_id = so.opportunity_id
    where so.customer_id is not null
    group by o.account_id
),
account_customer as (
    select
        a.account_id,
        coalesce(m.customer_id, a.erp_customer_id, oc.customer_id) as customer_id
    from accounts a
    left join fc_account_matches m on m.account_id = a.account_id
    left join order_customer oc on oc.account_id = a.account_id
),
plant_by_country_product as (
    select c.country, l.product_id, mode(l.plant) as plant
    from sales_order_lines l
    join sales_orders so on so.order_id = l.order_id
    join erp_customers c on c.customer_id = so.customer_id
    where l.plant is not null
    group by c.country, l.product_id
),
plant_by_country as (
    select c.country, mode(l.plant) as plant
    from sales_order_lines l
    join sales_orders so on so.order_id = l.order_id
    join erp_customers c on c.customer_id = so.customer_id
    where l.plant is not null
    group by c.country
),
rule_plant as (
    select
        l.line_id,
        case
            when sp.fallback_plant is not null
                 and not exists (select 1 from inventory i where i.product_id = l.product_id and i.plant = sp.plant)
            then sp.fallback_plant
            else sp.plant
        end as plant
    from opportunity_lines l
    join opportunities o on o.opportunity_id = l.opportunity_id
    left join accounts a on a.account_id = o.account_id
    left join account_customer ac on ac.account_id = o.account_id
    left join erp_customers ec on ec.customer_id = ac.customer_id
    join fc_serving_plants sp on sp.country = coalesce(ec.country, a.country)
),
line_supply as (
    select
        l.opportunity_id,
        p.family,
        cast(l.quantity as double) as quantity,
        cast(coalesce(l.list_price, l.unit_price) as double) * l.quantity as list_value,
        cast(l.total_price as double) as total_value,
        coalesce(ir.available_qty, ip.available_qty, ic.available_qty, ia.available_qty) as available_qty,
        coalesce(ir.safety_stock_qty, ip.safety_stock_qty, ic.safety_stock_qty, ia.safety_stock_qty) as safety_stock_qty
    from opportunity_lines l
    join opportunities o on o.opportunity_id = l.opportunity_id
    left join accounts a on a.account_id = o.account_id
    left join products p on p.product_id = l.product_id
    left join plant_by_country_product pcp on pcp.country = a.country and pcp.product_id = l.product_id
    left join plant_by_country pc on pc.country = a.country
    left join rule_plant rp on rp.line_id = l.line_id
    left join inventory ir on ir.product_id = l.product_id and ir.plant = rp.plant
    left join inventory ip on ip.product_id = l.product_id and ip.plant = pcp.plant
    left join inventory ic on ic.product_id = l.product_id and ic.plant = pc.plant
    left join (
        select product_id, arg_max(available_qty, available_qty) as available_qty,
               arg_max(safety_stock_qty, available_qty) as safety_stock_qty
        from inventory group by product_id
    ) ia on ia.product_id = l.product_id
),
lines as (
    select
        opportunity_id,
        sum(list_value) as list_value,
        sum(total_value) as total_value,
        sum(list_value) filter (where available_qty < safety_stock_qty) as short_value,
        sum(list_value) filter (where available_qty < quantity) as uncovered_value
    from line_supply
    group by opportunity_id
),
family as (
    select opportunity_id, arg_max(family, v) as family
    from (select opportunity_id, coalesce(family, 'unknown') as family, sum(list_value) as v
          from line_supply group by all)
    group by opportunity_id
)
select
    o.opportunity_id,
    o.account_id,
    o.owner_id,
    coalesce(u.team, 'unknown') as team,
    coalesce(u.region, 'unknown') as region,
    coalesce(o.type, 'unknown') as type,
    coalesce(o.lead_source, 'unknown') as lead_source,
    coalesce(a.segment, 'unknown') as segment,
    coalesce(f.family, 'unknown') as family,
    ac.customer_id,
    coalesce(a.created_date, o.created_date) as account_created_date,
    r.created_t,
    case when o.is_closed then r.last_t end as closed_t,
    case when o.is_closed then cast(floor(r.last_t / 86400) as integer) end as close_day,
    coalesce(o.is_won, false) as is_won,
    coalesce(o.is_closed, false) as is_closed,
    cast(o.amount_base as double) as amount_base,
    cast(r.first_close_date - date '1970-01-01' as integer) as first_close_day,
    cast(floor(r.created_t / 86400) as integer) as created_day,
    -- rounded: sums of doubles run in parallel in no fixed order (see fc_snapshots)
    case when l.list_value > 0 then round(greatest(0, 1 - l.total_value / l.list_value), 9) else 0 end as discount,
    case when l.list_value > 0 then round(coalesce(l.short_value, 0) / l.list_value, 9) else 0 end as short_share,
    case when l.list_value > 0 then round(coalesce(l.uncovered_value, 0) / l.list_value, 9) else 0 end as uncovered_share,
    coalesce(c.auto_renew, false) as auto_renew,
    o.contract_id is not null as is_renewal_contract
from opportunities o
join last_row r on r.opportunity_id = o.opportunity_id
left join users u on u.user_id = o.owner_id
left join accounts a on a.account_id = o.account_id
left join account_customer ac on ac.account_id = o.account_id
left join lines l on l.opportunity_id = o.opportunity_id
left join family f on f.opportunity_id = o.opportunity_id
left join contracts c on c.contract_id = o.contract_id
