-- sales_order_lines_have_orders: every order item belongs to a known order and product.
-- table: sales_order_lines
select l.line_id, l.order_id, l.product_id
from sales_order_lines l
left join sales_orders o on o.order_id = l.order_id
left join products p on p.product_id = l.product_id
where o.order_id is null or p.product_id is null
