-- hubspot__owners: HubSpot owners in the canonical users shape: the latest landed version of each.
-- grain: one row per owner
-- key: user_id
-- incremental: user_id = raw.hubspot__owners(id)
-- sources: raw.hubspot__owners
-- Latest version: highest updated_at, then latest file. Owners are never deleted: an
-- archived owner is a deactivated user (is_active false). user_id is the owner id that
-- deals and companies carry in hubspot_owner_id; team is the owner's primary team. HubSpot
-- has no sales region or manager for owners: both are null.
select
    cast(id as varchar) as user_id,
    cast(trim(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) as varchar) as full_name,
    cast(email as varchar) as email,
    cast(team as varchar) as team,
    cast(null as varchar) as region,
    cast(null as varchar) as manager_id,
    cast(not coalesce(archived, false) as boolean) as is_active,
    cast(updated_at as timestamptz) as modified_at,
    _source
from raw.hubspot__owners
qualify row_number() over (partition by id order by updated_at desc, _file desc) = 1
