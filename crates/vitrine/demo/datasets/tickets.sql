-- Support tickets with the customer's plan and region. Durations are also given in seconds
-- (`first_response_seconds`, `resolution_seconds`) for duration formatting; they are NULL
-- until the ticket is answered or solved.
SELECT
    t.ticket_id,
    t.opened_at,
    t.closed_at,
    t.customer_id,
    c.name AS customer,
    c.plan,
    c.region,
    c.seats,
    t.priority,
    t.category,
    t.status,
    t.first_response_minutes,
    t.first_response_minutes * 60 AS first_response_seconds,
    CAST(ROUND((julianday(t.closed_at) - julianday(t.opened_at)) * 86400) AS INTEGER)
        AS resolution_seconds,
    t.satisfaction
FROM tickets AS t
JOIN customers AS c ON c.customer_id = t.customer_id
