-- netsuite__ar_open_items: NetSuite receivables in the canonical ar_open_items shape: open invoices (amount remaining, not voided) and payments with an unapplied amount (credit items); the item id is the document number.
-- grain: one row per open invoice or payment with unapplied cash, per source (latest landed version)
-- key: item_id
-- sources: raw.netsuite__invoice, raw.netsuite__invoice__deleted, raw.netsuite__payment, raw.netsuite__payment__deleted, raw.netsuite__customer, raw.netsuite__currency
with invoices as (
    select v.*
    from raw.netsuite__invoice v
    left join (select _source, key, max(deleted_at) as deleted_at from raw.netsuite__invoice__deleted group by _source, key) d
        on d._source = v._source and d.key = cast(v.id as varchar) and d.deleted_at >= v.lastmodifieddate
    where d.key is null
    qualify row_number() over (partition by v._source, v.id order by v.lastmodifieddate desc, v._file desc) = 1
), payments as (
    select p.*
    from raw.netsuite__payment p
    left join (select _source, key, max(deleted_at) as deleted_at from raw.netsuite__payment__deleted group by _source, key) d
        on d._source = p._source and d.key = cast(p.id as varchar) and d.deleted_at >= p.lastmodifieddate
    where d.key is null
    qualify row_number() over (partition by p._source, p.id order by p.lastmodifieddate desc, p._file desc) = 1
), customers as (
    select _source, id, entityid
    from raw.netsuite__customer
    qualify row_number() over (partition by _source, id order by lastmodifieddate desc, _file desc) = 1
), currencies as (
    select _source, id, symbol
    from raw.netsuite__currency
    qualify row_number() over (partition by _source, id order by snapshot_at desc, _file desc) = 1
), items as (
    select _source, tranid as item_id, tranid as invoice_id, entity, trandate as posting_date, duedate as due_date,
           foreigntotal as original_amount, foreignamountremaining as open_amount, currency,
           coalesce(custbody_revcast_disputed, false) as is_disputed, lastmodifieddate
    from invoices
    where foreignamountremaining <> 0 and not coalesce(voided, false)
    union all
    select _source, tranid, null, entity, trandate, trandate, -foreignamountunapplied, -foreignamountunapplied, currency,
           false, lastmodifieddate
    from payments
    where foreignamountunapplied <> 0
)
select
    i.item_id,
    i.invoice_id,
    c.entityid as customer_id,
    i.posting_date,
    i.due_date,
    cast(i.original_amount as decimal(18,2)) as original_amount,
    cast(i.open_amount as decimal(18,2)) as open_amount,
    cu.symbol as currency,
    i.is_disputed,
    i.lastmodifieddate as modified_at,
    i._source
from items i
left join customers c on c._source = i._source and c.id = i.entity
left join currencies cu on cu._source = i._source and cu.id = i.currency
