-- sap__sales_orders: SAP sales order headers (A_SalesOrder) in the canonical sales_orders shape; status from SAP's header statuses (shipped and delivered both read as delivered: SAP's delivery status is goods issue).
-- grain: one row per sales order and source (its latest landed version)
-- key: order_id
-- incremental: _source, order_id = raw.sap__a_sales_order(_source, SalesOrder), raw.sap__a_sales_order_item(_source, SalesOrder)
-- sources: raw.sap__a_sales_order, raw.sap__a_sales_order_item
with latest as (
    select *
    from raw.sap__a_sales_order
    qualify row_number() over (partition by _source, SalesOrder order by LastChangeDateTime desc, _file desc) = 1
), item_rejections as (
    select _source, SalesOrder, min(SalesDocumentRjcnReason) as reason
    from raw.sap__a_sales_order_item
    where SalesDocumentRjcnReason is not null
    group by _source, SalesOrder
)
select
    o.SalesOrder as order_id,
    o.SoldToParty as customer_id,
    o.PurchaseOrderByCustomer as opportunity_id,
    o.SalesOrderDate as order_date,
    o.RequestedDeliveryDate as requested_date,
    case
        when o.OverallSDDocumentRejectionSts = 'C' then 'cancelled'
        when o.OverallSDProcessStatus = 'C' then 'completed'
        when o.OverallOrdReltdBillgStatus in ('B', 'C') then 'invoiced'
        when o.OverallTotalDeliveryStatus = 'C' then 'delivered'
        when o.OverallSDProcessStatus = 'A' then 'open'
        else 'in_process'
    end as status,
    case o.OverallTotalDeliveryStatus
        when 'A' then 'not_delivered'
        when 'B' then 'partial'
        when 'C' then 'delivered'
    end as delivery_status,
    coalesce(o.TotalCreditCheckStatus = 'B', false) as credit_block,
    r.reason as rejection_reason,
    cast(o.TotalNetAmount as decimal(18,2)) as amount,
    o.TransactionCurrency as currency,
    o.LastChangeDateTime as modified_at,
    o._source
from latest o
left join item_rejections r on r._source = o._source and r.SalesOrder = o.SalesOrder
