-- salesforce__opportunity: Salesforce Opportunity records in the canonical opportunities shape: the latest landed version of each, deleted ones removed.
-- grain: one row per opportunity
-- key: opportunity_id
-- incremental: opportunity_id = raw.salesforce__opportunity(Id)
-- sources: raw.salesforce__opportunity, raw.salesforce__opportunity__deleted
-- Latest version: highest SystemModstamp, then latest file. Deleted records land twice:
-- as a version with IsDeleted true (ordered on Salesforce's clock like any change) and as
-- a tombstone; a record is dropped when its latest version is deleted or a tombstone was
-- learned (deleted_at) at or after that version's SystemModstamp. A record undeleted in
-- Salesforce lands again with a later SystemModstamp and comes back. Amount null
-- in Salesforce counts as 0; a missing CurrencyIsoCode (single-currency org) is the base
-- currency. Dates of instants are taken in UTC.
with versioned as (
    -- records landed more than once: only they need sorting for the latest. Few after a
    -- first load; after a periodic full refresh (full_refresh_every) every record is here and
    -- this costs more than one window over all rows would (a group by and a semi join more)
    select Id
    from raw.salesforce__opportunity
    group by Id
    having count(*) > 1
),
latest as (
    select *
    from raw.salesforce__opportunity
    anti join versioned using (Id)
    union all
    select *
    from raw.salesforce__opportunity
    semi join versioned using (Id)
    qualify row_number() over (partition by Id order by SystemModstamp desc, _file desc) = 1
),
tombstones as (
    select key, max(deleted_at) as deleted_at
    from raw.salesforce__opportunity__deleted
    group by key
)
select
    cast(l.Id as varchar) as opportunity_id,
    cast(l.AccountId as varchar) as account_id,
    cast(l.OwnerId as varchar) as owner_id,
    cast(l.Name as varchar) as name,
    cast(case lower(trim(l.Type))
        when 'new business' then 'new_business'
        when 'new customer' then 'new_business'
        when 'existing business' then 'expansion'
        when 'existing customer - upgrade' then 'expansion'
        when 'upsell' then 'expansion'
        when 'existing customer - replacement' then 'renewal'
        when 'existing customer - downgrade' then 'renewal'
        else replace(lower(trim(l.Type)), ' ', '_')
    end as varchar) as type,
    cast(l.StageName as varchar) as stage,
    cast(replace(lower(trim(l.ForecastCategoryName)), ' ', '_') as varchar) as forecast_category,
    cast(l.Probability as double) as probability,
    cast(coalesce(l.Amount, 0) as decimal(18,2)) as amount,
    cast(coalesce(l.CurrencyIsoCode, (select base_currency from meta.settings)) as varchar) as currency,
    cast(l.Discount__c as double) as discount_pct,
    cast(l.CloseDate as date) as close_date,
    cast(timezone('UTC', l.CreatedDate) as date) as created_date,
    cast(l.IsClosed as boolean) as is_closed,
    cast(l.IsWon as boolean) as is_won,
    cast(l.LeadSource as varchar) as lead_source,
    cast(l.ContractId as varchar) as contract_id,
    cast(l.SystemModstamp as timestamptz) as modified_at,
    l._source
from latest l
left join tombstones t on t.key = l.Id and t.deleted_at >= l.SystemModstamp
where t.key is null
  and not coalesce(l.IsDeleted, false)
