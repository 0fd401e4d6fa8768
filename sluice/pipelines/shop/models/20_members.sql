-- Spending per membership id, ranked with RANK(): members tied on spending share a rank
-- and the next rank is skipped (1, 2, 2, 4). A membership id shared by several
-- applicants (applicants > 1) is one member here: transactions carry only the id, so
-- its spending cannot be split between them. Members without transactions are left out.
CREATE OR REPLACE VIEW shop.member_spending AS
SELECT
    m.membership_id,
    concat_ws(' ', m.first_name, m.last_name) AS name,
    m.applicants,
    m.applicants > 1 AS shared,
    CAST(sum(t.total_price) AS DECIMAL(38, 2)) AS spending,
    CAST(count(*) AS BIGINT) AS transactions,
    CAST(rank() OVER (ORDER BY sum(t.total_price) DESC) AS BIGINT) AS rank
FROM shop.members AS m
JOIN shop.transaction_totals AS t ON t.membership_id = m.membership_id
GROUP BY m.membership_id, m.first_name, m.last_name, m.applicants;

-- The top 10 by spending: everyone ranked 10 or better, so a tie at the 10th place can
-- make the list longer than ten (and never cuts a tie in two).
CREATE OR REPLACE VIEW shop.top_members_by_spending AS
SELECT rank, membership_id, name, applicants, shared, spending, transactions
FROM shop.member_spending
WHERE rank <= 10;
