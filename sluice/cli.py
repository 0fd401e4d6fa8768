"""The `sluice` command: each registered pipeline's verbs (`sluice PIPELINE VERB ...`),
`sluice demo` and `sluice runs`. No pipeline is named here: they come from the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sluice import console
from sluice.cli_options import CommandGroup, JsonOption, WarehouseOption, check_folder_target
from sluice.registry import pipelines
from sluice.warehouse import Warehouse

app = CommandGroup(
    help="Raw files in, a contract decides for every record, an analytics warehouse out.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
for _pipeline in pipelines():
    app.add_typer(_pipeline.commands(), name=_pipeline.name, help=_pipeline.help)


def _print_version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        console.out.print(f"sluice {version('sluice')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print sluice's version and exit.")] = False,
) -> None:
    """Raw files in, a contract decides for every record, an analytics warehouse out."""


@app.command("demo")
def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Where to write the demo input.")] = Path(
        "demo"),
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Generate demo input and run every pipeline against the warehouse."""
    from sluice.demo import run_demo

    check_folder_target(folder, "--dir")
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
        console.print_runs(result)

