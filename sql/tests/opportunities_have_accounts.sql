-- opportunities_have_accounts: every opportunity's account exists in accounts.
-- table: opportunities
select o.opportunity_id, o.account_id
from opportunities o
anti join accounts a on a.account_id = o.account_id
