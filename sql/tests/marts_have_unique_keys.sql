-- marts_have_unique_keys: the reconciliation and operational marts (and the golden record's candidate pairs) hold one row per key.
-- table: reconciliation_variances
select 'reconciliation_variances/' || variance_id from reconciliation_variances group by variance_id having count(*) > 1
union all
select 'order_matches/' || order_id from order_matches group by order_id having count(*) > 1
union all
select 'order_status_updates/' || opportunity_id from order_status_updates group by opportunity_id having count(*) > 1
union all
select 'inventory_risk/' || line_id from inventory_risk group by line_id having count(*) > 1
union all
select 'credit_alerts/' || customer_id from credit_alerts group by customer_id having count(*) > 1
union all
select 'serving_plants/' || country from serving_plants group by country having count(*) > 1
union all
select 'match_pairs/' || left_id || '|' || right_id from match_pairs group by left_id, right_id having count(*) > 1
union all
select 'reconcile_settings has ' || count(*) || ' rows' from reconcile_settings having count(*) <> 1
