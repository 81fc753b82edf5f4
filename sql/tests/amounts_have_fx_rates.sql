-- amounts_have_fx_rates: every amount converts to the base currency (a currency with no rate leaves amount_base null).
-- table: fx_rates
select 'opportunities/' || opportunity_id || ' ' || currency from opportunities where amount_base is null
union all select 'sales_orders/' || order_id || ' ' || currency from sales_orders where amount_base is null
union all select 'invoices/' || invoice_id || ' ' || currency from invoices where amount_base is null
union all select 'payments/' || payment_id || ' ' || currency from payments where amount_base is null
union all select 'ar_open_items/' || item_id || ' ' || currency from ar_open_items where open_amount_base is null
