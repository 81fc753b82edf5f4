-- serving_plants: which plant ships to a customer in each country — the ERP's rule, written down for the deals that have no plant yet (inventory_risk).
-- grain: one row per country with a rule
-- key: country
-- sources: none (the rule of fixtures/doc.go)
-- US, CA and JP are served by US10; GB by GB10, or by DE10 (fallback_plant) for products GB10
-- does not stock (no inventory row); the rest of Europe by DE10. A country without a row has no
-- rule: its deals get no plant and inventory_risk says so. The data test
-- tests/order_lines_ship_from_serving_plant checks the rule against the ERP's own order lines.
select country, plant, fallback_plant
from (values
    ('US', 'US10', null), ('CA', 'US10', null), ('JP', 'US10', null),
    ('GB', 'GB10', 'DE10'),
    ('DE', 'DE10', null), ('FR', 'DE10', null), ('NL', 'DE10', null), ('IT', 'DE10', null),
    ('ES', 'DE10', null), ('PL', 'DE10', null), ('AT', 'DE10', null), ('BE', 'DE10', null),
    ('CH', 'DE10', null), ('DK', 'DE10', null), ('SE', 'DE10', null), ('IE', 'DE10', null),
    ('PT', 'DE10', null), ('CZ', 'DE10', null)
) r(country, plant, fallback_plant)
