-- hubspot__deals: HubSpot deals in the canonical opportunities shape: the latest landed version of each, archived ones removed.
-- grain: one row per deal
-- key: opportunity_id
-- incremental: opportunity_id = raw.hubspot__deals(id)
-- sources: raw.hubspot__deals, raw.hubspot__deals__deleted
-- Latest version: highest hs_lastmodifieddate, then latest file. Archived deals arrive as
-- tombstones (key = hs_object_id); a deal is dropped when a tombstone was learned
-- (deleted_at) at or after its latest version, so a deal restored and changed later comes
-- back. opportunity_id is the HubSpot id; account_id the associated company
-- (deal_to_company).
-- Stage mapping (default sales pipeline stage ids; other pipelines' stage ids pass through):
--   appointmentscheduled → Prospecting, qualifiedtobuy → Qualification,
--   presentationscheduled → Solution, decisionmakerboughtin → Proposal,
--   contractsent → Negotiation, closedwon → Closed Won, closedlost → Closed Lost.
-- Forecast category (hs_manual_forecast_category): PIPELINE → pipeline, BEST_CASE →
-- best_case, COMMIT → commit, CLOSED → closed, OMIT → omitted; when unset, closed won deals
-- are closed and closed lost ones omitted.
-- probability is hs_deal_stage_probability (0-1) × 100. dealtype: newbusiness →
-- new_business, existingbusiness → expansion, renewal → renewal. A missing amount counts as
-- 0, a missing deal_currency_code is the base currency; close and create dates are the UTC
-- dates of HubSpot's instants.
with latest as (
    select *
    from raw.hubspot__deals
    qualify row_number() over (partition by id order by hs_lastmodifieddate desc, _file desc) = 1
),
tombstones as (
    select key, max(deleted_at) as deleted_at
    from raw.hubspot__deals__deleted
    group by key
)
select
    cast(l.id as varchar) as opportunity_id,
    cast(l.company_id as varchar) as account_id,
    cast(l.hubspot_owner_id as varchar) as owner_id,
    cast(l.dealname as varchar) as name,
    cast(case lower(trim(l.dealtype))
        when 'newbusiness' then 'new_business'
        when 'existingbusiness' then 'expansion'
        when 'renewal' then 'renewal'
        else lower(trim(l.dealtype))
    end as varchar) as type,
    cast(case l.dealstage
        when 'appointmentscheduled' then 'Prospecting'
        when 'qualifiedtobuy' then 'Qualification'
        when 'presentationscheduled' then 'Solution'
        when 'decisionmakerboughtin' then 'Proposal'
        when 'contractsent' then 'Negotiation'
        when 'closedwon' then 'Closed Won'
        when 'closedlost' then 'Closed Lost'
        else l.dealstage
    end as varchar) as stage,
    cast(case upper(trim(l.hs_manual_forecast_category))
        when 'PIPELINE' then 'pipeline'
        when 'BEST_CASE' then 'best_case'
        when 'COMMIT' then 'commit'
        when 'CLOSED' then 'closed'
        when 'OMIT' then 'omitted'
        else case l.dealstage when 'closedwon' then 'closed' when 'closedlost' then 'omitted' end
    end as varchar) as forecast_category,
    cast(l.hs_deal_stage_probability * 100 as double) as probability,
    cast(coalesce(l.amount, 0) as decimal(18,2)) as amount,
    cast(coalesce(l.deal_currency_code, (select base_currency from meta.settings)) as varchar) as currency,
    cast(l.discount_percentage as double) as discount_pct,
    cast(timezone('UTC', l.closedate) as date) as close_date,
    cast(timezone('UTC', l.createdate) as date) as created_date,
    cast(coalesce(l.hs_is_closed, l.dealstage in ('closedwon', 'closedlost')) as boolean) as is_closed,
    cast(coalesce(l.hs_is_closed_won, l.dealstage = 'closedwon') as boolean) as is_won,
    cast(l.lead_source as varchar) as lead_source,
    cast(null as varchar) as contract_id,
    cast(l.hs_lastmodifieddate as timestamptz) as modified_at,
    l._source
from latest l
left join tombstones t on t.key = l.id and t.deleted_at >= l.hs_lastmodifieddate
where t.key is null
