-- How often each item is bought, two ways: by quantity (units summed over every
-- transaction line) and by transactions (the number of transactions with at least one
-- line of the item). Each has its own RANK(): items tied share a rank. Items never
-- bought are listed with 0 and ranked after every item that was.
CREATE OR REPLACE VIEW shop.item_popularity AS
SELECT
    i.item_id,
    i.name AS item,
    m.name AS manufacturer,
    CAST(coalesce(sum(l.quantity), 0) AS BIGINT) AS quantity,
    CAST(count(DISTINCT l.transaction_id) AS BIGINT) AS transactions,
    CAST(rank() OVER (ORDER BY coalesce(sum(l.quantity), 0) DESC) AS BIGINT) AS quantity_rank,
    CAST(rank() OVER (ORDER BY count(DISTINCT l.transaction_id) DESC) AS BIGINT)
        AS transactions_rank
FROM shop.items AS i
JOIN shop.manufacturers AS m ON m.manufacturer_id = i.manufacturer_id
LEFT JOIN shop.transaction_lines AS l ON l.item_id = i.item_id
GROUP BY i.item_id, i.name, m.name;

-- The top 3 items by either measure (every item ranked 3 or better by quantity or by
-- transactions, ties included), among items bought at least once.
CREATE OR REPLACE VIEW shop.top_items AS
SELECT item_id, item, manufacturer, quantity, quantity_rank, transactions, transactions_rank
FROM shop.item_popularity
WHERE transactions > 0 AND (quantity_rank <= 3 OR transactions_rank <= 3);
