-- account_matches: which ERP customer each CRM account is — the golden record's links, from the CRM cross-reference or from fuzzy evidence (match_pairs), with a score, the evidence and a decision: auto, review or none.
-- grain: one row per CRM account per ERP customer worth a look; one row without a customer (decision none) for an account with none
-- key: crm_account_id, erp_customer_id
-- sources: match_pairs, accounts, erp_customers
--
-- decision:
--   auto    the account's cross-reference names a known customer (score 100); or the account's
--           best candidate scores >= 7, beats its runner-up by >= 2, and neither a vocabulary
--           word, a country nor a tax id contradicts it. When several accounts claim one
--           customer, those that do not look like a duplicate of the customer's best account
--           (no match_pairs row between them free of word, domain, country, city and tax id
--           conflicts) go to review instead.
--   review  any other candidate scoring >= 3 with some name likeness or the same tax id; or 2
--           with the same first word, a Jaro-Winkler similarity >= 0.9 and nothing against it
--           (an abbreviation with a typo: "Phrma"): a person decides.
--   none    no candidate worth a look (a prospect, or a company only the CRM knows).
-- The customer's best account (the anchor above) is the cross-referenced one, else the highest
-- score, else the oldest, else the lowest crm_account_id.
-- Measured against the generator's ground truth at small and medium scale by
-- cmd/revcast/marts_test.go (TestMarts_AgainstGroundTruth).
with thresholds as (
    select 7 as auto_score, 3 as review_score, 2 as auto_margin
),
cross_referenced as (
    select a.account_id as crm_account_id, a.erp_customer_id
    from accounts a
    join erp_customers c on c.customer_id = a.erp_customer_id
),
ranked as (
    select
        p.left_id as crm_account_id,
        p.right_id as erp_customer_id,
        p.score,
        p.name_points,
        p.word_points,
        p.tax_points,
        p.country_points,
        p.city_points,
        p.edits,
        p.jaro_winkler,
        p.same_first_word,
        row_number() over w as rank,
        lead(p.score) over w as runner_up_score
    from match_pairs p
    where p.right_side = 'erp'
    window w as (partition by p.left_id order by p.score desc, p.right_id)
),
fuzzy as (
    select
        r.crm_account_id,
        r.erp_customer_id,
        r.score,
        json_object('name', r.name_points, 'edits', r.edits, 'jaro_winkler', r.jaro_winkler, 'words', r.word_points,
                    'tax_id', r.tax_points, 'country', r.country_points, 'city', r.city_points,
                    'runner_up_score', r.runner_up_score)::varchar as evidence,
        case
            when r.rank = 1 and r.score >= t.auto_score and r.score - coalesce(r.runner_up_score, -100) >= t.auto_margin
                 and r.word_points = 0 and r.country_points >= 0 and r.tax_points >= 0 then 'auto'
            else 'review'
        end as decision
    from ranked r
    cross join thresholds t
    where (r.score >= t.review_score and (r.name_points > 0 or r.tax_points > 0))
       -- an abbreviation with a typo ("Phrma") scores low: same first word and close spelling is worth a look
       or (r.score >= t.review_score - 1 and r.same_first_word and r.jaro_winkler >= 0.9
           and r.word_points = 0 and r.country_points >= 0 and r.city_points >= 0)
),
linked as (
    select crm_account_id, erp_customer_id, 100 as score, '{"cross_reference":true}' as evidence, 'auto' as decision
    from cross_referenced
    union all
    select crm_account_id, erp_customer_id, score, evidence, decision
    from fuzzy
),
anchors as (
    -- each customer's best-evidenced account: cross-referenced, else the highest score, else the
    -- oldest (a missing created_date counts as 1970-01-01), else the lowest account id (a total
    -- order: a tie must not go to whichever row the parallel aggregation met first)
    select
        l.erp_customer_id,
        first(l.crm_account_id order by l.score desc, coalesce(epoch(a.created_date), 0), l.crm_account_id) as anchor_account_id
    from linked l
    join accounts a on a.account_id = l.crm_account_id
    where l.decision = 'auto'
    group by l.erp_customer_id
),
second_claims as (
    select
        l.crm_account_id,
        l.erp_customer_id,
        not exists (
            select 1
            from match_pairs d
            where d.right_side = 'crm'
              and d.left_id = least(l.crm_account_id, n.anchor_account_id)
              and d.right_id = greatest(l.crm_account_id, n.anchor_account_id)
              and d.word_points = 0 and d.domain_points >= 0 and d.country_points >= 0 and d.tax_points >= 0 and d.city_points >= 0
        ) as unlike_anchor
    from linked l
    join anchors n on n.erp_customer_id = l.erp_customer_id and n.anchor_account_id <> l.crm_account_id
    where l.decision = 'auto' and l.score < 100
),
decided as (
    select
        l.crm_account_id,
        l.erp_customer_id,
        l.score,
        l.evidence,
        case when c.unlike_anchor then 'review' else l.decision end as decision
    from linked l
    left join second_claims c on c.crm_account_id = l.crm_account_id and c.erp_customer_id = l.erp_customer_id
)
select crm_account_id, erp_customer_id, score, evidence, decision
from decided
union all
select a.account_id as crm_account_id, null as erp_customer_id, 0 as score, '{}' as evidence, 'none' as decision
from accounts a
anti join decided d on d.crm_account_id = a.account_id
