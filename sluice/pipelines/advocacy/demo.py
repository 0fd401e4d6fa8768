"""The advocacy demo step: a generated messy export and the report's findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sluice.demo import run_totals
from sluice.pipelines import advocacy
from sluice.pipelines.advocacy.generate import generate_advocates
from sluice.pipelines.advocacy.report import build_report
from sluice.progress import Progress
from sluice.warehouse import Warehouse

DEMO_ADVOCATES = 5_000


def run_demo(warehouse: Warehouse, folder: Path, progress: Progress) -> dict[str, Any]:
    generate_advocates(folder, DEMO_ADVOCATES)
    run = advocacy.ingest(warehouse, str(folder), progress)
    report = build_report(warehouse)
    summary = run_totals(run)
    summary["headline"] = report.headline
    return summary
