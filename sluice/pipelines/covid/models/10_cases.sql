-- The latest word on each day, and every change of mind between responses.
-- Responses are ordered by when they were fetched (`as_of`; a saved response: when its
-- file was written), then by arrival (`_file_id`). Portable
-- (tests/test_models_transpile.py): standard window functions only.

-- One row per country and day: the cumulative count the latest response gave.
CREATE OR REPLACE VIEW covid.cases AS
SELECT country, "day", cumulative, source, as_of, response
FROM (
    SELECT country, "day", cumulative, source, as_of, response,
           row_number() OVER (PARTITION BY country, "day"
                              ORDER BY as_of DESC, _file_id DESC) AS latest_first
    FROM covid.observations
) AS stated
WHERE latest_first = 1;

-- A revision: a response that gives a day another cumulative count than the response
-- before it did. The later response wins in covid.cases; the change stays here.
CREATE OR REPLACE VIEW covid.revisions AS
SELECT country, "day", old_cumulative, cumulative AS new_cumulative,
       cumulative - old_cumulative AS change,
       old_source, old_as_of, old_response,
       source AS new_source, as_of AS new_as_of, response AS new_response
FROM (
    SELECT country, "day", cumulative, source, as_of, response,
           lag(cumulative) OVER (PARTITION BY country, "day" ORDER BY as_of, _file_id)
               AS old_cumulative,
           lag(source) OVER (PARTITION BY country, "day" ORDER BY as_of, _file_id)
               AS old_source,
           lag(as_of) OVER (PARTITION BY country, "day" ORDER BY as_of, _file_id)
               AS old_as_of,
           lag(response) OVER (PARTITION BY country, "day" ORDER BY as_of, _file_id)
               AS old_response
    FROM covid.observations
) AS successive
WHERE old_cumulative <> cumulative
ORDER BY country, "day", new_as_of;
