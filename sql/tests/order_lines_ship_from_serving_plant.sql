-- order_lines_ship_from_serving_plant: the ERP ships each order line from the plant serving_plants names for the customer's country (the rule inventory_risk applies to deals).
-- table: serving_plants
-- severity: warn
select l.line_id, l.plant, c.country, r.plant as rule_plant, r.fallback_plant
from sales_order_lines l
join sales_orders o on o.order_id = l.order_id
join erp_customers c on c.customer_id = o.customer_id
join serving_plants r on r.country = c.country
where l.plant is not null
  and l.product_id in (select product_id from inventory)
  and l.plant <> case
      when r.fallback_plant is not null
           and not exists (select 1 from inventory i where i.product_id = l.product_id and i.plant = r.plant)
      then r.fallback_plant
      else r.plant
  end
