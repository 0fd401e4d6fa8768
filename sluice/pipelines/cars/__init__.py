"""Cars: the buying price of a car, from the UCI Car Evaluation data set (shipped)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sluice.pipelines.cars.settings import KEY, TARGET
from sluice.pipelines.cars.settings import PIPELINE as PIPELINE_NAME
from sluice.registry import Pipeline, Traced, View, commands_in, demo_in, spec_in, web_in

if TYPE_CHECKING:
    from sluice.pipelines.cars.contracts import CONTRACT
    from sluice.warehouse import Warehouse

__all__ = ["CONTRACT", "PIPELINE", "TARGET", "ensure_target"]


def __getattr__(name: str) -> Any:
    """The contract, imported when first used: the package is the pipeline's declaration
    and stays light (see `sluice.registry`)."""
    if name == "CONTRACT":
        from sluice.pipelines.cars import contracts

        return contracts.CONTRACT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def ensure_target(warehouse: Warehouse) -> None:
    from sluice.pipelines.cars.land import SPEC

    SPEC.ensure_target(warehouse)


# --- the declaration the registry reads ----------------------------------------------------

HELP = "Car buying prices: a model of the UCI Car Evaluation data."

VIEWS = (
    View("buying_by_class", "cars in the warehouse by class and buying price",
         f'SELECT "class", buying, count(*) AS cars FROM {TARGET} '
         f'GROUP BY "class", buying ORDER BY "class", buying'),
)


PIPELINE = Pipeline(name=PIPELINE_NAME, help=HELP, order=60,
                    commands=commands_in(f"{__package__}.cli"),
                    demo=demo_in(f"{__package__}.demo"), views=VIEWS,
                    traced=(Traced(TARGET, KEY),), replay=spec_in(f"{__package__}.land"),
                    web=web_in(f"{__package__}.web"))
