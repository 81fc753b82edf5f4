-- golden_record_is_consistent: account_matches, account_duplicates and customers have unique keys, every account has a match row and at most one auto match, and belongs to exactly one customer.
-- table: account_matches
select 'account_matches/' || crm_account_id || '|' || coalesce(erp_customer_id, '') || ' repeated'
from account_matches
group by crm_account_id, erp_customer_id
having count(*) > 1
union all
select 'account_matches/' || crm_account_id || ' has ' || count(*) || ' auto matches'
from account_matches
where decision = 'auto'
group by crm_account_id
having count(*) > 1
union all
select 'accounts/' || a.account_id || ' has no account_matches row'
from accounts a
anti join account_matches m on m.crm_account_id = a.account_id
union all
select 'account_duplicates/' || crm_account_id || '|' || duplicate_of_account_id || ' repeated'
from account_duplicates
group by crm_account_id, duplicate_of_account_id
having count(*) > 1
union all
select 'customers/' || customer_key || ' repeated'
from customers
group by customer_key
having count(*) > 1
union all
select 'accounts/' || account_id || ' in ' || count(*) || ' customers'
from (select unnest(account_ids) as account_id from customers)
group by account_id
having count(*) <> 1
union all
select 'accounts/' || a.account_id || ' in no customer'
from accounts a
anti join (select unnest(account_ids) as account_id from customers) c on c.account_id = a.account_id
