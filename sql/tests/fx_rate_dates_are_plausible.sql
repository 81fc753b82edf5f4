-- fx_rate_dates_are_plausible: exchange-rate dates lie between 1900 and ten years after the as-of date (planning rates for the next years are fine; fx_rates_daily holds every day from a currency's first rate to the latest rate date, so a placeholder such as 9999-12-31 makes that millions of rows per currency and slows every model that converts amounts).
-- table: fx_rates
-- severity: warn
select 'fx_rates/' || currency || ' ' || rate_date
from fx_rates
where rate_date < date '1900-01-01'
   or rate_date > (select as_of from meta.settings) + interval 10 year
