-- fc_deal_supply: the share of each snapshotted opportunity's lines, by list value, that current stock cannot serve.
-- grain: one row per opportunity in fc_open_ids that has lines
-- key: opportunity_id
-- sources: opportunity_lines, accounts, erp_customers, inventory, sales_orders, sales_order_lines, fc_deal (temp), fc_open_ids (temp), fc_serving_plants (temp)
--
-- Built as a temp table by transform.Warehouse.Snapshots after fc_open_ids: only the deals
-- the snapshot query can return need their supply shares (transform.readOutcomes reads them
-- with fc_deal), and resolving the plant of every line of the CRM's history was the costliest
-- part of fc_deal (large: 1.9M lines, of which the nightly forecast's open deals hold ~12%).
--
-- Supply: the plant that ships a line follows fc_serving_plants (the serving_plants rule
-- when that mart exists: the country's plant, or its fallback plant for products the plant
-- does not stock), else the most frequent plant on past sales-order lines of the same
-- product to customers in the country, else the most frequent plant for that country,
-- else the plant with the most available stock of the product. The first of these plants
-- that stocks the product (has an inventory row) gives both the available and the safety
-- stock. Most frequent: on the most order lines. Ties go to the first plant by name
-- (mode() and arg_max left them to the order DuckDB's parallel aggregation met the rows in,
-- which can change between runs). For the rule the country is the ERP
-- customer's (fc_deal.customer_id), else the account's; for the past order lines it is the
-- account's. A line is constrained when the plant's available quantity (on hand -
-- allocated) is below safety stock, and uncovered when it is below the line's quantity.
-- short_share and uncovered_share weight lines by list value. inventory holds only current
-- stock, so every snapshot sees today's stock: the one known look-ahead in these features
-- (documented in models/forecast). The joins on inventory (key: product_id, plant) and
-- fc_serving_plants (key: country) match at most one row, so each line counts once.
with plant_lines as (
    -- order lines per country, product and plant
    select c.country, l.product_id, l.plant, count(*) as n
    from sales_order_lines l
    join sales_orders so on so.order_id = l.order_id
    join erp_customers c on c.customer_id = so.customer_id
    where l.plant is not null
    group by c.country, l.product_id, l.plant
),
plant_by_country_product as (
    -- the most frequent plant; a tie to the first plant by name
    select country, product_id, first(plant order by n desc, plant) as plant
    from plant_lines
    group by country, product_id
),
plant_by_country as (
    select country, first(plant order by n desc, plant) as plant
    from (select country, plant, sum(n) as n from plant_lines group by country, plant)
    group by country
),
open_lines as (
    select
        l.line_id,
        l.opportunity_id,
        l.product_id,
        cast(l.quantity as double) as quantity,
        cast(coalesce(l.list_price, l.unit_price) as double) * l.quantity as list_value,
        a.country as account_country,
        coalesce(ec.country, a.country) as rule_country
    from opportunity_lines l
    join fc_deal x on x.opportunity_id = l.opportunity_id
    left join accounts a on a.account_id = x.account_id
    left join erp_customers ec on ec.customer_id = x.customer_id
    where l.opportunity_id in (select opportunity_id from fc_open_ids)
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
    from open_lines l
    join fc_serving_plants sp on sp.country = l.rule_country
),
line_supply as (
    select
        l.opportunity_id,
        l.quantity,
        l.list_value,
        -- both quantities from the first plant in the chain that stocks the product (has an
        -- inventory row), even when one of them is null there: a null safety stock at the
        -- rule's plant is not another plant's
        case when ir.product_id is not null then ir.available_qty
             when ip.product_id is not null then ip.available_qty
             when ic.product_id is not null then ic.available_qty
             else ia.available_qty end as available_qty,
        case when ir.product_id is not null then ir.safety_stock_qty
             when ip.product_id is not null then ip.safety_stock_qty
             when ic.product_id is not null then ic.safety_stock_qty
             else ia.safety_stock_qty end as safety_stock_qty
    from open_lines l
    left join plant_by_country_product pcp on pcp.country = l.account_country and pcp.product_id = l.product_id
    left join plant_by_country pc on pc.country = l.account_country
    left join rule_plant rp on rp.line_id = l.line_id
    left join inventory ir on ir.product_id = l.product_id and ir.plant = rp.plant
    left join inventory ip on ip.product_id = l.product_id and ip.plant = pcp.plant
    left join inventory ic on ic.product_id = l.product_id and ic.plant = pc.plant
    left join (
        -- the plant with the most stock of the product, a tie to the first plant by name
        select product_id, plant, available_qty, safety_stock_qty
        from inventory
        where available_qty is not null
        qualify row_number() over (partition by product_id order by available_qty desc, plant) = 1
    ) ia on ia.product_id = l.product_id
),
lines as (
    select
        opportunity_id,
        sum(list_value) as list_value,
        sum(list_value) filter (where available_qty < safety_stock_qty) as short_value,
        sum(list_value) filter (where available_qty < quantity) as uncovered_value
    from line_supply
    group by opportunity_id
)
select
    opportunity_id,
    -- rounded: sums of doubles run in parallel in no fixed order (see fc_snapshots)
    case when list_value > 0 then round(coalesce(short_value, 0) / list_value, 9) else 0 end as short_share,
    case when list_value > 0 then round(coalesce(uncovered_value, 0) / list_value, 9) else 0 end as uncovered_share
from lines
