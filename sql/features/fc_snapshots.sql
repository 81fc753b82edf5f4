-- fc_snapshots: what was known about each open opportunity at each snapshot date: stage, timing, history events, owner and account track record, the ERP customer's payment behaviour and stock.
-- grain: one row per snapshot date per opportunity open at 00:00 UTC of that date
-- key: snapshot_date, opportunity_id
-- sources: fc_dates, fc_deal, fc_open_ids, fc_history, fc_stage and the track records fc_owner_record,
--   fc_account_record, fc_company_record, fc_bookings, fc_pay, fc_invoice_paid,
--   fc_invoice_payments, fc_case_count (temp tables built before it)
--
-- Run by transform.Warehouse.Snapshots after fc_deal, fc_stage and fc_history. fc_dates
-- lists the snapshot dates (day = days since 1970-01-01) with a sampling modulus: a date with
-- sample_mod k > 1 keeps only deals with hash(opportunity_id) % k = 0 (training dates at
-- large scale). Nothing at or after the snapshot instant is used, except the current
-- attributes of fc_deal (lines, stock) documented there:
--   - the deal's state is the last history row with valid_from < snapshot (the largest
--     fc_history.seq: of rows at one valid_from, the higher history_id); event counts and
--     days per stage rank sum over those rows, each row's time clipped at the snapshot;
--   - owner / account / company win records count deals closed (close_day) before the day;
--   - payment behaviour: payments dated before the day, days late = payment_date - due_date
--     of the invoice paid; open AR: invoices dated before the day that were not fully paid
--     by then, less the payments applied to them before the day; overdue when due before
--     the day;
--   - cases opened in the 365 days before the day; won non-renewal bookings (base currency)
--     of the account closed in the 365 days before the day and the 365 before that.
with dates as (
    select snapshot_date, day, cast(day as double) * 86400 as ts, sample_mod
    from fc_dates
),
open_deals as (
    select d.snapshot_date, d.day, d.ts, x.opportunity_id
    from dates d
    -- only the deals of fc_open_ids: state below inner-joins fc_history, which holds those
    -- deals only, so the rows are the same (and fc_open_ids holds every deal open at some
    -- date of its sample anyway), with a fraction of the inequality join's output (large
    -- refit: the snapshot step 31-32 -> 26 s)
    join (select opportunity_id, created_t, closed_t from fc_deal semi join fc_open_ids using (opportunity_id)) x
      on x.created_t < d.ts and (x.closed_t is null or x.closed_t >= d.ts)
    where d.sample_mod <= 1 or hash(x.opportunity_id) % d.sample_mod = 0
),
top_rank as (
    select max(rank) as r from fc_stage
),
state as (
    select
        o.snapshot_date,
        o.day,
        o.opportunity_id,
        arg_max(h.stage, h.seq) as stage,
        arg_max(h.rank, h.seq) as stage_rank,
        arg_max(h.probability, h.seq) as probability,
        arg_max(h.close_day, h.seq) as close_day,
        arg_max(h.amount_base, h.seq) as amount_base,
        arg_max(h.forecast_category, h.seq) as forecast_category,
        (max(o.ts) - max(h.t) filter (where h.stage_changed)) / 86400 as days_in_stage,
        count(*) filter (where h.is_advance) as advances,
        count(*) filter (where h.is_regression) as regressions,
        count(*) filter (where h.is_push) as pushes,
        count(*) filter (where h.is_slip) as slips,
        count(*) filter (where h.is_slip and h.prev_rank = (select r from top_rank)) as slips_top,
        coalesce(sum(least(coalesce(h.t_end, o.ts), o.ts) - h.t) filter (where h.rank = 0), 0) / 86400 as days_r0,
        coalesce(sum(least(coalesce(h.t_end, o.ts), o.ts) - h.t) filter (where h.rank = 1), 0) / 86400 as days_r1,
        coalesce(sum(least(coalesce(h.t_end, o.ts), o.ts) - h.t) filter (where h.rank = 2), 0) / 86400 as days_r2,
        coalesce(sum(least(coalesce(h.t_end, o.ts), o.ts) - h.t) filter (where h.rank = 3), 0) / 86400 as days_r3,
        coalesce(sum(least(coalesce(h.t_end, o.ts), o.ts) - h.t) filter (where h.rank = 4), 0) / 86400 as days_r4,
        coalesce(sum(least(coalesce(h.t_end, o.ts), o.ts) - h.t) filter (where h.rank >= 5), 0) / 86400 as days_r5
    from open_deals o
    join fc_history h on h.opportunity_id = o.opportunity_id and h.t < o.ts
    group by o.snapshot_date, o.day, o.opportunity_id
),
ar_items as (
    select d.snapshot_date, ip.customer_id, ip.due_date,
           greatest(ip.amount_base - coalesce(pp.paid_base, 0), 0) as open_base
    from (select distinct snapshot_date from dates) d
    join fc_invoice_paid ip on ip.invoice_date < d.snapshot_date
                        and (ip.paid_date is null or ip.paid_date >= d.snapshot_date)
    asof left join fc_invoice_payments pp on pp.invoice_id = ip.invoice_id and d.snapshot_date > pp.payment_date
),
ar as (
    select snapshot_date, customer_id,
           sum(open_base) as open_base,
           coalesce(sum(open_base) filter (where due_date < snapshot_date), 0) as overdue_base,
           coalesce(sum(open_base) filter (where due_date < snapshot_date - 30), 0) as overdue30_base
    from ar_items
    group by snapshot_date, customer_id
),
base as (
    select
        s.*,
        x.account_id, x.owner_id, x.customer_id,
        s.snapshot_date - 365 as d365,
        s.snapshot_date - 730 as d730,
        s.day - 365 as day365,
        s.day - 730 as day730
    from state s
    join fc_deal x on x.opportunity_id = s.opportunity_id
),
-- The as-of lookups run once per distinct key and date, not once per deal: an as-of join
-- sorts its left side with every column it carries, so ten of them over the wide deal rows
-- held some 600 MB per 100k-row chunk; the few thousand (owner, day) or (account, day) keys
-- are then joined back by equality (a null key matches nothing either way).
owner_rec as (
    select k.owner_id, k.day, orr.wins, orr.n
    from (select distinct owner_id, day from base) k
    asof left join fc_owner_record orr on orr.owner_id = k.owner_id and k.day > orr.close_day
),
company_rec as (
    select k.day, cr.wins, cr.n
    from (select distinct day from base) k
    asof left join fc_company_record cr on k.day > cr.close_day
),
customer_pay as (
    select k.customer_id, k.snapshot_date, pc.n, pc.sum_late
    from (select distinct customer_id, snapshot_date from base) k
    asof left join fc_pay pc on pc.customer_id = k.customer_id and k.snapshot_date > pc.payment_date
),
account_rec as (
    select k.account_id, k.day,
           arr.wins, arr.n,
           coalesce(c1.n, 0) - coalesce(c0.n, 0) as cases_365d,
           coalesce(b1.won_base, 0) - coalesce(b0.won_base, 0) as bookings_365d,
           coalesce(b0.won_base, 0) - coalesce(bm.won_base, 0) as bookings_prior_365d
    from (select distinct account_id, snapshot_date, day, d365, day365, day730 from base) k
    asof left join fc_account_record arr on arr.account_id = k.account_id and k.day > arr.close_day
    asof left join fc_case_count c1 on c1.account_id = k.account_id and k.snapshot_date > c1.created_date
    asof left join fc_case_count c0 on c0.account_id = k.account_id and k.d365 > c0.created_date
    asof left join fc_bookings b1 on b1.account_id = k.account_id and k.day > b1.close_day
    asof left join fc_bookings b0 on b0.account_id = k.account_id and k.day365 > b0.close_day
    asof left join fc_bookings bm on bm.account_id = k.account_id and k.day730 > bm.close_day
)
select
    -- Doubles are rounded (days to 1e-6, money to cents, shares to 1e-9): DuckDB sums
    -- doubles in parallel in no fixed order, and rounding makes every run bit-identical.
    b.snapshot_date,
    b.day,
    b.opportunity_id,
    b.stage,
    b.stage_rank,
    cast(b.probability as double) as probability,
    b.close_day,
    round(b.amount_base, 2) as amount_base,
    coalesce(b.forecast_category, 'unknown') as forecast_category,
    round(b.days_in_stage, 6) as days_in_stage,
    b.advances, b.regressions, b.pushes, b.slips, b.slips_top,
    round(b.days_r0, 6) as days_r0, round(b.days_r1, 6) as days_r1, round(b.days_r2, 6) as days_r2,
    round(b.days_r3, 6) as days_r3, round(b.days_r4, 6) as days_r4, round(b.days_r5, 6) as days_r5,
    cast(coalesce(orr.wins, 0) as double) as owner_wins,
    cast(coalesce(orr.n, 0) as double) as owner_closed,
    cast(coalesce(arr.wins, 0) as double) as account_wins,
    cast(coalesce(arr.n, 0) as double) as account_closed,
    cast(coalesce(cr.wins, 0) as double) as company_wins,
    cast(coalesce(cr.n, 0) as double) as company_closed,
    cast(coalesce(pc.n, 0) as double) as payments,
    case when pc.n > 0 then round(pc.sum_late / pc.n, 9) else 0 end as mean_days_late,
    round(coalesce(ar.open_base, 0), 2) as open_ar_base,
    case when ar.open_base > 0 then round(ar.overdue_base / ar.open_base, 9) else 0 end as overdue_share,
    case when ar.open_base > 0 then round(ar.overdue30_base / ar.open_base, 9) else 0 end as overdue30_share,
    cast(coalesce(arr.cases_365d, 0) as double) as cases_365d,
    round(coalesce(arr.bookings_365d, 0), 2) as bookings_365d,
    round(coalesce(arr.bookings_prior_365d, 0), 2) as bookings_prior_365d
from base b
left join owner_rec orr on orr.owner_id = b.owner_id and orr.day = b.day
left join account_rec arr on arr.account_id = b.account_id and arr.day = b.day
left join company_rec cr on cr.day = b.day
left join customer_pay pc on pc.customer_id = b.customer_id and pc.snapshot_date = b.snapshot_date
left join ar on ar.snapshot_date = b.snapshot_date and ar.customer_id = b.customer_id
order by b.snapshot_date, b.opportunity_id
