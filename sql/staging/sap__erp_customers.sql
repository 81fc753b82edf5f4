-- sap__erp_customers: ERP customers from SAP A_Customer (API_BUSINESS_PARTNER, with the sandbox's flattened address, sales-area and credit fields), in the canonical erp_customers shape.
-- grain: one row per SAP customer and source (its latest landed version)
-- key: customer_id
-- incremental: _source, customer_id = raw.sap__a_customer(_source, Customer)
-- sources: raw.sap__a_customer
with latest as (
    select *
    from raw.sap__a_customer
    qualify row_number() over (partition by _source, Customer order by LastChangeDateTime desc, _file desc) = 1
)
select
    c.Customer as customer_id,
    c.CustomerName as customer_name,
    c.Country as country,
    c.CityName as city,
    c.PostalCode as postal_code,
    c.VATRegistration as tax_id,
    c.Currency as currency,
    cast(c.CreditLimitAmount as decimal(18,2)) as credit_limit,
    cast(try_cast(regexp_extract(c.CustomerPaymentTerms, '([0-9]+)$', 1) as integer) as bigint) as payment_terms_days,
    c.OrderIsBlockedForCustomer is not null as credit_blocked,
    c.CreationDate as created_date,
    c.LastChangeDateTime as modified_at,
    c._source
from latest c
