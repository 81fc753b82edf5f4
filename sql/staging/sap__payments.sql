-- sap__payments: incoming payments from SAP's customer items (A_OperationalAcctgDocItemCube, document type DZ) in the canonical payments shape: applied payments with the invoice they clear, payments on account without one.
-- grain: one row per payment document and source (its latest landed version)
-- key: payment_id
-- incremental: _source, payment_id = raw.sap__a_operational_acctg_doc_item_cube(_source, coalesce(AssignmentReference, AccountingDocument)) by (_source, CompanyCode, FiscalYear, AccountingDocument, AccountingDocumentItem)
-- sources: raw.sap__a_operational_acctg_doc_item_cube
with latest as (
    select *
    from raw.sap__a_operational_acctg_doc_item_cube
    qualify row_number() over (partition by _source, CompanyCode, FiscalYear, AccountingDocument, AccountingDocumentItem
                               order by LastChangeDateTime desc, _file desc) = 1
)
select
    coalesce(i.AssignmentReference, i.AccountingDocument) as payment_id,
    i.InvoiceReference as invoice_id,
    i.Customer as customer_id,
    i.PostingDate as payment_date,
    cast(-i.AmountInTransactionCurrency as decimal(18,2)) as amount,
    i.TransactionCurrency as currency,
    i.LastChangeDateTime as modified_at,
    i._source
from latest i
where i.FinancialAccountType = 'D' and i.AccountingDocumentType = 'DZ'
