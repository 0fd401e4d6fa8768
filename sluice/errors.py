"""Errors that reach a user as one clear line instead of a traceback."""


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
