"""Applications: membership applications dropped as CSV files into an inbox, every hour."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

from sluice.pipelines.applications.contracts import CONTRACT
from sluice.pipelines.applications.settings import PIPELINE as PIPELINE_NAME
from sluice.pipelines.applications.settings import TARGET
from sluice.registry import Pipeline, Traced, View, commands_in, demo_in, web_in

if TYPE_CHECKING:
    from sluice.pipelines.applications.inbox import Inbox, InboxPass, process
    from sluice.warehouse import Warehouse

MODELS = resources.files(__package__) / "models"

__all__ = ["CONTRACT", "PIPELINE", "TARGET", "Inbox", "InboxPass", "build_models", "process"]


def __getattr__(name: str) -> Any:
    """The inbox's names, imported when first used: the package is the pipeline's
    declaration and stays light (see `sluice.registry`)."""
    if name in ("Inbox", "InboxPass", "process"):
        from sluice.pipelines.applications import inbox

        return getattr(inbox, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_models(warehouse: Warehouse) -> None:
    """Recreate the views over applications.successful."""
    from sluice import merge

    warehouse.destination.execute(merge.target_ddl(CONTRACT, TARGET))
    PIPELINE.run_models(warehouse)


# --- the declaration the registry reads ----------------------------------------------------

HELP = "Membership applications from an inbox, every hour."

VIEWS = (
    View("applications", "applications by outcome",
         "SELECT outcome, applications FROM ("
         f"SELECT 'successful' AS outcome, count(*) AS applications FROM {TARGET} "
         "UNION ALL SELECT 'unsuccessful', count(*) FROM sluice.quarantine "
         "WHERE pipeline = 'applications' "
         "UNION ALL SELECT 'duplicates', coalesce(sum(duplicates), 0) FROM sluice.files "
         "WHERE pipeline = 'applications') AS outcomes ORDER BY outcome"),
    View("shared_membership_ids", "membership ids held by more than one applicant",
         "SELECT membership_id, applications, first_applicant, last_applicant "
         "FROM applications.shared_membership_ids ORDER BY membership_id"),
)


PIPELINE = Pipeline(name=PIPELINE_NAME, help=HELP, order=30,
                    commands=commands_in(f"{__package__}.cli"),
                    demo=demo_in(f"{__package__}.demo"), views=VIEWS, models=MODELS,
                    traced=(Traced(TARGET, CONTRACT.key or ""),),
                    replay_refusal="a line is read by its file's header; put the corrected "
                                   "file in the inbox again",
                    web=web_in(f"{__package__}.web"))
