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


# Operators' tools, each in its own module.
from sluice.cli_operations import quarantine_app, runs_command, trace_command  # noqa: E402
from sluice.query import sql_command, tables_command  # noqa: E402
from sluice.web.cli import serve_command  # noqa: E402

app.command("runs")(runs_command)
app.add_typer(quarantine_app, name="quarantine")
app.command("trace")(trace_command)
app.command("sql")(sql_command)
app.command("tables")(tables_command)
app.command("serve")(serve_command)
