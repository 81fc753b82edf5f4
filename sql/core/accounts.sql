-- accounts: CRM accounts, current state.
-- grain: one row per CRM account
-- key: account_id
-- incremental: account_id = staging.files__accounts, staging.salesforce__account, staging.hubspot__companies, staging.dynamics__accounts
-- sources: staging.files__accounts, staging.salesforce__account, staging.hubspot__companies, staging.dynamics__accounts
-- Every CRM's staging model has exactly the canonical columns; a company usually runs one
-- CRM per business unit, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__accounts
    union all by name
    select * from staging.salesforce__account
    union all by name
    select * from staging.hubspot__companies
    union all by name
    select * from staging.dynamics__accounts
)
select
    s.account_id,
    s.account_name,
    s.domain,
    s.country,
    s.city,
    s.region,
    s.industry,
    s.segment,
    s.tax_id,
    s.erp_customer_id,
    s.owner_id,
    s.created_date,
    s.modified_at,
    s._source as source,
    s.account_id as source_id
from unioned s
