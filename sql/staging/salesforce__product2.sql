-- salesforce__product2: Salesforce Product2 records in the canonical products shape: the latest landed version of each, deleted ones removed.
-- grain: one row per product
-- key: product_id
-- sources: raw.salesforce__product2, raw.salesforce__product2__deleted
-- product_id is ProductCode (the material number the ERP shares), else the Product2 id;
-- when two products share a code the most recently changed wins. list_price, unit_cost
-- and lead_time_days come from the custom fields List_Price__c, Unit_Cost__c and
-- Lead_Time_Days__c. Latest version and tombstones as in salesforce__opportunity.
with versioned as (
    -- records landed more than once: only they need sorting for the latest. Few after a
    -- first load; after a periodic full refresh (full_refresh_every) every record is here and
    -- this costs more than one window over all rows would (a group by and a semi join more)
    select Id
    from raw.salesforce__product2
    group by Id
    having count(*) > 1
),
latest as (
    select *
    from raw.salesforce__product2
    anti join versioned using (Id)
    union all
    select *
    from raw.salesforce__product2
    semi join versioned using (Id)
    qualify row_number() over (partition by Id order by SystemModstamp desc, _file desc) = 1
),
tombstones as (
    select key, max(deleted_at) as deleted_at
    from raw.salesforce__product2__deleted
    group by key
)
select
    cast(coalesce(l.ProductCode, l.Id) as varchar) as product_id,
    cast(l.Name as varchar) as product_name,
    cast(l.Family as varchar) as family,
    cast(l.List_Price__c as decimal(18,2)) as list_price,
    cast(l.Unit_Cost__c as decimal(18,2)) as unit_cost,
    cast(round(l.Lead_Time_Days__c) as bigint) as lead_time_days,
    cast(l.IsActive as boolean) as is_active,
    cast(l.SystemModstamp as timestamptz) as modified_at,
    l._source
from latest l
left join tombstones t on t.key = l.Id and t.deleted_at >= l.SystemModstamp
where t.key is null
  and not coalesce(l.IsDeleted, false)
qualify row_number() over (partition by coalesce(l.ProductCode, l.Id) order by l.SystemModstamp desc, l.Id desc) = 1
