-- The ten best advocates by each measure; ties share a rank. (PostgreSQL 15 wants every
-- subquery in FROM named.)
CREATE OR REPLACE VIEW advocacy.top_advocates_by_sales AS
SELECT * FROM (SELECT rank() OVER (ORDER BY sales DESC) AS rank, advocate_id, name, sales,
                      programs FROM advocacy.engagement_by_advocate WHERE sales IS NOT NULL)
               AS ranked
WHERE rank <= 10 ORDER BY rank, advocate_id;

CREATE OR REPLACE VIEW advocacy.top_advocates_by_engagement AS
SELECT * FROM (SELECT rank() OVER (ORDER BY engagement DESC) AS rank, advocate_id, name,
                      engagement, engagement_rate, tasks_measured
               FROM advocacy.engagement_by_advocate WHERE engagement IS NOT NULL) AS ranked
WHERE rank <= 10 ORDER BY rank, advocate_id;

CREATE OR REPLACE VIEW advocacy.top_advocates_by_reach AS
SELECT * FROM (SELECT rank() OVER (ORDER BY reach DESC) AS rank, advocate_id, name, reach,
                      tasks FROM advocacy.engagement_by_advocate WHERE reach IS NOT NULL)
               AS ranked
WHERE rank <= 10 ORDER BY rank, advocate_id;
