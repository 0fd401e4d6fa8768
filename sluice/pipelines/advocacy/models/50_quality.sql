-- Data quality: issues by entity, field and rule (of the current version of each
-- advocate: a replaced version's issues go with it), and what became of the files.
CREATE OR REPLACE VIEW advocacy.dq_summary AS
SELECT entity, field, rule, count(*) AS issues, count(DISTINCT file_id) AS files
FROM advocacy.dq_issues GROUP BY entity, field, rule ORDER BY issues DESC, entity, field, rule;

CREATE OR REPLACE VIEW advocacy.file_summary AS
SELECT CASE WHEN status = 'loaded' AND note LIKE 'repaired%' THEN 'repaired'
            WHEN status = 'loaded' THEN 'clean'
            WHEN status = 'rejected' THEN 'rejected'
            WHEN status = 'unreadable' THEN 'unreadable'
            WHEN note LIKE 'skipped: % before, unchanged' THEN 'unchanged, skipped'
            ELSE 'not an advocate file, skipped' END AS outcome,
       count(*) AS files
FROM sluice.files WHERE pipeline = 'advocacy' GROUP BY 1 ORDER BY files DESC;
