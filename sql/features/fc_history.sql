-- fc_history: opportunity history rows with the events they record (advance, regression, push, slip).
-- grain: one row per opportunity state (opportunity_history row)
-- key: opportunity_id, seq
-- sources: opportunity_history, fc_open_ids (temp), fc_stage (temp)
--
-- Built as a temp table by transform.Warehouse.Snapshots, for the opportunities in
-- fc_open_ids (the only ones the snapshot query joins); every row of such an opportunity is
-- kept, so the lags over its rows are those of its whole history. t / t_end: valid_from / valid_to
-- in seconds since the epoch (t_end null while current). day: t's UTC date in days since
-- 1970-01-01. Stages are ranked by their CRM probability (fc_stage): an open-to-open move to
-- a higher rank is an advance, to a lower rank a regression. A close-date change is a push
-- when it happens before the old close date, a slip when the old close date had already
-- passed (the deal missed it); slip_rank is the stage rank when it slipped.
--
-- Versions are ordered by valid_from, then history_id (the order in which the CRM staging
-- sets valid_to, so of two rows at one instant the higher id is the later state): seq is
-- the row's place in that order (1 = first) within its opportunity. Two rows can share t;
-- seq never ties, and orders rows as t does, so the latest state before an instant is the
-- row with the largest seq among those with t before it (fc_snapshots).
with h as (
    select
        h.opportunity_id,
        epoch(h.valid_from) as t,
        epoch(h.valid_to) as t_end,
        h.stage,
        h.probability,
        h.close_date,
        cast(h.amount_base as double) as amount_base,
        h.forecast_category,
        lag(h.stage) over w as prev_stage,
        lag(h.close_date) over w as prev_close_date,
        row_number() over w as seq
    from opportunity_history h
    where h.opportunity_id in (select opportunity_id from fc_open_ids)
    window w as (partition by h.opportunity_id order by h.valid_from, h.history_id)
)
select
    h.opportunity_id,
    h.t,
    h.t_end,
    h.seq,
    cast(floor(h.t / 86400) as integer) as day,
    h.stage,
    h.probability,
    cast(h.close_date - date '1970-01-01' as integer) as close_day,
    h.amount_base,
    h.forecast_category,
    coalesce(s.rank, -1) as rank,
    coalesce(s.is_open, false) as is_open,
    h.seq = 1 or h.stage <> h.prev_stage as stage_changed,
    coalesce(s.is_open and ps.is_open and s.rank > ps.rank, false) as is_advance,
    coalesce(s.is_open and ps.is_open and s.rank < ps.rank, false) as is_regression,
    coalesce(s.is_open and h.close_date <> h.prev_close_date
             and cast(floor(h.t / 86400) as integer) < cast(h.prev_close_date - date '1970-01-01' as integer), false) as is_push,
    coalesce(s.is_open and h.close_date <> h.prev_close_date
             and cast(floor(h.t / 86400) as integer) >= cast(h.prev_close_date - date '1970-01-01' as integer), false) as is_slip,
    ps.rank as prev_rank
from h
left join fc_stage s on s.stage = h.stage
left join fc_stage ps on ps.stage = h.prev_stage
