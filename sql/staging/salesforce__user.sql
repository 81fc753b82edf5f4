-- salesforce__user: Salesforce User records in the canonical users shape: the latest landed version of each.
-- grain: one row per user
-- key: user_id
-- incremental: user_id = raw.salesforce__user(Id)
-- sources: raw.salesforce__user, raw.salesforce__user__deleted
-- team is Department and region is Division. Salesforce never deletes users (they are
-- deactivated: is_active false), but tombstones are honoured as for every object.
with versioned as (
    -- records landed more than once: only they need sorting for the latest. Few after a
    -- first load; after a periodic full refresh (full_refresh_every) every record is here and
    -- this costs more than one window over all rows would (a group by and a semi join more)
    select Id
    from raw.salesforce__user
    group by Id
    having count(*) > 1
),
latest as (
    select *
    from raw.salesforce__user
    anti join versioned using (Id)
    union all
    select *
    from raw.salesforce__user
    semi join versioned using (Id)
    qualify row_number() over (partition by Id order by SystemModstamp desc, _file desc) = 1
),
tombstones as (
    select key, max(deleted_at) as deleted_at
    from raw.salesforce__user__deleted
    group by key
)
select
    cast(l.Id as varchar) as user_id,
    cast(coalesce(l.Name, trim(concat_ws(' ', l.FirstName, l.LastName))) as varchar) as full_name,
    cast(l.Email as varchar) as email,
    cast(l.Department as varchar) as team,
    cast(l.Division as varchar) as region,
    cast(l.ManagerId as varchar) as manager_id,
    cast(l.IsActive as boolean) as is_active,
    cast(l.SystemModstamp as timestamptz) as modified_at,
    l._source
from latest l
left join tombstones t on t.key = l.Id and t.deleted_at >= l.SystemModstamp
where t.key is null
