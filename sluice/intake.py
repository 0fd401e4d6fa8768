"""Intake: turn the paths a user names (files, folders, globs) into a list of input files."""

from __future__ import annotations

import glob
from collections.abc import Iterable, Sequence
from pathlib import Path

from sluice.errors import UsageError

GLOB_CHARACTERS = set("*?[")


def resolve_inputs(arguments: Sequence[str], suffixes: Iterable[str]) -> list[Path]:
    """Every input file the arguments name, each once, in a stable order.

    A folder contributes the files below it whose names end in one of `suffixes`
    (hidden files skipped); a file named directly is taken whatever its name. Fails
    before anything is read if an argument names nothing.
    """
    if not arguments:
        raise UsageError("name at least one file, folder or glob to ingest")
    wanted = tuple(suffixes)
    found: dict[Path, None] = {}
    for argument in arguments:
        for path in _expand(argument):
            if path.is_dir():
                for child in sorted(path.rglob("*")):
                    if child.is_file() and _eligible(child, path, wanted):
                        found.setdefault(child.resolve())
            else:
                found.setdefault(path.resolve())
    return list(found)


def _expand(argument: str) -> list[Path]:
    if GLOB_CHARACTERS & set(argument):
        matches = sorted(glob.glob(argument, recursive=True))
        if not matches:
            raise UsageError(f"no files match {argument}")
        return [Path(m) for m in matches]
    path = Path(argument)
    if not path.exists():
        raise UsageError(f"no such file or folder: {argument}")
    return [path]


def _eligible(child: Path, root: Path, suffixes: tuple[str, ...]) -> bool:
    hidden = any(part.startswith(".") for part in child.relative_to(root).parts)
    return not hidden and child.name.lower().endswith(suffixes)
