-- Upgrades a DuckDB warehouse written by an earlier sluice; run after schema.sql on
-- DuckDB only (a PostgreSQL warehouse was never in the old form).
-- Warehouses written before documents were known by content: the checksum of a loaded
-- file is its ledger row's; of a JSON Lines line, that of its text when it was loaded
-- unrepaired. An issue's advocate is the start of its record key.
UPDATE advocacy.raw_records r SET sha256 = f.sha256 FROM sluice.files f
WHERE r.sha256 IS NULL AND f.file_id = r.file_id AND f.status = 'loaded'
  AND NOT regexp_matches(r.source_file, ':[0-9]+$');
UPDATE advocacy.raw_records SET sha256 = sha256(CAST(document AS VARCHAR))
WHERE sha256 IS NULL AND NOT repaired AND regexp_matches(source_file, ':[0-9]+$');
UPDATE advocacy.dq_issues
SET advocate_id = CASE entity WHEN 'advocate' THEN record_key
                              WHEN 'membership' THEN regexp_replace(record_key, '#[0-9]+$', '')
                              ELSE regexp_replace(record_key, '#[0-9]+#[0-9]+$', '') END
WHERE advocate_id IS NULL;
