"""Training data into the warehouse: one run of the core's ingest with the cars reader,
so every line is loaded, counted as a duplicate, or quarantined with its reasons, and the
ledger accounts for the file."""

from __future__ import annotations

from pathlib import Path

from sluice import ingest
from sluice.ingest import KeyedLines
from sluice.ledger import RunSummary
from sluice.pipelines.cars.contracts import CONTRACT, TARGET, CarRecords
from sluice.pipelines.cars.settings import PIPELINE
from sluice.progress import Progress, no_progress
from sluice.warehouse import Warehouse

SPEC = KeyedLines(pipeline=PIPELINE, contract=CONTRACT, target=TARGET, records=CarRecords(),
                  suffixes=(".data", ".csv"), verb="train")


def land(warehouse: Warehouse, path: Path, progress: Progress = no_progress) -> RunSummary:
    """Load a Car Evaluation file into `cars.evaluations`."""
    return ingest.ingest(warehouse, SPEC, [str(path)], progress)
