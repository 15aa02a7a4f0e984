-- Product usage per customer and day, with the customer's current plan, region and size.
-- Today's row grows during the day.
SELECT
    u.day,
    u.customer_id,
    c.name AS customer,
    c.plan,
    c.region,
    c.country,
    c.seats,
    u.active_users,
    u.api_calls,
    u.storage_gb
FROM usage AS u
JOIN customers AS c ON c.customer_id = u.customer_id
