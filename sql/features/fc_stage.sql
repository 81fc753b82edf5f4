-- fc_stage: the CRM's stages ranked by their probability, open stages first.
-- grain: one row per stage name seen in opportunity_history
-- key: stage
-- sources: opportunity_history, opportunities
--
-- Built as a temp table by transform.Warehouse.Snapshots. A stage is closed when some
-- closed opportunity ends in it; open stages are ranked 0, 1, ... by their mean CRM
-- probability (ties by name), closed stages get rank -1. Features keep per-rank day counts
-- for ranks 0..5; a CRM with more open stages has its top ranks merged into rank 5.
with closed as (
    select distinct stage from opportunities where is_closed
),
s as (
    select h.stage, avg(h.probability) as probability, count(*) as rows
    from opportunity_history h
    group by h.stage
)
select
    s.stage,
    s.probability,
    s.stage not in (select stage from closed) as is_open,
    case when s.stage in (select stage from closed) then -1
         else cast(row_number() over (partition by s.stage in (select stage from closed) order by s.probability, s.stage) - 1 as integer)
    end as rank
from s
