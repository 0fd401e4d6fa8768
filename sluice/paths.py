"""File names as the ledger and the terminal show them.

A file name is bytes; most are UTF-8, some are not (a name written by another system's
encoding). Python keeps such bytes as surrogate escapes, which the engine's text columns
and a UTF-8 terminal refuse. Shown, they become \\xNN escapes; the file itself is still
opened by its real name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_GLOB_CHARACTER = re.compile(r"([\[*?])")


def shown(path: Path | str) -> str:
    """The path as valid UTF-8 text: bytes that are not UTF-8 as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def engine_can_open(path: Path) -> bool:
    """Whether the engine can be given the path: it takes names as UTF-8 text, and as
    glob patterns, in which a backslash cannot be escaped."""
    return shown(path) == str(path) and "\\" not in str(path)


def engine_pattern(path: Path | str) -> str:
    """The path as a glob pattern matching only itself: `[`, `*` and `?` each in a
    bracket class of its own (the engine's glob has no escape character)."""
    return _GLOB_CHARACTER.sub(r"[\1]", str(path))
