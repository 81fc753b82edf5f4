-- dynamics__accounts: Dynamics 365 accounts in the canonical accounts shape: the latest landed version of each, deleted ones removed.
-- grain: one row per account
-- key: account_id
-- incremental: account_id = raw.dynamics__accounts(accountid)
-- sources: raw.dynamics__accounts, raw.dynamics__accounts__deleted
-- Latest version: highest versionnumber, then modifiedon, then latest file; an account is
-- dropped when a tombstone (change tracking's $deletedEntity) was learned at or after that
-- version's modifiedon. account_id is the accountid GUID; domain is websiteurl without its
-- scheme and "www."; industry, segment, region, tax_id and erp_customer_id come from the
-- custom columns rc_industry, rc_segment, rc_salesregion, rc_taxid, rc_erpcustomerid.
with latest as (
    select *
    from raw.dynamics__accounts
    qualify row_number() over (partition by accountid order by versionnumber desc, modifiedon desc, _file desc) = 1
),
tombstones as (
    select key, max(deleted_at) as deleted_at
    from raw.dynamics__accounts__deleted
    group by key
)
select
    cast(l.accountid as varchar) as account_id,
    cast(l.name as varchar) as account_name,
    cast(regexp_replace(regexp_replace(lower(trim(l.websiteurl)), '^https?://', ''), '^www\.', '') as varchar) as domain,
    cast(upper(trim(l.address1_country)) as varchar) as country,
    cast(l.address1_city as varchar) as city,
    cast(l.rc_salesregion as varchar) as region,
    cast(l.rc_industry as varchar) as industry,
    cast(l.rc_segment as varchar) as segment,
    cast(l.rc_taxid as varchar) as tax_id,
    cast(l.rc_erpcustomerid as varchar) as erp_customer_id,
    cast(l._ownerid_value as varchar) as owner_id,
    cast(timezone('UTC', l.createdon) as date) as created_date,
    cast(l.modifiedon as timestamptz) as modified_at,
    l._source
from latest l
left join tombstones t on t.key = l.accountid and t.deleted_at >= l.modifiedon
where t.key is null
