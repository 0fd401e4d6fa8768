"""`sluice votes ...`: ingest vote files, the weekly outliers, demo input.

Imported by `--help`: Typer and light modules at the top; each verb imports the engine
and the output when it runs (tests/test_cli_startup.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sluice.cli_options import JsonOption, WarehouseOption, check_file_target, pipeline_app
from sluice.pipelines import votes

app = pipeline_app(votes.HELP)


@app.command("ingest")
def votes_ingest(
    paths: Annotated[list[str], typer.Argument(help="Vote files (JSON Lines), folders or globs.")],
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Load vote files into blog_analysis.votes; bad lines go to quarantine."""
    from sluice import console
    from sluice.lifecycle import check_all_read
    from sluice.warehouse import Warehouse

    with Warehouse(warehouse) as wh, console.progress_bar(not json) as progress:
        run = votes.ingest(wh, paths, progress)
    console.show_run(run, json)
    check_all_read(run)


@app.command("outliers")
def votes_outliers(warehouse: WarehouseOption = None, json: JsonOption = False) -> None:
    """Recreate blog_analysis.outlier_weeks and print its rows."""
    from sluice import console
    from sluice.warehouse import Warehouse

    with Warehouse(warehouse, must_exist=True) as wh:
        votes.build_models(wh)
        results = {view: view.query(wh) for view in votes.PIPELINE.views}
    console.show_views(results, json)


@app.command("generate")
def votes_generate(
    path: Annotated[Path, typer.Argument(help="The JSON Lines file to write.")],
    count: Annotated[int, typer.Option("--votes", min=0, help="Distinct votes to write.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Same seed, same file.")] = 7,
    clean: Annotated[bool, typer.Option("--clean", help="No duplicates or broken lines.")] = False,
    first_id: Annotated[int, typer.Option(min=1, help="Ids start near this one.")] = 1,
    json: JsonOption = False,
) -> None:
    """Write a realistic demo vote file, with duplicates, conflicts and broken lines."""
    from sluice import console
    from sluice.pipelines.votes.generate import generate_votes

    check_file_target(path)
    generated = generate_votes(path, count, seed=seed, dirty=not clean, first_id=first_id)
    console.show_summary(
        generated.as_dict(), json,
        f"wrote {generated.lines:,} lines to {path}: {generated.votes:,} votes, "
        f"{generated.duplicates:,} duplicates, {generated.conflicts:,} conflicts, "
        f"{generated.broken + generated.invalid_utf8:,} broken lines")
