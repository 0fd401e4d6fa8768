-- Sales attributed, summed over memberships whose figure is known. A program's brand is
-- min(brand): a program has one brand (memberships without a program mix several).
CREATE OR REPLACE VIEW advocacy.sales_by_brand AS
SELECT coalesce(brand, '(unknown)') AS brand, count(*) AS memberships,
       count(total_sales_attributed) AS memberships_with_sales,
       sum(total_sales_attributed) AS sales
FROM advocacy.memberships GROUP BY 1;

CREATE OR REPLACE VIEW advocacy.sales_by_program AS
SELECT program_id, min(brand) AS brand, count(*) AS memberships,
       count(total_sales_attributed) AS memberships_with_sales,
       sum(total_sales_attributed) AS sales
FROM advocacy.memberships GROUP BY program_id;
