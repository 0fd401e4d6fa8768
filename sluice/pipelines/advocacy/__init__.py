"""Advocacy: brand-advocacy exports (one messy JSON file per advocate) to insights."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from sluice.pipelines.advocacy.contracts import ENTITIES
from sluice.registry import Pipeline, Traced, View, commands_in, demo_in, web_in

if TYPE_CHECKING:
    from sluice.ledger import RunSummary
    from sluice.progress import Progress
    from sluice.warehouse import Warehouse

# The package is the pipeline's declaration and stays light (see `sluice.registry`): the
# load is imported when it runs. The name is `sources.PIPELINE`'s too, which
# tests/test_cli_startup.py checks.
PIPELINE_NAME = "advocacy"
MODELS = resources.files(__package__) / "models"


def ingest(warehouse: Warehouse, source: str, progress: Progress | None = None,
           batch_size: int | None = None) -> RunSummary:
    """Load a folder (or .tar.gz) of advocate files, `batch_size` files per scan
    (None: `sources.BATCH_FILES`), or a JSON Lines file of advocates; then rebuild the
    models."""
    from sluice.pipelines.advocacy import load, sources
    from sluice.progress import no_progress

    run = load.ingest(warehouse, source, progress or no_progress,
                      sources.BATCH_FILES if batch_size is None else batch_size)
    build_models(warehouse)
    return run


def build_models(warehouse: Warehouse) -> None:
    from sluice.ledger import ensure_ledger
    from sluice.pipelines.advocacy import load

    ensure_ledger(warehouse)
    load.ensure_schema(warehouse)
    PIPELINE.run_models(warehouse)


# --- the declaration the registry reads ----------------------------------------------------

HELP = "Brand-advocacy exports: messy JSON files to advocacy insights."


def _advocates_by(measure: str, columns: str) -> str:
    """Every advocate whose `measure` is known, ranked by it (ties share a rank)."""
    return (f"SELECT rank() OVER (ORDER BY {measure} DESC) AS rank, name, advocate_id, "
            f"{columns} FROM advocacy.engagement_by_advocate WHERE {measure} IS NOT NULL "
            "ORDER BY rank, advocate_id")


_RATE_SUMS = ("tasks, tasks_measured, engagement, reach, largest_reach, engagement_squares, "
              "reach_squares, engagement_reach_products")
_SALES_SUMS = "memberships, memberships_with_sales, sales, advocates, sales_squares"
_RECORDS = " UNION ALL ".join(
    f"SELECT '{entity}' AS entity, count(*) AS records FROM advocacy.{table}"
    for entity, table, _ in ENTITIES)
_FIELDS = ", ".join(
    f"('{entity}', '{f.name}', {position})" for position, (entity, f) in enumerate(
        ((entity, f) for entity, _, contract in ENTITIES for f in contract.fields), start=1))
# The memberships whose engagement is wholly known (every task measured) and whose sales
# are known: the ones where engagement and sales can be compared.
_COMPARABLE = ("FROM advocacy.engagement_by_membership WHERE sales IS NOT NULL "
               "AND tasks > 0 AND tasks_measured = tasks")

# What `sluice advocacy report` shows, in order, after rebuilding the models: each view's
# rows, every one, in a stated order; the report (report.py) derives rates, shares,
# intervals, ranks and notes from these exact counts and sums, and cuts each list to the
# top N. Standard SQL (see `View`) that runs unchanged on DuckDB and PostgreSQL.
VIEWS = (
    View("files", "files in the warehouse now (a JSON Lines line counts as one)",
         "SELECT outcome, files FROM advocacy.file_summary ORDER BY files DESC, outcome"),
    View("top_advocates_by_sales", "top advocates by sales attributed",
         _advocates_by("sales", "sales, programs, programs_with_sales")),
    View("top_advocates_by_engagement", "top advocates by engagement (measured tasks)",
         _advocates_by("engagement", "engagement, reach, tasks, tasks_measured")),
    View("top_advocates_by_reach", "top advocates by reach (measured tasks)",
         _advocates_by("reach", "reach, engagement, tasks, tasks_measured")),
    View("sales_concentration", "how concentrated sales are among advocates",
         "WITH s AS (SELECT sales, row_number() OVER (ORDER BY sales DESC) AS place "
         "FROM advocacy.engagement_by_advocate WHERE sales IS NOT NULL), "
         "n AS (SELECT count(*) AS advocates, sum(sales) AS sales FROM s), "
         "cuts AS (SELECT 1 AS k, 'top 10 advocates' AS top_group, 10 AS size "
         "UNION ALL SELECT 2, 'top 1%', CAST(ceil(advocates / 100.0) AS BIGINT) FROM n "
         "UNION ALL SELECT 3, 'top 10%', CAST(ceil(advocates / 10.0) AS BIGINT) FROM n "
         "UNION ALL SELECT 4, 'top 50%', CAST(ceil(advocates / 2.0) AS BIGINT) FROM n "
         "UNION ALL SELECT 5, 'all with known sales', advocates FROM n) "
         "SELECT c.top_group, least(c.size, n.advocates) AS advocates, "
         "(SELECT sum(s.sales) FROM s WHERE s.place <= c.size) AS sales, "
         "n.sales AS all_sales FROM cuts c CROSS JOIN n WHERE n.advocates > 0 ORDER BY c.k"),
    View("engagement_by_platform", "engagement by platform",
         f"SELECT platform, known, {_RATE_SUMS} FROM advocacy.engagement_by_platform "
         "ORDER BY known DESC, platform"),
    View("sales_by_brand", "sales by brand",
         f"SELECT brand, known, {_SALES_SUMS} FROM advocacy.sales_by_brand "
         "ORDER BY known DESC, brand"),
    View("engagement_by_brand", "engagement by brand",
         f"SELECT brand, known, {_RATE_SUMS} FROM advocacy.engagement_by_brand "
         "ORDER BY known DESC, brand"),
    View("sales_by_program", "programs by sales",
         "SELECT CAST(program_id AS VARCHAR) AS program_id, brand, brands, known, "
         f"{_SALES_SUMS} FROM advocacy.sales_by_program ORDER BY known DESC, program_id"),
    View("engagement_by_program", "programs by engagement",
         "SELECT CAST(program_id AS VARCHAR) AS program_id, brand, brands, known, "
         f"{_RATE_SUMS} FROM advocacy.engagement_by_program ORDER BY known DESC, program_id"),
    View("engagement_and_sales", "engagement and sales: correlation",
         f"SELECT 'memberships' AS unit, engagement, sales {_COMPARABLE} "
         "UNION ALL SELECT 'advocates', engagement, sales FROM advocacy.engagement_by_advocate "
         "WHERE sales IS NOT NULL AND programs_with_sales = programs AND tasks > 0 "
         "AND tasks_measured = tasks "
         "ORDER BY unit DESC, engagement, sales"),
    View("sales_by_engagement_quartile", "sales of memberships by engagement quartile",
         "WITH m AS (SELECT engagement, sales, ntile(4) OVER (ORDER BY engagement, sales) "
         f"AS quartile {_COMPARABLE}) "
         "SELECT quartile, count(*) AS memberships, min(engagement) AS engagement_from, "
         "max(engagement) AS engagement_to, "
         "percentile_disc(0.5) WITHIN GROUP (ORDER BY sales) AS median_sales, "
         "sum(sales) AS sales FROM m GROUP BY quartile ORDER BY quartile"),
    View("outliers", "outliers (above Q3 + 3 IQR)",
         "WITH totals AS (SELECT 'engagement' AS metric, count(engagement) AS measured, "
         "sum(engagement) AS total FROM advocacy.engagement_by_advocate "
         "UNION ALL SELECT 'sales', count(sales), sum(sales) "
         "FROM advocacy.engagement_by_advocate), "
         "flagged AS (SELECT o.metric, count(*) AS advocates, "
         "CAST(min(o.fence) AS DECIMAL(38, 2)) AS fence, "
         "CAST(max(o.value) AS DECIMAL(38, 2)) AS largest, "
         "sum(CASE WHEN o.metric = 'sales' THEN a.sales ELSE a.engagement END) AS outlying "
         "FROM advocacy.outliers o JOIN advocacy.engagement_by_advocate a "
         "ON a.advocate_id = o.advocate_id GROUP BY o.metric) "
         "SELECT f.metric, f.advocates, f.fence, f.largest, t.measured, f.outlying, t.total "
         "FROM flagged f JOIN totals t ON t.metric = f.metric ORDER BY f.metric"),
    View("data_quality_issues", "data-quality issues, by rule",
         "SELECT entity, field, rule, issues, records FROM advocacy.dq_summary "
         "ORDER BY issues DESC, entity, field, rule"),
    View("data_quality_by_field", "data quality by field: records with an unusable value",
         f"WITH fields (entity, field, position) AS (VALUES {_FIELDS}), "
         f"records AS ({_RECORDS}), "
         "issues AS (SELECT entity, field, count(DISTINCT record_key) AS records_with_issues "
         "FROM advocacy.dq_issues GROUP BY entity, field), "
         "anything AS (SELECT entity, count(DISTINCT record_key) AS records_with_issues "
         "FROM advocacy.dq_issues GROUP BY entity), "
         "rules AS (SELECT entity, field, rule, row_number() OVER (PARTITION BY entity, field "
         "ORDER BY count(*) DESC, rule) AS place FROM advocacy.dq_issues "
         "GROUP BY entity, field, rule) "
         "SELECT f.entity, f.field, r.records, "
         "coalesce(i.records_with_issues, 0) AS records_with_issues, "
         "u.rule AS most_common_rule, f.position FROM fields f "
         "JOIN records r ON r.entity = f.entity "
         "LEFT JOIN issues i ON i.entity = f.entity AND i.field = f.field "
         "LEFT JOIN rules u ON u.entity = f.entity AND u.field = f.field AND u.place = 1 "
         "UNION ALL SELECT r.entity, '(any field)', r.records, "
         "coalesce(a.records_with_issues, 0), NULL, 0 FROM records r "
         "LEFT JOIN anything a ON a.entity = r.entity "
         "ORDER BY position, entity"),
    View("data_quality_by_platform", "data quality by platform: tasks with an issue",
         "SELECT platform, known, tasks, tasks_with_issues, issues, tasks_measured, "
         "most_common_issue FROM advocacy.dq_by_platform ORDER BY known DESC, platform"),
)


PIPELINE = Pipeline(name=PIPELINE_NAME, help=HELP, order=20,
                    commands=commands_in(f"{__package__}.cli"),
                    demo=demo_in(f"{__package__}.demo"), views=VIEWS, models=MODELS,
                    # A record is a whole document: its file, no line.
                    traced=tuple(Traced(f"advocacy.{table}", key, file_column="file_id",
                                        line_column=None)
                                 for table, key in (("advocates", "advocate_id"),
                                                    ("memberships", "membership_id"),
                                                    ("tasks", "task_key"))),
                    replay_refusal="a record is a whole export document, kept in the "
                                   "quarantine cut short; deliver the corrected file again",
                    web=web_in(f"{__package__}.web"))
