-- match_pairs: candidate pairs for the golden record — a CRM account against an ERP customer, or against another CRM account — with the points of evidence for each.
-- grain: one row per candidate pair (an account and a customer; two accounts, the lower id on the left)
-- key: left_id, right_id
-- sources: match_names, accounts
--
-- Blocking: a pair is scored only when the names start with the same letter (typos never touch
-- the first one) and one of these holds, so that 125k accounts cost seconds, not hours:
--   - the same first two words ("and" aside; the third too after a start many names share, like
--     "gulf coast"), in the same country when both have one;
--   - the same first word, or the same second word and first words at most three edits apart,
--     in the same city;
--   - the same rare first word (a coined name);
--   - the same tax id (any first letter).
-- Words are compared as read: a rare word (a typo, a coined name) also stands for every word
-- one typo away, for vocabulary words two edits away and for abbreviations one typo away
-- ("phrma" -> pharmaceuticals); vocabulary words stand for themselves.
-- Accounts whose cross-reference (accounts.erp_customer_id) names a known customer are not
-- scored against customers (account_matches takes the cross-reference).
--
-- Points of evidence (score is their sum):
--   name_points     identical norm_name 6; identical once SAP's cut-off tail is set aside 5;
--                   identical once one side's trailing generic noun is set aside 4; 1 edit
--                   (Damerau-Levenshtein, the fewest over the name forms; a cut form against as
--                   much of the other name) 5; 2 edits 4 (3 when shorter than 12 characters);
--                   3 edits in 15+ characters 2; Jaro-Winkler >= 0.85 1
--   word_points     -4 when each name has a vocabulary word (or a misspelling of one) the other
--                   lacks, not even misspelt ("paper" vs "water": another company, not a typo).
--                   Vocabulary: words 4+ records use, except frequent misspellings of a five times
--                   more frequent word ("eneryg")
--   tax_points      +8 same tax id, -8 both present and different
--   country_points  +1 same country, -10 both present and different
--   city_points     +2 same city, -3 both present and different (another site, or another company)
--   domain_points   two accounts only: +3 same web domain, -2 both present and different
-- edits (the fewest over the name forms), jaro_winkler and same_first_word describe the names.
with thresholds as (
    select 4 as vocabulary_records
),
cross_referenced as (
    select a.account_id
    from accounts a
    where a.erp_customer_id in (select record_id from match_names where side = 'erp')
),
full_names as (
    select side, record_id, norm_name, country, city_key, tax_key, domain
    from match_names
    where form = 'full'
),
tokens as (
    select distinct side, record_id, first_letter, country, unnest(string_split(norm_name, ' ')) as token
    from match_names
),
token_use as (
    select token, count(distinct side || ':' || record_id) as records
    from tokens
    group by token
),
word_keys as (
    -- every distinct word, and each with one letter left out: words one typo apart share a key
    select token, token as word_key
    from (select distinct token from tokens where length(token) >= 3)
    union all
    select token, token[:i - 1] || token[i + 1:] as word_key
    from (select distinct token from tokens where length(token) >= 4), range(1, 64) r(i)
    where i <= length(token)
),
typo_pairs as (
    select distinct a.token as word, b.token as near_word
    from word_keys a
    join word_keys b on b.word_key = a.word_key and b.token <> a.token
),
vocabulary as (
    select u.token
    from token_use u
    cross join thresholds t
    where u.records >= t.vocabulary_records
      and not exists (
          select 1
          from typo_pairs p
          join token_use v on v.token = p.near_word
          where p.word = u.token and v.records >= 5 * u.records)
),
one_letter_out as (
    -- words of five letters or more (rare) and six or more (vocabulary) with one letter left out
    select w.token, w.rare, w.token[:i - 1] || w.token[i + 1:] as word_key
    from (
        select token, token not in (select token from vocabulary) as rare
        from (select distinct token from tokens)
        where length(token) >= 6 or (length(token) = 5 and token not in (select token from vocabulary))
    ) w, range(1, 64) x(i)
    where i <= length(w.token)
),
two_letters_out as (
    -- ... and with up to two: words two edits apart share one of these keys
    select token, rare, token as word_key from one_letter_out
    union
    select token, rare, word_key from one_letter_out
    union
    select o.token, o.rare, o.word_key[:j - 1] || o.word_key[j + 1:]
    from one_letter_out o, range(1, 64) y(j)
    where j <= length(o.word_key)
),
misspellings as (
    -- a rare word and a vocabulary word it may misspell: one typo apart, two apart (both letters
    -- left out somewhere: "etrocemicals" -> "petrochemicals"), or one typo from an abbreviation
    -- the normalisation expands ("phrma" -> pharma -> "pharmaceuticals")
    select p.word, p.near_word as meant
    from typo_pairs p
    where p.near_word in (select token from vocabulary) and p.word not in (select token from vocabulary)
    union
    select r.token, v.token
    from two_letters_out r
    join two_letters_out v on v.word_key = r.word_key
    where r.rare and not v.rare and damerau_levenshtein(r.token, v.token) <= 2
    union
    select t.token, a.word
    from (select distinct token from tokens where length(token) between 2 and 7 and token not in (select token from vocabulary)) t
    join (values ('mfg', 'manufacturing'), ('intl', 'international'), ('ind', 'industries'), ('eng', 'engineering'),
                 ('sys', 'systems'), ('tech', 'technologies'), ('bros', 'brothers'), ('svcs', 'services'),
                 ('sol', 'solutions'), ('pharma', 'pharmaceuticals'), ('env', 'environmental'), ('hldgs', 'holdings'),
                 ('comp', 'components'), ('proc', 'processing'), ('grp', 'group')) a(abbreviation, word)
      on left(t.token, 1) = left(a.abbreviation, 1) and abs(length(t.token) - length(a.abbreviation)) <= 1
    where damerau_levenshtein(t.token, a.abbreviation) <= 1
),
corrections as (
    -- what a rare word may mean: certainly (one typo from a vocabulary word), possibly (any misspelling)
    select
        m.word,
        coalesce(list(m.meant) filter (where p.word is not null), []) as corrections,
        list(m.meant) as possible
    from misspellings m
    left join typo_pairs p on p.word = m.word and p.near_word = m.meant
    group by m.word
),
record_words as (
    -- each record's vocabulary words (and the vocabulary words its rare words may misspell),
    -- and every word its name may mean: its words and what its rare words may misspell
    select
        w.side,
        w.record_id,
        flatten(list(case when v.token is not null then [w.token] else coalesce(c.corrections, []) end)) as vocabulary_words,
        flatten(list(list_prepend(w.token, coalesce(c.possible, [])))) as reads_as
    from (
        select side, record_id, unnest(string_split(norm_name, ' ')) as token
        from full_names
    ) w
    left join vocabulary v on v.token = w.token
    left join corrections c on c.word = w.token
    group by w.side, w.record_id
),
leading_words as (
    -- the first words of each name ("and" and its misspellings aside), for blocking
    select
        w.side,
        w.record_id,
        w.first_letter,
        w.country,
        w.city_key,
        w.words[1] as word1,
        coalesce(w.words[2], '') as word2,
        coalesce(w.words[3], '') as word3
    from (
        select
            m.side, m.record_id, m.first_letter, m.country, m.city_key,
            list_filter(string_split(m.norm_name, ' '), x -> not (length(x) <= 4 and damerau_levenshtein(x, 'and') <= 1)) as words
        from match_names m
        where m.form = 'full'
    ) w
),
spellings as (
    -- how a word may be meant: itself, and for a rare word (a typo, a coined name) every word one
    -- typo away and what it may misspell; vocabulary words stand for themselves, so their many
    -- misspellings cost nothing
    select token as word, token as spelling
    from (select distinct word1 as token from leading_words union select word2 from leading_words union select word3 from leading_words)
    union all
    select p.word, p.near_word
    from typo_pairs p
    where p.word not in (select token from vocabulary)
    union
    select word, meant
    from misspellings
),
common_starts as (
    -- first two words many names share ("gulf coast", "blue river"): their third word joins the key
    select word1, word2
    from leading_words
    group by word1, word2
    having count(*) >= 30
),
name_keys as (
    -- every reading of a record's first words
    select
        l.side,
        l.record_id,
        l.first_letter,
        l.country,
        l.city_key,
        s1.spelling as key1,
        s2.spelling as key2,
        s3.spelling as key3_word,
        l.word1 not in (select token from vocabulary) as rare_word1
    from leading_words l
    join spellings s1 on s1.word = l.word1
    join spellings s2 on s2.word = l.word2
    join spellings s3 on s3.word = l.word3
),
keyed as (
    select
        k.*,
        case when c.word1 is not null then k.key3_word else '' end as key3
    from name_keys k
    left join common_starts c on c.word1 = k.key1 and c.word2 = k.key2
),
blocked as (
    -- the same first two words (three after a common start), read through typos
    select distinct a.side as left_side, a.record_id as left_id, c.side as right_side, c.record_id as right_id
    from keyed a
    join keyed c on c.first_letter = a.first_letter and c.key1 = a.key1 and c.key2 = a.key2 and c.key3 = a.key3
    where a.side = 'crm' and (c.side = 'erp' or c.record_id > a.record_id)
      and (a.country = c.country or a.country is null or c.country is null)
    union
    -- the same first word in the same city, or a second word and a first word at most three edits apart
    select a.side, a.record_id, c.side, c.record_id
    from (select distinct side, record_id, first_letter, city_key, key1 from keyed where side = 'crm' and city_key is not null) a
    join (select distinct side, record_id, first_letter, city_key, key1 from keyed where city_key is not null) c
      on c.first_letter = a.first_letter and c.key1 = a.key1 and c.city_key = a.city_key
    where c.side = 'erp' or c.record_id > a.record_id
    union
    select a.side, a.record_id, c.side, c.record_id
    from (select distinct side, record_id, first_letter, city_key, key2 from keyed where side = 'crm' and city_key is not null and key2 <> '') a
    join (select distinct side, record_id, first_letter, city_key, key2 from keyed where city_key is not null) c
      on c.first_letter = a.first_letter and c.key2 = a.key2 and c.city_key = a.city_key
    join leading_words x on x.side = a.side and x.record_id = a.record_id
    join leading_words y on y.side = c.side and y.record_id = c.record_id
    where (c.side = 'erp' or c.record_id > a.record_id)
      and levenshtein(x.word1, y.word1) <= 3
    union
    -- the same rare first word (a coined name), read through typos
    select a.side, a.record_id, c.side, c.record_id
    from (select distinct side, record_id, first_letter, country, key1 from keyed where side = 'crm' and rare_word1) a
    join (select distinct side, record_id, first_letter, country, key1 from keyed) c
      on c.first_letter = a.first_letter and c.key1 = a.key1
    where (c.side = 'erp' or c.record_id > a.record_id)
      and (a.country = c.country or a.country is null or c.country is null)
    union
    -- the same tax id
    select a.side, a.record_id, c.side, c.record_id
    from full_names a
    join full_names c on c.tax_key = a.tax_key
    where a.side = 'crm'
      and (c.side = 'erp' or c.record_id > a.record_id)
),
candidates as (
    select b.left_side, b.left_id, b.right_side, b.right_id
    from blocked b
    where b.right_side = 'crm' or b.left_id not in (select account_id from cross_referenced)
),
form_pairs as (
    -- every pair of name forms with their plain Levenshtein distances (fast); a cut form is
    -- compared with as much of the other name, a name without its trailing generic noun only
    -- when the lengths allow a match
    select
        p.left_id,
        p.right_id,
        a.form = 'full' and c.form = 'full' as both_full,
        a.norm_name as a_name,
        c.norm_name as c_name,
        a.core_name as a_core,
        c.core_name as c_core,
        left(a.norm_name, least(length(a.norm_name), length(c.norm_name))) as a_prefix,
        left(c.norm_name, least(length(a.norm_name), length(c.norm_name))) as c_prefix,
        least(length(a.norm_name), length(c.norm_name)) as shorter_length,
        case when a.form = 'full' and c.form = 'full' then levenshtein(a.norm_name, c.norm_name) end as lev_full,
        case when a.form = 'full' and c.form = 'full' and a.norm_name <> c.norm_name
                  and a.core_name <> a.norm_name and abs(length(a.core_name) - length(c.norm_name)) <= 4
             then levenshtein(a.core_name, c.norm_name) end as lev_core_a,
        case when a.form = 'full' and c.form = 'full' and a.norm_name <> c.norm_name
                  and c.core_name <> c.norm_name and abs(length(a.norm_name) - length(c.core_name)) <= 4
             then levenshtein(a.norm_name, c.core_name) end as lev_core_c,
        case when a.form = 'cut' or c.form = 'cut'
             then levenshtein(left(a.norm_name, least(length(a.norm_name), length(c.norm_name))),
                              left(c.norm_name, least(length(a.norm_name), length(c.norm_name)))) end as lev_prefix,
        case when a.form = 'full' and c.form = 'full' then jaro_winkler_similarity(a.norm_name, c.norm_name) end as jaro_winkler
    from candidates p
    join match_names a on a.side = p.left_side and a.record_id = p.left_id
    join match_names c on c.side = p.right_side and c.record_id = p.right_id
),
form_edits as (
    -- Damerau-Levenshtein (a swap is one edit, as a typo is) where it can differ and matter:
    -- Levenshtein 2 to 4; it is slow, so everywhere else Levenshtein stands in
    select
        left_id,
        right_id,
        case when lev_full between 2 and 4 then damerau_levenshtein(a_name, c_name) else lev_full end as edits_full,
        least(
            case when lev_core_a between 2 and 4 then damerau_levenshtein(a_core, c_name) else lev_core_a end,
            case when lev_core_c between 2 and 4 then damerau_levenshtein(a_name, c_core) else lev_core_c end) as edits_core,
        case when lev_prefix between 2 and 4 then damerau_levenshtein(a_prefix, c_prefix) else lev_prefix end as edits_prefix,
        shorter_length,
        jaro_winkler
    from form_pairs
),
name_evidence as (
    select
        left_id,
        right_id,
        min(edits_full) as edits_full,
        min(edits_core) as edits_core,
        min(edits_prefix) filter (where shorter_length >= 15) as edits_prefix,
        min(least(edits_full, edits_core, case when shorter_length >= 15 then edits_prefix end)) as edits,
        min(shorter_length) filter (where edits_full is not null) as name_length,
        max(jaro_winkler) as jaro_winkler
    from form_edits
    group by left_id, right_id
),
points as (
    select
        p.left_side,
        p.left_id,
        p.right_side,
        p.right_id,
        case
            when n.edits_full = 0 then 6
            when n.edits_prefix = 0 then 5
            when n.edits_core = 0 then 4
            when n.edits = 1 then 5
            when n.edits = 2 and n.name_length >= 12 then 4
            when n.edits = 2 then 3
            when n.edits = 3 and n.name_length >= 15 then 2
            when n.jaro_winkler >= 0.85 then 1
            else 0
        end as name_points,
        -- each name has a vocabulary word the other lacks (a typo may stand for the word it misspells)
        case when len(list_filter(aw.vocabulary_words, w -> not list_contains(cw.reads_as, w))) > 0
              and len(list_filter(cw.vocabulary_words, w -> not list_contains(aw.reads_as, w))) > 0
             then -4 else 0 end as word_points,
        case when a.tax_key = c.tax_key then 8 when a.tax_key <> c.tax_key then -8 else 0 end as tax_points,
        case when a.country = c.country then 1 when a.country <> c.country then -10 else 0 end as country_points,
        case when a.city_key = c.city_key then 2 when a.city_key <> c.city_key then -3 else 0 end as city_points,
        case when a.domain = c.domain then 3 when a.domain <> c.domain then -2 else 0 end as domain_points,
        n.edits,
        n.jaro_winkler,
        split_part(a.norm_name, ' ', 1) = split_part(c.norm_name, ' ', 1) as same_first_word
    from candidates p
    join name_evidence n on n.left_id = p.left_id and n.right_id = p.right_id
    join full_names a on a.side = p.left_side and a.record_id = p.left_id
    join full_names c on c.side = p.right_side and c.record_id = p.right_id
    join record_words aw on aw.side = p.left_side and aw.record_id = p.left_id
    join record_words cw on cw.side = p.right_side and cw.record_id = p.right_id
)
select
    left_side,
    left_id,
    right_side,
    right_id,
    name_points + word_points + tax_points + country_points + city_points + domain_points as score,
    name_points,
    word_points,
    tax_points,
    country_points,
    city_points,
    domain_points,
    edits,
    round(jaro_winkler, 3) as jaro_winkler,
    same_first_word
from points
