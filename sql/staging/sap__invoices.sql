-- sap__invoices: SAP billing documents (A_BillingDocument) in the canonical invoices shape; order from the first item's sales document, due date from the payment terms key NT<days>.
-- grain: one row per billing document and source (its latest landed version)
-- key: invoice_id
-- incremental: _source, invoice_id = raw.sap__a_billing_document(_source, BillingDocument), raw.sap__a_billing_document_item(_source, BillingDocument)
-- sources: raw.sap__a_billing_document, raw.sap__a_billing_document_item
with latest as (
    select *
    from raw.sap__a_billing_document
    qualify row_number() over (partition by _source, BillingDocument order by LastChangeDateTime desc, _file desc) = 1
), orders as (
    select _source, BillingDocument, min(SalesDocument) as SalesDocument
    from raw.sap__a_billing_document_item
    group by _source, BillingDocument
)
select
    b.BillingDocument as invoice_id,
    o.SalesDocument as order_id,
    coalesce(b.PayerParty, b.SoldToParty) as customer_id,
    b.BillingDocumentDate as invoice_date,
    b.BillingDocumentDate + coalesce(try_cast(regexp_extract(b.CustomerPaymentTerms, '([0-9]+)$', 1) as integer), 0) as due_date,
    cast(b.TotalGrossAmount as decimal(18,2)) as amount,
    b.TransactionCurrency as currency,
    coalesce(b.BillingDocumentIsCancelled, false) as is_cancelled,
    b.LastChangeDateTime as modified_at,
    b._source
from latest b
left join orders o on o._source = b._source and o.BillingDocument = b.BillingDocument
