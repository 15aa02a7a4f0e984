-- Trial sign-ups, one row each. `converted` is 1 when the trial became a paying customer
-- (then `customer_id` names it), so AVG(converted) is the conversion rate.
SELECT
    s.signup_id,
    s.signed_up_at,
    s.plan,
    s.region,
    s.country,
    s.channel,
    s.converted,
    s.customer_id
FROM signups AS s
