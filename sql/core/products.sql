-- products: products with family, list price, cost and lead time.
-- grain: one row per product
-- key: product_id
-- sources: staging.files__products
select
    s.product_id,
    s.product_name,
    s.family,
    s.list_price,
    s.unit_cost,
    s.lead_time_days,
    s.is_active,
    s.modified_at,
    s._source as source,
    s.product_id as source_id
from staging.files__products s
