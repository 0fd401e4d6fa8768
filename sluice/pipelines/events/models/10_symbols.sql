-- The per-symbol dashboard computed from the raw events in the warehouse, with the
-- service's rules: every followup event counts, for each symbol its uuid opened with.
-- It answers what the live dashboard answered for the events loaded so far.
CREATE OR REPLACE VIEW events.symbol_totals AS
WITH initials AS (
    SELECT uuid, symbol, "at" FROM events.raw_events WHERE kind = 'initial'
),
sent AS (
    SELECT uuid, count(*) AS followups FROM events.raw_events
    WHERE kind = 'followup' GROUP BY uuid
),
opened AS (
    SELECT DISTINCT uuid, symbol FROM initials
),
counted AS (
    SELECT symbol, count(*) AS requests, min("at") AS earliest, max("at") AS latest
    FROM initials GROUP BY symbol
),
followed AS (
    SELECT o.symbol, sum(s.followups) AS followups
    FROM opened AS o JOIN sent AS s ON s.uuid = o.uuid GROUP BY o.symbol
)
SELECT c.symbol, c.requests, c.earliest, c.latest,
       coalesce(f.followups, 0) AS followups
FROM counted AS c LEFT JOIN followed AS f ON f.symbol = c.symbol;
