-- dynamics__systemusers: Dynamics 365 users in the canonical users shape: the latest landed version of each, deleted ones removed.
-- grain: one row per user
-- key: user_id
-- incremental: user_id = raw.dynamics__systemusers(systemuserid)
-- sources: raw.dynamics__systemusers, raw.dynamics__systemusers__deleted
-- Latest version: highest versionnumber, then modifiedon, then latest file. Users are
-- normally disabled (isdisabled → is_active false) rather than deleted; a tombstone learned
-- at or after the latest version drops the user. user_id is the systemuserid GUID that
-- owners (_ownerid_value) reference; manager_id is _parentsystemuserid_value; team and
-- region come from the custom columns rc_salesteam and rc_salesregion.
with latest as (
    select *
    from raw.dynamics__systemusers
    qualify row_number() over (partition by systemuserid order by versionnumber desc, modifiedon desc, _file desc) = 1
),
tombstones as (
    select key, max(deleted_at) as deleted_at
    from raw.dynamics__systemusers__deleted
    group by key
)
select
    cast(l.systemuserid as varchar) as user_id,
    cast(l.fullname as varchar) as full_name,
    cast(l.internalemailaddress as varchar) as email,
    cast(l.rc_salesteam as varchar) as team,
    cast(l.rc_salesregion as varchar) as region,
    cast(l._parentsystemuserid_value as varchar) as manager_id,
    cast(not coalesce(l.isdisabled, false) as boolean) as is_active,
    cast(l.modifiedon as timestamptz) as modified_at,
    l._source
from latest l
left join tombstones t on t.key = l.systemuserid and t.deleted_at >= l.modifiedon
where t.key is null
