-- accepted_values: categorical columns hold only the values the models understand.
-- table: opportunities
select 'opportunities/' || opportunity_id || ' forecast_category=' || forecast_category
from opportunities
where forecast_category not in ('pipeline', 'best_case', 'commit', 'closed', 'omitted')
union all
select 'opportunities/' || opportunity_id || ' closed-won mismatch'
from opportunities where is_won and not is_closed
union all
select 'contracts/' || contract_id || ' status=' || status
from contracts where status not in ('active', 'renewed', 'churned')
