"""Events: the symbol event service. Clients open with a uuid and a symbol and may
follow up; every event is kept in a group-committed log, counted in Redis (or memory)
for the dashboards, and loaded from the log into `events.raw_events`."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from sluice.pipelines.events.contracts import CONTRACT, TARGET
from sluice.pipelines.events.settings import PIPELINE as PIPELINE_NAME
from sluice.registry import Pipeline, Traced, View, commands_in, demo_in, spec_in, web_in

if TYPE_CHECKING:
    from sluice.warehouse import Warehouse

MODELS = resources.files(__package__) / "models"

__all__ = ["CONTRACT", "PIPELINE", "TARGET", "build_models"]


def build_models(warehouse: Warehouse) -> None:
    """Recreate the views over events.raw_events."""
    from sluice import merge

    warehouse.destination.execute(merge.target_ddl(CONTRACT, TARGET))
    PIPELINE.run_models(warehouse)


# --- the declaration the registry reads ----------------------------------------------------

HELP = "The symbol event service: serve, drive, rebuild, load."

VIEWS = (
    View("events", "events in the warehouse by kind",
         f"SELECT kind, count(*) AS events FROM {TARGET} GROUP BY kind ORDER BY kind"),
    View("symbols", "the per-symbol dashboard, from the warehouse",
         "SELECT symbol, requests, earliest, latest, followups "
         "FROM events.symbol_totals ORDER BY symbol"),
)


PIPELINE = Pipeline(name=PIPELINE_NAME, help=HELP, order=50,
                    commands=commands_in(f"{__package__}.cli"),
                    demo=demo_in(f"{__package__}.demo"), views=VIEWS, models=MODELS,
                    traced=(Traced(TARGET, CONTRACT.key or ""),),
                    replay=spec_in(f"{__package__}.load"),
                    web=web_in(f"{__package__}.web"))
