-- match_names: normalised names and match keys of CRM accounts and ERP customers, the input of the golden record (account_matches, account_duplicates).
-- grain: one row per record per name form (a name SAP may have cut at 35 characters also appears without its last, maybe partial, word)
-- key: side, record_id, form
-- incremental: side, record_id = accounts('crm', account_id), erp_customers('erp', customer_id)
-- sources: accounts, erp_customers
--
-- Normalisation, in order: lower case without accents; & and + spelled "and"; dots, commas and
-- apostrophes dropped (G.m.b.H. = GmbH, S.A. = SA); any other punctuation a space (hyphens);
-- legal forms at the end removed, repeatedly (Inc, Incorporated, LLC, Corp, Co, Company, GmbH,
-- AG, KG, Ltd, Limited, PLC, SA, SAS, SARL, BV, NV, KK, Kabushiki Kaisha, SpA, Srl, SL, Sp z oo:
-- "GmbH & Co. KG" and "Co., Ltd." go whole); common abbreviations expanded (Mfg, Intl, Ind, Eng,
-- Sys, Tech, Bros, Svcs, Sol, Pharma, Env, Hldgs, Comp, Proc, Grp).
-- core_name also drops a trailing generic noun (Group, Holdings, Partners, Works, Supply,
-- Services, International, Company, & Sons, Brothers) that one system may leave out.
-- tax_key: upper case, letters and digits only, a two-letter country prefix removed.
-- city_key: lower case without accents, with the usual exonyms folded (Munich = München).
with records as (
    select 'crm' as side, account_id as record_id, account_name as raw_name, country, city, tax_id, domain
    from accounts
    union all
    select 'erp' as side, customer_id, customer_name, country, city, tax_id, null
    from erp_customers
),
cleaned as (
    select
        side,
        record_id,
        raw_name,
        nullif(upper(trim(country)), '') as country,
        nullif(lower(trim(domain)), '') as domain,
        -- SAP's NAME1 holds 35 characters: a name of 35 (34 when a space was trimmed) may have been cut
        length(raw_name) between 34 and 35 as maybe_cut,
        trim(regexp_replace(regexp_replace(
            regexp_replace(lower(strip_accents(raw_name)), '\s*[&+]\s*', ' and ', 'g'),
            '[.,'']', '', 'g'), '[^a-z0-9]+', ' ', 'g')) as cleaned_name,
        nullif(trim(regexp_replace(lower(strip_accents(replace(replace(city, 'ł', 'l'), 'Ł', 'L'))), '[^a-z0-9]+', ' ', 'g')), '') as city_clean,
        nullif(regexp_replace(regexp_replace(upper(tax_id), '[^A-Z0-9]', '', 'g'), '^[A-Z]{2}([A-Z0-9]{8,})$', '\1'), '') as tax_key
    from records
),
forms as (
    -- the whole name; a cut name also without its last, maybe partial, word. A cut name's last
    -- word that is the start of a legal form ("Corporatio", "Incorpor") is no word at all.
    select
        side,
        record_id,
        'full' as form,
        case when maybe_cut and cleaned_name like '% %'
                  and len(list_filter(['corporation', 'incorporated', 'limited', 'company', 'gmbh', 'kabushiki', 'kaisha', 'sarl', 'srl'],
                                      l -> starts_with(l, regexp_extract(cleaned_name, '[a-z0-9]+$')))) > 0
             then regexp_replace(cleaned_name, ' [a-z0-9]+$', '')
             else cleaned_name
        end as form_name
    from cleaned
    union all
    select side, record_id, 'cut' as form, regexp_replace(cleaned_name, ' [a-z0-9]*$', '') as form_name
    from cleaned
    where maybe_cut and cleaned_name like '% % %'
),
without_legal_form as (
    select
        side,
        record_id,
        form,
        coalesce(nullif(regexp_replace(form_name,
            '( (inc|incorporated|llc|corp|corporation|co|company|gmbh|ag|kg|ltd|limited|plc|sa|sas|sarl|bv|nv|kk|kabushiki kaisha|spa|srl|sl|sp z oo|sp z|and))+$', ''), ''),
            form_name) as base_name
    from forms
),
expanded as (
    select
        side,
        record_id,
        form,
        array_to_string(list_transform(string_split(base_name, ' '), t -> coalesce(map {
            'mfg': 'manufacturing', 'intl': 'international', 'ind': 'industries', 'eng': 'engineering',
            'sys': 'systems', 'tech': 'technologies', 'bros': 'brothers', 'svcs': 'services',
            'sol': 'solutions', 'pharma': 'pharmaceuticals', 'env': 'environmental', 'hldgs': 'holdings',
            'comp': 'components', 'proc': 'processing', 'grp': 'group'}[t], t)), ' ') as norm_name
    from without_legal_form
)
select
    e.side,
    e.record_id,
    e.form,
    c.raw_name,
    e.norm_name,
    regexp_replace(e.norm_name, ' (group|holdings|partners|works|supply|services|international|company|and sons|brothers)$', '') as core_name,
    left(e.norm_name, 1) as first_letter,
    c.country,
    coalesce(map {
        'munich': 'munchen', 'cologne': 'koln', 'nuremberg': 'nurnberg', 'hanover': 'hannover',
        'duesseldorf': 'dusseldorf', 'frankfurt': 'frankfurt am main', 'saint louis': 'st louis',
        'milan': 'milano', 'turin': 'torino', 'naples': 'napoli', 'seville': 'sevilla',
        'warsaw': 'warszawa', 'the hague': 'den haag', 'newcastle': 'newcastle upon tyne'}[c.city_clean], c.city_clean) as city_key,
    c.tax_key,
    c.domain
from expanded e
join cleaned c using (side, record_id)
