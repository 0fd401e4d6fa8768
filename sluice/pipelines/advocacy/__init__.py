"""Advocacy: brand-advocacy exports (one messy JSON file per advocate) to insights."""

from __future__ import annotations

from importlib import resources

from sluice.ingest import Progress, no_progress
from sluice.ledger import RunSummary, ensure_ledger
from sluice.pipelines.advocacy import load, sources
from sluice.registry import Pipeline, View, commands_in, demo_in
from sluice.warehouse import Warehouse

PIPELINE_NAME = sources.PIPELINE
MODELS = resources.files(__package__) / "models"


def ingest(warehouse: Warehouse, source: str, progress: Progress = no_progress,
           batch_size: int = sources.BATCH_FILES) -> RunSummary:
    """Load a folder (or .tar.gz) of advocate files, `batch_size` files per scan, or a
    JSON Lines file of advocates; then rebuild the models."""
    run = load.ingest(warehouse, source, progress, batch_size)
    build_models(warehouse)
    return run


def build_models(warehouse: Warehouse) -> None:
    ensure_ledger(warehouse)
    load.ensure_schema(warehouse)
    PIPELINE.run_models(warehouse)


# --- the declaration the registry reads ----------------------------------------------------

HELP = "Brand-advocacy exports: messy JSON files to advocacy insights."
TOP = 5  # advocates in each top list of the report

# What `sluice advocacy report` prints, in order, after rebuilding the models. Standard
# SQL (see `View`): rates as DECIMAL(18,4), amounts as DECIMAL(18,2).
VIEWS = (
    View("files", "files by outcome",
         "SELECT outcome, files FROM advocacy.file_summary ORDER BY files DESC, outcome"),
    View("top_advocates_by_sales", "top advocates by sales",
         "SELECT rank, name, advocate_id, sales FROM advocacy.top_advocates_by_sales "
         f"ORDER BY rank, advocate_id LIMIT {TOP}"),
    View("top_advocates_by_engagement", "top advocates by engagement",
         "SELECT rank, name, advocate_id, engagement, "
         "CAST(engagement_rate AS DECIMAL(18, 4)) AS engagement_rate "
         f"FROM advocacy.top_advocates_by_engagement ORDER BY rank, advocate_id LIMIT {TOP}"),
    View("top_advocates_by_reach", "top advocates by reach",
         "SELECT rank, name, advocate_id, reach FROM advocacy.top_advocates_by_reach "
         f"ORDER BY rank, advocate_id LIMIT {TOP}"),
    View("engagement_by_platform", "engagement by platform",
         "SELECT platform, tasks, tasks_measured, engagement, reach, "
         "CAST(engagement_rate AS DECIMAL(18, 4)) AS engagement_rate "
         "FROM advocacy.engagement_by_platform "
         "ORDER BY engagement_rate DESC NULLS LAST, platform"),
    View("sales_by_brand", "sales by brand",
         "SELECT brand, memberships, memberships_with_sales, sales "
         "FROM advocacy.sales_by_brand ORDER BY sales DESC NULLS LAST, brand"),
    View("outliers", "outliers (above Q3 + 3 IQR)",
         "SELECT metric, count(*) AS advocates, CAST(min(fence) AS DECIMAL(18, 2)) AS fence, "
         "CAST(max(value) AS DECIMAL(18, 2)) AS largest "
         "FROM advocacy.outliers GROUP BY metric ORDER BY metric"),
    View("data_quality_issues", "data-quality issues",
         "SELECT entity, field, rule, issues FROM advocacy.dq_summary "
         "ORDER BY issues DESC, entity, field, rule LIMIT 12"),
)


PIPELINE = Pipeline(name=PIPELINE_NAME, help=HELP, order=20,
                    commands=commands_in(f"{__package__}.cli"),
                    demo=demo_in(f"{__package__}.demo"), views=VIEWS, models=MODELS)
