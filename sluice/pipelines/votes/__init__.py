"""Votes: vote events from a Q&A site, and the weeks whose volume stands out."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

from sluice import ingest as ingest_run
from sluice.ledger import RunSummary
from sluice.pipelines.votes.contracts import CONTRACT
from sluice.registry import Pipeline, Traced, View, commands_in, demo_in, web_in
from sluice.warehouse import Result, Warehouse

PIPELINE_NAME = "votes"
TARGET = "blog_analysis.votes"
OUTLIER_VIEW = "blog_analysis.outlier_weeks"

SPEC = ingest_run.KeyedLines(pipeline=PIPELINE_NAME, contract=CONTRACT, target=TARGET)
MODELS = resources.files(__package__) / "models"


def ingest(
    warehouse: Warehouse, arguments: Sequence[str],
    progress: ingest_run.Progress = ingest_run.no_progress,
) -> RunSummary:
    """Load vote files, folders or globs into blog_analysis.votes."""
    return ingest_run.ingest(warehouse, SPEC, arguments, progress)


def build_models(warehouse: Warehouse) -> None:
    """Recreate the models (blog_analysis.outlier_weeks) over blog_analysis.votes."""
    SPEC.ensure_target(warehouse)
    PIPELINE.run_models(warehouse)


def outliers(warehouse: Warehouse) -> Result:
    """Recreate blog_analysis.outlier_weeks and return its rows."""
    build_models(warehouse)
    return warehouse.destination.query(f"SELECT * FROM {OUTLIER_VIEW}")


# --- the declaration the registry reads ----------------------------------------------------

HELP = "Vote events and the weeks whose volume stands out."

# What `sluice votes outliers` prints, after recreating the view. Standard SQL (see `View`);
# the view's columns keep the names the issue gave them, the output's are snake_case.
VIEWS = (
    View("outlier_weeks", "weeks whose vote count is more than 20% off the mean",
         'SELECT "Year" AS year, "WeekNumber" AS week_number, "VoteCount" AS vote_count '
         f'FROM {OUTLIER_VIEW} ORDER BY "Year", "WeekNumber"'),
)


PIPELINE = Pipeline(name=PIPELINE_NAME, help=HELP, order=10,
                    commands=commands_in(f"{__package__}.cli"),
                    demo=demo_in(f"{__package__}.demo"), views=VIEWS, models=MODELS,
                    traced=(Traced(TARGET, CONTRACT.key or ""),), replay_spec=SPEC,
                    web=web_in(f"{__package__}.web"))
