"""Terminal output: summaries as rich tables or JSON, a progress bar only on a terminal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sluice.ingest import Progress as ProgressCallback
from sluice.ingest import no_progress
from sluice.ledger import RunSummary
from sluice.paths import shown
from sluice.warehouse import Result

PIPED_WIDTH = 10_000

out = Console(highlight=False, soft_wrap=True)
if not out.is_terminal:
    # Piped or redirected output is read by programs and people scrolling a file: a
    # table keeps its natural width instead of being cut to 80 columns.
    out.width = PIPED_WIDTH
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, default=_json_default))


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressCallback]:
    """A progress callback drawing a bar on stderr when it is a terminal, else silent."""
    if not (enabled and err.is_terminal):
        yield no_progress
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err, transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def update(description: str, done: int, total: int) -> None:
            bar.update(task, description=description, completed=done, total=total)

        yield update


def show_summary(summary: dict[str, Any], as_json: bool, line: str) -> None:
    """A command's result: its summary as JSON, or one line for a person."""
    if as_json:
        print_json(summary)
    else:
        out.print(line, markup=False)


def show_run(run: RunSummary, as_json: bool, details: bool = True) -> None:
    """A run's summary as JSON, or as a table (per file, or by outcome)."""
    if as_json:
        print_json(run.as_dict())
    else:
        print_run(run, details)


def print_run(run: RunSummary, details: bool = True) -> None:
    """The run's counts; per file when `details`, else by outcome (for many small files)."""
    if not run.file_count:
        out.print(f"{run.pipeline} ingest, run {run.run_id}: no input files found")
        return
    if not details:
        _print_run_by_status(run)
        return
    table = Table(title=f"{run.pipeline} ingest, run {run.run_id}: {run.status}",
                  title_justify="left")
    for column in ("file", "status", "read", "loaded", "duplicates", "rejected"):
        table.add_column(column, justify="left" if column in ("file", "status") else "right")
    for f in run.files:
        table.add_row(shown(f.path.name), f.status, f"{f.records_read:,}", f"{f.loaded:,}",
                      f"{f.duplicates:,}", f"{f.rejected:,}")
    if len(run.files) > 1:
        table.add_row("total", "", f"{run.total('records_read'):,}", f"{run.total('loaded'):,}",
                      f"{run.total('duplicates'):,}", f"{run.total('rejected'):,}",
                      style="bold")
    out.print(table)
    for f in run.files:
        if f.note:
            out.print(f"  {shown(f.path.name)}: {f.note}", markup=False)


def _print_run_by_status(run: RunSummary) -> None:
    table = Table(title=f"{run.pipeline} ingest, run {run.run_id}: {run.status}",
                  title_justify="left")
    for column in ("files", "outcome", "read", "loaded", "rejected"):
        table.add_column(column, justify="left" if column == "outcome" else "right")
    outcomes: dict[str, list[int]] = {}
    if run.clean_files:
        outcomes["clean"] = [run.clean_files, run.clean_files, run.clean_files, 0]
    for f in run.files:
        outcome = f.status if f.status != "loaded" else (
            "repaired" if (f.note or "").startswith("repaired") else "clean")
        counts = outcomes.setdefault(outcome, [0, 0, 0, 0])
        for i, n in enumerate((1, f.records_read, f.loaded, f.rejected)):
            counts[i] += n
    for outcome, (files, read, loaded, rejected) in sorted(outcomes.items()):
        table.add_row(f"{files:,}", outcome, f"{read:,}", f"{loaded:,}", f"{rejected:,}")
    out.print(table)


def print_result(result: Result, title: str) -> None:
    table = Table(title=title, title_justify="left")
    first = result.rows[0] if result.rows else ()
    for index, column in enumerate(result.columns):
        numeric = index < len(first) and isinstance(first[index], int | float | Decimal)
        table.add_column(column, justify="right" if numeric or not first else "left")
    for row in result.rows:
        table.add_row(*(_cell(v) for v in row))
    out.print(table)
    out.print(f"{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}")


def print_demo(report: dict[str, dict[str, Any]]) -> None:
    table = Table(title="sluice demo", title_justify="left")
    for column in ("pipeline", "files", "skipped", "read", "loaded", "duplicates", "quarantined"):
        table.add_column(column, justify="left" if column == "pipeline" else "right")
    for pipeline, summary in report.items():
        table.add_row(pipeline, *(f"{summary[k]:,}" for k in (
            "files", "files_skipped", "read", "loaded", "duplicates", "rejected")))
    out.print(table)
    for pipeline, summary in report.items():
        out.print(f"{pipeline}: {summary['headline']}")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)
