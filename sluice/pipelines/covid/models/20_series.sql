-- The series over a calendar: every day from a country's first to its last, so a day no
-- response gave is a row of its own (a gap), never filled in. Daily new cases are the
-- difference of two consecutive days' cumulative counts, and only of consecutive days:
-- a decrease is a data-quality issue (no negative count), and the day after a gap has
-- no figure (its difference spans several days). Portable
-- (tests/test_models_transpile.py): a recursive calendar, not an engine's series
-- function; averages divide a DOUBLE.

CREATE OR REPLACE VIEW covid.daily AS
WITH RECURSIVE spans AS (
    SELECT country, min("day") AS first_day, max("day") AS last_day
    FROM covid.cases GROUP BY country
),
calendar AS (
    SELECT country, first_day AS "day", last_day FROM spans
    UNION ALL
    SELECT country, CAST("day" + 1 AS DATE), last_day FROM calendar WHERE "day" < last_day
),
stated AS (
    SELECT k.country, k."day", c.cumulative,
           lag(c.cumulative) OVER (PARTITION BY k.country ORDER BY k."day") AS day_before,
           k."day" = s.first_day AS first_day
    FROM calendar AS k
    JOIN spans AS s ON s.country = k.country
    LEFT JOIN covid.cases AS c ON c.country = k.country AND c."day" = k."day"
),
differences AS (
    SELECT country, "day", cumulative,
           CASE WHEN cumulative >= day_before THEN cumulative - day_before END AS new_cases,
           CASE WHEN cumulative IS NULL THEN 'missing'
                WHEN first_day THEN 'first day'
                WHEN day_before IS NULL THEN 'the day before is missing'
                WHEN cumulative < day_before
                THEN 'decrease from ' || CAST(day_before AS VARCHAR)
           END AS note
    FROM stated
)
SELECT country, "day", cumulative, new_cases,
       CASE WHEN count(new_cases) OVER last_7_days = 7
            THEN CAST(sum(new_cases) OVER last_7_days AS DOUBLE) / 7
       END AS average_7d,
       note
FROM differences
WINDOW last_7_days AS (PARTITION BY country ORDER BY "day"
                       ROWS BETWEEN 6 PRECEDING AND CURRENT ROW)
ORDER BY country, "day";

-- Weeks from Monday. A week is complete when all 7 of its days have a figure;
-- otherwise its total is of the days that have one (`days_counted`).
CREATE OR REPLACE VIEW covid.weekly AS
SELECT country, CAST(date_trunc('week', "day") AS DATE) AS week_start,
       sum(new_cases) AS new_cases,
       count(new_cases) AS days_counted,
       count(new_cases) = 7 AS complete
FROM covid.daily
GROUP BY country, CAST(date_trunc('week', "day") AS DATE)
ORDER BY country, week_start;

-- What is wrong in the series: days no response gave, and cumulative counts that fell.
CREATE OR REPLACE VIEW covid.quality AS
SELECT country, "day",
       CASE WHEN note = 'missing' THEN 'missing day' ELSE 'decrease' END AS issue,
       CASE WHEN note = 'missing' THEN 'no response gave a figure for this day'
            ELSE 'the cumulative count fell ' || substr(note, 10) || ' to '
                 || CAST(cumulative AS VARCHAR)
       END AS detail
FROM covid.daily
WHERE note = 'missing' OR note LIKE 'decrease from %'
ORDER BY country, "day";

-- The headline figures: the span, the total (the last day's cumulative count), the
-- peak day of new cases (the earliest of equal peaks), and how much is wrong.
CREATE OR REPLACE VIEW covid.headline AS
WITH spans AS (
    SELECT country, min("day") AS first_day, max("day") AS last_day,
           count(*) AS days, count(cumulative) AS days_with_figure,
           sum(CASE WHEN note LIKE 'decrease from %' THEN 1 ELSE 0 END) AS decreases
    FROM covid.daily GROUP BY country
),
peaks AS (
    SELECT country, "day", new_cases,
           row_number() OVER (PARTITION BY country ORDER BY new_cases DESC, "day") AS rank
    FROM covid.daily WHERE new_cases IS NOT NULL
),
revised AS (
    SELECT country, count(*) AS revisions FROM covid.revisions GROUP BY country
)
SELECT s.country, s.first_day, s.last_day, s.days, s.days - s.days_with_figure AS missing_days,
       d.cumulative AS total_cases, p."day" AS peak_day, p.new_cases AS peak_new_cases,
       CAST(s.decreases AS BIGINT) AS decreases, coalesce(r.revisions, 0) AS revisions
FROM spans AS s
JOIN covid.daily AS d ON d.country = s.country AND d."day" = s.last_day
LEFT JOIN peaks AS p ON p.country = s.country AND p.rank = 1
LEFT JOIN revised AS r ON r.country = s.country
ORDER BY s.country;
