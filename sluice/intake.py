"""Intake: turn the paths a user names (files, folders, globs) into what a run is offered.

Every entry under a folder is accounted for: an input file to read, or one recorded as
skipped or unreadable with its reason. Nothing is left out without a word.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sluice.errors import UsageError

GLOB_CHARACTERS = set("*?[")
READ, SKIPPED, UNREADABLE = "read", "skipped", "unreadable"
OWN_FILE = "sluice's own warehouse file or folder, never input"


@dataclass(frozen=True)
class Entry:
    """One thing intake found: a file to read, or one not read and why."""

    path: Path
    outcome: str = READ
    reason: str | None = None
    # Its path inside the folder that was offered (its name, for a file named directly):
    # where a copy is kept in quarantine.
    relative: str = ""
    # What the ledger and quarantine call it when the file only holds an input that is
    # not a file (a URL's response landed for reading); None: the file's own path.
    identity: str | None = None


def resolve_inputs(arguments: Sequence[str], suffixes: Iterable[str],
                   own_paths: frozenset[Path] = frozenset()) -> list[Entry]:
    """Every entry the arguments name, each once, in a stable order.

    A folder contributes the files below it whose names end in one of `suffixes`; every
    other entry below it is recorded as skipped (hidden, another kind of file, not a
    regular file) or unreadable (a subfolder that cannot be listed). A file named
    directly is read whatever its name, if it is a regular file. `own_paths` (the
    warehouse and its folders) are never read. Fails before anything is read if an
    argument names nothing.
    """
    if not arguments:
        raise UsageError("name at least one file, folder or glob to ingest")
    wanted = tuple(s.lower() for s in suffixes)
    own = frozenset(p.resolve() for p in own_paths)
    found: dict[Path, Entry] = {}
    for argument in arguments:
        for path in _expand(argument):
            for entry in _entries(path, wanted, own):
                found.setdefault(entry.path, entry)
    return list(found.values())


def _expand(argument: str) -> list[Path]:
    """A path that exists is taken as it is, even with glob characters in its name;
    otherwise an argument with glob characters is a pattern."""
    if os.path.lexists(argument):
        return [Path(argument)]
    if GLOB_CHARACTERS & set(argument):
        matches = sorted(glob.glob(argument, recursive=True))
        if not matches:
            raise UsageError(f"no files match {argument}")
        return [Path(m) for m in matches]
    raise UsageError(f"no such file or folder: {argument}")


def _entries(path: Path, wanted: tuple[str, ...], own: frozenset[Path]) -> Iterator[Entry]:
    resolved = path.resolve()
    if resolved in own:
        yield Entry(resolved, SKIPPED, OWN_FILE,
                    resolved.name)
        return
    if path.is_dir():
        yield from _walk(resolved, resolved, wanted, own)
        return
    yield _file_entry(path, resolved, resolved.name)


def _file_entry(path: Path, resolved: Path, relative: str) -> Entry:
    kind = not_regular(path)
    if kind:
        return Entry(resolved, SKIPPED, f"not a regular file ({kind})", relative)
    return Entry(resolved, relative=relative)


def not_regular(path: Path) -> str | None:
    """What the path is if it is not a regular file (so cannot be read as one); None
    for a regular file or a link to one."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a broken link"
    except OSError as error:
        return f"cannot look at it: {error.strerror}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a link to a folder, not followed"
    return "not a regular file"


def _walk(root: Path, folder: Path, wanted: tuple[str, ...], own: frozenset[Path]
          ) -> Iterator[Entry]:
    """Every entry under `folder`, sorted by name; links to folders are not followed
    (they could loop)."""
    try:
        with os.scandir(folder) as listing:
            children = sorted(listing, key=lambda e: e.name)
    except OSError as error:
        yield Entry(folder, UNREADABLE, f"cannot list folder: {error.strerror}",
                    str(folder.relative_to(root)))
        return
    for child in children:
        path = Path(child.path)
        relative = str(path.relative_to(root))
        if path in own:
            yield Entry(path, SKIPPED, OWN_FILE,
                        relative)
        elif child.name.startswith("."):
            yield Entry(path, SKIPPED, "hidden", relative)
        elif child.is_dir(follow_symlinks=False):
            yield from _walk(root, path, wanted, own)
        elif not child.name.lower().endswith(wanted):
            kind = not_regular(path)
            yield Entry(path, SKIPPED, f"not a regular file ({kind})" if kind else
                        "not an input file name (" + ", ".join(wanted) + ")", relative)
        else:
            yield _file_entry(path, path, relative)
