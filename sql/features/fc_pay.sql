-- fc_pay: running count and sum of days late of payments per ERP customer, by payment date
-- grain: one row per customer and payment date
-- key: customer_id, payment_date
-- sources: payments, invoices
--
-- Built once per Snapshots call as a temp table by transform.Warehouse.Snapshots, before the
-- snapshot query runs over chunks of dates (fc_snapshots.sql joins it as of each date); it
-- depends on no snapshot date, so building it per chunk would repeat the same work.
select p.customer_id, p.payment_date,
       sum(sum(date_diff('day', i.due_date, p.payment_date))) over w as sum_late,
       sum(count(*)) over w as n
from payments p
join invoices i on i.invoice_id = p.invoice_id
where p.customer_id is not null and i.due_date is not null and p.payment_date is not null
group by p.customer_id, p.payment_date
window w as (partition by p.customer_id order by p.payment_date)
