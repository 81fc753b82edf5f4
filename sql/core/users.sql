-- users: CRM users (reps and managers) with team and region.
-- grain: one row per user
-- key: user_id
-- sources: staging.files__users
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
from staging.files__users s
