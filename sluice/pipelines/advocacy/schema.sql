-- The advocacy warehouse: one row per advocate, brand, program, membership and task,
-- the raw JSON of every loaded file, and every data-quality issue found on the way.
CREATE SCHEMA IF NOT EXISTS advocacy;

CREATE TABLE IF NOT EXISTS advocacy.raw_records (
    file_id     BIGINT NOT NULL,      -- joins to sluice.files
    source_file VARCHAR NOT NULL,     -- path relative to the ingested folder or archive
    repaired    BOOLEAN NOT NULL,
    document    JSON NOT NULL         -- as loaded (after repair, if any)
);

CREATE TABLE IF NOT EXISTS advocacy.advocates (
    advocate_id      VARCHAR NOT NULL, -- user_id, or 'file:<source_file>' when it is missing
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
    rule        VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS advocacy.advocate_changes (
    advocate_id  VARCHAR NOT NULL,
    field        VARCHAR NOT NULL,
    old_value    VARCHAR,
    new_value    VARCHAR,
    old_file_id  BIGINT NOT NULL,
    new_file_id  BIGINT NOT NULL
);
