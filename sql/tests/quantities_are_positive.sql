-- quantities_are_positive: ordered and offered quantities are positive.
-- table: sales_order_lines
-- severity: warn
select 'sales_order_lines/' || line_id || ' quantity=' || quantity from sales_order_lines where quantity <= 0
union all
select 'opportunity_lines/' || line_id || ' quantity=' || quantity from opportunity_lines where quantity <= 0
