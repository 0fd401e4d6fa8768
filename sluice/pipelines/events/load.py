"""Closed log segments into the warehouse: one run of the core's JSON Lines ingest, so
every event is loaded (or counted as a duplicate, or quarantined with its reasons) and
the ledger accounts for every segment. Open segments are still being written and wait
for the next load. A closed segment never changes, so one the ledger already holds (same
path, size and modification time) is not offered again: an idle service records no
empty runs, and a long log is not read again at each load. One that moved, or a copy,
is offered and skipped by its checksum, as the core skips any file it has seen."""

from __future__ import annotations

from pathlib import Path

from sluice import ingest
from sluice.ingest import KeyedLines
from sluice.ledger import RunSummary
from sluice.pipelines.events.contracts import CONTRACT, TARGET
from sluice.pipelines.events.log import segments
from sluice.pipelines.events.settings import PIPELINE
from sluice.progress import Progress, no_progress
from sluice.warehouse import Warehouse

SPEC = KeyedLines(pipeline=PIPELINE, contract=CONTRACT, target=TARGET, verb="load")


def load_segments(warehouse: Warehouse, folder: Path, progress: Progress = no_progress
                  ) -> RunSummary | None:
    """Load the closed segments of the log in `folder` that the ledger does not hold
    yet; None when there is none."""
    known = _in_the_ledger(warehouse)
    new = []
    for path in segments(folder, include_open=False):
        stat = path.stat()
        if (str(path), stat.st_size, stat.st_mtime_ns) not in known:
            new.append(str(path))
    if not new:
        return None
    return ingest.ingest(warehouse, SPEC, new, progress)


def _in_the_ledger(warehouse: Warehouse) -> set[tuple[str, int, int]]:
    if not warehouse.destination.table_exists("sluice", "files"):
        return set()  # a new warehouse
    found = warehouse.destination.query(
        "SELECT path, size, modified_ns FROM sluice.files WHERE pipeline = ? "
        "AND status <> 'unreadable'", [PIPELINE])
    return {(str(path), int(size), int(modified)) for path, size, modified in found.rows}
