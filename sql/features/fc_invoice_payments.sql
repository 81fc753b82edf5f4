-- fc_invoice_payments: running sum of payments (base currency) per invoice, by payment date
-- grain: one row per invoice and payment date
-- key: invoice_id, payment_date
-- sources: payments
--
-- Built once per Snapshots call as a temp table by transform.Warehouse.Snapshots, before the
-- snapshot query runs over chunks of dates (fc_snapshots.sql joins it as of each date); it
-- depends on no snapshot date, so building it per chunk would repeat the same work.
select invoice_id, payment_date,
       sum(sum(cast(amount_base as double))) over (partition by invoice_id order by payment_date) as paid_base
from payments
where invoice_id is not null and payment_date is not null
group by invoice_id, payment_date
