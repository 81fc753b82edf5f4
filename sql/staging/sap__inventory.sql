-- sap__inventory: unrestricted stock by material and plant from SAP's latest A_MatlStkInAcctMod snapshot, in the canonical inventory shape (allocated and safety stock are not in this API: null).
-- grain: one row per material, plant and source in the latest snapshot
-- key: product_id, plant
-- sources: raw.sap__a_matl_stk_in_acct_mod
with snapshot as (
    select *
    from raw.sap__a_matl_stk_in_acct_mod
    qualify SnapshotAt = max(SnapshotAt) over (partition by _source)
        and row_number() over (partition by _source, Material, Plant, StorageLocation, Batch, Supplier, Customer, WBSElementInternalID,
                                            SDDocument, SDDocumentItem, InventorySpecialStockType, InventoryStockType
                               order by SnapshotAt desc, _file desc) = 1
)
select
    s.Material as product_id,
    s.Plant as plant,
    cast(round(sum(s.MatlWrhsStkQtyInMatlBaseUnit)) as bigint) as on_hand_qty,
    cast(null as bigint) as allocated_qty,
    cast(null as bigint) as safety_stock_qty,
    max(s.SnapshotAt) as modified_at,
    s._source
from snapshot s
where s.InventoryStockType = '01'
group by s._source, s.Material, s.Plant
