-- inventory: stock on hand and allocated by product and plant.
-- grain: one row per product per plant
-- key: product_id, plant
-- sources: staging.files__inventory
select
    s.product_id,
    s.plant,
    s.on_hand_qty,
    s.allocated_qty,
    s.safety_stock_qty,
    s.modified_at,
    s.on_hand_qty - coalesce(s.allocated_qty, 0) as available_qty,
    s._source as source
from staging.files__inventory s
