-- The advocacy warehouse: one row per advocate, brand, program, membership and task,
-- the raw JSON of every loaded document, and every data-quality issue of the current
-- version of each advocate.
CREATE SCHEMA IF NOT EXISTS advocacy;

-- One row per loaded document (a file, or a line of a JSON Lines file).
CREATE TABLE IF NOT EXISTS advocacy.raw_records (
    file_id     BIGINT NOT NULL,      -- joins to sluice.files
    source_file VARCHAR NOT NULL,     -- path in the ingested folder or archive; file:line
    repaired    BOOLEAN NOT NULL,
    document    JSON NOT NULL,        -- as loaded (after repair, if any)
    sha256      VARCHAR               -- of the document's bytes as delivered: its identity
);
ALTER TABLE advocacy.raw_records ADD COLUMN IF NOT EXISTS sha256 VARCHAR;

-- One row per quarantined document, so that the same bytes delivered again are known.
CREATE TABLE IF NOT EXISTS advocacy.rejected_documents AS
SELECT file_id, path AS source_file, sha256 FROM sluice.files
WHERE pipeline = 'advocacy' AND status = 'rejected' AND sha256 <> '';

CREATE TABLE IF NOT EXISTS advocacy.advocates (
    advocate_id      VARCHAR NOT NULL, -- user_id, or 'doc:<sha256>#<n>' when it is missing:
                                       -- the n-th copy of these bytes in one delivery
    user_id          UUID,
    name             VARCHAR,
    email            VARCHAR,          -- lower case, trimmed
    instagram_handle VARCHAR,          -- lower case, no leading @
    tiktok_handle    VARCHAR,
    joined_at        TIMESTAMP,        -- UTC
    file_id          BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS advocacy.brands (
    brand VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS advocacy.programs (
    program_id UUID NOT NULL,
    brand      VARCHAR                 -- as first seen for the program
);

CREATE TABLE IF NOT EXISTS advocacy.memberships (
    membership_id          VARCHAR NOT NULL,  -- advocate_id '#' position in the file
    advocate_id            VARCHAR NOT NULL,
    program_id             UUID,
    brand                  VARCHAR,
    total_sales_attributed DECIMAL(14, 2),
    file_id                BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS advocacy.tasks (
    task_key      VARCHAR NOT NULL,  -- membership_id '#' position in the file
    task_id       UUID,
    membership_id VARCHAR NOT NULL,
    advocate_id   VARCHAR NOT NULL,
    program_id    UUID,
    brand         VARCHAR,
    platform      VARCHAR,
    post_url      VARCHAR,
    likes         BIGINT,
    comments      BIGINT,
    shares        BIGINT,
    reach         BIGINT,
    file_id       BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS advocacy.dq_issues (
    file_id     BIGINT NOT NULL,
    source_file VARCHAR NOT NULL,
    entity      VARCHAR NOT NULL,     -- advocate, membership, task
    record_key  VARCHAR NOT NULL,
    field       VARCHAR NOT NULL,
    raw_value   VARCHAR,              -- the JSON text as it arrived; NULL when absent
    rule        VARCHAR NOT NULL,
    advocate_id VARCHAR               -- the advocate the record belongs to
);
ALTER TABLE advocacy.dq_issues ADD COLUMN IF NOT EXISTS advocate_id VARCHAR;

CREATE TABLE IF NOT EXISTS advocacy.advocate_changes (
    advocate_id  VARCHAR NOT NULL,
    field        VARCHAR NOT NULL,
    old_value    VARCHAR,
    new_value    VARCHAR,
    old_file_id  BIGINT NOT NULL,
    new_file_id  BIGINT NOT NULL
);
