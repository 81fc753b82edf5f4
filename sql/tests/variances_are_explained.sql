-- variances_are_explained: every reconciliation variance has a kind, a severity, a record on at least one side and an explanation.
-- table: reconciliation_variances
select variance_id
from reconciliation_variances
where kind is null
   or severity not in ('high', 'medium', 'low')
   or coalesce(crm_record_id, erp_record_id) is null
   or coalesce(explanation, '') = ''
