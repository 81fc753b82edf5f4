-- salesforce__opportunity_line_item: Salesforce OpportunityLineItem records in the canonical opportunity_lines shape: the latest landed version of each, deleted ones removed.
-- grain: one row per opportunity line item
-- key: line_id
-- incremental: line_id = raw.salesforce__opportunity_line_item(Id)
-- sources: raw.salesforce__opportunity_line_item, raw.salesforce__opportunity_line_item__deleted
-- product_id is the product code (the material number the ERP shares), else the Product2
-- id; quantity is rounded to whole units; a missing TotalPrice is quantity x unit price.
-- Latest version and tombstones as in salesforce__opportunity.
with versioned as (
    -- records landed more than once: only they need sorting for the latest. Few after a
    -- first load; after a periodic full refresh (full_refresh_every) every record is here and
    -- this costs more than one window over all rows would (a group by and a semi join more)
    select Id
    from raw.salesforce__opportunity_line_item
    group by Id
    having count(*) > 1
),
latest as (
    select *
    from raw.salesforce__opportunity_line_item
    anti join versioned using (Id)
    union all
    select *
    from raw.salesforce__opportunity_line_item
    semi join versioned using (Id)
    qualify row_number() over (partition by Id order by SystemModstamp desc, _file desc) = 1
),
tombstones as (
    select key, max(deleted_at) as deleted_at
    from raw.salesforce__opportunity_line_item__deleted
    group by key
)
select
    cast(l.Id as varchar) as line_id,
    cast(l.OpportunityId as varchar) as opportunity_id,
    cast(coalesce(l.ProductCode, l.Product2Id) as varchar) as product_id,
    cast(round(l.Quantity) as bigint) as quantity,
    cast(l.UnitPrice as decimal(18,2)) as unit_price,
    cast(l.ListPrice as decimal(18,2)) as list_price,
    cast(coalesce(l.TotalPrice, round(l.Quantity * l.UnitPrice, 2)) as decimal(18,2)) as total_price,
    cast(coalesce(l.CurrencyIsoCode, (select base_currency from meta.settings)) as varchar) as currency,
    cast(l.SystemModstamp as timestamptz) as modified_at,
    l._source
from latest l
left join tombstones t on t.key = l.Id and t.deleted_at >= l.SystemModstamp
where t.key is null
  and not coalesce(l.IsDeleted, false)
