"""Cars: the buying price of a car, from the UCI Car Evaluation data set (shipped)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sluice.ingest import Progress
from sluice.pipelines.cars.contracts import CONTRACT, TARGET
from sluice.pipelines.cars.land import PIPELINE as PIPELINE_NAME
from sluice.pipelines.cars.land import SPEC
from sluice.registry import Pipeline, View
from sluice.warehouse import Warehouse

if TYPE_CHECKING:
    import typer

__all__ = ["CONTRACT", "PIPELINE", "TARGET", "ensure_target"]


def ensure_target(warehouse: Warehouse) -> None:
    SPEC.ensure_target(warehouse)


# --- the declaration the registry reads ----------------------------------------------------

HELP = "Car buying prices: a model of the UCI Car Evaluation data."

VIEWS = (
    View("buying_by_class", "cars in the warehouse by class and buying price",
         f'SELECT "class", buying, count(*) AS cars FROM {TARGET} '
         f'GROUP BY "class", buying ORDER BY "class", buying'),
)


def _commands() -> typer.Typer:
    from sluice.pipelines.cars.cli import app

    return app


def _demo(warehouse: Warehouse, folder: Path, progress: Progress) -> dict[str, Any]:
    from sluice.pipelines.cars.demo import run_demo

    return run_demo(warehouse, folder, progress)


PIPELINE = Pipeline(name=PIPELINE_NAME, help=HELP, order=60, commands=_commands, demo=_demo,
                    views=VIEWS)
