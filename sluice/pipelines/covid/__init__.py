"""COVID-19: confirmed cases over time, from an API that answers like the public
COVID-19 API (`GET /country/<country>/status/confirmed`) or a file holding such a
response. Every response is kept whole in `covid.observations`; the models give the
latest word on each day, the revisions between responses, daily new cases, the 7-day
average and weekly totals, with gaps and decreases explicit."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

from sluice.pipelines.covid.settings import PIPELINE as PIPELINE_NAME
from sluice.pipelines.covid.settings import TARGET
from sluice.registry import Pipeline, Traced, View, commands_in, demo_in, web_in

if TYPE_CHECKING:
    from sluice.pipelines.covid.contracts import CONTRACT
    from sluice.warehouse import Warehouse

MODELS = resources.files(__package__) / "models"

__all__ = ["CONTRACT", "PIPELINE", "TARGET", "build_models"]


def __getattr__(name: str) -> Any:
    """The contract, imported when first used: the package is the pipeline's declaration
    and stays light (see `sluice.registry`)."""
    if name == "CONTRACT":
        from sluice.pipelines.covid import contracts

        return contracts.CONTRACT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_models(warehouse: Warehouse) -> None:
    """Recreate the views over covid.observations."""
    from sluice import merge
    from sluice.pipelines.covid.contracts import CONTRACT

    warehouse.destination.execute(merge.target_ddl(CONTRACT, TARGET))
    PIPELINE.run_models(warehouse)


# --- the declaration the registry reads ----------------------------------------------------

HELP = "COVID-19 confirmed cases over time, and their chart."

VIEWS = (
    View("headline", "the headline figures, per country",
         "SELECT country, first_day, last_day, days, missing_days, total_cases, peak_day, "
         "peak_new_cases, decreases, revisions FROM covid.headline ORDER BY country"),
    View("weekly", "new cases by week, from Monday",
         "SELECT country, week_start, new_cases, days_counted, complete FROM covid.weekly "
         "ORDER BY country, week_start"),
    View("revisions", "days a later response changed",
         "SELECT country, \"day\", old_cumulative, new_cumulative, old_source, new_source "
         "FROM covid.revisions ORDER BY country, \"day\", new_as_of"),
    View("quality", "data-quality issues: missing days and decreases",
         "SELECT country, \"day\", issue, detail FROM covid.quality ORDER BY country, \"day\""),
)


PIPELINE = Pipeline(name=PIPELINE_NAME, help=HELP, order=55,
                    commands=commands_in(f"{__package__}.cli"),
                    demo=demo_in(f"{__package__}.demo"), views=VIEWS, models=MODELS,
                    # A day is traced by country and day, `Singapore|2020-03-01`: every
                    # response that gave it.
                    traced=(Traced(TARGET, "country|day",
                                   key_sql="country || '|' || CAST(\"day\" AS VARCHAR)"),),
                    replay_refusal="a day belongs to its response (its time and checksum); "
                                   "ingest the corrected response again",
                    web=web_in(f"{__package__}.web"))
