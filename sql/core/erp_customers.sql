-- erp_customers: ERP customers (sold-to parties) with credit limit in the base currency (latest rate).
-- grain: one row per ERP customer
-- key: customer_id
-- incremental: customer_id = staging.files__erp_customers, staging.sap__erp_customers, staging.netsuite__erp_customers
-- sources: staging.files__erp_customers, staging.sap__erp_customers, staging.netsuite__erp_customers, fx_rates
-- Every ERP's staging model has exactly the canonical columns; a company runs one ERP per
-- legal entity, so their records are disjoint and a union is the whole picture.
with unioned as (
    select * from staging.files__erp_customers
    union all by name
    select * from staging.sap__erp_customers
    union all by name
    select * from staging.netsuite__erp_customers
)
select
    s.customer_id,
    s.customer_name,
    s.country,
    s.city,
    s.postal_code,
    s.tax_id,
    s.currency,
    s.credit_limit,
    s.payment_terms_days,
    s.credit_blocked,
    s.created_date,
    s.modified_at,
    to_base(s.credit_limit, s.currency, fx.rate_to_base) as credit_limit_base,
    s._source as source,
    s.customer_id as source_id
from unioned s
left join (
    -- the latest rate per currency: credit limits are compared with today's exposure
    select currency, arg_max(rate_to_base, rate_date) as rate_to_base from fx_rates group by currency
) fx on fx.currency = s.currency
