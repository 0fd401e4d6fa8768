-- The shop warehouse, normalised: a member (one per membership id) makes transactions; a
-- transaction has one or more lines; a line is a quantity of one item; an item is made
-- by one manufacturer. Prices and weights live once, on the item: a transaction's total
-- price and weight are derived from its lines (view shop.transaction_totals), never
-- stored. Written once in DuckDB's dialect; sluice transpiles it for PostgreSQL.
CREATE SCHEMA IF NOT EXISTS shop;
CREATE SEQUENCE IF NOT EXISTS shop.manufacturer_ids START 1;
CREATE SEQUENCE IF NOT EXISTS shop.item_ids START 1;

-- One row per membership id of a successful application (applications.successful).
-- Two applicants can share an id (same last name and birthday): `applicants` counts
-- them; the names, email and birthday are those of the first application (the lowest
-- _file_id, then the lowest application_key).
CREATE TABLE IF NOT EXISTS shop.members (
    membership_id VARCHAR PRIMARY KEY,
    first_name    VARCHAR,
    last_name     VARCHAR,
    email         VARCHAR,
    date_of_birth DATE,
    applicants    INTEGER NOT NULL CHECK (applicants >= 1)
);

CREATE TABLE IF NOT EXISTS shop.manufacturers (
    manufacturer_id INTEGER PRIMARY KEY,
    name            VARCHAR NOT NULL UNIQUE
);

-- One row per item name; the first version of an item wins (a later one that differs
-- is quarantined as a conflict), so its cost and weight never change under the
-- transactions that used them.
CREATE TABLE IF NOT EXISTS shop.items (
    item_id         INTEGER PRIMARY KEY,
    name            VARCHAR NOT NULL UNIQUE,
    manufacturer_id INTEGER NOT NULL REFERENCES shop.manufacturers (manufacturer_id),
    cost            DECIMAL(12, 2) NOT NULL CHECK (cost >= 0),
    weight_kg       DECIMAL(10, 3) NOT NULL CHECK (weight_kg >= 0),
    file_id         BIGINT NOT NULL, -- the items.csv it came from (sluice.files)
    source_line     BIGINT           -- its line there (NULL: loaded before lines were kept)
);
ALTER TABLE shop.items ADD COLUMN IF NOT EXISTS source_line BIGINT;

CREATE TABLE IF NOT EXISTS shop.transactions (
    transaction_id VARCHAR PRIMARY KEY,
    membership_id  VARCHAR NOT NULL REFERENCES shop.members (membership_id),
    bought_at      TIMESTAMP NOT NULL,
    file_id        BIGINT NOT NULL,  -- the transactions.jsonl it came from (sluice.files)
    source_line    BIGINT            -- its line there (NULL: loaded before lines were kept)
);
ALTER TABLE shop.transactions ADD COLUMN IF NOT EXISTS source_line BIGINT;

-- A transaction's lines as delivered, in their order (the same item may come twice).
CREATE TABLE IF NOT EXISTS shop.transaction_lines (
    transaction_id VARCHAR NOT NULL REFERENCES shop.transactions (transaction_id),
    line_number    INTEGER NOT NULL CHECK (line_number >= 1),
    item_id        INTEGER NOT NULL REFERENCES shop.items (item_id),
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (transaction_id, line_number)
);

-- What the analysts' questions join and filter on: an item's sales (lines by item), a
-- member's transactions, transactions in a period, a manufacturer's items.
CREATE INDEX IF NOT EXISTS transaction_lines_item ON shop.transaction_lines (item_id);
CREATE INDEX IF NOT EXISTS transactions_member ON shop.transactions (membership_id);
CREATE INDEX IF NOT EXISTS transactions_bought_at ON shop.transactions (bought_at);
CREATE INDEX IF NOT EXISTS items_manufacturer ON shop.items (manufacturer_id);
