"""`sluice applications ...`: process the inbox once or keep watching it, the report, and
demo application files.

Imported by `--help`: Typer and light modules at the top; each verb imports the engine
and the output when it runs (tests/test_cli_startup.py)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sluice import interrupts
from sluice.cli_options import (
    JsonOption,
    WarehouseOption,
    check_folder_target,
    pipeline_app,
)
from sluice.errors import UsageError, user_message
from sluice.paths import shown
from sluice.pipelines import applications
from sluice.pipelines.applications.contracts import AGE_ON
from sluice.pipelines.applications.settings import DEFAULT_MIN_AGE

if TYPE_CHECKING:
    from sluice.pipelines.applications.inbox import Inbox, InboxPass

app = pipeline_app(applications.HELP)
AGE_ON_TEXT = AGE_ON.isoformat()


class OutputFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


InboxOption = Annotated[Path, typer.Option(
    "--inbox", help="The folder where application files (.csv, .csv.gz) arrive.")]
OutOption = Annotated[Path, typer.Option(
    "--out", help="Where successful/ and unsuccessful/ outputs are written.")]
ArchiveOption = Annotated[Path | None, typer.Option(
    "--archive", help="Where processed files are moved [default: OUT/archive].")]
FormatOption = Annotated[OutputFormat, typer.Option(
    "--format", help="The outputs' file format.")]
MinAgeOption = Annotated[float, typer.Option(
    "--min-age", min=0, metavar="SECONDS",
    help="Take a file only once it has not changed for this long (it may still be "
         "being written).")]
AgeOnOption = Annotated[str, typer.Option(
    "--age-on", metavar="YYYY-MM-DD", help="The day on which applicants must be 18.")]


def _inbox(inbox: Path, out: Path, archive: Path | None, output_format: OutputFormat,
           min_age: float, age_on: str) -> Inbox:
    from sluice.pipelines.applications.inbox import Inbox

    if not inbox.is_dir():
        raise UsageError(f"--inbox {shown(inbox)}: "
                         + ("not a folder" if inbox.exists() else "no such folder"))
    check_folder_target(out, "--out")
    archive = archive if archive is not None else out / "archive"
    check_folder_target(archive, "--archive")
    try:
        reference = date.fromisoformat(age_on)
    except ValueError:
        raise UsageError(f"--age-on {age_on!r} is not a date (YYYY-MM-DD)") from None
    for option, folder in (("--out", out), ("--archive", archive)):
        if inbox.resolve() == folder.resolve():
            raise UsageError(f"{option} {shown(folder)} is the inbox; outputs and archived "
                             "files need a folder of their own (one inside the inbox is "
                             "fine: it is never read as input)")
    return Inbox(inbox.resolve(), out.resolve(), archive.resolve(), output_format.value,
                 min_age, reference)


@app.command("run")
def applications_run(
    inbox: InboxOption,
    out: OutOption,
    archive: ArchiveOption = None,
    output_format: FormatOption = OutputFormat.csv,
    min_age: MinAgeOption = DEFAULT_MIN_AGE,
    age_on: AgeOnOption = AGE_ON_TEXT,
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Process every new, complete file in the inbox once: outputs, warehouse, archive."""
    from sluice import console
    from sluice.lifecycle import check_all_read
    from sluice.warehouse import Warehouse

    where = _inbox(inbox, out, archive, output_format, min_age, age_on)
    with Warehouse(warehouse) as wh, console.progress_bar(not json) as progress:
        done = applications.process(wh, where, progress)
    show_pass(done, json)
    if done.run is not None:
        check_all_read(done.run)


@app.command("watch")
def applications_watch(
    inbox: InboxOption,
    out: OutOption,
    archive: ArchiveOption = None,
    output_format: FormatOption = OutputFormat.csv,
    min_age: MinAgeOption = DEFAULT_MIN_AGE,
    every: Annotated[float, typer.Option(
        "--every", min=0.01, metavar="MINUTES",
        help="Process the inbox at least this often, files or not.")] = 60.0,
    age_on: AgeOnOption = AGE_ON_TEXT,
    warehouse: WarehouseOption = None,
) -> None:
    """Keep processing the inbox: when files arrive and are complete, and every hour."""
    from sluice import console
    from sluice.pipelines.applications.watch import watch_inbox
    from sluice.warehouse import Warehouse

    where = _inbox(inbox, out, archive, output_format, min_age, age_on)
    with Warehouse(warehouse):
        pass  # a warehouse that cannot be opened fails now, not at the first file
    console.out.print(f"watching {shown(where.inbox)} (every {every:g} min, files taken "
                      f"after {min_age:g} s unchanged); Ctrl-C stops", markup=False)
    watch_inbox(where, warehouse, every, _print_pass, _print_error)
    # A signal while waiting: how a watcher is meant to stop.
    signum = interrupts.received()
    interrupts.stopped_cleanly()
    name = interrupts.name(signum) if signum is not None else "SIGINT"
    console.out.print(f"stopped ({name}); no run was open", markup=False)


def _print_pass(reason: str, done: InboxPass) -> None:
    from sluice import console

    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
    console.out.print(f"[{stamp}] pass ({reason})", markup=False)
    show_pass(done, False)


def _print_error(error: BaseException) -> None:
    from sluice import console

    console.err.print(f"error: {user_message(error)}; trying again at the next pass",
                      markup=False)


@app.command("report")
def applications_report(warehouse: WarehouseOption = None, json: JsonOption = False) -> None:
    """Applications by outcome, and membership ids that more than one applicant holds."""
    from sluice import console
    from sluice.warehouse import Warehouse

    with Warehouse(warehouse, must_exist=True) as wh:
        applications.build_models(wh)
        results = {view: view.query(wh) for view in applications.PIPELINE.views}
    console.show_views(results, json)


@app.command("generate")
def applications_generate(
    folder: Annotated[Path, typer.Argument(help="The folder to write application files into.")],
    rows: Annotated[int, typer.Option("--rows", min=0, help="Applications to write.")] = 10_000,
    files: Annotated[int, typer.Option("--files", min=1, help="Files to spread them over.")] = 4,
    seed: Annotated[int, typer.Option(help="Same seed, same files.")] = 7,
    first_index: Annotated[int, typer.Option(
        min=0, help="The number in the first file's name (to add files to an inbox).")] = 0,
    json: JsonOption = False,
) -> None:
    """Write realistic application CSV files: titles, four date formats, bad rows."""
    from sluice import console
    from sluice.pipelines.applications.generate import generate_applications

    check_folder_target(folder, "FOLDER")
    generated = generate_applications(folder, rows, files=files, seed=seed,
                                      first_index=first_index)
    console.show_summary(generated.as_dict(), json,
                         f"wrote {generated.rows:,} applications in {len(generated.files):,} "
                         f"files to {shown(folder)}")


def pass_summary(done: InboxPass) -> dict[str, Any]:
    """A pass as JSON: its run (or null when nothing was ready), the outputs, the
    archive and the files still being written."""
    return {
        "run": done.run.as_dict() if done.run is not None else None,
        "outputs": {kind: {"rows": rows, "file": _shown_or_none(_output_file(done, kind))}
                    for kind, rows in done.outputs.items()},
        "published": [str(p) for p in done.published],
        "archived": len(done.archived),
        "waiting": [{"path": shown(path), "seconds_left": round(left, 1)}
                    for path, left in done.waiting],
    }


def _output_file(done: InboxPass, kind: str) -> Path | None:
    """The output of this pass's run (an earlier run's, published now, is listed apart)."""
    if done.run is None:
        return None
    return next((p for p in done.published if p.parent.name == kind
                 and p.stem.endswith(f"-run-{done.run.run_id}")), None)


def _shown_or_none(path: Path | None) -> str | None:
    return None if path is None else shown(path)


def show_pass(done: InboxPass, as_json: bool) -> None:
    from sluice import console

    if as_json:
        console.print_json(pass_summary(done))
        return
    if done.run is None:
        console.out.print("nothing to process: no new complete files in the inbox",
                          markup=False)
    else:
        console.print_run(done.run)
        for kind, rows in done.outputs.items():
            where = _output_file(done, kind)
            console.out.print(f"{kind}: {rows:,} applications"
                              + (f" -> {shown(where)}" if where else ""), markup=False)
        if done.archived:
            files = "file" if len(done.archived) == 1 else "files"
            console.out.print(f"archived {len(done.archived):,} {files} to "
                              f"{shown(done.archive_folder or '')}", markup=False)
    for path, left in done.waiting:
        console.out.print(f"waiting: {shown(path.name)} is still changing; taken in "
                          f"{left:.0f} s at the earliest", markup=False)
