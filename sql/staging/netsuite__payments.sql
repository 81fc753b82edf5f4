-- netsuite__payments: NetSuite customer payments (transaction type CustPymt) in the canonical payments shape; the invoice is the one the payment is applied to (custbody_revcast_applied_invoice), none when it is on account; deleted payments dropped.
-- grain: one row per payment and source (its latest landed version)
-- key: payment_id
-- incremental: _source, payment_id = raw.netsuite__payment(_source, tranid) by (_source, id)
-- sources: raw.netsuite__payment, raw.netsuite__payment__deleted, raw.netsuite__invoice, raw.netsuite__customer, raw.netsuite__currency
with latest as (
    select *
    from raw.netsuite__payment
    qualify row_number() over (partition by _source, id order by lastmodifieddate desc, _file desc) = 1
), deleted as (
    select _source, key, max(deleted_at) as deleted_at
    from raw.netsuite__payment__deleted
    group by _source, key
), invoices as (
    select distinct _source, id, tranid
    from raw.netsuite__invoice
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
    p.tranid as payment_id,
    i.tranid as invoice_id,
    c.entityid as customer_id,
    p.trandate as payment_date,
    cast(p.foreigntotal as decimal(18,2)) as amount,
    cu.symbol as currency,
    p.lastmodifieddate as modified_at,
    p._source
from latest p
left join deleted d on d._source = p._source and d.key = cast(p.id as varchar) and d.deleted_at >= p.lastmodifieddate
left join invoices i on i._source = p._source and i.id = p.custbody_revcast_applied_invoice
left join customers c on c._source = p._source and c.id = p.entity
left join currencies cu on cu._source = p._source and cu.id = p.currency
where d.key is null
