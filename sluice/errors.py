"""Errors that reach a user as one clear line instead of a traceback."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """An error's first line (engine messages run to many), or its type's name."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted by the user; nothing was committed"
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def user_message(error: BaseException) -> str:
    """What went wrong, in sluice's words: never the engine's own text, which names its
    internals (binder, catalog, parser) rather than anything the user did."""
    import duckdb

    if isinstance(error, SluiceError):
        return str(error)
    text = str(error)
    if isinstance(error, duckdb.OutOfMemoryException) or "Out of Memory" in text:
        return ("the engine ran out of memory; raise SLUICE_MEMORY_LIMIT (default 1GB) or "
                "free memory, and run again")
    if "No space left on device" in text:
        return "no space left on the device holding the warehouse or its spill folder"
    if isinstance(error, duckdb.IOException):
        return "the engine could not read or write a file"
    if isinstance(error, duckdb.InterruptException) or text == "Query interrupted":
        return "the engine's work was interrupted"
    if type(error).__module__.startswith("psycopg"):
        return _postgres_message(error)
    if isinstance(error, duckdb.Error):
        return f"the warehouse engine failed ({type(error).__name__})"
    if isinstance(error, OSError):
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror or type(error).__name__}{where}"
    return f"unexpected {type(error).__name__}"


def _postgres_message(error: BaseException) -> str:
    """A PostgreSQL error in sluice's words, by its SQLSTATE class."""
    state = str(getattr(error, "sqlstate", "") or "")
    if state.startswith("53"):
        return "the PostgreSQL server ran out of a resource (disk, memory or connections)"
    if state.startswith(("08", "57")) or not state:
        return "lost the connection to the PostgreSQL warehouse, or the server shut down"
    if state.startswith("42"):
        return ("the PostgreSQL warehouse does not have the tables sluice expects (was it "
                "changed by hand?)")
    return f"the PostgreSQL warehouse refused the work ({type(error).__name__})"


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


class InputNotRead(SluiceError):
    """The run committed, but some offered input could not be read; the ledger lists it."""

    exit_code = 5


class RunInterrupted(SluiceError):
    """Ctrl-C or SIGTERM during a run: it was rolled back and marked interrupted."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class DamagedInput(SluiceError):
    """An input file whose bytes cannot be trusted: a damaged or cut-short compressed
    stream, an archive that does not reach its end. Its records are not read."""
