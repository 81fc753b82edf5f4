-- netsuite__erp_customers: NetSuite customers in the canonical erp_customers shape; currency and payment terms through the currency and term records, credit hold from creditholdoverride ON; deleted customers dropped.
-- grain: one row per customer and source (its latest landed version)
-- key: customer_id
-- incremental: _source, customer_id = raw.netsuite__customer(_source, entityid) by (_source, id)
-- sources: raw.netsuite__customer, raw.netsuite__customer__deleted, raw.netsuite__currency, raw.netsuite__term
with latest as (
    select *
    from raw.netsuite__customer
    qualify row_number() over (partition by _source, id order by lastmodifieddate desc, _file desc) = 1
), deleted as (
    select _source, key, max(deleted_at) as deleted_at
    from raw.netsuite__customer__deleted
    group by _source, key
), currencies as (
    select _source, id, symbol
    from raw.netsuite__currency
    qualify row_number() over (partition by _source, id order by snapshot_at desc, _file desc) = 1
), terms as (
    select _source, id, daysuntilnetdue
    from raw.netsuite__term
    qualify row_number() over (partition by _source, id order by snapshot_at desc, _file desc) = 1
)
select
    c.entityid as customer_id,
    c.companyname as customer_name,
    c.billcountry as country,
    c.billcity as city,
    c.billzip as postal_code,
    c.vatregnumber as tax_id,
    cu.symbol as currency,
    cast(c.creditlimit as decimal(18,2)) as credit_limit,
    cast(t.daysuntilnetdue as bigint) as payment_terms_days,
    coalesce(c.creditholdoverride = 'ON', false) as credit_blocked,
    cast(timezone('UTC', c.datecreated) as date) as created_date,
    c.lastmodifieddate as modified_at,
    c._source
from latest c
left join deleted d on d._source = c._source and d.key = cast(c.id as varchar) and d.deleted_at >= c.lastmodifieddate
left join currencies cu on cu._source = c._source and cu.id = c.currency
left join terms t on t._source = c._source and t.id = c.terms
where d.key is null
