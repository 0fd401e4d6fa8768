"""Shop: the items the company sells and its members' transactions, loaded into a
normalised schema; the top members by spending and the items bought most often."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from sluice.pipelines.shop.settings import PIPELINE as PIPELINE_NAME
from sluice.registry import Pipeline, Traced, View, commands_in, demo_in, web_in

if TYPE_CHECKING:
    from sluice.pipelines.shop.delivery import Loaded
    from sluice.progress import Progress
    from sluice.warehouse import Warehouse

# The package is the pipeline's declaration and stays light (see `sluice.registry`): the
# load is imported when it runs.
MODELS = resources.files(__package__) / "models"
TOP_MEMBERS, TOP_ITEMS = 10, 3


def load(warehouse: Warehouse, folder: str, progress: Progress | None = None) -> Loaded:
    """Load a delivery folder (items.csv, transactions.jsonl) as one run; then rebuild
    the models."""
    from sluice.pipelines.shop.delivery import load as load_delivery
    from sluice.progress import no_progress

    loaded = load_delivery(warehouse, folder, progress or no_progress)
    build_models(warehouse)
    return loaded


def build_models(warehouse: Warehouse) -> None:
    from sluice.ledger import ensure_ledger
    from sluice.pipelines.shop.delivery import ensure_schema

    ensure_ledger(warehouse)
    ensure_schema(warehouse)
    PIPELINE.run_models(warehouse)


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


# The demo step's members are those the applications demo step (order 30) has just made.
PIPELINE = Pipeline(name=PIPELINE_NAME, help=HELP, order=40,
                    commands=commands_in(f"{__package__}.cli"),
                    demo=demo_in(f"{__package__}.demo"), views=VIEWS, models=MODELS,
                    traced=(Traced("shop.items", "item_id", file_column="file_id",
                                   line_column="source_line"),
                            Traced("shop.transactions", "transaction_id", file_column="file_id",
                                   line_column="source_line")),
                    replay_refusal="a record is checked against the whole delivery (its "
                                   "items and members); deliver the corrected files again",
                    web=web_in(f"{__package__}.web"))
