"""`sluice advocacy report`: the headline insights, read from the models."""

from __future__ import annotations

from dataclasses import dataclass, field

from sluice.pipelines.advocacy import PIPELINE
from sluice.registry import View
from sluice.warehouse import Result, Warehouse


@dataclass
class Report:
    """The pipeline's views (`advocacy.VIEWS`) with their rows, and findings in words."""

    views: dict[View, Result] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)


def build_report(warehouse: Warehouse) -> Report:
    report = Report({view: view.query(warehouse) for view in PIPELINE.views})
    report.findings.append(_correlation_finding(warehouse))
    report.findings.extend(_share_findings(warehouse))
    return report


def _correlation_finding(warehouse: Warehouse) -> str:
    n, pearson, spearman = _correlation(warehouse)
    if n < 3 or pearson is None or spearman is None:
        return f"Too few advocates with both engagement and sales known ({n}) to correlate."
    finding = (f"Engagement and sales over {n:,} advocates with both known: "
               f"Spearman rho = {spearman:.2f} ({_strength(spearman)} between their "
               f"ranks), Pearson r = {pearson:.2f} ({_strength(pearson)} between "
               "the amounts).")
    if abs(spearman - pearson) >= 0.2:
        finding += (" The two disagree: a few extreme values dominate the amounts, so "
                    "rank order is the better guide.")
    return finding


def _correlation(warehouse: Warehouse) -> tuple[int, float | None, float | None]:
    row = warehouse.destination.query("""
        WITH both_known AS (
            SELECT CAST(engagement AS DOUBLE PRECISION) AS engagement,
                   CAST(sales AS DOUBLE PRECISION) AS sales
            FROM advocacy.engagement_by_advocate
            WHERE engagement IS NOT NULL AND sales IS NOT NULL
        ), ranked AS (
            SELECT *, rank() OVER (ORDER BY engagement) AS engagement_rank,
                      rank() OVER (ORDER BY sales) AS sales_rank
            FROM both_known
        )
        SELECT count(*), corr(engagement, sales), corr(engagement_rank, sales_rank) FROM ranked
    """).rows[0]
    return int(row[0]), _float(row[1]), _float(row[2])


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _strength(coefficient: float) -> str:
    size = abs(coefficient)
    if size < 0.1:
        return "no relationship"
    direction = "positive" if coefficient > 0 else "negative"
    if size < 0.3:
        return f"a weak {direction} relationship"
    if size < 0.5:
        return f"a moderate {direction} relationship"
    return f"a strong {direction} relationship"


def _share_findings(warehouse: Warehouse) -> list[str]:
    advocates, top_share = warehouse.destination.query("""
        WITH s AS (SELECT sales, row_number() OVER (ORDER BY sales DESC) AS n,
                          count(*) OVER () AS total
                   FROM advocacy.engagement_by_advocate WHERE sales IS NOT NULL)
        SELECT max(total), sum(sales) FILTER (WHERE n <= ceil(total / 10.0)) / nullif(sum(sales), 0)
        FROM s
    """).rows[0]
    if not advocates:
        return ["No sales figures loaded yet."]
    return [f"The top 10% of advocates by sales bring {float(top_share):.0%} of all attributed "
            f"sales ({advocates:,} advocates with known sales)."]
