"""`sluice demo`: realistic input for every registered pipeline, ingested and answered."""

from __future__ import annotations

from pathlib import Path

from sluice.ledger import RunSummary
from sluice.progress import Progress
from sluice.registry import pipelines
from sluice.warehouse import Warehouse


def run_demo(
    warehouse: Warehouse, folder: Path, progress: Progress
) -> dict[str, dict[str, object]]:
    """Run every pipeline's demo step, each on input written under `folder/<name>`;
    return a summary per pipeline."""
    return {p.name: p.demo(warehouse, folder / p.name, progress)
            for p in pipelines() if p.demo is not None}


def run_totals(run: RunSummary) -> dict[str, object]:
    """A run's totals without its per-file details: what a demo step reports."""
    summary = run.as_dict()
    for details in ("file_details", "file_details_omitted"):
        summary.pop(details)
    return summary


def combined_totals(runs: list[RunSummary]) -> dict[str, object]:
    """Several runs' totals added up (the last run's id and status): a demo step that
    ingests more than once."""
    summary = run_totals(runs[-1])
    for key in ("files", "files_skipped", "files_unreadable", "read", "loaded", "duplicates",
                "rejected"):
        summary[key] = sum(int(str(run_totals(run)[key])) for run in runs)
    return summary
