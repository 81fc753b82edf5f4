-- hubspot__companies: HubSpot companies in the canonical accounts shape: the latest landed version of each, archived ones removed.
-- grain: one row per company
-- key: account_id
-- incremental: account_id = raw.hubspot__companies(id)
-- sources: raw.hubspot__companies, raw.hubspot__companies__deleted
-- Latest version: highest hs_lastmodifieddate, then latest file; a company is dropped when
-- an archive tombstone was learned at or after that version. account_id is the HubSpot id.
-- region, segment, tax_id and erp_customer_id come from the portal's custom properties
-- sales_region, segment, vat_number and erp_customer_id; country is upper-cased (portals
-- that type ISO codes; names pass through). created_date is the UTC date of createdate.
with latest as (
    select *
    from raw.hubspot__companies
    qualify row_number() over (partition by id order by hs_lastmodifieddate desc, _file desc) = 1
),
tombstones as (
    select key, max(deleted_at) as deleted_at
    from raw.hubspot__companies__deleted
    group by key
)
select
    cast(l.id as varchar) as account_id,
    cast(l.name as varchar) as account_name,
    cast(l.domain as varchar) as domain,
    cast(upper(trim(l.country)) as varchar) as country,
    cast(l.city as varchar) as city,
    cast(l.sales_region as varchar) as region,
    cast(l.industry as varchar) as industry,
    cast(l.segment as varchar) as segment,
    cast(l.vat_number as varchar) as tax_id,
    cast(l.erp_customer_id as varchar) as erp_customer_id,
    cast(l.hubspot_owner_id as varchar) as owner_id,
    cast(timezone('UTC', l.createdate) as date) as created_date,
    cast(l.hs_lastmodifieddate as timestamptz) as modified_at,
    l._source
from latest l
left join tombstones t on t.key = l.id and t.deleted_at >= l.hs_lastmodifieddate
where t.key is null
