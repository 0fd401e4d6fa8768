"""Terminal output: summaries as rich tables or JSON, a progress bar only on a terminal.

One output contract for every verb (docs/architecture.md, "Output"): the same words for
the same counts in text and JSON; JSON keys in snake_case, numbers as JSON numbers
(decimals exact), times in ISO 8601 UTC with a `Z`; counts with thousands separators in
text tables.

Commands import this module when they run, never at the top of a module that `--help`
imports. Rich (0.04 s to import) is imported only when something is drawn: a command
that answers in JSON never pays for it (tests/test_cli_startup.py).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from sluice.destinations import Result
from sluice.progress import no_progress

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from sluice.ledger import RunSummary
    from sluice.progress import Progress as ProgressCallback
    from sluice.registry import View

PIPED_WIDTH = 10_000


@cache
def _stdout() -> Console:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        # Piped or redirected output is read by programs and people scrolling a file: a
        # table keeps its natural width instead of being cut to 80 columns.
        console.width = PIPED_WIDTH
    return console


@cache
def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def __getattr__(name: str) -> Console:
    """`console.out` and `console.err`, the Rich consoles of standard output and error,
    made on first use."""
    if name == "out":
        return _stdout()
    if name == "err":
        return _stderr()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _table(title: str) -> Table:
    from rich.table import Table

    return Table(title=title, title_justify="left")


# Text headers of a run's counts, by their JSON keys: the same words in every table.
RUN_COUNTS = {"files": "files", "files_skipped": "skipped", "files_unreadable": "unreadable",
              "read": "read", "loaded": "loaded", "duplicates": "duplicates",
              "rejected": "rejected"}
# Columns that name something rather than count it (a year, a week, an id, a rank, a
# line number): their integers are printed without thousands separators.
_LABEL_COLUMN = re.compile(r"(.*_)?(id|year|week|number|rank)", re.IGNORECASE)


def print_json(payload: Any) -> None:
    print(to_json(payload))


def to_json(value: Any, indent: str | None = "") -> str:
    """JSON text, indented by two spaces (`indent=None`: on one line, for JSON Lines).
    Decimals are JSON numbers with all their digits (json.dumps would need them as
    strings or floats); times are `iso_time`; NaN and infinities, which JSON cannot
    carry, are null."""
    inner = None if indent is None else indent + "  "
    start, between, end = (("", ", ", "") if indent is None
                           else ("\n" + (inner or ""), ",\n" + (inner or ""), "\n" + indent))
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = (f"{json.dumps(str(k))}: {to_json(v, inner)}" for k, v in value.items())
        return "{" + start + between.join(items) + end + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[" + start + between.join(to_json(v, inner) for v in value) + end + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else "null"
    if isinstance(value, float):
        return json.dumps(value) if math.isfinite(value) else "null"
    if isinstance(value, int | str):
        return json.dumps(value)
    if isinstance(value, datetime):
        return json.dumps(iso_time(value))
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    return json.dumps(str(value))


def iso_time(value: datetime) -> str:
    """A time as ISO 8601 in UTC, to the second: `2026-11-25T14:01:33Z`. Times without a
    zone are UTC: the ledger and the pipelines' tables store UTC without a zone."""
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


@contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressCallback]:
    """A progress callback drawing a bar on stderr when it is a terminal, else silent."""
    if not (enabled and _stderr().is_terminal):
        yield no_progress
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=_stderr(), transient=True,
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
        _stdout().print(line, markup=False)


def show_run(run: RunSummary, as_json: bool, details: bool = True) -> None:
    """A run's summary as JSON, or as a table (per file, or by outcome)."""
    if as_json:
        print_json(run.as_dict())
    else:
        print_run(run, details)


def print_run(run: RunSummary, details: bool = True) -> None:
    """The run's counts; per file when `details`, else by outcome (for many small files)."""
    if not run.file_count:
        _stdout().print(f"{run.pipeline} {run.verb}, run {run.run_id}: no input files found")
        return
    if not details:
        _print_run_by_status(run)
        return
    table = _table(f"{run.pipeline} {run.verb}, run {run.run_id}: {run.status}")
    for column in ("file", "status", "read", "loaded", "duplicates", "rejected"):
        table.add_column(column, justify="left" if column in ("file", "status") else "right")
    for f in run.files:
        table.add_row(f.label, f.status, f"{f.records_read:,}", f"{f.loaded:,}",
                      f"{f.duplicates:,}", f"{f.rejected:,}")
    if len(run.files) > 1:
        table.add_row("total", "", f"{run.total('records_read'):,}", f"{run.total('loaded'):,}",
                      f"{run.total('duplicates'):,}", f"{run.total('rejected'):,}",
                      style="bold")
    _stdout().print(table)
    for f in run.files:
        if f.note:
            _stdout().print(f"  {f.label}: {f.note}", markup=False)


def _print_run_by_status(run: RunSummary) -> None:
    table = _table(f"{run.pipeline} {run.verb}, run {run.run_id}: {run.status}")
    for column in ("files", "outcome", "read", "loaded", "duplicates", "rejected"):
        table.add_column(column, justify="left" if column == "outcome" else "right")
    outcomes: dict[str, list[int]] = {}
    if run.clean_files:
        outcomes["clean"] = [run.clean_files, run.clean_files, run.clean_files, 0, 0]
    for f in run.files:
        outcome = f.status if f.status != "loaded" else (
            "repaired" if (f.note or "").startswith("repaired") else "clean")
        counts = outcomes.setdefault(outcome, [0, 0, 0, 0, 0])
        for i, n in enumerate((1, f.records_read, f.loaded, f.duplicates, f.rejected)):
            counts[i] += n
    for outcome, (files, *records) in sorted(outcomes.items()):
        table.add_row(f"{files:,}", outcome, *(f"{n:,}" for n in records))
    _stdout().print(table)


def show_views(results: Mapping[View, Result], as_json: bool,
               findings: Sequence[str] | None = None) -> None:
    """A pipeline's views: as JSON, each under its name (and the findings under
    `findings`); as text, each as a table under its title, then the findings."""
    if as_json:
        payload: dict[str, object] = {view.name: result.dicts()
                                      for view, result in results.items()}
        if findings is not None:
            payload["findings"] = list(findings)
        print_json(payload)
        return
    for view, result in results.items():
        print_result(result, view.title)
    for finding in findings or ():
        _stdout().print(finding, markup=False)


def print_result(result: Result, title: str) -> None:
    from rich.text import Text

    table = _table(title)
    first = result.rows[0] if result.rows else ()
    labels = [bool(_LABEL_COLUMN.fullmatch(column)) for column in result.columns]
    for index, column in enumerate(result.columns):
        numeric = index < len(first) and _is_number(first[index])
        table.add_column(column, justify="right" if numeric or not first else "left")
    for row in result.rows:
        table.add_row(*(Text(_cell(v, label)) for v, label in zip(row, labels, strict=True)))
    _stdout().print(table)
    _stdout().print(f"{len(result.rows):,} row{'s' if len(result.rows) != 1 else ''}")


def print_runs(result: Result) -> None:
    """`sluice runs` as text: the JSON's columns but `finished` (`seconds` says it),
    with the file counts under the words every table uses."""
    shown = [c for c in result.columns if c != "finished"]
    rows = [tuple(row[result.columns.index(c)] for c in shown) for row in result.rows]
    print_result(Result([RUN_COUNTS.get(c, c) for c in shown], rows), "recent runs")


def print_demo(report: dict[str, dict[str, Any]]) -> None:
    table = _table("sluice demo")
    table.add_column("pipeline")
    for header in RUN_COUNTS.values():
        table.add_column(header, justify="right")
    for pipeline, summary in report.items():
        table.add_row(pipeline, *(f"{summary[k]:,}" for k in RUN_COUNTS))
    _stdout().print(table)
    for pipeline, summary in report.items():
        _stdout().print(f"{pipeline}: {summary['headline']}", markup=False)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _cell(value: object, label: bool = False) -> str:
    """A value in a text table: counts and amounts with thousands separators, times as
    in JSON."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_time(value)
    if _is_number(value) and not label:
        return f"{value:,}"
    return str(value)
