"""Options and checks that every pipeline's verbs share."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from sluice.errors import UsageError
from sluice.warehouse import WAREHOUSE_ENV

WarehouseOption = Annotated[
    str | None,
    typer.Option("--warehouse", "-w", envvar=WAREHOUSE_ENV, show_envvar=True, metavar="PATH|URL",
                 help="DuckDB warehouse file, or postgresql://user@host:port/database [default: warehouse.db]"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a machine-readable summary.")]


Function = TypeVar("Function", bound=Callable[..., Any])


class CommandGroup(typer.Typer):
    """A Typer app whose `--help` names no Python types: Typer prints `<bool>` after a
    flag, `<list[str]>` after an argument, `<int range>` after an option. Here a flag
    shows nothing, an argument its name, an option that takes a value a word for it
    (PATH, INTEGER, NUMBER, TEXT, or its `metavar=`). The root app and every pipeline's
    app are one (`pipeline_app`), so every verb's help is made the same way."""

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("cls", _PlainGroup)
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


class _PlainArgument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None


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


class _PlainGroup(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))


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
