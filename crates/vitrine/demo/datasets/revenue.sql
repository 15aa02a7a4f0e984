-- Invoice lines with the customer's name and country. `plan`, `region` and `seats` are the
-- ones billed on that invoice (a customer may have upgraded since); `kind` is subscription,
-- expansion, add_on or services; `month` is the first day of the invoice's month.
SELECT
    r.invoice_id,
    r.booked_at,
    r.month,
    r.customer_id,
    c.name AS customer,
    c.country,
    r.plan,
    r.region,
    r.kind,
    r.seats,
    r.amount_usd
FROM revenue AS r
JOIN customers AS c ON c.customer_id = r.customer_id
