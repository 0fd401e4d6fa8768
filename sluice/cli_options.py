"""Options and checks that every pipeline's verbs share, and how `--help` is made.

`--help` and usage errors are Click's plain text, never Rich's framed boxes: Typer's Rich
help imports Rich's Markdown and traceback modules, twice the time of the rest of a
`--help`. Every command group is a `CommandGroup`, made with Rich markup off.

This module is on the path of every `--help`: it imports Typer and light sluice modules
only, never the engine (see tests/test_cli_startup.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer._click.core import ParameterSource
from typer._click.exceptions import MissingParameter
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from sluice.errors import UsageError
from sluice.settings import DEFAULT_WAREHOUSE, WAREHOUSE_ENV

WarehouseOption = Annotated[
    str | None,
    typer.Option("--warehouse", "-w", envvar=WAREHOUSE_ENV, show_envvar=True, metavar="PATH|URL",
                 help="DuckDB warehouse file, or postgresql://user@host:port/database "
                      f"[default: {DEFAULT_WAREHOUSE}]"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a machine-readable summary.")]


Function = TypeVar("Function", bound=Callable[..., Any])


class CommandGroup(typer.Typer):
    """A Typer app whose `--help` is plain text and names no Python types: Typer prints
    `<bool>` after a flag, `<list[str]>` after an argument, `<int range>` after an option.
    Here a flag shows nothing, an argument its name, an option that takes a value a word
    for it (PATH, INTEGER, NUMBER, TEXT, or its `metavar=`). The root app and every
    pipeline's app are one (`pipeline_app`), so every verb's help is made the same way.

    Rich markup is off (plain help and usage errors, see the module's docstring), and so
    are Typer's pretty tracebacks: `sluice.entry` turns every error into one line."""

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("cls", PlainGroup)
        settings.setdefault("rich_markup_mode", None)
        settings.setdefault("pretty_exceptions_enable", False)
        super().__init__(**settings)

    def command(self, name: str | None = None, **settings: Any
                ) -> Callable[[Function], Function]:
        settings.setdefault("cls", _PlainCommand)
        return super().command(name, **settings)


def pipeline_app(help_text: str) -> typer.Typer:
    """A pipeline's own command group."""
    return CommandGroup(help=help_text, no_args_is_help=True)


class _PlainOption(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        described = self.type_descriptor
        if described.is_choice:
            word = "|".join(str(choice) for choice in described.choices or ())
        elif described.is_path:
            word = "PATH"
        elif described.annotation is int:
            word = "INTEGER"
        elif described.annotation is float:
            word = "NUMBER"
        else:
            word = "TEXT"
        return word + ("..." if self.nargs != 1 else "")

    def process_value(self, ctx: Any, value: Any) -> Any:
        return _process_value(self, ctx, value)


def _process_value(param: Any, ctx: Any, value: Any) -> Any:
    """The value, converted by Typer unless the conversion is not needed (`_as_it_is`).
    Typer converts with a Pydantic adapter that it builds when a parameter is first
    processed, and importing Pydantic doubled the time of a `--help` (every group above
    the command asked about processes its options) and costs a command 0.08 s."""
    plain, value = _as_it_is(param, ctx, value)
    if not plain:
        return super(type(param), param).process_value(ctx, value)
    # What Typer does after converting.
    if param.required and param.value_is_missing(value):
        raise MissingParameter(ctx=ctx, param=param)
    if param.callback is not None:
        value = param.callback(ctx, param, value)
    return value


def _as_it_is(param: Any, ctx: Any, value: Any) -> tuple[bool, Any]:
    """Whether Typer's conversion is not needed, and the value it would give: None for
    a single value not given (and no default); text for a parameter of type `str`;
    a list for a `list[str]` (Typer makes the tuple a list); the parameter's own
    default of its plain type."""
    annotation = param.type_descriptor.annotation
    if param.nargs != 1 or param.multiple:
        if annotation == list[str] and isinstance(value, tuple | list) and all(
                type(item) is str for item in value):
            return True, list(value)
        return False, value  # None becomes ()
    if value is None or (type(value) is str and annotation is str):
        return True, value
    return (ctx.get_parameter_source(param.name) is ParameterSource.DEFAULT
            and type(value) in (bool, int, float, str)
            and type(value) is annotation), value


class _PlainArgument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def process_value(self, ctx: Any, value: Any) -> Any:
        return _process_value(self, ctx, value)


def _plain(params: list[Any]) -> list[Any]:
    for param in params:
        if type(param) is TyperOption:
            param.__class__ = _PlainOption
        elif type(param) is TyperArgument:
            param.__class__ = _PlainArgument
    return params


class _PlainCommand(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))


class PlainGroup(TyperGroup):
    """A command group whose `--help` lists each command with the first sentence of its
    help, whole and wrapped (Click cuts it at the terminal's width, ending in `...`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))

    def listed_command(self, ctx: Any, name: str) -> Any:
        """The command `--help` lists under `name` (a group may list one it has not
        built yet)."""
        return self.get_command(ctx, name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.listed_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=_WHOLE)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


_WHOLE = 10_000  # a short help's limit: its first sentence, never cut


def check_file_target(path: Path) -> None:
    """A file to write: not a folder, in a folder that exists or can be made."""
    if path.is_dir():
        raise UsageError(f"{path} is a folder; name the file to write")
    check_folder_target(path.parent, "the file's folder")


def check_folder_target(folder: Path, what: str) -> None:
    """A folder to write into: a folder, or a path where one can be made."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UsageError(f"{what}: {existing} is a file, not a folder")
    if existing is not None and not os.access(existing, os.W_OK):
        raise UsageError(f"{what}: cannot write in {existing} (permission denied)")
