-- netsuite__inventory: stock by item and location from NetSuite's latest inventoryitemlocations snapshot, in the canonical inventory shape: committed quantity as allocated, reorder point as safety stock.
-- grain: one row per item, location and source in the latest snapshot
-- key: product_id, plant
-- sources: raw.netsuite__inventory_item_location, raw.netsuite__item, raw.netsuite__location
with snapshot as (
    select *
    from raw.netsuite__inventory_item_location
    qualify snapshot_at = max(snapshot_at) over (partition by _source)
        and row_number() over (partition by _source, item, location order by snapshot_at desc, _file desc) = 1
), items as (
    select _source, id, itemid
    from raw.netsuite__item
    qualify row_number() over (partition by _source, id order by lastmodifieddate desc, _file desc) = 1
), locations as (
    select _source, id, name
    from raw.netsuite__location
    qualify row_number() over (partition by _source, id order by snapshot_at desc, _file desc) = 1
)
select
    i.itemid as product_id,
    lo.name as plant,
    cast(round(s.quantityonhand) as bigint) as on_hand_qty,
    cast(round(s.quantitycommitted) as bigint) as allocated_qty,
    cast(round(s.reorderpoint) as bigint) as safety_stock_qty,
    s.snapshot_at as modified_at,
    s._source
from snapshot s
join items i on i._source = s._source and i.id = s.item
join locations lo on lo._source = s._source and lo.id = s.location
