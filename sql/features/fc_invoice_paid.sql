-- fc_invoice_paid: non-cancelled invoices with the date they were fully paid (null while open)
-- grain: one row per invoice
-- key: invoice_id
-- sources: invoices, payments
--
-- Built once per Snapshots call as a temp table by transform.Warehouse.Snapshots, before the
-- snapshot query runs over chunks of dates (fc_snapshots.sql joins it as of each date); it
-- depends on no snapshot date, so building it per chunk would repeat the same work.
select i.invoice_id, i.customer_id, i.invoice_date, i.due_date,
       cast(i.amount_base as double) as amount_base,
       case when coalesce(sum(p.amount), 0) >= i.amount - 0.01 then max(p.payment_date) end as paid_date
from invoices i
left join payments p on p.invoice_id = i.invoice_id
where not coalesce(i.is_cancelled, false) and i.customer_id is not null
group by i.invoice_id, i.customer_id, i.invoice_date, i.due_date, i.amount_base, i.amount
