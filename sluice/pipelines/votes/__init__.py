"""Votes: vote events from a Q&A site, and the weeks whose volume stands out."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING

from sluice.pipelines.votes.contracts import CONTRACT
from sluice.registry import Pipeline, Traced, View, commands_in, demo_in, spec_in, web_in

if TYPE_CHECKING:
    from sluice.ledger import RunSummary
    from sluice.progress import Progress
    from sluice.warehouse import Result, Warehouse

# The package is the pipeline's declaration and stays light (see `sluice.registry`): the
# ingest and its spec are in `load.py`, imported when they run.
PIPELINE_NAME = "votes"
TARGET = "blog_analysis.votes"
OUTLIER_VIEW = "blog_analysis.outlier_weeks"

MODELS = resources.files(__package__) / "models"


def ingest(warehouse: Warehouse, arguments: Sequence[str],
           progress: Progress | None = None) -> RunSummary:
    """Load vote files, folders or globs into blog_analysis.votes."""
    from sluice.pipelines.votes import load

    return load.ingest(warehouse, arguments, progress)


def build_models(warehouse: Warehouse) -> None:
    """Recreate the models (blog_analysis.outlier_weeks) over blog_analysis.votes."""
    from sluice.pipelines.votes.load import SPEC

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
                    traced=(Traced(TARGET, CONTRACT.key or ""),),
                    replay=spec_in(f"{__package__}.load"),
                    web=web_in(f"{__package__}.web"))
