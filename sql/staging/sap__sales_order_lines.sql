-- sap__sales_order_lines: SAP sales order items (A_SalesOrderItem, read with their header) in the canonical sales_order_lines shape; requested_date is the header's requested delivery date.
-- grain: one row per sales order item and source (its latest landed version)
-- key: line_id
-- incremental: _source, order_id = raw.sap__a_sales_order_item(_source, SalesOrder), raw.sap__a_sales_order(_source, SalesOrder)
-- sources: raw.sap__a_sales_order_item, raw.sap__a_sales_order
with items as (
    select *
    from raw.sap__a_sales_order_item
    qualify row_number() over (partition by _source, SalesOrder, SalesOrderItem order by LastChangeDateTime desc, _file desc) = 1
), headers as (
    select _source, SalesOrder, RequestedDeliveryDate
    from raw.sap__a_sales_order
    qualify row_number() over (partition by _source, SalesOrder order by LastChangeDateTime desc, _file desc) = 1
)
select
    i.SalesOrder || '-' || lpad(i.SalesOrderItem, 6, '0') as line_id,
    i.SalesOrder as order_id,
    cast(i.SalesOrderItem as bigint) as line_no,
    i.Material as product_id,
    cast(round(i.RequestedQuantity) as bigint) as quantity,
    cast(i.NetPriceAmount as decimal(18,2)) as unit_price,
    cast(i.NetAmount as decimal(18,2)) as net_amount,
    i.TransactionCurrency as currency,
    i.ProductionPlant as plant,
    h.RequestedDeliveryDate as requested_date,
    i.SalesDocumentRjcnReason as rejection_reason,
    i.LastChangeDateTime as modified_at,
    i._source
from items i
left join headers h on h._source = i._source and h.SalesOrder = i.SalesOrder
