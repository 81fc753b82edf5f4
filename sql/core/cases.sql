-- cases: customer service cases.
-- grain: one row per case
-- key: case_id
-- sources: staging.files__cases
select
    s.case_id,
    s.account_id,
    s.created_date,
    s.closed_date,
    s.priority,
    s.status,
    s.subject,
    s.modified_at,
    s._source as source,
    s.case_id as source_id
from staging.files__cases s
