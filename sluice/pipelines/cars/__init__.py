"""Cars: the buying price of a car, from the UCI Car Evaluation data set (shipped)."""

from __future__ import annotations

from sluice.pipelines.cars.contracts import CONTRACT, TARGET
from sluice.pipelines.cars.land import PIPELINE as PIPELINE_NAME
from sluice.pipelines.cars.land import SPEC
from sluice.registry import Pipeline, Traced, View, commands_in, demo_in, web_in
from sluice.warehouse import Warehouse

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


PIPELINE = Pipeline(name=PIPELINE_NAME, help=HELP, order=60,
                    commands=commands_in(f"{__package__}.cli"),
                    demo=demo_in(f"{__package__}.demo"), views=VIEWS,
                    traced=(Traced(TARGET, CONTRACT.key or ""),), replay_spec=SPEC,
                    web=web_in(f"{__package__}.web"))
