-- users: CRM users (reps and managers) with team and region.
-- grain: one row per user
-- key: user_id
-- incremental: user_id = staging.files__users, staging.salesforce__user, staging.hubspot__owners, staging.dynamics__systemusers
-- sources: staging.files__users, staging.salesforce__user, staging.hubspot__owners, staging.dynamics__systemusers
-- Every CRM's staging model has exactly the canonical columns; a company usually runs one
-- CRM per business unit, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__users
    union all by name
    select * from staging.salesforce__user
    union all by name
    select * from staging.hubspot__owners
    union all by name
    select * from staging.dynamics__systemusers
)
select
    s.user_id,
    s.full_name,
    s.email,
    s.team,
    s.region,
    s.manager_id,
    s.is_active,
    s.modified_at,
    s._source as source,
    s.user_id as source_id
from unioned s
