-- account_duplicates: CRM accounts that are the same company as an older account (duplicates to merge in the CRM), with the evidence and a decision (auto or review).
-- grain: one row per pair of CRM accounts that may be one company (the newer account first)
-- key: crm_account_id, duplicate_of_account_id
-- sources: match_pairs, account_matches, accounts
--
-- decision:
--   auto    the two accounts' own evidence (match_pairs) has no word, country, city, tax id or
--           web-domain conflict, and either both are auto-matched to the same ERP customer
--           (evidence same_erp_customer) or it scores >= 7 with a name within an edit or two
--           (name_points >= 5, not only a dropped trailing noun).
--   review  two accounts auto-matched to the same customer that do not look alike, or any
--           other pair scoring >= 4 without a conflict.
-- Accounts auto-matched to different ERP customers are different companies and never listed.
-- crm_account_id is the newer account (created later; ties by id), duplicate_of_account_id the
-- older one, which customers.primary_account_id keeps.
with matched as (
    select crm_account_id, erp_customer_id
    from account_matches
    where decision = 'auto'
),
same_customer as (
    select a.crm_account_id as left_id, b.crm_account_id as right_id, a.erp_customer_id
    from matched a
    join matched b on b.erp_customer_id = a.erp_customer_id and b.crm_account_id > a.crm_account_id
),
pairs as (
    select
        coalesce(p.left_id, s.left_id) as left_id,
        coalesce(p.right_id, s.right_id) as right_id,
        s.erp_customer_id as same_erp_customer,
        p.score,
        p.name_points,
        coalesce(p.word_points = 0 and p.country_points >= 0 and p.tax_points >= 0 and p.domain_points >= 0 and p.city_points >= 0, false) as consistent,
        json_object('same_erp_customer', s.erp_customer_id, 'name', p.name_points, 'edits', p.edits,
                    'jaro_winkler', p.jaro_winkler, 'words', p.word_points, 'tax_id', p.tax_points,
                    'country', p.country_points, 'city', p.city_points, 'domain', p.domain_points)::varchar as evidence
    from (
        select left_id, right_id, score, name_points, word_points, tax_points, country_points, city_points,
               domain_points, edits, jaro_winkler
        from match_pairs
        where right_side = 'crm'
    ) p
    full join same_customer s on s.left_id = p.left_id and s.right_id = p.right_id
),
decided as (
    select
        p.*,
        case
            when p.same_erp_customer is not null and p.consistent then 'auto'
            when p.consistent and p.score >= 7 and p.name_points >= 5 then 'auto'
            when p.same_erp_customer is not null or (p.consistent and p.score >= 4) then 'review'
        end as decision
    from pairs p
    where not exists (
        -- matched to two different customers: two companies
        select 1
        from matched x
        join matched y on y.crm_account_id = p.right_id and y.erp_customer_id <> x.erp_customer_id
        where x.crm_account_id = p.left_id
    )
)
select
    case when (l.created_date, l.account_id) > (r.created_date, r.account_id) then l.account_id else r.account_id end as crm_account_id,
    case when (l.created_date, l.account_id) > (r.created_date, r.account_id) then r.account_id else l.account_id end as duplicate_of_account_id,
    coalesce(d.score, 100) as score,
    d.evidence,
    d.decision
from decided d
join accounts l on l.account_id = d.left_id
join accounts r on r.account_id = d.right_id
where d.decision is not null
