"""The `sluice` command: `sluice PIPELINE VERB ...`, `sluice demo`, `sluice runs`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from sluice import console
from sluice.errors import UsageError
from sluice.lifecycle import check_all_read
from sluice.pipelines import advocacy, votes
from sluice.pipelines.advocacy.generate import generate_advocates
from sluice.pipelines.advocacy.report import build_report
from sluice.pipelines.advocacy.sources import BATCH_FILES
from sluice.pipelines.votes.generate import generate_votes
from sluice.warehouse import WAREHOUSE_ENV, Warehouse

app = typer.Typer(
    help="Raw files in, a contract decides for every record, an analytics warehouse out.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
votes_app = typer.Typer(help="Vote events and the weeks whose volume stands out.",
                        no_args_is_help=True)
app.add_typer(votes_app, name="votes")
advocacy_app = typer.Typer(help="Brand-advocacy exports: messy JSON files to advocacy insights.",
                           no_args_is_help=True)
app.add_typer(advocacy_app, name="advocacy")

WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", "-w", envvar=WAREHOUSE_ENV, show_envvar=True,
                  help="DuckDB warehouse file [default: warehouse.db]"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a machine-readable summary.")]


@votes_app.command("ingest")
def votes_ingest(
    paths: Annotated[list[str], typer.Argument(help="Vote files (JSON Lines), folders or globs.")],
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Load vote files into blog_analysis.votes; bad lines go to quarantine."""
    with Warehouse(warehouse) as wh, console.progress_bar(not json) as progress:
        run = votes.ingest(wh, paths, progress)
    console.show_run(run, json)
    check_all_read(run)


@votes_app.command("outliers")
def votes_outliers(warehouse: WarehouseOption = None, json: JsonOption = False) -> None:
    """Recreate blog_analysis.outlier_weeks and print its rows."""
    with Warehouse(warehouse, must_exist=True) as wh:
        result = votes.outliers(wh)
    if json:
        console.print_json(result.dicts())
    else:
        console.print_result(result, "weeks whose vote count is more than 20% off the mean")


@votes_app.command("generate")
def votes_generate(
    path: Annotated[Path, typer.Argument(help="The JSON Lines file to write.")],
    count: Annotated[int, typer.Option("--votes", min=0, help="Distinct votes to write.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Same seed, same file.")] = 7,
    clean: Annotated[bool, typer.Option("--clean", help="No duplicates or broken lines.")] = False,
    first_id: Annotated[int, typer.Option(min=1, help="Ids start near this one.")] = 1,
    json: JsonOption = False,
) -> None:
    """Write a realistic demo vote file, with duplicates, conflicts and broken lines."""
    _check_file_target(path)
    generated = generate_votes(path, count, seed=seed, dirty=not clean, first_id=first_id)
    if json:
        console.print_json(generated.as_dict())
    else:
        console.out.print(
            f"wrote {generated.lines:,} lines to {path}: {generated.votes:,} votes, "
            f"{generated.duplicates:,} duplicates, {generated.conflicts:,} conflicts, "
            f"{generated.broken + generated.invalid_utf8:,} broken lines"
        )


@advocacy_app.command("ingest")
def advocacy_ingest(
    source: Annotated[str, typer.Argument(
        help="A folder of advocate JSON files, a .tar.gz of one, or a JSON Lines file.")],
    warehouse: WarehouseOption = None,
    batch_size: Annotated[int, typer.Option(
        min=1, help="Files of a folder read per scan; bounds memory.")] = BATCH_FILES,
    json: JsonOption = False,
) -> None:
    """Load advocate files (repairing files cut short), then rebuild the models."""
    with Warehouse(warehouse) as wh, console.progress_bar(not json) as progress:
        run = advocacy.ingest(wh, source, progress, batch_size)
    console.show_run(run, json, details=False)
    check_all_read(run)


@advocacy_app.command("generate")
def advocacy_generate(
    folder: Annotated[Path, typer.Argument(help="The folder to write advocate files into.")],
    count: Annotated[int, typer.Option("--advocates", min=0, help="Distinct advocates.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Same seed, same files.")] = 7,
    messy_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of messy files.")
                           ] = 0.5,
    json: JsonOption = False,
) -> None:
    """Write a demo export: one JSON file per advocate, about half of them messy."""
    _check_folder_target(folder, "FOLDER")
    generated = generate_advocates(folder, count, seed=seed, messy_share=messy_share)
    if json:
        console.print_json(generated.as_dict())
    else:
        console.out.print(
            f"wrote {generated.files:,} files to {folder}: {generated.advocates:,} advocates, "
            f"{generated.messy_files:,} messy files ({generated.truncated:,} cut short, "
            f"{generated.unrepairable:,} beyond repair), {generated.stray:,} stray files"
        )


@advocacy_app.command("report")
def advocacy_report(warehouse: WarehouseOption = None, json: JsonOption = False) -> None:
    """Print the headline insights: top advocates, platforms, brands, outliers, quality."""
    with Warehouse(warehouse, must_exist=True) as wh:
        advocacy.build_models(wh)
        report = build_report(wh)
    if json:
        console.print_json(report.as_dict())
    else:
        for title, result in report.sections.items():
            console.print_result(result, title)
        for finding in report.findings:
            console.out.print(finding)


@app.command("demo")
def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Where to write the demo input.")] = Path(
        "demo"),
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Generate demo input and run every pipeline against the warehouse."""
    from sluice.demo import run_demo

    _check_folder_target(folder, "--dir")
    with Warehouse(warehouse) as wh, console.progress_bar(not json) as progress:
        report = run_demo(wh, folder, progress)
    if json:
        console.print_json(report)
    else:
        console.print_demo(report)


@app.command("runs")
def runs(
    limit: Annotated[int, typer.Option(min=1, help="How many recent runs.")] = 20,
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Show the ledger: recent runs and their counts."""
    from sluice.ledger import recent_runs

    with Warehouse(warehouse, read_only=True) as wh:
        result = recent_runs(wh, limit)
    if json:
        console.print_json(result.dicts())
    else:
        console.print_result(result, "recent runs")


def _check_file_target(path: Path) -> None:
    """A file to write: not a folder, in a folder that exists or can be made."""
    if path.is_dir():
        raise UsageError(f"{path} is a folder; name the file to write")
    _check_folder_target(path.parent, "the file's folder")


def _check_folder_target(folder: Path, what: str) -> None:
    """A folder to write into: a folder, or a path where one can be made."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UsageError(f"{what}: {existing} is a file, not a folder")
    if existing is not None and not os.access(existing, os.W_OK):
        raise UsageError(f"{what}: cannot write in {existing} (permission denied)")
