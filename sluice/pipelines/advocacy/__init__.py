"""Advocacy: brand-advocacy exports (one messy JSON file per advocate) to insights."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sluice.ingest import Progress, no_progress
from sluice.ledger import RunSummary, ensure_ledger
from sluice.pipelines.advocacy import load, sources
from sluice.registry import Pipeline
from sluice.warehouse import Warehouse

PIPELINE_NAME = sources.PIPELINE
MODELS = resources.files(__package__) / "models"


def ingest(warehouse: Warehouse, source: str, progress: Progress = no_progress,
           batch_size: int = sources.BATCH_FILES) -> RunSummary:
    """Load a folder (or .tar.gz) of advocate files, `batch_size` files per scan, or a
    JSON Lines file of advocates; then rebuild the models."""
    run = load.ingest(warehouse, source, progress, batch_size)
    build_models(warehouse)
    return run


def build_models(warehouse: Warehouse) -> None:
    ensure_ledger(warehouse)
    warehouse.run_sql_file(load.SCHEMA_SQL)
    for model in sorted(MODELS.iterdir(), key=lambda m: m.name):
        if model.name.endswith(".sql"):
            warehouse.run_sql_file(model)


if TYPE_CHECKING:
    import typer

# --- the declaration the registry reads ----------------------------------------------------

HELP = "Brand-advocacy exports: messy JSON files to advocacy insights."


def _commands() -> typer.Typer:
    from sluice.pipelines.advocacy.cli import app

    return app


def _demo(warehouse: Warehouse, folder: Path, progress: Progress) -> dict[str, Any]:
    from sluice.pipelines.advocacy.demo import run_demo

    return run_demo(warehouse, folder, progress)


PIPELINE = Pipeline(name=PIPELINE_NAME, help=HELP, order=20, commands=_commands, demo=_demo)
