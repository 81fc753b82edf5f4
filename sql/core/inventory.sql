-- inventory: stock on hand and allocated by product and plant.
-- grain: one row per product per plant
-- key: product_id, plant
-- sources: staging.files__inventory, staging.sap__inventory, staging.netsuite__inventory
-- Every ERP's staging model has exactly the canonical columns; a company runs one ERP per
-- legal entity, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__inventory
    union all by name
    select * from staging.sap__inventory
    union all by name
    select * from staging.netsuite__inventory
)
select
    s.product_id,
    s.plant,
    s.on_hand_qty,
    s.allocated_qty,
    s.safety_stock_qty,
    s.modified_at,
    s.on_hand_qty - coalesce(s.allocated_qty, 0) as available_qty,
    s._source as source
from unioned s
