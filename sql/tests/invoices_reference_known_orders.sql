-- invoices_reference_known_orders: an invoice that names an order names one the ERP has.
-- table: invoices
-- severity: warn
select i.invoice_id, i.order_id
from invoices i
where i.order_id is not null
  and not exists (select 1 from sales_orders o where o.order_id = i.order_id)
