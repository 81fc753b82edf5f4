-- customers: the golden record — one customer as both systems know it: the ERP customer with every CRM account auto-matched to it (duplicates included), or a company only one system knows.
-- grain: one row per golden customer
-- key: customer_key
-- sources: account_matches, account_duplicates, accounts, erp_customers
--
-- customer_key is the ERP customer id when the ERP knows the company, else the id of its oldest
-- CRM account. An account joins a customer through an auto decision in account_matches, or,
-- without one, as an auto duplicate (account_duplicates) of an account that has one.
-- account_ids lists the CRM accounts (sorted by id), primary_account_id the oldest of them
-- (created_date, a missing one counting as 1970-01-01; a tie to the lowest account_id). The
-- name, country and city are the ERP's when it has the customer (the billing master data), else
-- the CRM's.
-- An account that auto-duplicates several older accounts takes the best evidenced one (highest
-- score); a tie goes to the oldest of them in the same order as primary_account_id (created_date,
-- then the lowest account_id). Both picks end in the account id: a key that can tie left the
-- choice to the order DuckDB's parallel aggregation met the rows in.
-- in_review: some account of this customer has a match or a duplicate waiting in review.
with matched as (
    select crm_account_id, erp_customer_id
    from account_matches
    where decision = 'auto'
),
twins as (
    -- the older account an account duplicates (the best evidenced when several, a tie to the
    -- oldest of them, then the lowest id)
    select
        d.crm_account_id,
        first(d.duplicate_of_account_id
              order by d.score desc, coalesce(epoch(o.created_date), 0), d.duplicate_of_account_id) as duplicate_of_account_id
    from account_duplicates d
    left join accounts o on o.account_id = d.duplicate_of_account_id
    where d.decision = 'auto'
    group by d.crm_account_id
),
account_keys as (
    -- every account's customer: its own match, else its older twin's match, else the older twin, else itself
    select
        a.account_id,
        case
            when m.erp_customer_id is not null then m.erp_customer_id
            else coalesce(dm.erp_customer_id, d.duplicate_of_account_id, a.account_id)
        end as customer_key,
        a.created_date
    from accounts a
    left join matched m on m.crm_account_id = a.account_id
    left join twins d on d.crm_account_id = a.account_id
    left join matched dm on dm.crm_account_id = d.duplicate_of_account_id
),
account_groups as (
    select
        customer_key,
        list_sort(list(account_id)) as account_ids,
        first(account_id order by coalesce(epoch(created_date), 0), account_id) as primary_account_id
    from account_keys
    group by customer_key
),
reviews as (
    select crm_account_id as account_id from account_matches where decision = 'review'
    union
    select crm_account_id from account_duplicates where decision = 'review'
    union
    select duplicate_of_account_id from account_duplicates where decision = 'review'
),
golden as (
    select
        coalesce(c.customer_id, g.customer_key) as customer_key,
        c.customer_id as erp_customer_id,
        g.primary_account_id,
        coalesce(g.account_ids, []) as account_ids
    from erp_customers c
    full join account_groups g on g.customer_key = c.customer_id
)
select
    g.customer_key,
    g.erp_customer_id,
    g.primary_account_id,
    g.account_ids,
    coalesce(c.customer_name, a.account_name) as customer_name,
    coalesce(c.country, a.country) as country,
    coalesce(c.city, a.city) as city,
    coalesce(c.tax_id, a.tax_id) as tax_id,
    a.domain,
    g.primary_account_id is not null as in_crm,
    g.erp_customer_id is not null as in_erp,
    g.customer_key in (select k.customer_key from account_keys k join reviews r on r.account_id = k.account_id) as in_review
from golden g
left join erp_customers c on c.customer_id = g.erp_customer_id
left join accounts a on a.account_id = g.primary_account_id
