"""Operators' commands over every pipeline: `sluice runs` (the ledger), `sluice
quarantine` (the rejected records: list, show, export), `sluice trace` (lineage), and
`sluice sql` and `sluice tables` (the warehouse as it is; the work in `sluice.query`).

Imported by every `--help`: Typer and light modules at the top; each command imports the
engine and the output when it runs (tests/test_cli_startup.py)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from sluice.cli_options import CommandGroup, JsonOption, WarehouseOption, check_file_target
from sluice.destinations import Result
from sluice.errors import SluiceError, UsageError
from sluice.registry import pipelines
from sluice.settings import DEFAULT_COUNT_SECONDS, TABLE_ROWS

if TYPE_CHECKING:
    from sluice.rejects import Filters

MOST = 2**62  # a limit larger than any table: every row (the engines' integers are 64-bit)
PipelineOption = Annotated[str | None, typer.Option(
    "--pipeline", "-p", metavar="NAME", help="Only this pipeline's.")]


def _checked_pipeline(name: str | None, argument: str = "--pipeline") -> str | None:
    from sluice import rejects

    known = [p.name for p in pipelines()]
    if name is not None and name not in known:
        raise UsageError(f"{argument} {rejects.printable(name)!r}: no such pipeline (one of "
                         f"{', '.join(known)})")
    return name


def runs_command(
    run_id: Annotated[int | None, typer.Argument(
        metavar="RUN_ID", help="One run, with its files [default: the recent runs].")] = None,
    pipeline: PipelineOption = None,
    limit: Annotated[int, typer.Option(min=1, help="How many recent runs.")] = 20,
    balance: Annotated[bool, typer.Option(
        "--balance", help="Per pipeline, across every run: what it received against "
        "where each record is now.")] = False,
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Show the ledger: recent runs and their counts, or one run with its files."""
    from sluice import console
    from sluice.ledger import recent_runs, run_files
    from sluice.warehouse import Warehouse

    _checked_pipeline(pipeline)
    limit = min(limit, MOST)
    if balance:
        _show_balance(warehouse, pipeline, json)
        return
    with Warehouse(warehouse, read_only=True) as wh:
        result = recent_runs(wh, 1 if run_id is not None else limit, pipeline, run_id)
        if run_id is not None and not result.rows:
            raise UsageError(f"RUN_ID {run_id}: no such run in the ledger"
                             + (f" of {pipeline}" if pipeline else ""))
        files = run_files(wh, run_id) if run_id is not None else None
    if files is None:
        if json:
            console.print_json(result.dicts())
        else:
            console.print_runs(result)
        return
    run = result.dicts()[0]
    if json:
        console.print_json({**run, "file_details": files.dicts()})
        return
    console.print_runs(result)
    shown = [c for c in files.columns if c not in ("size", "sha256", "note")]
    console.print_result(Result(shown, [tuple(r[files.columns.index(c)] for c in shown)
                                        for r in files.rows]), f"run {run_id}: its inputs")
    for row in files.dicts():
        if row["note"]:
            console.out.print(f"  {row['path']}: {row['note']}", markup=False)
    if run["error"]:
        console.out.print(f"error: {run['error']}", markup=False)


def _show_balance(warehouse: str | None, pipeline: str | None, json: bool) -> None:
    from sluice import console
    from sluice.replay import BALANCE_COLUMNS, balance
    from sluice.warehouse import Warehouse

    with Warehouse(warehouse, read_only=True) as wh:
        rows = [r for r in balance(wh) if pipeline is None or r["pipeline"] == pipeline]
    if json:
        console.print_json(rows)
        return
    console.print_result(Result(BALANCE_COLUMNS, [tuple(r.values()) for r in rows]),
                         "every record received, and where it is now")


# --- the quarantine ---------------------------------------------------------------------

quarantine_app = CommandGroup(
    help="Rejected records: list, show, export (and replay).", invoke_without_command=True)

RunOption = Annotated[int | None, typer.Option("--run", metavar="RUN_ID",
                                               help="Only this run's.")]
FileOption = Annotated[str | None, typer.Option(
    "--file", metavar="TEXT", help="Only records of files whose path contains TEXT.")]
ReasonOption = Annotated[str | None, typer.Option(
    "--reason", metavar="TEXT", help="Only records with a reason containing TEXT (any case).")]
SupersededOption = Annotated[bool, typer.Option(
    "--superseded", help="Also the records a newer version of their file superseded.")]


def _filters(pipeline: str | None, run: int | None, file: str | None, reason: str | None,
             superseded: bool) -> Filters:
    from sluice import rejects

    rejects.check_text("--file", file)
    rejects.check_text("--reason", reason)
    return rejects.Filters(_checked_pipeline(pipeline), run, file, reason, superseded)


@quarantine_app.callback()
def quarantine_list(
    ctx: typer.Context,
    pipeline: PipelineOption = None,
    run: RunOption = None,
    file: FileOption = None,
    reason: ReasonOption = None,
    superseded: SupersededOption = False,
    limit: Annotated[int, typer.Option(min=1, help="How many records at most.")] = 50,
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Rejected records: list, show, export (and replay). Without a command: the
    records, filtered, in file and line order."""
    if ctx.invoked_subcommand is not None:
        return
    from sluice import console, rejects
    from sluice.warehouse import Warehouse

    filters = _filters(pipeline, run, file, reason, superseded)
    with Warehouse(warehouse, read_only=True, must_exist=True) as wh:
        found = rejects.find(wh, filters, min(limit, MOST))
        total = rejects.count(wh, filters)
    if json:
        console.print_json({"records": found.dicts(), "total": total})
        return
    shown = ["id", "run_id", "pipeline", "source_file", "reasons", "raw",
             *(["superseded_by"] if superseded else [])]
    rows = [(r["id"], r["run_id"], r["pipeline"], rejects.printable(r["source_file"]),
             rejects.printable("; ".join(r["reasons"])),
             rejects.as_text(r["raw"] or ""), *([r["superseded_by"]] if superseded else []))
            for r in found.dicts()]
    console.print_result(Result(shown, rows), "rejected records")
    if total > len(rows):
        console.out.print(f"{total - len(rows):,} more; --limit shows more, `sluice "
                          "quarantine export` writes them all", markup=False)


@quarantine_app.command("show")
def quarantine_show(
    record: Annotated[str, typer.Argument(metavar="ID", help="FILE_ID:LINE, as listed.")],
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """One rejected record: its raw text whole, and every reason."""
    from sluice import console, rejects
    from sluice.warehouse import Warehouse

    with Warehouse(warehouse, read_only=True, must_exist=True) as wh:
        found = rejects.show(wh, record)
    if json:
        console.print_json(found)
        return
    where = rejects.printable(found["source_file"]) + (
        f", line {found['line_number']}" if found["line_number"] is not None else "")
    lines = [f"record {found['id']}: {where} (run {found['run_id']}, {found['pipeline']})"]
    if found["superseded_by"] is not None:
        lines.append(f"superseded by run {found['superseded_by']}")
    lines += [f"reason: {rejects.printable(why)}" for why in found["reasons"]]
    # Control characters as \xNN (--json has the text exactly): a line of an escape
    # sequence must not act on the terminal.
    lines += ["raw:", rejects.printable(found["raw"]) if found["raw"] is not None
              else "(no text kept)"]
    console.out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


@quarantine_app.command("export")
def quarantine_export(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="The file to write [default: standard output].")] = None,
    format: Annotated[ExportFormat, typer.Option(
        "--format", help="csv (a header, reasons joined by ' | ') or jsonl.")
    ] = ExportFormat.jsonl,
    pipeline: PipelineOption = None,
    run: RunOption = None,
    file: FileOption = None,
    reason: ReasonOption = None,
    superseded: SupersededOption = False,
    warehouse: WarehouseOption = None,
) -> None:
    """Every matching rejected record, as CSV or JSON Lines."""
    from sluice import console, rejects
    from sluice.warehouse import Warehouse

    filters = _filters(pipeline, run, file, reason, superseded)
    if output is not None:
        check_file_target(output)
    write = rejects.write_csv if format is ExportFormat.csv else rejects.write_json_lines
    with Warehouse(warehouse, read_only=True, must_exist=True) as wh, \
            _destination(output) as stream:
        written = write(wh, filters, stream)
    if output is not None:
        console.err.print(f"wrote {written:,} records to {output}", markup=False)


@quarantine_app.command("replay")
def quarantine_replay(
    pipeline: Annotated[str, typer.Option(
        "--pipeline", "-p", metavar="NAME", help="The pipeline whose records to offer again.")],
    run: RunOption = None,
    file: FileOption = None,
    reason: ReasonOption = None,
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Offer quarantined records again to the pipeline's current contract (writes): those
    that now pass are loaded, the others keep today's reasons."""
    from sluice import console
    from sluice.lifecycle import check_all_read
    from sluice.replay import replay
    from sluice.warehouse import Warehouse

    filters = _filters(pipeline, run, file, reason, False)
    chosen = next(p for p in pipelines() if p.name == pipeline)
    with Warehouse(warehouse, must_exist=True) as wh, \
            console.progress_bar(not json) as progress:
        done = replay(wh, chosen, filters, progress)
    kept = (f"{done.not_offered:,} record{'s' if done.not_offered != 1 else ''} left as "
            "they are: their text was not kept byte for byte (a line that is not UTF-8, too "
            "long, or holding a CR)") if done.not_offered else ""
    if done.run is None:
        if json:
            console.print_json({"offered": 0, "not_offered": done.not_offered, "run": None})
        else:
            console.out.print(kept or "no quarantined record matches: nothing to replay",
                              markup=False)
        return
    if json:
        console.print_json({"offered": done.offered, "not_offered": done.not_offered,
                            "run": done.run.as_dict()})
    else:
        console.print_run(done.run)
        console.out.print(
            f"{done.offered:,} record{'s' if done.offered != 1 else ''} offered again: "
            f"{done.run.total('loaded'):,} loaded, "
            f"{done.run.total('duplicates'):,} duplicates, {done.run.total('rejected'):,} "
            f"rejected again; their earlier quarantine rows are superseded by run "
            f"{done.run.run_id}" + (f"\n{kept}" if kept else ""), markup=False)
    check_all_read(done.run)


@contextlib.contextmanager
def _destination(output: Path | None) -> Iterator[TextIO]:
    """Standard output, or the file written whole: to a partial name, then renamed."""
    if output is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    # A new file of our own beside it (never one that is there, or a link someone put at
    # a predictable name), renamed over the output once whole.
    handle, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.",
                                    suffix=".partial")
    partial = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
        os.chmod(partial, 0o644)
        partial.replace(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


# --- lineage ------------------------------------------------------------------------------

def trace_command(
    pipeline: Annotated[str, typer.Argument(metavar="PIPELINE", help="The pipeline's name.")],
    key: Annotated[str, typer.Argument(
        metavar="KEY", help="The row's key, as its table holds it (see `sluice PIPELINE "
        "--help` or docs/operations.md for each pipeline's key).")],
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Where a loaded row came from (file, line, run), and the versions that lost to it."""
    from sluice import console, rejects
    from sluice.lineage import trace
    from sluice.warehouse import Warehouse

    _checked_pipeline(pipeline, "PIPELINE")
    rejects.check_text("KEY", key)
    chosen = next(p for p in pipelines() if p.name == pipeline)
    if not chosen.traced:
        raise UsageError(f"PIPELINE {pipeline}: its rows are not traced by key")
    with Warehouse(warehouse, read_only=True, must_exist=True) as wh:
        found = trace(wh, chosen, key)
    if json:
        console.print_json(found)
    elif lines := _trace_lines(found):
        console.out.print("\n".join(lines), markup=False, highlight=False)
    if not found["rows"] and not found["conflicts"]:
        tables = ", ".join(t.table for t in chosen.traced)
        keys = ", ".join(sorted({t.key for t in chosen.traced}))
        raise SluiceError(f"no row of {tables} has the key {key!r} ({keys})")


def _trace_lines(found: dict[str, Any]) -> list[str]:
    from sluice import console, rejects

    lines = []
    for row in found["rows"]:
        where = (rejects.printable(row["path"]) if row["path"] is not None
                 else f"file {row['file_id']}")
        line = f", line {row['line_number']}" if row["line_number"] is not None else ""
        run = (f" (run {row['run_id']}, {row['verb']}, {console.iso_time(row['started'])})"
               if row["run_id"] is not None else " (not in the ledger)")
        lines.append(f"{row['table']} {found['key']}: from {where}{line}{run}")
    if found["conflicts"]:
        lines.append(f"{len(found['conflicts']):,} version(s) with this key lost to the "
                     "loaded one (in quarantine):")
        for lost in found["conflicts"]:
            superseded = (f", superseded by run {lost['superseded_by']}"
                          if lost["superseded_by"] is not None else "")
            lines.append(f"  {rejects.printable(lost['path'])}, line {lost['line_number']} (run "
                         f"{lost['run_id']}{superseded}): {rejects.as_text(lost['raw'] or '')}")
    return lines


# --- the warehouse as it is ---------------------------------------------------------------

CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV, with a header line.")]
JsonlOption = Annotated[bool, typer.Option(
    "--jsonl", help="Print JSON Lines: one JSON object per row.")]


def sql_command(
    sql: Annotated[str, typer.Argument(
        metavar="SQL", help="One query (SELECT ...), in the warehouse's SQL.")],
    csv_output: CsvOption = False,
    jsonl: JsonlOption = False,
    limit: Annotated[int | None, typer.Option(
        min=0, metavar="N", help=f"At most N rows (default: all; the text table shows "
                                 f"{TABLE_ROWS:,}).")] = None,
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Run one read-only SQL query against the warehouse and print its rows."""
    from sluice.query import run_query

    run_query(warehouse, sql, limit, as_json=json, as_csv=csv_output, as_jsonl=jsonl)


def tables_command(
    csv_output: CsvOption = False,
    jsonl: JsonlOption = False,
    count_timeout: Annotated[float, typer.Option(
        min=0.001, metavar="SECONDS",
        help="Give up one table's row count after this long; the row says so.")
    ] = DEFAULT_COUNT_SECONDS,
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """List every table and view of the warehouse, with its row count."""
    from sluice.query import list_tables

    list_tables(warehouse, count_timeout, as_json=json, as_csv=csv_output, as_jsonl=jsonl)
