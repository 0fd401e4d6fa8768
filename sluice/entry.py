"""The `sluice` process: signal handlers first, then the command; every failure one line.

This module imports nothing heavy at the top, so that Ctrl-C in the first moments (while
the engine and the CLI library load) already ends in one line, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys

from sluice import interrupts


def main() -> None:
    interrupts.install()
    try:
        from sluice.cli import app

        if _wants_json():
            # The CLI library's own errors (a bad option value) come here as exceptions,
            # not as its usage message, so that they are printed as JSON like every other.
            code = app(standalone_mode=False)
            if isinstance(code, int) and code:
                raise SystemExit(code)
        else:
            app()
    except SystemExit:
        # The CLI library turns Ctrl-C outside sluice's own code into a silent exit 130.
        if interrupts.received() is None:
            raise
        _leave(*describe(KeyboardInterrupt()))
    except BaseException as error:  # every other way out of the command passes here
        code, message = describe(error)
        if code == 1 and interrupts.received() is None and os.environ.get("SLUICE_DEBUG"):
            raise
        _leave(code, message)


def _wants_json() -> bool:
    """The command was given `--json`: its errors are JSON too."""
    return "--json" in sys.argv[1:]


def _leave(code: int, message: str) -> None:
    """Print the one line and exit. After a signal the process ends at once: the run
    has been rolled back or committed and the warehouse closed, and nothing in the
    interpreter's own shutdown may turn the exit into a second interruption.

    Under `--json` the line is a JSON object on stderr, `{"error": ..., "exit_code": N}`:
    stdout keeps only the command's own JSON (a run that committed but could not read
    every file prints its summary there and exits 5)."""
    if _wants_json():
        import json

        text = message.removeprefix("error: ")
        message = json.dumps({"error": text, "exit_code": code})
    _print_error(message)
    if interrupts.received() is not None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
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
        return interrupts.exit_code(signum), interrupts.outcome_line(signum)
    # The CLI library's own errors, raised only under --json; looked up, not imported,
    # since an interrupt may have cut its import short.
    library_error = getattr(sys.modules.get("typer"), "TyperException", None)
    if library_error is not None and isinstance(error, library_error):
        return int(error.exit_code), f"error: {error.format_message()}"
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
