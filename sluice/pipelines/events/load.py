"""Closed log segments into the warehouse: one run of the core's JSON Lines ingest, so
every event is loaded (or counted as a duplicate, or quarantined with its reasons) and
the ledger accounts for every segment. Open segments are still being written and wait
for the next load; a segment loaded before is skipped by its checksum."""

from __future__ import annotations

from pathlib import Path

from sluice import ingest
from sluice.ingest import KeyedLines, Progress, no_progress
from sluice.ledger import RunSummary
from sluice.pipelines.events.contracts import CONTRACT, TARGET
from sluice.pipelines.events.log import segments
from sluice.warehouse import Warehouse

PIPELINE = "events"
SPEC = KeyedLines(pipeline=PIPELINE, contract=CONTRACT, target=TARGET, verb="load")


def load_segments(warehouse: Warehouse, folder: Path, progress: Progress = no_progress,
                  loaded: set[str] | None = None) -> RunSummary | None:
    """Load every closed segment of the log in `folder`; None when there is none.

    `loaded` (kept by a caller that loads again and again) holds the segments this
    caller has already loaded: they are not offered again, so an idle service records no
    empty runs. It is added to once the run has committed."""
    known = loaded if loaded is not None else set()
    closed = [str(path) for path in segments(folder, include_open=False)
              if str(path) not in known]
    if not closed:
        return None
    run = ingest.ingest(warehouse, SPEC, closed, progress)
    known.update(closed)
    return run
