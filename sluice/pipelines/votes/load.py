"""Votes' ingest: vote files, folders or globs (JSON Lines) into blog_analysis.votes, by
the keyed-lines ingest every line-per-record pipeline shares."""

from __future__ import annotations

from collections.abc import Sequence

from sluice import ingest as ingest_run
from sluice.ingest import KeyedLines
from sluice.ledger import RunSummary
from sluice.pipelines.votes import PIPELINE_NAME, TARGET
from sluice.pipelines.votes.contracts import CONTRACT
from sluice.progress import Progress, no_progress
from sluice.warehouse import Warehouse

SPEC = KeyedLines(pipeline=PIPELINE_NAME, contract=CONTRACT, target=TARGET)


def ingest(warehouse: Warehouse, arguments: Sequence[str],
           progress: Progress | None = None) -> RunSummary:
    """Load vote files, folders or globs into blog_analysis.votes."""
    return ingest_run.ingest(warehouse, SPEC, arguments, progress or no_progress)
