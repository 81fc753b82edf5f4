-- salesforce__opportunity_history: Salesforce OpportunityHistory rows in the canonical opportunity_history shape: each state holds from its CreatedDate until the next row of the same opportunity.
-- grain: one row per opportunity state
-- key: history_id
-- incremental: opportunity_id = raw.salesforce__opportunity_history(OpportunityId) by Id
-- sources: raw.salesforce__opportunity_history, raw.salesforce__opportunity_history__deleted
-- ForecastCategory holds API values (BestCase, Forecast): they map to best_case and
-- commit. valid_to is the next surviving row's CreatedDate (null: the current state).
-- Latest version and tombstones as in salesforce__opportunity.
with versioned as (
    -- records landed more than once: only they need sorting for the latest. Few after a
    -- first load; after a periodic full refresh (full_refresh_every) every record is here and
    -- this costs more than one window over all rows would (a group by and a semi join more)
    select Id
    from raw.salesforce__opportunity_history
    group by Id
    having count(*) > 1
),
latest as (
    select *
    from raw.salesforce__opportunity_history
    anti join versioned using (Id)
    union all
    select *
    from raw.salesforce__opportunity_history
    semi join versioned using (Id)
    qualify row_number() over (partition by Id order by SystemModstamp desc, _file desc) = 1
),
tombstones as (
    select key, max(deleted_at) as deleted_at
    from raw.salesforce__opportunity_history__deleted
    group by key
),
surviving as (
    select l.*
    from latest l
    left join tombstones t on t.key = l.Id and t.deleted_at >= l.SystemModstamp
    where t.key is null
      and not coalesce(l.IsDeleted, false)
)
select
    cast(Id as varchar) as history_id,
    cast(OpportunityId as varchar) as opportunity_id,
    cast(CreatedDate as timestamptz) as valid_from,
    cast(lead(CreatedDate) over (partition by OpportunityId order by CreatedDate, Id) as timestamptz) as valid_to,
    cast(StageName as varchar) as stage,
    cast(Probability as double) as probability,
    cast(coalesce(Amount, 0) as decimal(18,2)) as amount,
    cast(CloseDate as date) as close_date,
    cast(case ForecastCategory
        when 'BestCase' then 'best_case'
        when 'Forecast' then 'commit'
        else replace(lower(trim(ForecastCategory)), ' ', '_')
    end as varchar) as forecast_category,
    cast(SystemModstamp as timestamptz) as modified_at,
    _source
from surviving
