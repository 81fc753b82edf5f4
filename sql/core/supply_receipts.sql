-- supply_receipts: expected and received supply by product and plant.
-- grain: one row per supply document
-- key: receipt_id
-- sources: staging.files__supply_receipts
select
    s.receipt_id,
    s.product_id,
    s.plant,
    s.expected_date,
    s.quantity,
    s.status,
    s.modified_at,
    s._source as source,
    s.receipt_id as source_id
from staging.files__supply_receipts s
