"""The `sluice` command: each registered pipeline's verbs (`sluice PIPELINE VERB ...`),
`sluice demo` and `sluice runs`. No pipeline is named here: they come from the registry.

Every `--help` imports this module, so it and what it imports are light (Typer and light
sluice modules; tests/test_cli_startup.py): a pipeline's group is listed from its
declaration and built (its `cli` module imported) only when it is invoked, and every
command imports the engine and the output when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup
from typer.models import TyperInfo

from sluice.cli_operations import (
    quarantine_app,
    runs_command,
    sql_command,
    tables_command,
    trace_command,
)
from sluice.cli_options import (
    CommandGroup,
    JsonOption,
    PlainGroup,
    WarehouseOption,
    check_folder_target,
)
from sluice.registry import Pipeline, pipelines
from sluice.web.cli import serve_command


class _Unbuilt(TyperCommand):
    """A pipeline's group before it is built: its name and help, for the list of
    commands."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(pipeline.name, help=pipeline.help, rich_markup_mode=None)
        self.pipeline = pipeline


class SluiceGroup(PlainGroup):
    """The root group: sluice's own commands, then every registered pipeline's group in
    the registry's order. A pipeline's group is built from its Typer app when it is
    invoked (or its verbs' help is asked for), as if mounted by `add_typer`, with the
    root's settings."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        for pipeline in pipelines():
            if pipeline.name in self.commands:
                raise ValueError(f"pipeline {pipeline.name}: the name of a sluice command")
            self.commands[pipeline.name] = _Unbuilt(pipeline)

    def listed_command(self, ctx: Any, name: str) -> Any:
        return self.commands.get(name)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = self.commands.get(cmd_name)
        if isinstance(command, _Unbuilt):
            pipeline = command.pipeline
            command = self.commands[cmd_name] = typer.main.get_group_from_info(
                TyperInfo(pipeline.commands(), name=pipeline.name, help=pipeline.help),
                pretty_exceptions_short=True, rich_markup_mode=self.rich_markup_mode,
                suggest_commands=self.suggest_commands)
        return command


app = CommandGroup(
    help="Raw files in, a contract decides for every record, an analytics warehouse out.",
    cls=SluiceGroup, no_args_is_help=True, add_completion=False,
)


def _print_version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        print(f"sluice {version('sluice')}")
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
    from sluice import console
    from sluice.demo import run_demo
    from sluice.warehouse import Warehouse

    check_folder_target(folder, "--dir")
    with Warehouse(warehouse) as wh, console.progress_bar(not json) as progress:
        report = run_demo(wh, folder, progress)
    if json:
        console.print_json(report)
    else:
        console.print_demo(report)


# Operators' tools, each in its own module.
app.command("runs")(runs_command)
app.add_typer(quarantine_app, name="quarantine")
app.command("trace")(trace_command)
app.command("sql")(sql_command)
app.command("tables")(tables_command)
app.command("serve")(serve_command)


def every_command() -> list[tuple[str, ...]]:
    """Every command as a user types it, each group before its commands: `()` for
    `sluice` itself, then `("demo",)`, ..., `("votes",)`, `("votes", "ingest")`, ...
    Builds every pipeline's group (imports its `cli` module)."""
    found: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        found.append(path)
        if isinstance(command, TyperGroup):
            context = typer.Context(command)
            for name in command.list_commands(context):
                walk(command.get_command(context, name), (*path, name))

    walk(typer.main.get_command(app), ())
    return found
