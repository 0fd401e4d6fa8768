"""Errors that reach a user as one clear line instead of a traceback."""


def first_line(error: BaseException) -> str:
    """An error's first line (engine messages run to many), or its type's name."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted by the user; nothing was committed"
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


class SluiceError(Exception):
    """A problem the user can act on; the CLI prints its message and exits non-zero."""

    exit_code = 1


class UsageError(SluiceError):
    """The command was called with something that cannot work (a missing path, say)."""

    exit_code = 2


class WarehouseLocked(SluiceError):
    """Another process holds the warehouse's write lock."""

    exit_code = 3


class LedgerMismatch(SluiceError):
    """A run's counts do not add up: read != loaded + duplicates + rejected."""

    exit_code = 4
