"""The votes demo step: a generated export, delivered twice, and its outlier weeks."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sluice.demo import run_totals
from sluice.pipelines import votes
from sluice.pipelines.votes.generate import generate_votes
from sluice.progress import Progress
from sluice.warehouse import Warehouse

DEMO_VOTES = 300_000


def run_demo(warehouse: Warehouse, folder: Path, progress: Progress) -> dict[str, Any]:
    generated = generate_votes(folder / "votes.jsonl", DEMO_VOTES)
    # The same export delivered twice under another name: skipped by its checksum.
    shutil.copyfile(generated.path, folder / "votes-redelivered.jsonl")
    run = votes.ingest(warehouse, [str(folder)], progress)
    weeks = votes.outliers(warehouse)
    # Weeks as the model counts them (strftime's %W), in SQL every destination reads.
    total_weeks = warehouse.destination.scalar(
        'SELECT count(*) FROM (SELECT DISTINCT EXTRACT(year FROM "CreationDate") AS y, '
        'floor((EXTRACT(doy FROM "CreationDate") + 7 - EXTRACT(isodow FROM "CreationDate")) '
        f"/ 7) AS w FROM {votes.TARGET}) AS weeks")
    busiest = max(weeks.rows, key=lambda row: row[2], default=None)
    summary = run_totals(run)
    summary["outlier_weeks"] = len(weeks.rows)
    summary["weeks"] = total_weeks
    summary["headline"] = (
        f"{len(weeks.rows)} of {total_weeks} weeks are outliers"
        + (f"; busiest: {busiest[0]} week {busiest[1]} with {busiest[2]:,} votes" if busiest
           else "")
    )
    return summary
