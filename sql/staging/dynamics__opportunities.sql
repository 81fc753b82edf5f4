-- dynamics__opportunities: Dynamics 365 opportunities in the canonical opportunities shape: the latest landed version of each, deleted ones removed.
-- grain: one row per opportunity
-- key: opportunity_id
-- incremental: opportunity_id = raw.dynamics__opportunities(opportunityid)
-- sources: raw.dynamics__opportunities, raw.dynamics__opportunities__deleted, raw.dynamics__transactioncurrencies
-- Latest version: highest versionnumber (Dataverse's row version), then modifiedon, then
-- latest file. Rows deleted in Dataverse arrive through change tracking as tombstones;
-- an opportunity is dropped when a tombstone was learned at or after its latest version's
-- modifiedon. opportunity_id is the opportunityid GUID; account_id the parent account
-- (else the customer, when it is an account).
-- Stage mapping: statecode 1 (Won) → Closed Won, 2 (Lost) → Closed Lost; open deals
-- (statecode 0) take the stage from stepname without its "N-" prefix ("3-Solution" →
-- Solution).
-- Forecast category (msdyn_forecastcategory): 100000001 Pipeline → pipeline, 100000002
-- Best case → best_case, 100000003 Committed → commit, 100000004 Omitted → omitted,
-- 100000005 Won → closed, 100000006 Lost → omitted; when unset, won deals are closed and
-- lost ones omitted.
-- probability is closeprobability (0-100). currency is the ISO code of the opportunity's
-- transaction currency (the base currency when it has none); amount is estimatedvalue (0
-- when missing). close_date is actualclosedate for closed deals, else estimatedclosedate.
with latest as (
    select *
    from raw.dynamics__opportunities
    qualify row_number() over (partition by opportunityid order by versionnumber desc, modifiedon desc, _file desc) = 1
),
tombstones as (
    select key, max(deleted_at) as deleted_at
    from raw.dynamics__opportunities__deleted
    group by key
),
currencies as (
    select transactioncurrencyid, isocurrencycode
    from raw.dynamics__transactioncurrencies
    qualify row_number() over (partition by transactioncurrencyid order by versionnumber desc, _file desc) = 1
)
select
    cast(l.opportunityid as varchar) as opportunity_id,
    cast(coalesce(l._parentaccountid_value, l._customerid_value) as varchar) as account_id,
    cast(l._ownerid_value as varchar) as owner_id,
    cast(l.name as varchar) as name,
    cast(l.rc_opportunitytype as varchar) as type,
    cast(case l.statecode
        when 1 then 'Closed Won'
        when 2 then 'Closed Lost'
        else regexp_replace(l.stepname, '^[0-9]+-', '')
    end as varchar) as stage,
    cast(case l.msdyn_forecastcategory
        when 100000001 then 'pipeline'
        when 100000002 then 'best_case'
        when 100000003 then 'commit'
        when 100000004 then 'omitted'
        when 100000005 then 'closed'
        when 100000006 then 'omitted'
        else case l.statecode when 1 then 'closed' when 2 then 'omitted' end
    end as varchar) as forecast_category,
    cast(l.closeprobability as double) as probability,
    cast(coalesce(l.estimatedvalue, 0) as decimal(18,2)) as amount,
    cast(coalesce(c.isocurrencycode, (select base_currency from meta.settings)) as varchar) as currency,
    cast(l.discountpercentage as double) as discount_pct,
    cast(case when l.statecode in (1, 2) then coalesce(l.actualclosedate, l.estimatedclosedate) else l.estimatedclosedate end as date) as close_date,
    cast(timezone('UTC', l.createdon) as date) as created_date,
    cast(l.statecode in (1, 2) as boolean) as is_closed,
    cast(l.statecode = 1 as boolean) as is_won,
    cast(l.rc_leadsource as varchar) as lead_source,
    cast(l.rc_contractnumber as varchar) as contract_id,
    cast(l.modifiedon as timestamptz) as modified_at,
    l._source
from latest l
left join currencies c on c.transactioncurrencyid = l._transactioncurrencyid_value
left join tombstones t on t.key = l.opportunityid and t.deleted_at >= l.modifiedon
where t.key is null
