-- fx_rates: daily exchange rates into the base currency.
-- grain: one row per currency per date
-- key: currency, rate_date
-- sources: staging.files__fx_rates
select
    s.currency,
    s.rate_date,
    s.rate_to_base,
    s.modified_at,
    s._source as source
from staging.files__fx_rates s
