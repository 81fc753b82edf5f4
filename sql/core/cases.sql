-- cases: customer service cases.
-- grain: one row per case
-- key: case_id
-- incremental: case_id = staging.files__cases, staging.salesforce__case
-- sources: staging.files__cases, staging.salesforce__case
-- Every CRM's staging model has exactly the canonical columns; a company usually runs one
-- CRM per business unit, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__cases
    union all by name
    select * from staging.salesforce__case
)
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
from unioned s
