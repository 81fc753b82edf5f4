-- shipments: outbound deliveries with status, carrier and tracking number.
-- grain: one row per delivery
-- key: shipment_id
-- sources: staging.files__shipments
select
    s.shipment_id,
    s.order_id,
    s.plant,
    s.planned_date,
    s.ship_date,
    s.delivered_date,
    s.status,
    s.carrier,
    s.tracking_number,
    s.modified_at,
    s._source as source,
    s.shipment_id as source_id
from staging.files__shipments s
