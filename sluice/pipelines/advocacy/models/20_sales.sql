-- Sales attributed, summed over memberships whose figure is known
-- (`memberships_with_sales` says how many: sales is a total over those only). The
-- memberships without a brand (without a program) are one bucket, `known` false: shown,
-- never ranked, and never labelled with some other row's brand. A program's brand is
-- the one its memberships name when they agree (advocacy.program_brands). The sums of
-- squares (exact: DECIMAL(38, 4), where the amounts' own type would overflow past 10^9)
-- give the confidence interval of the sales per membership.
CREATE OR REPLACE VIEW advocacy.sales_by_brand AS
SELECT coalesce(m.brand, '(unknown)') AS brand, count(*) AS memberships,
       count(m.total_sales_attributed) AS memberships_with_sales,
       sum(m.total_sales_attributed) AS sales, m.brand IS NOT NULL AS known,
       count(DISTINCT m.advocate_id) AS advocates,
       count(DISTINCT m.program_id) AS programs,
       sum(CAST(m.total_sales_attributed AS DECIMAL(38, 2)) * m.total_sales_attributed)
         AS sales_squares
FROM advocacy.memberships m GROUP BY m.brand;

CREATE OR REPLACE VIEW advocacy.sales_by_program AS
WITH m AS (
    SELECT program_id, count(*) AS memberships,
           count(total_sales_attributed) AS memberships_with_sales,
           sum(total_sales_attributed) AS sales,
           count(DISTINCT advocate_id) AS advocates,
           sum(CAST(total_sales_attributed AS DECIMAL(38, 2)) * total_sales_attributed)
             AS sales_squares
    FROM advocacy.memberships GROUP BY program_id
)
SELECT m.program_id, b.brand, m.memberships, m.memberships_with_sales, m.sales,
       m.program_id IS NOT NULL AS known, coalesce(b.brands, 0) AS brands, m.advocates,
       m.sales_squares
FROM m LEFT JOIN advocacy.program_brands b ON b.program_id = m.program_id;
