-- salesforce__case: Salesforce Case records in the canonical cases shape: the latest landed version of each, deleted ones removed.
-- grain: one row per case
-- key: case_id
-- incremental: case_id = raw.salesforce__case(Id)
-- sources: raw.salesforce__case, raw.salesforce__case__deleted
-- status is closed when IsClosed, else open; priority is lower-cased (low, medium, high,
-- critical); dates are the UTC dates of CreatedDate and ClosedDate. Latest version and
-- tombstones as in salesforce__opportunity.
with versioned as (
    -- records landed more than once: only they need sorting for the latest. Few after a
    -- first load; after a periodic full refresh (full_refresh_every) every record is here and
    -- this costs more than one window over all rows would (a group by and a semi join more)
    select Id
    from raw.salesforce__case
    group by Id
    having count(*) > 1
),
latest as (
    select *
    from raw.salesforce__case
    anti join versioned using (Id)
    union all
    select *
    from raw.salesforce__case
    semi join versioned using (Id)
    qualify row_number() over (partition by Id order by SystemModstamp desc, _file desc) = 1
),
tombstones as (
    select key, max(deleted_at) as deleted_at
    from raw.salesforce__case__deleted
    group by key
)
select
    cast(l.Id as varchar) as case_id,
    cast(l.AccountId as varchar) as account_id,
    cast(timezone('UTC', l.CreatedDate) as date) as created_date,
    cast(timezone('UTC', l.ClosedDate) as date) as closed_date,
    cast(lower(trim(l.Priority)) as varchar) as priority,
    cast(case when l.IsClosed then 'closed' else 'open' end as varchar) as status,
    cast(l.Subject as varchar) as subject,
    cast(l.SystemModstamp as timestamptz) as modified_at,
    l._source
from latest l
left join tombstones t on t.key = l.Id and t.deleted_at >= l.SystemModstamp
where t.key is null
  and not coalesce(l.IsDeleted, false)
