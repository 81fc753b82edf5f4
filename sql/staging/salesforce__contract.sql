-- salesforce__contract: Salesforce Contract records in the canonical contracts shape: the latest landed version of each, deleted ones removed.
-- grain: one row per contract
-- key: contract_id
-- incremental: contract_id = raw.salesforce__contract(Id)
-- sources: raw.salesforce__contract, raw.salesforce__contract__deleted
-- status is the custom field Renewal_Status__c (active, renewed, churned), else churned
-- for Terminated or Expired contracts and active otherwise; a missing EndDate is
-- StartDate plus ContractTerm months less a day; customer_id, product_family,
-- annual_value, renewal_of and auto_renew come from custom fields. Latest version and
-- tombstones as in salesforce__opportunity.
with versioned as (
    -- records landed more than once: only they need sorting for the latest. Few after a
    -- first load; after a periodic full refresh (full_refresh_every) every record is here and
    -- this costs more than one window over all rows would (a group by and a semi join more)
    select Id
    from raw.salesforce__contract
    group by Id
    having count(*) > 1
),
latest as (
    select *
    from raw.salesforce__contract
    anti join versioned using (Id)
    union all
    select *
    from raw.salesforce__contract
    semi join versioned using (Id)
    qualify row_number() over (partition by Id order by SystemModstamp desc, _file desc) = 1
),
tombstones as (
    select key, max(deleted_at) as deleted_at
    from raw.salesforce__contract__deleted
    group by key
)
select
    cast(l.Id as varchar) as contract_id,
    cast(l.AccountId as varchar) as account_id,
    cast(l.ERP_Customer_Id__c as varchar) as customer_id,
    cast(l.Product_Family__c as varchar) as product_family,
    cast(l.StartDate as date) as start_date,
    cast(coalesce(l.EndDate, l.StartDate + to_months(cast(l.ContractTerm as integer)) - interval 1 day) as date) as end_date,
    cast(coalesce(l.Annual_Value__c, 0) as decimal(18,2)) as annual_value,
    cast(coalesce(l.CurrencyIsoCode, (select base_currency from meta.settings)) as varchar) as currency,
    cast(coalesce(lower(trim(l.Renewal_Status__c)), case when l.Status in ('Terminated', 'Expired') then 'churned' else 'active' end) as varchar) as status,
    cast(l.Renewal_Of__c as varchar) as renewal_of,
    cast(l.Auto_Renew__c as boolean) as auto_renew,
    cast(l.SystemModstamp as timestamptz) as modified_at,
    l._source
from latest l
left join tombstones t on t.key = l.Id and t.deleted_at >= l.SystemModstamp
where t.key is null
  and not coalesce(l.IsDeleted, false)
