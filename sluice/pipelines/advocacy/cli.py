"""`sluice advocacy ...`: ingest advocate exports, the report, demo input.

Imported by `--help`: Typer and light modules at the top; each verb imports the engine
and the output when it runs (tests/test_cli_startup.py). The defaults of `--batch-size`,
`--top` and `--min-tasks` are the engine's (`sources.BATCH_FILES`, `report.TOP`,
`report.MIN_TASKS`): an option left out is None here, and the verb takes the engine's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sluice.cli_options import JsonOption, WarehouseOption, check_folder_target, pipeline_app
from sluice.pipelines import advocacy

app = pipeline_app(advocacy.HELP)


@app.command("ingest")
def advocacy_ingest(
    source: Annotated[str, typer.Argument(
        help="A folder of advocate JSON files, a .tar.gz of one, or a JSON Lines file.")],
    warehouse: WarehouseOption = None,
    batch_size: Annotated[int | None, typer.Option(
        min=1, help="Files of a folder read per scan; bounds memory [default: see "
        "docs/advocacy.md].")] = None,
    json: JsonOption = False,
) -> None:
    """Load advocate files (repairing files cut short), then rebuild the models."""
    from sluice import console
    from sluice.lifecycle import check_all_read
    from sluice.warehouse import Warehouse

    with Warehouse(warehouse) as wh, console.progress_bar(not json) as progress:
        run = advocacy.ingest(wh, source, progress, batch_size)
    console.show_run(run, json, details=False)
    check_all_read(run)


@app.command("generate")
def advocacy_generate(
    folder: Annotated[Path, typer.Argument(help="The folder to write advocate files into.")],
    count: Annotated[int, typer.Option("--advocates", min=0, help="Distinct advocates.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Same seed, same files.")] = 7,
    messy_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of messy files.")
                           ] = 0.5,
    json: JsonOption = False,
) -> None:
    """Write a demo export: one JSON file per advocate, about half of them messy."""
    from sluice import console
    from sluice.pipelines.advocacy.generate import generate_advocates

    check_folder_target(folder, "FOLDER")
    generated = generate_advocates(folder, count, seed=seed, messy_share=messy_share)
    console.show_summary(
        generated.as_dict(), json,
        f"wrote {generated.files:,} files to {folder}: {generated.advocates:,} advocates, "
        f"{generated.messy_files:,} messy files ({generated.truncated:,} cut short, "
        f"{generated.unrepairable:,} beyond repair), {generated.stray:,} stray files")


@app.command("report")
def advocacy_report(
    warehouse: WarehouseOption = None,
    top: Annotated[int | None, typer.Option(
        "--top", min=1, help="Rows of each list; a line says what the rest hold "
        "[default: in the report's notes].")] = None,
    every_row: Annotated[bool, typer.Option(
        "--all", help="Every row of every list (overrides --top).")] = False,
    min_tasks: Annotated[int | None, typer.Option(
        "--min-tasks", min=1, help="Measured tasks a rate needs to be ranked [default: in "
        "the report's notes].")] = None,
    json: JsonOption = False,
) -> None:
    """Who the best advocates are; which platforms, brands and programs perform; whether
    engagement goes with sales; data quality. Each answer with how sure it is."""
    from sluice import console
    from sluice.pipelines.advocacy import text
    from sluice.pipelines.advocacy.report import MIN_TASKS, TOP, Settings, build_report
    from sluice.warehouse import Warehouse

    settings = Settings(top=None if every_row else TOP if top is None else top,
                        min_tasks=MIN_TASKS if min_tasks is None else min_tasks)
    with Warehouse(warehouse, must_exist=True) as wh:
        advocacy.build_models(wh)
        report = build_report(wh, settings)
        where = wh.destination.shown
    if json:
        console.print_json(report.as_json())
    else:
        text.show(report, where)
