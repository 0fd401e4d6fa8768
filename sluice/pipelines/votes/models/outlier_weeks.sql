-- Weeks whose vote total deviates from the mean weekly total by more than 20%.
-- Week numbers follow strftime('%W'): weeks start on Monday and the days before a
-- year's first Monday are week 0. It is computed arithmetically, not by formatting
-- each timestamp as text: (day of year + 7 - ISO weekday) // 7 equals %W.
-- The mean is over the weeks that have votes.
-- Portable (tests/test_models_transpile.py): the contract's columns are quoted, as
-- PostgreSQL folds unquoted names to lower case; the ratio and the mean are DOUBLE, as
-- `/` on integers truncates in PostgreSQL and avg() of integers is NUMERIC there.
CREATE OR REPLACE VIEW blog_analysis.outlier_weeks AS
WITH weekly AS (
    SELECT
        CAST(EXTRACT(year FROM "CreationDate") AS INTEGER) AS "Year",
        CAST((EXTRACT(doy FROM "CreationDate") + 7 - EXTRACT(isodow FROM "CreationDate"))
             // 7 AS INTEGER) AS "WeekNumber",
        CAST(COUNT(*) AS INTEGER) AS "VoteCount"
    FROM blog_analysis.votes
    GROUP BY 1, 2
),
mean_week AS (
    SELECT AVG(CAST("VoteCount" AS DOUBLE)) AS mean_count FROM weekly
)
SELECT "Year", "WeekNumber", "VoteCount"
FROM weekly, mean_week
WHERE ABS(1 - CAST("VoteCount" AS DOUBLE) / mean_count) > 0.2
ORDER BY "Year", "WeekNumber";
