-- opportunity_lines_have_parents: every line belongs to a known opportunity and product.
-- table: opportunity_lines
select l.line_id, l.opportunity_id, l.product_id
from opportunity_lines l
left join opportunities o on o.opportunity_id = l.opportunity_id
left join products p on p.product_id = l.product_id
where o.opportunity_id is null or p.product_id is null
