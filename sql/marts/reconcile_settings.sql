-- reconcile_settings: the tolerances and windows the reconciliation marts use, one row; every value below is the default.
-- grain: one row
-- key: as_of
-- sources: meta.settings
--
--   won_without_order_days      14     a won deal closed more than this many days before as_of
--                                      with no sales order is a variance (orders follow in 0-5 days)
--   order_match_days            10     an order without the deal's id is matched to a won deal
--                                      that closed up to this many days before it (order_matches)
--   duplicate_order_days        7      a second order of one customer with the same lines, amount
--                                      and currency within this many days is a duplicate
--   shipped_not_invoiced_days   20     goods shipped more than this many days ago and not billed
--   amount_tolerance_base       1.00   order vs won amount: differences up to
--   amount_tolerance_pct        0.5    max(amount_tolerance_base, amount_tolerance_pct % of the
--                                      larger side) are rounding, not variances (after FX: both
--                                      sides at the order date's rate)
--   price_tolerance_pct         0.5    order line unit price vs deal line, when the currencies
--                                      differ (same currency: to the cent)
--   invoice_tolerance           0.01   invoiced vs ordered, in the order's currency (an invoice
--                                      bills the order's own prices: to the cent)
--   payment_tolerance           0.01   paid vs invoiced, in the invoice's currency
--   close_months                12     closed months checked: CRM commit at month end vs ERP
--   close_tolerance_pct         10     invoiced revenue; a gap above this % of the commit is a variance
--   high_amount_base            50000  severity: high at or above this amount (base currency),
--   medium_amount_base          5000   medium at or above this, else low
select
    s.as_of,
    14 as won_without_order_days,
    10 as order_match_days,
    7 as duplicate_order_days,
    20 as shipped_not_invoiced_days,
    1.00::decimal(18, 2) as amount_tolerance_base,
    0.5::double as amount_tolerance_pct,
    0.5::double as price_tolerance_pct,
    0.01::decimal(18, 2) as invoice_tolerance,
    0.01::decimal(18, 2) as payment_tolerance,
    12 as close_months,
    10.0::double as close_tolerance_pct,
    50000::decimal(18, 2) as high_amount_base,
    5000::decimal(18, 2) as medium_amount_base
from meta.settings s
