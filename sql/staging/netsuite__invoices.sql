-- netsuite__invoices: NetSuite invoices (transaction type CustInvc) in the canonical invoices shape; voided invoices are cancelled, the order is the one the invoice was created from; deleted invoices dropped.
-- grain: one row per invoice and source (its latest landed version)
-- key: invoice_id
-- incremental: _source, invoice_id = raw.netsuite__invoice(_source, tranid) by (_source, id)
-- sources: raw.netsuite__invoice, raw.netsuite__invoice__deleted, raw.netsuite__sales_order, raw.netsuite__customer, raw.netsuite__currency
with latest as (
    select *
    from raw.netsuite__invoice
    qualify row_number() over (partition by _source, id order by lastmodifieddate desc, _file desc) = 1
), deleted as (
    select _source, key, max(deleted_at) as deleted_at
    from raw.netsuite__invoice__deleted
    group by _source, key
), orders as (
    select distinct _source, id, tranid
    from raw.netsuite__sales_order
), customers as (
    select _source, id, entityid
    from raw.netsuite__customer
    qualify row_number() over (partition by _source, id order by lastmodifieddate desc, _file desc) = 1
), currencies as (
    select _source, id, symbol
    from raw.netsuite__currency
    qualify row_number() over (partition by _source, id order by snapshot_at desc, _file desc) = 1
)
select
    v.tranid as invoice_id,
    o.tranid as order_id,
    c.entityid as customer_id,
    v.trandate as invoice_date,
    v.duedate as due_date,
    cast(v.foreigntotal as decimal(18,2)) as amount,
    cu.symbol as currency,
    coalesce(v.voided, false) as is_cancelled,
    v.lastmodifieddate as modified_at,
    v._source
from latest v
left join deleted d on d._source = v._source and d.key = cast(v.id as varchar) and d.deleted_at >= v.lastmodifieddate
left join orders o on o._source = v._source and o.id = v.createdfrom
left join customers c on c._source = v._source and c.id = v.entity
left join currencies cu on cu._source = v._source and cu.id = v.currency
where d.key is null
