"""Votes: vote events from a Q&A site, and the weeks whose volume stands out."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sluice import ingest as ingest_run
from sluice.contracts import Contract, Field
from sluice.ledger import RunSummary
from sluice.registry import Pipeline
from sluice.warehouse import Result, Warehouse

PIPELINE_NAME = "votes"
TARGET = "blog_analysis.votes"
OUTLIER_VIEW = "blog_analysis.outlier_weeks"

CONTRACT = Contract(
    fields=(
        Field("Id", "BIGINT", required=True),
        Field("PostId", "BIGINT", required=True),
        Field("VoteTypeId", "SMALLINT", required=True),
        Field("CreationDate", "TIMESTAMP", required=True),
        Field("UserId", "BIGINT"),
        Field("BountyAmount", "INTEGER"),
    ),
    key="Id",
)

SPEC = ingest_run.KeyedJsonLines(pipeline=PIPELINE_NAME, contract=CONTRACT, target=TARGET)
MODELS = resources.files(__package__) / "models"


def ingest(
    warehouse: Warehouse, arguments: Sequence[str],
    progress: ingest_run.Progress = ingest_run.no_progress,
) -> RunSummary:
    """Load vote files, folders or globs into blog_analysis.votes."""
    return ingest_run.ingest(warehouse, SPEC, arguments, progress)


def outliers(warehouse: Warehouse) -> Result:
    """Recreate blog_analysis.outlier_weeks and return its rows."""
    SPEC.ensure_target(warehouse)
    warehouse.run_sql_file(MODELS / "outlier_weeks.sql")
    return warehouse.query(f"SELECT * FROM {OUTLIER_VIEW}")


if TYPE_CHECKING:
    import typer

# --- the declaration the registry reads ----------------------------------------------------

HELP = "Vote events and the weeks whose volume stands out."


def _commands() -> typer.Typer:
    from sluice.pipelines.votes.cli import app

    return app


def _demo(warehouse: Warehouse, folder: Path, progress: ingest_run.Progress) -> dict[str, Any]:
    from sluice.pipelines.votes.demo import run_demo

    return run_demo(warehouse, folder, progress)


PIPELINE = Pipeline(name=PIPELINE_NAME, help=HELP, order=10, commands=_commands, demo=_demo)
