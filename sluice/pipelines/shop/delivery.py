"""`sluice shop load`: one delivery (items.csv and transactions.jsonl) as one run.

Both files are read into the engine before the run's transaction opens; inside it the
members are refreshed from the successful applications, then the catalogue is loaded,
then the transactions are checked against the members and items (those of this run
included) and loaded. The run commits whole, balanced per file in the ledger
(read = loaded + duplicates + rejected), or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sluice.ingest import split_folder
from sluice.ledger import InputFile, RunSummary, sha256_of
from sluice.lifecycle import committing, recorded_run
from sluice.pipelines.shop import inputs, items, members, transactions
from sluice.pipelines.shop.inputs import PIPELINE
from sluice.progress import Progress, no_progress
from sluice.quarantine import ensure_quarantine
from sluice.staging import StagedFile
from sluice.warehouse import Warehouse

SCHEMA_SQL = resources.files("sluice.pipelines.shop") / "schema.sql"


@dataclass
class Loaded:
    run: RunSummary
    members: members.Members

    def as_dict(self) -> dict[str, object]:
        return {**self.run.as_dict(), "members": self.members.as_dict()}


def ensure_schema(warehouse: Warehouse) -> None:
    warehouse.run_sql_file(SCHEMA_SQL)


def load(warehouse: Warehouse, folder: str, progress: Progress = no_progress) -> Loaded:
    items_path, transactions_path = inputs.delivery_files(folder)
    members.require_applications(warehouse)
    with recorded_run(warehouse, PIPELINE, "load") as run, \
            split_folder(warehouse, run, "shop-split") as split:
        ensure_quarantine(warehouse)
        ensure_schema(warehouse)
        progress(f"reading {inputs.ITEMS_FILE}", 0, 4)
        catalogue = _stage_items(warehouse, run, items_path)
        progress(f"reading {inputs.TRANSACTIONS_FILE}", 1, 4)
        staged = _stage_transactions(warehouse, run, transactions_path, split)
        progress("checking and loading", 2, 4)
        with committing(warehouse, run):
            refreshed = members.refresh(warehouse)
            if catalogue is not None:
                items.load(warehouse, run, *catalogue)
            if staged is not None:
                transactions.load(warehouse, run, *staged)
        progress("done", 4, 4)
    return Loaded(run, refreshed)


def _new_input(warehouse: Warehouse, run: RunSummary, path: Path | None) -> InputFile | None:
    """The file as offered to the run; None if there is none, or if the ledger knows
    its path, size and time as content loaded before (it is then skipped)."""
    if path is None:
        return None
    offered = inputs.offer(warehouse, run, path)
    known = inputs.known_checksum(warehouse, offered)
    if known is not None and inputs.skip_if_loaded(warehouse, offered, known):
        return None
    return offered


def _stage_items(warehouse: Warehouse, run: RunSummary, path: Path | None
                 ) -> tuple[InputFile, items.StagedItems] | None:
    offered = _new_input(warehouse, run, path)
    if offered is None or path is None:
        return None
    try:
        sha256 = sha256_of(path)
    except OSError as error:
        raise inputs.unreadable(path, error) from None
    if inputs.skip_if_loaded(warehouse, offered, sha256):
        return None
    staged = items.stage(warehouse, offered)
    inputs.check_unchanged(offered)
    return offered, staged


def _stage_transactions(warehouse: Warehouse, run: RunSummary, path: Path | None,
                        split: Path) -> tuple[InputFile, StagedFile] | None:
    offered = _new_input(warehouse, run, path)
    if offered is None or path is None:
        return None
    try:
        scan, staged = transactions.stage(warehouse, offered, split)
    except OSError as error:
        raise inputs.unreadable(path, error) from None
    if inputs.skip_if_loaded(warehouse, offered, scan.sha256):
        return None
    inputs.check_unchanged(offered, scan.bytes_read)
    return offered, staged
