-- Outliers among advocates' totals, by Tukey's far-out fence: a value above
-- Q3 + 3 x IQR. Sales and engagement are heavily right-skewed (a few viral posts, a few
-- big accounts), so a z-score, whose mean and deviation the outliers themselves inflate,
-- would hide them; quartiles are not moved by the extremes. Engagement is an advocate's
-- engagement over their measured tasks (10_engagement.sql).
CREATE OR REPLACE VIEW advocacy.outliers AS
WITH totals AS (
    SELECT advocate_id, name, 'sales' AS metric, CAST(sales AS DOUBLE) AS value
    FROM advocacy.engagement_by_advocate WHERE sales IS NOT NULL
    UNION ALL
    SELECT advocate_id, name, 'engagement', CAST(engagement AS DOUBLE)
    FROM advocacy.engagement_by_advocate WHERE engagement IS NOT NULL
),
fences AS (
    SELECT metric, quantile_cont(value, 0.25) AS q1, quantile_cont(value, 0.75) AS q3
    FROM totals GROUP BY metric
)
SELECT t.metric, t.advocate_id, t.name, t.value, f.q3 + 3 * (f.q3 - f.q1) AS fence
FROM totals t JOIN fences f USING (metric)
WHERE t.value > f.q3 + 3 * (f.q3 - f.q1)
ORDER BY t.metric, t.value DESC;
