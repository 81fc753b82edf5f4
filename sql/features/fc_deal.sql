-- fc_deal: the static attributes and the outcome of every opportunity, for the forecast's feature snapshots.
-- grain: one row per opportunity
-- key: opportunity_id
-- sources: opportunities, opportunity_history, opportunity_lines, products, users, accounts, contracts, sales_orders, fc_account_matches, fc_stage (temp)
--
-- Built as a temp table by transform.Warehouse.Snapshots. Times are seconds since the epoch
-- (UTC), days are days since 1970-01-01, so comparisons never depend on the session zone.
--
-- created_t / closed_t: the first history row's valid_from and, for a closed deal, when it
-- closed: the valid_from of the first of the rows in closed stages (fc_stage) that end its
-- history, i.e. that follow its last row in an open stage (the first row, when none is
-- open; its last row, when its history ends open). Not simply its last row: a CRM adds a
-- history row when a closed deal's amount or close date is edited afterwards (Salesforce's
-- OpportunityHistory does), which would move the close to the day of the edit. close_day
-- is closed_t's UTC date: a deal closed on day d is known from snapshot d+1 on.
-- first_close_day: the close date of the
-- first history row in the order of opportunity_history's versions (valid_from, then
-- history_id: of two rows at one instant the lower id is first, as in fc_history).
--
-- Line attributes come from the current opportunity lines (lines are not historised in the
-- CRM, so discount and product mix are the current ones, not the ones at each snapshot).
-- discount = 1 - sum(total_price) / sum(list_price * quantity); family: the product family
-- with the largest list value. The lines' supply shares (short_share, uncovered_share) are
-- in fc_deal_supply, built for the snapshotted deals only.
--
-- customer_id: the account's ERP customer from the golden record (fc_account_matches, filled
-- from account_matches when that mart exists), else accounts.erp_customer_id, else the
-- customer most often on sales orders that carry one of the account's opportunity ids (a tie
-- to the first customer_id).
--
-- Memory: every aggregate here is a plain one (min, max, count, sum), per deal or account,
-- and every "first by some order" is a max followed by a join back and a min, not an
-- ordered aggregate (first(x order by ...)), a list() or an arg_min over a struct. DuckDB
-- spills a plain aggregate's hash table to disk beyond memory_limit; the others keep each
-- group's state in memory (DuckDB's "Tuning Workloads" guide, Limitations, names list()
-- and aggregates with ORDER BY; a struct arg_min measured the same), so with one group per
-- deal they grow with the history. Measured on twice the large company (2M deals): with
-- them this query ran out of a 600 MB memory_limit; without them the whole forecast runs
-- in 250 MB.
with last_row as (
    select
        h.opportunity_id,
        min(epoch(h.valid_from)) as created_t,
        max(epoch(h.valid_from)) as last_t,
        max(epoch(h.valid_from)) filter (where s.is_open) as last_open_t
    from opportunity_history h
    left join fc_stage s on s.stage = h.stage
    group by h.opportunity_id
),
closed_after_open as (
    -- the first closed-stage row after the last open one (a second aggregate joined back,
    -- not a list of each deal's closed rows: see Memory above)
    select h.opportunity_id, min(epoch(h.valid_from)) as closed_t
    from opportunity_history h
    join fc_stage s on s.stage = h.stage
    join last_row r on r.opportunity_id = h.opportunity_id
    where not s.is_open and (r.last_open_t is null or epoch(h.valid_from) > r.last_open_t)
    group by h.opportunity_id
),
first_row as (
    -- the first version: of the rows at the first instant, the lowest history_id (so a tie
    -- cannot go to whichever row the parallel aggregation met first)
    select h.opportunity_id, min(h.history_id) as history_id
    from opportunity_history h
    join last_row r on r.opportunity_id = h.opportunity_id and epoch(h.valid_from) is not distinct from r.created_t
    group by h.opportunity_id
),
closing as (
    select
        r.opportunity_id,
        r.created_t,
        coalesce(c.closed_t, r.last_t) as closed_t,
        h.close_date as first_close_date
    from last_row r
    left join closed_after_open c on c.opportunity_id = r.opportunity_id
    join first_row f on f.opportunity_id = r.opportunity_id
    join opportunity_history h on h.opportunity_id = f.opportunity_id and h.history_id = f.history_id
),
account_order_counts as (
    select o.account_id, so.customer_id, count(*) as n
    from sales_orders so
    join opportunities o on o.opportunity_id = so.opportunity_id
    where so.customer_id is not null
    group by o.account_id, so.customer_id
),
order_customer as (
    -- the customer on the most orders, a tie to the first customer_id (not mode(), which
    -- left ties to the order the parallel aggregation met the rows in)
    select c.account_id, min(c.customer_id) as customer_id
    from account_order_counts c
    join (select account_id, max(n) as n from account_order_counts group by account_id) m
      on m.account_id = c.account_id and m.n = c.n
    group by c.account_id
),
account_customer as (
    select
        a.account_id,
        coalesce(m.customer_id, a.erp_customer_id, oc.customer_id) as customer_id
    from accounts a
    left join fc_account_matches m on m.account_id = a.account_id
    left join order_customer oc on oc.account_id = a.account_id
),
line_value as (
    select
        l.opportunity_id,
        coalesce(p.family, 'unknown') as family,
        cast(coalesce(l.list_price, l.unit_price) as double) * l.quantity as list_value,
        cast(l.total_price as double) as total_value
    from opportunity_lines l
    left join products p on p.product_id = l.product_id
),
lines as (
    select
        opportunity_id,
        sum(list_value) as list_value,
        sum(total_value) as total_value
    from line_value
    group by opportunity_id
),
family_value as (
    select opportunity_id, family, round(sum(list_value), 6) as v
    from line_value group by all
),
family as (
    -- The family with the largest list value; a tie (large: 14 deals) goes to the first
    -- family by name. (arg_max(family, v) left ties to the order DuckDB's parallel
    -- aggregation met the rows in, which changed between builds of the same code.) v is
    -- rounded so that the summation order of the doubles cannot split a tie. A deal whose
    -- values are all null (no list or unit price) takes the first family by name, as an
    -- ordered first() with nulls last did: hence "is not distinct from".
    select f.opportunity_id, min(f.family) as family
    from family_value f
    join (select opportunity_id, max(v) as v from family_value group by opportunity_id) m
      on m.opportunity_id = f.opportunity_id and f.v is not distinct from m.v
    group by f.opportunity_id
)
select
    o.opportunity_id,
    o.account_id,
    o.owner_id,
    coalesce(u.team, 'unknown') as team,
    coalesce(u.region, 'unknown') as region,
    coalesce(o.type, 'unknown') as type,
    coalesce(o.lead_source, 'unknown') as lead_source,
    coalesce(a.segment, 'unknown') as segment,
    coalesce(f.family, 'unknown') as family,
    ac.customer_id,
    coalesce(a.created_date, o.created_date) as account_created_date,
    r.created_t,
    case when o.is_closed then r.closed_t end as closed_t,
    case when o.is_closed then cast(floor(r.closed_t / 86400) as integer) end as close_day,
    coalesce(o.is_won, false) as is_won,
    coalesce(o.is_closed, false) as is_closed,
    cast(o.amount_base as double) as amount_base,
    cast(r.first_close_date - date '1970-01-01' as integer) as first_close_day,
    cast(floor(r.created_t / 86400) as integer) as created_day,
    -- rounded: sums of doubles run in parallel in no fixed order (see fc_snapshots)
    case when l.list_value > 0 then round(greatest(0, 1 - l.total_value / l.list_value), 9) else 0 end as discount,
    coalesce(c.auto_renew, false) as auto_renew,
    o.contract_id is not null as is_renewal_contract
from opportunities o
join closing r on r.opportunity_id = o.opportunity_id
left join users u on u.user_id = o.owner_id
left join accounts a on a.account_id = o.account_id
left join account_customer ac on ac.account_id = o.account_id
left join lines l on l.opportunity_id = o.opportunity_id
left join family f on f.opportunity_id = o.opportunity_id
left join contracts c on c.contract_id = o.contract_id
