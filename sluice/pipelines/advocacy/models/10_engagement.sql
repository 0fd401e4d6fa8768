-- Engagement = likes + comments + shares; engagement rate = engagement / reach.
-- A task with any of these unknown (NULL) has unknown engagement and is left out of
-- sums, never counted as zero; `tasks_measured` says how many tasks a figure rests on.
-- Rates of a group are ratios of sums over its measured tasks with reach > 0, so a
-- task with a large reach weighs more than a tiny one (not a mean of ratios).
-- rated_engagement / rated_reach: the parts of a task that count towards a group's rate
-- (engagement and reach both known, reach > 0), so every group's rate is one ratio.
--
-- Written to mean the same on every engine sqlglot writes it for (tests/test_models_
-- transpile.py): a rate divides a DOUBLE, because `/` on integers is a double in DuckDB
-- but truncates in PostgreSQL; a program's brand is min(brand), not any_value (absent
-- from PostgreSQL 15, and arbitrary where it exists). PostgreSQL cannot CREATE OR
-- REPLACE a view whose columns change (as `*` does when a table gains a column): there,
-- and only then, the destination drops the view with the views built on it, which the
-- later model files recreate (sluice/destinations/postgres.py, `replace_views`).
CREATE OR REPLACE VIEW advocacy.task_engagement AS
SELECT *,
       likes + comments + shares AS engagement,
       CASE WHEN reach > 0 THEN CAST(likes + comments + shares AS DOUBLE) / reach END
         AS engagement_rate,
       CASE WHEN reach > 0 THEN likes + comments + shares END AS rated_engagement,
       CASE WHEN reach > 0 AND likes + comments + shares IS NOT NULL THEN reach END
         AS rated_reach
FROM advocacy.tasks;

CREATE OR REPLACE VIEW advocacy.engagement_by_advocate AS
WITH t AS (
    SELECT advocate_id, count(*) AS tasks, count(engagement) AS tasks_measured,
           sum(engagement) AS engagement, sum(reach) AS reach,
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

CREATE OR REPLACE VIEW advocacy.engagement_by_platform AS
SELECT coalesce(platform, '(unknown)') AS platform, count(*) AS tasks,
       count(engagement) AS tasks_measured, sum(engagement) AS engagement, sum(reach) AS reach,
       CAST(sum(rated_engagement) AS DOUBLE) / nullif(sum(rated_reach), 0) AS engagement_rate
FROM advocacy.task_engagement GROUP BY 1;

CREATE OR REPLACE VIEW advocacy.engagement_by_program AS
SELECT program_id, min(brand) AS brand, count(*) AS tasks,
       count(engagement) AS tasks_measured, sum(engagement) AS engagement, sum(reach) AS reach,
       CAST(sum(rated_engagement) AS DOUBLE) / nullif(sum(rated_reach), 0) AS engagement_rate
FROM advocacy.task_engagement GROUP BY program_id;

CREATE OR REPLACE VIEW advocacy.engagement_by_brand AS
SELECT coalesce(brand, '(unknown)') AS brand, count(*) AS tasks,
       count(engagement) AS tasks_measured, sum(engagement) AS engagement, sum(reach) AS reach,
       CAST(sum(rated_engagement) AS DOUBLE) / nullif(sum(rated_reach), 0) AS engagement_rate
FROM advocacy.task_engagement GROUP BY 1;
