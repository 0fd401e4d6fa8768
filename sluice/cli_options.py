"""Options and checks that every pipeline's verbs share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from sluice.errors import UsageError
from sluice.warehouse import WAREHOUSE_ENV

WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", "-w", envvar=WAREHOUSE_ENV, show_envvar=True,
                 help="DuckDB warehouse file [default: warehouse.db]"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a machine-readable summary.")]


def pipeline_app(help_text: str) -> typer.Typer:
    """A pipeline's own command group."""
    return typer.Typer(help=help_text, no_args_is_help=True)


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
