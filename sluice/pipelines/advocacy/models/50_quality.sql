-- Data quality: issues by entity, field and rule (of the current version of each
-- advocate: a replaced version's issues go with it), with the number of records of the
-- entity, so that every count can be read as a share of the records.
CREATE OR REPLACE VIEW advocacy.dq_summary AS
WITH records AS (
    SELECT 'advocate' AS entity, count(*) AS records FROM advocacy.advocates
    UNION ALL
    SELECT 'membership', count(*) FROM advocacy.memberships
    UNION ALL
    SELECT 'task', count(*) FROM advocacy.tasks
)
SELECT d.entity, d.field, d.rule, count(*) AS issues, count(DISTINCT d.file_id) AS files,
       coalesce(r.records, 0) AS records
FROM advocacy.dq_issues d LEFT JOIN records r ON r.entity = d.entity
GROUP BY d.entity, d.field, d.rule, r.records
ORDER BY issues DESC, d.entity, d.field, d.rule;

-- Tasks by platform: how many have an issue (in any of their fields) and how many are
-- measured (10_engagement.sql); the platform's most common issue, by count then name.
CREATE OR REPLACE VIEW advocacy.dq_by_platform AS
WITH task_issues AS (
    SELECT t.platform, d.record_key, d.field, d.rule
    FROM advocacy.dq_issues d JOIN advocacy.tasks t ON t.task_key = d.record_key
    WHERE d.entity = 'task'
),
per_task AS (
    SELECT record_key, count(*) AS issues FROM task_issues GROUP BY record_key
),
rules AS (
    SELECT platform, field || ': ' || rule AS issue,
           row_number() OVER (PARTITION BY platform ORDER BY count(*) DESC, field, rule)
             AS place
    FROM task_issues GROUP BY platform, field, rule
)
SELECT coalesce(t.platform, '(unknown)') AS platform, t.platform IS NOT NULL AS known,
       count(*) AS tasks, count(p.record_key) AS tasks_with_issues,
       coalesce(sum(p.issues), 0) AS issues,
       count(*) FILTER (WHERE t.measured) AS tasks_measured,
       min(r.issue) AS most_common_issue
FROM advocacy.task_engagement t
LEFT JOIN per_task p ON p.record_key = t.task_key
LEFT JOIN rules r ON r.place = 1 AND r.platform IS NOT DISTINCT FROM t.platform
GROUP BY t.platform;

-- The documents in the warehouse now, whatever runs brought them (a file of a folder is
-- one document, a line of a JSON Lines file another): those that hold the current
-- version of an advocate, clean or repaired; those replaced by a later version of their
-- advocate (kept in raw_records); those quarantined. Then the files whose latest word
-- in the ledger is that they could not be read, or are not advocate files (each path
-- once, however often it was delivered). Deliveries of bytes loaded before add nothing.
-- The current documents of a file are its advocates; a repaired document is current
-- when its file still holds an advocate (exact for a folder's files, one document each).
CREATE OR REPLACE VIEW advocacy.file_summary AS
WITH documents AS (
    SELECT file_id, count(*) AS documents, count(*) FILTER (WHERE repaired) AS repaired
    FROM advocacy.raw_records GROUP BY file_id
),
current_versions AS (
    SELECT file_id, count(*) AS advocates FROM advocacy.advocates GROUP BY file_id
),
per_file AS (
    SELECT least(coalesce(c.advocates, 0), d.documents) AS current_documents,
           least(d.repaired, coalesce(c.advocates, 0)) AS current_repaired,
           greatest(d.documents - coalesce(c.advocates, 0), 0) AS replaced
    FROM documents d LEFT JOIN current_versions c ON c.file_id = d.file_id
),
latest AS (
    SELECT status, note, row_number() OVER (PARTITION BY path ORDER BY file_id DESC) AS newest
    FROM sluice.files WHERE pipeline = 'advocacy'
),
outcomes AS (
    SELECT 'clean' AS outcome, CAST(sum(current_documents - current_repaired) AS BIGINT)
             AS files FROM per_file
    UNION ALL
    SELECT 'repaired', CAST(sum(current_repaired) AS BIGINT) FROM per_file
    UNION ALL
    SELECT 'replaced by a later version', CAST(sum(replaced) AS BIGINT) FROM per_file
    UNION ALL
    SELECT 'rejected', count(*) FROM advocacy.rejected_documents
    UNION ALL
    SELECT 'unreadable', count(*) FROM latest WHERE newest = 1 AND status = 'unreadable'
    UNION ALL
    SELECT 'not an advocate file, skipped', count(*) FROM latest
    WHERE newest = 1 AND status = 'skipped' AND note NOT LIKE 'skipped: % before, unchanged'
)
SELECT outcome, files FROM outcomes WHERE files > 0 ORDER BY files DESC, outcome;
