-- sap__ar_open_items: open customer items from SAP (A_OperationalAcctgDocItemCube, FinancialAccountType D, no ClearingDate) in the canonical ar_open_items shape; the original amount is the billing document's, the open amount the item's.
-- grain: one row per open accounting document item and source (latest landed version; items cleared since drop out)
-- key: item_id
-- incremental: _source, invoice_id = raw.sap__a_operational_acctg_doc_item_cube(_source, InvoiceReference) by (_source, CompanyCode, FiscalYear, AccountingDocument, AccountingDocumentItem), raw.sap__a_billing_document(_source, BillingDocument)
-- sources: raw.sap__a_operational_acctg_doc_item_cube, raw.sap__a_billing_document
with latest as (
    select *
    from raw.sap__a_operational_acctg_doc_item_cube
    qualify row_number() over (partition by _source, CompanyCode, FiscalYear, AccountingDocument, AccountingDocumentItem
                               order by LastChangeDateTime desc, _file desc) = 1
), billing as (
    select _source, BillingDocument, TotalGrossAmount
    from raw.sap__a_billing_document
    qualify row_number() over (partition by _source, BillingDocument order by LastChangeDateTime desc, _file desc) = 1
)
select
    i.AccountingDocument as item_id,
    i.InvoiceReference as invoice_id,
    i.Customer as customer_id,
    i.PostingDate as posting_date,
    i.NetDueDate as due_date,
    cast(coalesce(b.TotalGrossAmount, i.AmountInTransactionCurrency) as decimal(18,2)) as original_amount,
    cast(i.AmountInTransactionCurrency as decimal(18,2)) as open_amount,
    i.TransactionCurrency as currency,
    coalesce(i.DunningBlockingReason = 'D', false) as is_disputed,
    i.LastChangeDateTime as modified_at,
    i._source
from latest i
left join billing b on b._source = i._source and b.BillingDocument = i.InvoiceReference
where i.FinancialAccountType = 'D' and i.ClearingDate is null
