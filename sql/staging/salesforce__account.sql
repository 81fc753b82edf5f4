-- salesforce__account: Salesforce Account records in the canonical accounts shape: the latest landed version of each, deleted ones removed.
-- grain: one row per account
-- key: account_id
-- incremental: account_id = raw.salesforce__account(Id)
-- sources: raw.salesforce__account, raw.salesforce__account__deleted
-- domain is Website without scheme, www. and path, lower-cased; country is
-- BillingCountryCode (or BillingCountry when it is already a 2-letter code); region,
-- segment, tax_id and erp_customer_id come from the custom fields Sales_Region__c,
-- Segment__c, Tax_Id__c and ERP_Customer_Id__c. Latest version and tombstones as in
-- salesforce__opportunity.
with versioned as (
    -- records landed more than once: only they need sorting for the latest. Few after a
    -- first load; after a periodic full refresh (full_refresh_every) every record is here and
    -- this costs more than one window over all rows would (a group by and a semi join more)
    select Id
    from raw.salesforce__account
    group by Id
    having count(*) > 1
),
latest as (
    select *
    from raw.salesforce__account
    anti join versioned using (Id)
    union all
    select *
    from raw.salesforce__account
    semi join versioned using (Id)
    qualify row_number() over (partition by Id order by SystemModstamp desc, _file desc) = 1
),
tombstones as (
    select key, max(deleted_at) as deleted_at
    from raw.salesforce__account__deleted
    group by key
)
select
    cast(l.Id as varchar) as account_id,
    cast(l.Name as varchar) as account_name,
    cast(nullif(regexp_replace(regexp_replace(lower(trim(l.Website)), '^[a-z]+://', ''), '^www\.|[/?#].*$', '', 'g'), '') as varchar) as domain,
    cast(coalesce(l.BillingCountryCode, case when length(trim(l.BillingCountry)) = 2 then upper(trim(l.BillingCountry)) end) as varchar) as country,
    cast(l.BillingCity as varchar) as city,
    cast(l.Sales_Region__c as varchar) as region,
    cast(l.Industry as varchar) as industry,
    cast(lower(trim(l.Segment__c)) as varchar) as segment,
    cast(l.Tax_Id__c as varchar) as tax_id,
    cast(l.ERP_Customer_Id__c as varchar) as erp_customer_id,
    cast(l.OwnerId as varchar) as owner_id,
    cast(timezone('UTC', l.CreatedDate) as date) as created_date,
    cast(l.SystemModstamp as timestamptz) as modified_at,
    l._source
from latest l
left join tombstones t on t.key = l.Id and t.deleted_at >= l.SystemModstamp
where t.key is null
  and not coalesce(l.IsDeleted, false)
