-- order_status_updates: for each CRM opportunity with an ERP order, the order's latest ERP status (created, picked, shipped with tracking, delivered, invoiced, paid, delayed, rejected) and what changed since the previous build — what write-back posts to the CRM.
-- grain: one row per CRM opportunity with a sales order
-- key: opportunity_id
-- sources: order_matches, sales_orders, shipments, invoices, payments, opportunities, meta.order_status_updates_previous, meta.settings
--
-- The order is the deal's order in order_matches (its deal id, or the won deal it matched), not
-- a duplicate. erp_status is an exception when there is one, else how far the order got:
--   delayed    a delivery is late (shipments.status delayed)                    -> needs_review
--   rejected   a delivery was refused and no later delivery has arrived yet     -> needs_review
--   paid       the ERP closed the order (completed: invoiced and paid in full)
--   invoiced   billed (invoices not cancelled), not yet paid in full
--   delivered  every delivery arrived
--   shipped    a delivery left the plant (tracking_numbers)
--   picked     a delivery is picked
--   created    entered, nothing shipped yet (credit_block: held by the credit check)
-- status_date is the date of the event behind the status.
-- previous_status / previous_status_date are the previous build's (meta.order_status_updates_previous,
-- kept by the transform before it rebuilds this table); change is new (no previous row), status
-- (erp_status moved), tracking (new tracking numbers), or none.
with orders as (
    select
        m.opportunity_id,
        o.order_id,
        o.customer_id,
        o.order_date,
        o.status as order_status,
        o.credit_block,
        o.amount,
        o.currency,
        o.amount_base
    from order_matches m
    join sales_orders o on o.order_id = m.order_id
    where m.opportunity_id is not null and m.method <> 'duplicate'
    qualify row_number() over (partition by m.opportunity_id order by o.order_date, o.order_id) = 1
),
deliveries as (
    select
        s.order_id,
        count(*) as shipments,
        count(*) filter (where s.status = 'delayed') as delayed,
        count(*) filter (where s.status = 'picked') as picked,
        count(*) filter (where s.ship_date is not null and s.status <> 'rejected') as shipped,
        count(*) filter (where s.status = 'delivered') as delivered,
        count(*) filter (where s.status <> 'rejected') as live,
        max(s.planned_date) filter (where s.status = 'delayed') as delayed_since,
        max(cast(s.modified_at as date)) filter (where s.status = 'picked') as picked_date,
        max(s.ship_date) filter (where s.status <> 'rejected') as last_ship_date,
        max(s.delivered_date) as last_delivered_date,
        max(cast(s.modified_at as date)) filter (where s.status = 'rejected') as rejected_date,
        nullif(array_to_string(list_sort(list(distinct s.carrier || ' ' || s.tracking_number)
            filter (where s.tracking_number is not null and s.status <> 'rejected')), ', '), '') as tracking_numbers
    from shipments s
    semi join orders o on o.order_id = s.order_id
    group by s.order_id
),
billing as (
    select i.order_id, count(*) as invoices, sum(i.amount_base) as invoiced_base, max(i.invoice_date) as last_invoice_date
    from invoices i
    semi join orders o on o.order_id = i.order_id
    where not coalesce(i.is_cancelled, false)
    group by i.order_id
),
collections as (
    select i.order_id, sum(p.amount_base) as paid_base, max(p.payment_date) as last_payment_date
    from payments p
    join invoices i on i.invoice_id = p.invoice_id
    semi join orders o on o.order_id = i.order_id
    group by i.order_id
),
statuses as (
    select
        o.*,
        d.shipments,
        d.tracking_numbers,
        b.invoiced_base,
        c.paid_base,
        case
            when d.delayed > 0 then 'delayed'
            when d.rejected_date is not null and coalesce(d.last_delivered_date < d.rejected_date, true) then 'rejected'
            when o.order_status = 'completed' then 'paid'
            when b.invoices > 0 then 'invoiced'
            when d.live > 0 and d.delivered = d.live then 'delivered'
            when d.shipped > 0 then 'shipped'
            when d.picked > 0 then 'picked'
            else 'created'
        end as erp_status,
        d.delayed_since,
        d.rejected_date,
        d.last_ship_date,
        d.last_delivered_date,
        d.picked_date,
        b.last_invoice_date,
        c.last_payment_date
    from orders o
    left join deliveries d on d.order_id = o.order_id
    left join billing b on b.order_id = o.order_id
    left join collections c on c.order_id = o.order_id
),
dated as (
    select
        s.*,
        case s.erp_status
            when 'delayed' then s.delayed_since
            when 'rejected' then s.rejected_date
            when 'paid' then coalesce(s.last_payment_date, s.last_invoice_date)
            when 'invoiced' then s.last_invoice_date
            when 'delivered' then s.last_delivered_date
            when 'shipped' then s.last_ship_date
            when 'picked' then s.picked_date
            else s.order_date
        end as status_date
    from statuses s
)
select
    d.opportunity_id,
    p.account_id,
    d.order_id,
    d.customer_id as erp_customer_id,
    d.erp_status,
    d.status_date,
    d.order_status,
    coalesce(d.credit_block, false) as credit_block,
    d.erp_status in ('delayed', 'rejected') as needs_review,
    d.shipments,
    d.tracking_numbers,
    d.amount_base as order_amount_base,
    d.invoiced_base,
    d.paid_base,
    v.erp_status as previous_status,
    v.status_date as previous_status_date,
    case
        when v.opportunity_id is null then 'new'
        when v.erp_status is distinct from d.erp_status then 'status'
        when v.tracking_numbers is distinct from d.tracking_numbers then 'tracking'
        else 'none'
    end as change,
    case
        when v.opportunity_id is null then 'first seen: ' || d.erp_status
        when v.erp_status is distinct from d.erp_status then v.erp_status || ' -> ' || d.erp_status
        when v.tracking_numbers is distinct from d.tracking_numbers then 'tracking: ' || coalesce(d.tracking_numbers, '-')
    end as what_changed,
    s.as_of
from dated d
cross join meta.settings s
left join opportunities p on p.opportunity_id = d.opportunity_id
left join meta.order_status_updates_previous v on v.opportunity_id = d.opportunity_id
