"""`sluice demo`: realistic input for every pipeline, ingested and answered."""

from __future__ import annotations

import shutil
from pathlib import Path

from sluice.ingest import Progress
from sluice.ledger import RunSummary
from sluice.pipelines import advocacy, votes
from sluice.pipelines.advocacy.generate import generate_advocates
from sluice.pipelines.advocacy.report import build_report
from sluice.pipelines.votes.generate import generate_votes
from sluice.warehouse import Warehouse

DEMO_VOTES = 300_000
DEMO_ADVOCATES = 5_000


def run_demo(
    warehouse: Warehouse, folder: Path, progress: Progress
) -> dict[str, dict[str, object]]:
    """Run every pipeline on generated input; return a summary per pipeline."""
    return {"votes": _votes_demo(warehouse, folder / "votes", progress),
            "advocacy": _advocacy_demo(warehouse, folder / "advocacy", progress)}


def _advocacy_demo(warehouse: Warehouse, folder: Path, progress: Progress
                   ) -> dict[str, object]:
    generate_advocates(folder, DEMO_ADVOCATES)
    run = advocacy.ingest(warehouse, str(folder), progress)
    report = build_report(warehouse)
    summary = _totals(run)
    summary["headline"] = " ".join(report.findings)
    return summary


def _votes_demo(warehouse: Warehouse, folder: Path, progress: Progress) -> dict[str, object]:
    generated = generate_votes(folder / "votes.jsonl", DEMO_VOTES)
    # The same export delivered twice under another name: skipped by its checksum.
    shutil.copyfile(generated.path, folder / "votes-redelivered.jsonl")
    run = votes.ingest(warehouse, [str(folder)], progress)
    weeks = votes.outliers(warehouse)
    total_weeks = warehouse.scalar(
        "SELECT count(DISTINCT (year(CreationDate), strftime(CreationDate, '%W'))) "
        f"FROM {votes.TARGET}")
    busiest = max(weeks.rows, key=lambda row: row[2], default=None)
    summary = _totals(run)
    summary["outlier_weeks"] = len(weeks.rows)
    summary["weeks"] = total_weeks
    summary["headline"] = (
        f"{len(weeks.rows)} of {total_weeks} weeks are outliers"
        + (f"; busiest: {busiest[0]} week {busiest[1]} with {busiest[2]:,} votes" if busiest
           else "")
    )
    return summary


def _totals(run: RunSummary) -> dict[str, object]:
    """A run's totals without its per-file details."""
    summary = run.as_dict()
    for details in ("file_details", "file_details_omitted"):
        summary.pop(details)
    return summary
