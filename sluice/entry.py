"""The `sluice` process: signal handlers first, then the command; every failure one line.

This module imports nothing heavy at the top, so that Ctrl-C in the first moments (while
the engine and the CLI library load) already ends in one line, never a traceback.
"""

from __future__ import annotations

import os
import sys

from sluice import interrupts


def main() -> None:
    interrupts.install()
    try:
        from sluice.cli import app

        app()
    except BaseException as error:  # every way out of the command passes here
        if isinstance(error, SystemExit):
            raise
        code, message = describe(error)
        if code == 1 and os.environ.get("SLUICE_DEBUG"):
            raise
        _print_error(message)
        sys.exit(code)


def describe(error: BaseException) -> tuple[int, str]:
    """The exit code and the one line a user sees for an error."""
    from sluice.errors import RunInterrupted, SluiceError, first_line, user_message

    signum = interrupts.received()
    if isinstance(error, RunInterrupted):
        return error.exit_code, str(error)
    if isinstance(error, SluiceError):
        return error.exit_code, f"error: {error}"
    if signum is not None or isinstance(error, KeyboardInterrupt):
        signum = signum or interrupts.HANDLED[0]
        return interrupts.exit_code(signum), (
            f"interrupted ({interrupts.name(signum)}): nothing was committed")
    if isinstance(error, OSError):
        where = f": {error.filename}" if error.filename else ""
        return 1, f"error: {error.strerror or first_line(error)}{where}"
    return 1, f"error: {user_message(error)} (set SLUICE_DEBUG=1 for details)"


def _print_error(message: str) -> None:
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except OSError:
        pass
