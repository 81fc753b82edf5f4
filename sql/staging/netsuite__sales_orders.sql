-- netsuite__sales_orders: NetSuite sales orders (transaction type SalesOrd) in the canonical sales_orders shape; status from the order's status letter (F pending billing reads as delivered), deleted orders dropped.
-- grain: one row per sales order and source (its latest landed version)
-- key: order_id
-- incremental: _source, order_id = raw.netsuite__sales_order(_source, tranid) by (_source, id)
-- sources: raw.netsuite__sales_order, raw.netsuite__sales_order__deleted, raw.netsuite__sales_order_line, raw.netsuite__customer, raw.netsuite__currency
with latest as (
    select *
    from raw.netsuite__sales_order
    qualify row_number() over (partition by _source, id order by lastmodifieddate desc, _file desc) = 1
), deleted as (
    select _source, key, max(deleted_at) as deleted_at
    from raw.netsuite__sales_order__deleted
    group by _source, key
), customers as (
    select _source, id, entityid
    from raw.netsuite__customer
    qualify row_number() over (partition by _source, id order by lastmodifieddate desc, _file desc) = 1
), currencies as (
    select _source, id, symbol
    from raw.netsuite__currency
    qualify row_number() over (partition by _source, id order by snapshot_at desc, _file desc) = 1
), closed_lines as (
    select distinct _source, "transaction"
    from raw.netsuite__sales_order_line
    where isclosed
)
select
    o.tranid as order_id,
    c.entityid as customer_id,
    o.otherrefnum as opportunity_id,
    o.trandate as order_date,
    o.shipdate as requested_date,
    case o.status
        when 'C' then 'cancelled'
        when 'H' then 'completed'
        when 'G' then 'invoiced'
        when 'F' then 'delivered'
        when 'D' then 'in_process'
        when 'E' then 'in_process'
        else 'open'
    end as status,
    case
        when o.status in ('F', 'G', 'H') then 'delivered'
        when o.status in ('D', 'E') then 'partial'
        else 'not_delivered'
    end as delivery_status,
    o.status = 'A' as credit_block,
    case when cl."transaction" is not null then 'closed' end as rejection_reason,
    cast(o.foreigntotal as decimal(18,2)) as amount,
    cu.symbol as currency,
    o.lastmodifieddate as modified_at,
    o._source
from latest o
left join deleted d on d._source = o._source and d.key = cast(o.id as varchar) and d.deleted_at >= o.lastmodifieddate
left join customers c on c._source = o._source and c.id = o.entity
left join currencies cu on cu._source = o._source and cu.id = o.currency
left join closed_lines cl on cl._source = o._source and cl."transaction" = o.id
where d.key is null
