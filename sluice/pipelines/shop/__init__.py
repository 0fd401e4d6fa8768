"""Shop: the items the company sells and its members' transactions, loaded into a
normalised schema; the top members by spending and the items bought most often."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sluice.ingest import Progress, no_progress
from sluice.ledger import ensure_ledger
from sluice.pipelines.shop.inputs import PIPELINE as PIPELINE_NAME
from sluice.registry import Pipeline, View
from sluice.warehouse import Warehouse

if TYPE_CHECKING:
    import typer

    from sluice.pipelines.shop.delivery import Loaded

MODELS = resources.files(__package__) / "models"
TOP_MEMBERS, TOP_ITEMS = 10, 3


def load(warehouse: Warehouse, folder: str, progress: Progress = no_progress) -> Loaded:
    """Load a delivery folder (items.csv, transactions.jsonl) as one run; then rebuild
    the models."""
    from sluice.pipelines.shop.delivery import load as load_delivery

    loaded = load_delivery(warehouse, folder, progress)
    build_models(warehouse)
    return loaded


def build_models(warehouse: Warehouse) -> None:
    from sluice.pipelines.shop.delivery import ensure_schema

    ensure_ledger(warehouse)
    ensure_schema(warehouse)
    for model in PIPELINE.model_files():
        warehouse.run_sql_file(model)


# --- the declaration the registry reads ----------------------------------------------------

HELP = "Items and transactions: top spenders, most-bought items."

# What `sluice shop report` prints, in order. Standard SQL (see `View`); ties share a rank
# (RANK()), and a list holds every row ranked within its limit, tie-broken by name.
VIEWS = (
    View("top_members_by_spending",
         f"top {TOP_MEMBERS} members by spending (ties share a rank)",
         "SELECT rank, membership_id, name, applicants, shared, spending, transactions "
         "FROM shop.top_members_by_spending ORDER BY rank, membership_id"),
    View("top_items_by_quantity",
         f"top {TOP_ITEMS} items by quantity (units bought; ties share a rank)",
         "SELECT quantity_rank AS rank, item, manufacturer, quantity, transactions "
         f"FROM shop.top_items WHERE quantity_rank <= {TOP_ITEMS} "
         "ORDER BY quantity_rank, item"),
    View("top_items_by_transactions",
         f"top {TOP_ITEMS} items by number of transactions (ties share a rank)",
         "SELECT transactions_rank AS rank, item, manufacturer, transactions, quantity "
         f"FROM shop.top_items WHERE transactions_rank <= {TOP_ITEMS} "
         "ORDER BY transactions_rank, item"),
)


def _commands() -> typer.Typer:
    from sluice.pipelines.shop.cli import app

    return app


def _demo(warehouse: Warehouse, folder: Path, progress: Progress) -> dict[str, Any]:
    # Its members are those the applications demo step (order 30) has just made.
    from sluice.pipelines.shop.demo import run_demo

    return run_demo(warehouse, folder, progress)


PIPELINE = Pipeline(name=PIPELINE_NAME, help=HELP, order=40, commands=_commands, demo=_demo,
                    views=VIEWS, models=MODELS)
