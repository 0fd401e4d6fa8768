-- A transaction's totals, derived from its lines and its items' cost and weight: the
-- warehouse stores no total, so a total can never disagree with its lines.
-- Portable (tests/test_models_transpile.py): sums are cast to fixed types, since
-- DuckDB's sum of integers is a HUGEINT and PostgreSQL's a NUMERIC or BIGINT. A line's
-- price and weight are computed in DECIMAL(38, _): DuckDB types a quantity times a cost
-- as DECIMAL(18, 2), which overflows (and fails every query of the view) once a line
-- passes 10^16, well within what the columns hold.
CREATE OR REPLACE VIEW shop.transaction_totals AS
SELECT
    t.transaction_id,
    t.membership_id,
    t.bought_at,
    CAST(count(*) AS BIGINT) AS lines,
    CAST(sum(l.quantity) AS BIGINT) AS quantity,
    CAST(sum(CAST(l.quantity AS DECIMAL(38, 0)) * i.cost) AS DECIMAL(38, 2)) AS total_price,
    CAST(sum(CAST(l.quantity AS DECIMAL(38, 0)) * i.weight_kg) AS DECIMAL(38, 3))
        AS total_weight
FROM shop.transactions AS t
JOIN shop.transaction_lines AS l ON l.transaction_id = t.transaction_id
JOIN shop.items AS i ON i.item_id = l.item_id
GROUP BY t.transaction_id, t.membership_id, t.bought_at;
