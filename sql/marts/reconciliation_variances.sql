-- reconciliation_variances: where CRM and ERP disagree between "Closed Won" and "Paid" — one finding per row with its kind, severity, the records and amounts (base currency) on both sides and a one-line explanation.
-- grain: one row per finding: a record (deal, order, order line, invoice, payment) and what is wrong with it, or a closed month for the close check
-- key: variance_id
-- sources: opportunities, opportunity_lines, opportunity_history, sales_orders, sales_order_lines, shipments, invoices, payments, fx_rates_daily, order_matches, customers, reconcile_settings, meta.settings
--
-- kinds (the generator's vocabulary, fixtures.AnomalyKinds, where it has one):
--   won_without_order          won deal, closed > won_without_order_days ago, no sales order (crm: deal)
--   order_without_opportunity  order that carries no CRM deal id and matches no won deal, or names an unknown one (erp: order)
--   currency_mismatch          order in another currency than its deal (crm: deal, erp: order)
--   amount_mismatch            order amount <> won amount beyond tolerance, both at the order date's rates,
--                              not explained by a price or quantity variance on its lines (crm: deal, erp: order)
--   price_mismatch             order line unit price <> deal line (same currency: to the cent; else beyond
--                              price_tolerance_pct at the order date's rates) (crm: deal line, erp: order line)
--   quantity_mismatch          order line quantity <> deal line (crm: deal line, erp: order line)
--   duplicate_order            the same order entered again (erp: the later order; crm: its deal)
--   shipped_not_invoiced       goods shipped > shipped_not_invoiced_days ago, no invoice (erp: order)
--   invoiced_ne_ordered        fully billed order (status invoiced/completed) or over-billed order whose
--                              invoices (not cancelled) differ from the order amount by more than
--                              invoice_tolerance (erp: order)
--   partial_payment            invoice paid in part (erp: invoice)
--   overpayment                invoice paid more than its amount (erp: invoice)
--   unapplied_payment          payment not applied to a known invoice (erp: payment)
--   commit_vs_recognised       closed month: CRM commit at month end (commit + closed, closing in the month)
--                              vs ERP invoiced revenue of the month, gap > close_tolerance_pct (both: YYYY-MM)
--   missing_fx_rate            an amount that cannot be converted to the base currency (no rate)
--   invoice_without_order      invoice naming an order the ERP does not have (erp: invoice)
--   invalid_quantity           order or deal line with a quantity <= 0 (the line)
-- expected_base / actual_base: what the amount should be and what it is, in the base currency;
-- difference_base = actual − expected. severity: high / medium / low by |difference| (or the amount at
-- stake) against reconcile_settings; data problems that block reconciliation are high.
with settings as (
    select r.*, m.base_currency
    from reconcile_settings r
    cross join meta.settings m
),
orders as (
    select
        o.order_id,
        o.customer_id,
        o.order_date,
        o.status,
        o.amount,
        o.currency,
        o.amount_base,
        m.opportunity_id,
        m.method,
        m.duplicate_of_order_id
    from sales_orders o
    join order_matches m on m.order_id = o.order_id
),
deals as (
    select opportunity_id, account_id, close_date, amount, currency, amount_base
    from opportunities
    where is_won
),
customer_of_account as (
    select unnest(account_ids) as account_id, customer_key
    from customers
),
order_rates as (
    -- both currencies of a deal and its order at the order date's rate, so FX moves are no variance
    select
        o.order_id,
        case when o.currency = s.base_currency then 1 else fo.rate_to_base end as order_rate,
        case when d.currency = s.base_currency then 1 else fd.rate_to_base end as deal_rate
    from orders o
    join deals d on d.opportunity_id = o.opportunity_id
    cross join settings s
    left join fx_rates_daily fo on fo.currency = o.currency and fo.rate_date = least(cast(o.order_date as date), (select max(rate_date) from fx_rates_daily))
    left join fx_rates_daily fd on fd.currency = d.currency and fd.rate_date = least(cast(o.order_date as date), (select max(rate_date) from fx_rates_daily))
),
matched_orders as (
    -- orders of a won deal, not duplicates: compared with their deal
    select
        o.*,
        d.account_id,
        d.amount as deal_amount,
        d.currency as deal_currency,
        d.amount_base as deal_amount_base,
        r.order_rate,
        r.deal_rate
    from orders o
    join deals d on d.opportunity_id = o.opportunity_id
    join order_rates r on r.order_id = o.order_id
    where o.method in ('reference', 'inferred')
),
line_pairs as (
    -- order lines against deal lines, product by product (a product on several lines counts
    -- its total quantity and its lowest and highest price; the first line stands for it)
    select
        o.order_id,
        o.opportunity_id,
        o.account_id,
        o.currency as order_currency,
        o.deal_currency,
        o.order_rate,
        o.deal_rate,
        ol.line_id as order_line_id,
        ol.quantity as order_quantity,
        ol.min_price as order_unit_price,
        ol.max_price as order_max_price,
        ol.amount_base as order_line_base,
        dl.line_id as deal_line_id,
        dl.quantity as deal_quantity,
        dl.min_price as deal_unit_price,
        dl.max_price as deal_max_price,
        dl.amount_base as deal_line_base,
        ol.product_id
    from matched_orders o
    join (
        select l.order_id, l.product_id, min(l.line_id) as line_id, sum(l.quantity) as quantity,
               min(l.unit_price) as min_price, max(l.unit_price) as max_price, sum(l.amount_base) as amount_base
        from sales_order_lines l
        semi join matched_orders m on m.order_id = l.order_id
        group by l.order_id, l.product_id
    ) ol on ol.order_id = o.order_id
    join (
        select l.opportunity_id, l.product_id, min(l.line_id) as line_id, sum(l.quantity) as quantity,
               min(l.unit_price) as min_price, max(l.unit_price) as max_price, sum(l.amount_base) as amount_base
        from opportunity_lines l
        semi join matched_orders m on m.opportunity_id = l.opportunity_id
        group by l.opportunity_id, l.product_id
    ) dl on dl.opportunity_id = o.opportunity_id and dl.product_id = ol.product_id
),
price_variances as (
    select
        'price_mismatch' as kind,
        p.deal_line_id as crm_record_id,
        p.order_line_id as erp_record_id,
        p.order_id,
        p.account_id,
        p.deal_line_base as crm_amount_base,
        p.order_line_base as erp_amount_base,
        cast(round(p.deal_unit_price * p.order_quantity * p.deal_rate, 2) as decimal(18, 2)) as expected_base,
        cast(round(p.order_unit_price * p.order_quantity * p.order_rate, 2) as decimal(18, 2)) as actual_base,
        'unit price ' || p.order_unit_price || ' ' || p.order_currency || ' on ' || p.order_line_id || ' (' || p.product_id
            || ') vs ' || p.deal_unit_price || ' ' || p.deal_currency || ' on the deal line' as explanation
    from line_pairs p
    cross join settings s
    where (p.order_currency = p.deal_currency
           and (p.order_unit_price <> p.deal_unit_price or p.order_max_price <> p.deal_max_price))
       or (p.order_currency <> p.deal_currency
           and (abs(p.order_unit_price * p.order_rate - p.deal_unit_price * p.deal_rate)
                    > s.price_tolerance_pct / 100 * abs(p.deal_unit_price * p.deal_rate)
                or abs(p.order_max_price * p.order_rate - p.deal_max_price * p.deal_rate)
                    > s.price_tolerance_pct / 100 * abs(p.deal_max_price * p.deal_rate)))
),
quantity_variances as (
    select
        'quantity_mismatch' as kind,
        p.deal_line_id,
        p.order_line_id,
        p.order_id,
        p.account_id,
        p.deal_line_base,
        p.order_line_base,
        cast(round(p.order_unit_price * p.deal_quantity * p.order_rate, 2) as decimal(18, 2)),
        cast(round(p.order_unit_price * p.order_quantity * p.order_rate, 2) as decimal(18, 2)),
        'quantity ' || p.order_quantity || ' on ' || p.order_line_id || ' (' || p.product_id || ') vs '
            || p.deal_quantity || ' on the deal line'
    from line_pairs p
    where p.order_quantity <> p.deal_quantity
),
order_variances as (
    select
        'currency_mismatch' as kind,
        o.opportunity_id as crm_record_id,
        o.order_id as erp_record_id,
        o.order_id,
        o.account_id,
        o.deal_amount_base as crm_amount_base,
        o.amount_base as erp_amount_base,
        cast(round(o.deal_amount * o.deal_rate, 2) as decimal(18, 2)) as expected_base,
        cast(round(o.amount * o.order_rate, 2) as decimal(18, 2)) as actual_base,
        'order in ' || o.currency || ', deal in ' || o.deal_currency as explanation
    from matched_orders o
    where o.currency <> o.deal_currency
    union all
    select
        'amount_mismatch',
        o.opportunity_id,
        o.order_id,
        o.order_id,
        o.account_id,
        o.deal_amount_base,
        o.amount_base,
        cast(round(o.deal_amount * o.deal_rate, 2) as decimal(18, 2)),
        cast(round(o.amount * o.order_rate, 2) as decimal(18, 2)),
        'order ' || o.amount || ' ' || o.currency || ' vs won ' || o.deal_amount || ' ' || o.deal_currency
            || ' (' || cast(round(o.amount * o.order_rate - o.deal_amount * o.deal_rate, 2) as decimal(18, 2)) || ' '
            || s.base_currency || ' at the order date''s rates), not explained by its lines'
    from matched_orders o
    cross join settings s
    where abs(o.amount * o.order_rate - o.deal_amount * o.deal_rate)
          > greatest(s.amount_tolerance_base, s.amount_tolerance_pct / 100 * greatest(abs(o.amount * o.order_rate), abs(o.deal_amount * o.deal_rate)))
      and o.order_id not in (select order_id from price_variances union all select order_id from quantity_variances)
    union all
    select
        'duplicate_order',
        o.opportunity_id,
        o.order_id,
        o.order_id,
        d.account_id,
        d.amount_base,
        o.amount_base,
        0::decimal(18, 2),
        o.amount_base,
        'repeats ' || o.duplicate_of_order_id || ' (same customer, lines and amount '
            || o.amount || ' ' || o.currency || ', ' || date_diff('day', p.order_date, o.order_date) || ' days later)'
    from orders o
    join orders p on p.order_id = o.duplicate_of_order_id
    left join deals d on d.opportunity_id = o.opportunity_id
    union all
    select
        'order_without_opportunity',
        null,
        o.order_id,
        o.order_id,
        null,
        null,
        o.amount_base,
        0::decimal(18, 2),
        o.amount_base,
        case when o.method = 'unknown_reference'
             then 'order names opportunity ' || so.opportunity_id || ', which the CRM does not have'
             else 'no CRM opportunity: no deal id on the order and no won deal of ' || o.customer_id || ' that matches it' end
    from orders o
    join sales_orders so on so.order_id = o.order_id
    where o.method in ('none', 'unknown_reference')
),
won_without_order as (
    select
        'won_without_order' as kind,
        d.opportunity_id as crm_record_id,
        null as erp_record_id,
        null as order_id,
        d.account_id,
        d.amount_base as crm_amount_base,
        null::decimal(18, 2) as erp_amount_base,
        d.amount_base as expected_base,
        0::decimal(18, 2) as actual_base,
        'closed won on ' || d.close_date || ', ' || date_diff('day', d.close_date, s.as_of) || ' days ago, no sales order' as explanation
    from deals d
    cross join settings s
    where d.close_date < s.as_of - s.won_without_order_days
      and d.opportunity_id not in (select opportunity_id from orders where opportunity_id is not null)
),
billing as (
    select
        order_id,
        sum(amount) filter (where not coalesce(is_cancelled, false)) as invoiced,
        sum(amount_base) filter (where not coalesce(is_cancelled, false)) as invoiced_base,
        count(*) filter (where not coalesce(is_cancelled, false)) as invoices
    from invoices
    group by order_id
),
shipping as (
    select order_id, min(ship_date) as first_ship_date, count(*) as shipments
    from shipments
    where ship_date is not null and status <> 'rejected'
    group by order_id
),
billing_variances as (
    select
        'shipped_not_invoiced' as kind,
        o.opportunity_id as crm_record_id,
        o.order_id as erp_record_id,
        o.order_id,
        null as account_id,
        null::decimal(18, 2) as crm_amount_base,
        0::decimal(18, 2) as erp_amount_base,
        o.amount_base as expected_base,
        0::decimal(18, 2) as actual_base,
        sh.shipments || ' shipment(s) since ' || sh.first_ship_date || ' (' || date_diff('day', sh.first_ship_date, s.as_of)
            || ' days), no invoice for ' || o.amount || ' ' || o.currency as explanation
    from orders o
    join shipping sh on sh.order_id = o.order_id
    cross join settings s
    where sh.first_ship_date <= s.as_of - s.shipped_not_invoiced_days
      and coalesce((select b.invoices from billing b where b.order_id = o.order_id), 0) = 0
    union all
    select
        'invoiced_ne_ordered',
        o.opportunity_id,
        o.order_id,
        o.order_id,
        null,
        null::decimal(18, 2),
        b.invoiced_base,
        o.amount_base,
        b.invoiced_base,
        'invoiced ' || b.invoiced || ' vs ordered ' || o.amount || ' ' || o.currency || ' (order ' || o.status || ')'
    from orders o
    join billing b on b.order_id = o.order_id
    cross join settings s
    where b.invoices > 0
      and abs(b.invoiced - o.amount) > s.invoice_tolerance
      and (o.status in ('invoiced', 'completed') or b.invoiced > o.amount)
),
applied as (
    select invoice_id, sum(amount) as paid, sum(amount_base) as paid_base, count(*) as payments, max(payment_date) as last_paid
    from payments
    where invoice_id is not null
    group by invoice_id
),
payment_variances as (
    select
        case when a.paid < i.amount then 'partial_payment' else 'overpayment' end as kind,
        null as crm_record_id,
        i.invoice_id as erp_record_id,
        i.order_id,
        null as account_id,
        null::decimal(18, 2) as crm_amount_base,
        a.paid_base as erp_amount_base,
        i.amount_base as expected_base,
        a.paid_base as actual_base,
        'paid ' || a.paid || ' of ' || i.amount || ' ' || i.currency || ' (' || a.payments || ' payment(s), last ' || a.last_paid || ')' as explanation
    from invoices i
    join applied a on a.invoice_id = i.invoice_id
    cross join settings s
    where not coalesce(i.is_cancelled, false)
      and abs(a.paid - i.amount) > s.payment_tolerance
    union all
    select
        'unapplied_payment',
        null,
        p.payment_id,
        null,
        null,
        null::decimal(18, 2),
        p.amount_base,
        0::decimal(18, 2),
        p.amount_base,
        case when p.invoice_id is null then 'payment of ' || p.amount || ' ' || p.currency || ' from ' || p.customer_id || ' on ' || p.payment_date || ' not applied to an invoice'
             else 'payment of ' || p.amount || ' ' || p.currency || ' applied to ' || p.invoice_id || ', which the ERP does not have' end
    from payments p
    where p.invoice_id is null or p.invoice_id not in (select invoice_id from invoices)
),
closed_months as (
    select
        s.close_tolerance_pct,
        s.high_amount_base,
        cast(date_trunc('month', s.as_of) - to_months(m.i) as date) as month_start
    from settings s, range(1, 1000) m(i)
    where m.i <= s.close_months
),
month_commit as (
    -- the CRM's commit at month end: deals closing in the month in forecast category commit or
    -- closed, in the state that held at the end of the month
    select c.month_start, sum(h.amount_base) as commit_base, count(*) as deals
    from closed_months c
    join opportunity_history h on cast(date_trunc('month', h.close_date) as date) = c.month_start
    where h.forecast_category in ('commit', 'closed')
      and h.valid_from < c.month_start + interval 1 month
      and (h.valid_to is null or h.valid_to >= c.month_start + interval 1 month)
    group by c.month_start
),
month_revenue as (
    select c.month_start, sum(i.amount_base) as invoiced_base
    from closed_months c
    join invoices i on i.invoice_date >= c.month_start and i.invoice_date < c.month_start + interval 1 month
    where not coalesce(i.is_cancelled, false)
    group by c.month_start
),
close_variances as (
    select
        'commit_vs_recognised' as kind,
        strftime(c.month_start, '%Y-%m') as crm_record_id,
        strftime(c.month_start, '%Y-%m') as erp_record_id,
        null as order_id,
        null as account_id,
        coalesce(k.commit_base, 0)::decimal(18, 2) as crm_amount_base,
        coalesce(r.invoiced_base, 0)::decimal(18, 2) as erp_amount_base,
        coalesce(k.commit_base, 0)::decimal(18, 2) as expected_base,
        coalesce(r.invoiced_base, 0)::decimal(18, 2) as actual_base,
        strftime(c.month_start, '%Y-%m') || ': CRM commit ' || coalesce(k.commit_base, 0) || ' (' || coalesce(k.deals, 0)
            || ' deals) vs ERP invoiced ' || coalesce(r.invoiced_base, 0) || ' ('
            || round(100 * (coalesce(r.invoiced_base, 0) - coalesce(k.commit_base, 0)) / nullif(k.commit_base, 0), 1) || '%)' as explanation
    from closed_months c
    left join month_commit k on k.month_start = c.month_start
    left join month_revenue r on r.month_start = c.month_start
    where abs(coalesce(r.invoiced_base, 0) - coalesce(k.commit_base, 0)) > c.close_tolerance_pct / 100 * abs(coalesce(k.commit_base, 0))
),
data_problems as (
    select 'missing_fx_rate' as kind, opportunity_id as crm_record_id, null as erp_record_id, null as order_id, account_id,
           null::decimal(18, 2) as crm_amount_base, null::decimal(18, 2) as erp_amount_base, null::decimal(18, 2) as expected_base,
           null::decimal(18, 2) as actual_base,
           'opportunity amount ' || amount || ' ' || currency || ' has no ' || currency || ' rate: it cannot be reconciled' as explanation
    from opportunities where amount_base is null
    union all
    select 'missing_fx_rate', null, order_id, order_id, null, null, null, null, null,
           'order amount ' || amount || ' ' || currency || ' has no ' || currency || ' rate: it cannot be reconciled'
    from sales_orders where amount_base is null
    union all
    select 'missing_fx_rate', null, invoice_id, order_id, null, null, null, null, null,
           'invoice amount ' || amount || ' ' || currency || ' has no ' || currency || ' rate: it cannot be reconciled'
    from invoices where amount_base is null
    union all
    select 'missing_fx_rate', null, payment_id, null, null, null, null, null, null,
           'payment amount ' || amount || ' ' || currency || ' has no ' || currency || ' rate: it cannot be reconciled'
    from payments where amount_base is null
    union all
    select 'invoice_without_order', null, i.invoice_id, null, null, null, i.amount_base, null, i.amount_base,
           'invoice of ' || i.amount || ' ' || i.currency || ' names order ' || i.order_id || ', which the ERP does not have'
    from invoices i
    where i.order_id is not null and i.order_id not in (select order_id from sales_orders)
    union all
    select 'invalid_quantity', null, line_id, order_id, null, null, amount_base, null, amount_base,
           'order line quantity ' || quantity || ' (' || product_id || '): quantities must be positive'
    from sales_order_lines where quantity <= 0
    union all
    select 'invalid_quantity', l.line_id, null, null, o.account_id, l.amount_base, null, null, null,
           'deal line quantity ' || l.quantity || ' (' || l.product_id || '): quantities must be positive'
    from opportunity_lines l
    left join opportunities o on o.opportunity_id = l.opportunity_id
    where l.quantity <= 0
),
findings as (
    select * from won_without_order
    union all select * from order_variances
    union all select * from price_variances
    union all select * from quantity_variances
    union all select * from billing_variances
    union all select * from payment_variances
    union all select * from close_variances
    union all select * from data_problems
),
enriched as (
    select
        f.*,
        coalesce(f.account_id, d.account_id) as deal_account_id,
        coalesce(so.customer_id, i.customer_id, p.customer_id) as erp_customer_id
    from findings f
    left join orders so on so.order_id = f.order_id
    left join deals d on d.opportunity_id = coalesce(so.opportunity_id, f.crm_record_id)
    left join invoices i on i.invoice_id = f.erp_record_id
    left join payments p on p.payment_id = f.erp_record_id
)
select
    e.kind || ':' || coalesce(e.erp_record_id, e.crm_record_id) as variance_id,
    e.kind,
    case
        when e.kind in ('missing_fx_rate', 'invoice_without_order', 'invalid_quantity') then 'high'
        when e.kind = 'commit_vs_recognised' then
            case when abs(e.actual_base - e.expected_base) >= 0.5 * abs(e.expected_base) then 'high'
                 when abs(e.actual_base - e.expected_base) >= 0.25 * abs(e.expected_base) then 'medium' else 'low' end
        when abs(coalesce(e.actual_base, 0) - coalesce(e.expected_base, 0)) >= s.high_amount_base then 'high'
        when abs(coalesce(e.actual_base, 0) - coalesce(e.expected_base, 0)) >= s.medium_amount_base then 'medium'
        else 'low'
    end as severity,
    e.crm_record_id,
    e.erp_record_id,
    e.crm_amount_base,
    e.erp_amount_base,
    e.expected_base,
    e.actual_base,
    e.actual_base - e.expected_base as difference_base,
    e.explanation,
    e.deal_account_id as account_id,
    coalesce(e.erp_customer_id, ca.customer_key) as customer_key,
    e.erp_customer_id,
    e.order_id,
    s.as_of
from enriched e
cross join settings s
left join customer_of_account ca on ca.account_id = e.deal_account_id
