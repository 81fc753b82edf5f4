-- opportunity_history_has_opportunity: every history row belongs to a known opportunity.
-- table: opportunity_history
select h.history_id, h.opportunity_id
from opportunity_history h
anti join opportunities o on o.opportunity_id = h.opportunity_id
