-- netsuite__sales_order_lines: NetSuite sales order item lines (transactionline, mainline and tax lines excluded) in the canonical sales_order_lines shape; NetSuite stores sales quantities and amounts negative, they are turned positive; lines of deleted orders dropped.
-- grain: one row per order line and source (its latest landed version)
-- key: line_id
-- sources: raw.netsuite__sales_order_line, raw.netsuite__sales_order, raw.netsuite__sales_order__deleted, raw.netsuite__item, raw.netsuite__location, raw.netsuite__currency
with lines as (
    select *
    from raw.netsuite__sales_order_line
    qualify row_number() over (partition by _source, uniquekey order by linelastmodifieddate desc, _file desc) = 1
), orders as (
    select o.*
    from raw.netsuite__sales_order o
    left join (select _source, key, max(deleted_at) as deleted_at from raw.netsuite__sales_order__deleted group by _source, key) d
        on d._source = o._source and d.key = cast(o.id as varchar) and d.deleted_at >= o.lastmodifieddate
    where d.key is null
    qualify row_number() over (partition by o._source, o.id order by o.lastmodifieddate desc, o._file desc) = 1
), items as (
    select _source, id, itemid
    from raw.netsuite__item
    qualify row_number() over (partition by _source, id order by lastmodifieddate desc, _file desc) = 1
), locations as (
    select _source, id, name
    from raw.netsuite__location
    qualify row_number() over (partition by _source, id order by snapshot_at desc, _file desc) = 1
), currencies as (
    select _source, id, symbol
    from raw.netsuite__currency
    qualify row_number() over (partition by _source, id order by snapshot_at desc, _file desc) = 1
)
select
    o.tranid || '-' || lpad(cast(l.linesequencenumber * 10 as varchar), 6, '0') as line_id,
    o.tranid as order_id,
    l.linesequencenumber * 10 as line_no,
    i.itemid as product_id,
    cast(round(-l.quantity) as bigint) as quantity,
    cast(l.rate as decimal(18,2)) as unit_price,
    cast(-l.netamount as decimal(18,2)) as net_amount,
    cu.symbol as currency,
    lo.name as plant,
    l.expectedshipdate as requested_date,
    case when l.isclosed then 'closed' end as rejection_reason,
    l.linelastmodifieddate as modified_at,
    l._source
from lines l
join orders o on o._source = l._source and o.id = l."transaction"
left join items i on i._source = l._source and i.id = l.item
left join locations lo on lo._source = l._source and lo.id = l.location
left join currencies cu on cu._source = o._source and cu.id = o.currency
