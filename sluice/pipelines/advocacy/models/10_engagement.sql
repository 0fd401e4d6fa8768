-- Engagement = likes + comments + shares; engagement rate = engagement / reach.
-- A task is *measured* when likes, comments, shares and reach are all known (not NULL)
-- and reach > 0. Every engagement, reach and rate figure of a group (advocate, platform,
-- brand, program) is summed over its measured tasks only: one set of tasks per row, so
-- that engagement / reach of a row is its rate. `tasks` counts all of a group's tasks,
-- `tasks_measured` the measured ones: their ratio is the figure's coverage. A group's
-- rate is a ratio of sums (Σ engagement / Σ reach), so a post seen by 100,000 people
-- weighs more than one seen by 10 (not a mean of ratios).
-- rated_engagement / rated_reach: a task's engagement and reach when it is measured.
-- `known` is false for the bucket of tasks whose platform (brand, program) is unknown:
-- a report shows it, never ranks it. The sums of squares and products (exact, as
-- DECIMAL(38, 0)) give a rate's confidence interval, and `largest_reach` says how much
-- of a group's reach one post carries.
--
-- Written to mean the same on every engine sqlglot writes it for (tests/test_models_
-- transpile.py): a rate divides a DOUBLE, because `/` on integers is a double in DuckDB
-- but truncates in PostgreSQL; a program's brand is the one its memberships name when
-- they agree (advocacy.program_brands), never any_value (absent from PostgreSQL 15, and
-- arbitrary where it exists). PostgreSQL cannot CREATE OR REPLACE a view whose columns
-- change (as `*` does when a table gains a column): there, and only then, the
-- destination drops the view with the views built on it, which the later model files
-- recreate (sluice/destinations/postgres.py, `replace_views`).
CREATE OR REPLACE VIEW advocacy.task_engagement AS
SELECT *,
       likes + comments + shares AS engagement,
       CASE WHEN reach > 0 THEN CAST(likes + comments + shares AS DOUBLE) / reach END
         AS engagement_rate,
       CASE WHEN reach > 0 THEN likes + comments + shares END AS rated_engagement,
       CASE WHEN reach > 0 AND likes + comments + shares IS NOT NULL THEN reach END
         AS rated_reach,
       coalesce(reach > 0 AND likes + comments + shares IS NOT NULL, false) AS measured
FROM advocacy.tasks;

CREATE OR REPLACE VIEW advocacy.engagement_by_advocate AS
WITH t AS (
    SELECT advocate_id, count(*) AS tasks, count(rated_reach) AS tasks_measured,
           sum(rated_engagement) AS engagement, sum(rated_reach) AS reach,
           CAST(sum(rated_engagement) AS DOUBLE) / nullif(sum(rated_reach), 0)
             AS engagement_rate
    FROM advocacy.task_engagement GROUP BY advocate_id
),
m AS (
    SELECT advocate_id, count(*) AS programs, sum(total_sales_attributed) AS sales,
           count(total_sales_attributed) AS programs_with_sales
    FROM advocacy.memberships GROUP BY advocate_id
)
SELECT a.advocate_id, a.name, a.email, coalesce(m.programs, 0) AS programs,
       coalesce(t.tasks, 0) AS tasks, coalesce(t.tasks_measured, 0) AS tasks_measured,
       t.engagement, t.reach, t.engagement_rate, m.sales, coalesce(m.programs_with_sales, 0)
         AS programs_with_sales
FROM advocacy.advocates a LEFT JOIN t USING (advocate_id) LEFT JOIN m USING (advocate_id);

-- A program's brand: the one its memberships name when they all agree (NULL brands
-- aside); when they name several, NULL, and `brands` says how many.
CREATE OR REPLACE VIEW advocacy.program_brands AS
SELECT program_id, CASE WHEN count(DISTINCT brand) = 1 THEN min(brand) END AS brand,
       count(DISTINCT brand) AS brands
FROM advocacy.memberships WHERE program_id IS NOT NULL GROUP BY program_id;

CREATE OR REPLACE VIEW advocacy.engagement_by_platform AS
SELECT coalesce(t.platform, '(unknown)') AS platform, count(*) AS tasks,
       count(t.rated_reach) AS tasks_measured, sum(t.rated_engagement) AS engagement,
       sum(t.rated_reach) AS reach,
       CAST(sum(t.rated_engagement) AS DOUBLE) / nullif(sum(t.rated_reach), 0)
         AS engagement_rate,
       t.platform IS NOT NULL AS known, max(t.rated_reach) AS largest_reach,
       sum(CAST(t.rated_engagement AS DECIMAL(38, 0)) * t.rated_engagement)
         AS engagement_squares,
       sum(CAST(t.rated_reach AS DECIMAL(38, 0)) * t.rated_reach) AS reach_squares,
       sum(CAST(t.rated_engagement AS DECIMAL(38, 0)) * t.rated_reach)
         AS engagement_reach_products
FROM advocacy.task_engagement t GROUP BY t.platform;

CREATE OR REPLACE VIEW advocacy.engagement_by_program AS
WITH t AS (
    SELECT program_id, count(*) AS tasks, count(rated_reach) AS tasks_measured,
           sum(rated_engagement) AS engagement, sum(rated_reach) AS reach,
           CAST(sum(rated_engagement) AS DOUBLE) / nullif(sum(rated_reach), 0)
             AS engagement_rate,
           max(rated_reach) AS largest_reach,
           sum(CAST(rated_engagement AS DECIMAL(38, 0)) * rated_engagement)
             AS engagement_squares,
           sum(CAST(rated_reach AS DECIMAL(38, 0)) * rated_reach) AS reach_squares,
           sum(CAST(rated_engagement AS DECIMAL(38, 0)) * rated_reach)
             AS engagement_reach_products
    FROM advocacy.task_engagement GROUP BY program_id
)
SELECT t.program_id, b.brand, t.tasks, t.tasks_measured, t.engagement, t.reach,
       t.engagement_rate, t.program_id IS NOT NULL AS known, coalesce(b.brands, 0) AS brands,
       t.largest_reach, t.engagement_squares, t.reach_squares, t.engagement_reach_products
FROM t LEFT JOIN advocacy.program_brands b ON b.program_id = t.program_id;

CREATE OR REPLACE VIEW advocacy.engagement_by_brand AS
SELECT coalesce(t.brand, '(unknown)') AS brand, count(*) AS tasks,
       count(t.rated_reach) AS tasks_measured, sum(t.rated_engagement) AS engagement,
       sum(t.rated_reach) AS reach,
       CAST(sum(t.rated_engagement) AS DOUBLE) / nullif(sum(t.rated_reach), 0)
         AS engagement_rate,
       t.brand IS NOT NULL AS known, max(t.rated_reach) AS largest_reach,
       sum(CAST(t.rated_engagement AS DECIMAL(38, 0)) * t.rated_engagement)
         AS engagement_squares,
       sum(CAST(t.rated_reach AS DECIMAL(38, 0)) * t.rated_reach) AS reach_squares,
       sum(CAST(t.rated_engagement AS DECIMAL(38, 0)) * t.rated_reach)
         AS engagement_reach_products
FROM advocacy.task_engagement t GROUP BY t.brand;

-- Engagement and sales of each membership (an advocate in a program): the unit sales
-- are attributed to, so the one where engagement and sales can be compared.
CREATE OR REPLACE VIEW advocacy.engagement_by_membership AS
WITH t AS (
    SELECT membership_id, count(*) AS tasks, count(rated_reach) AS tasks_measured,
           sum(rated_engagement) AS engagement, sum(rated_reach) AS reach
    FROM advocacy.task_engagement GROUP BY membership_id
)
SELECT m.membership_id, m.advocate_id, m.program_id, m.brand,
       coalesce(t.tasks, 0) AS tasks, coalesce(t.tasks_measured, 0) AS tasks_measured,
       t.engagement, t.reach, m.total_sales_attributed AS sales
FROM advocacy.memberships m LEFT JOIN t ON t.membership_id = m.membership_id;
