-- accounts: CRM accounts, current state.
-- grain: one row per CRM account
-- key: account_id
-- sources: staging.files__accounts
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
from staging.files__accounts s
