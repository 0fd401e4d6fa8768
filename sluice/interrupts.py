"""Ctrl-C and SIGTERM: the first one interrupts the run, later ones wait for its cleanup.

Both signals raise KeyboardInterrupt where Python next runs. Inside a DuckDB query the
engine notices it, stops the query and raises its own "Query interrupted" error; so the
signal is also remembered here, and whoever cleans up asks `received()` rather than
trusting the exception's type. Once a signal has arrived, more of them only wait: a
second Ctrl-C must not cut the rollback short.
"""

from __future__ import annotations

import signal
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM)
_received: int | None = None
_committed_run: int | None = None


def install() -> None:
    for signum in HANDLED:
        signal.signal(signum, _on_signal)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _received
    if _received is not None:
        return
    _received = signum
    raise KeyboardInterrupt


def received() -> int | None:
    """The signal that interrupted this process, if one did."""
    return _received


def name(signum: int) -> str:
    return signal.Signals(signum).name


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + signum


def note_committed(run_id: int) -> None:
    """A run committed: a signal after this must not claim that nothing was."""
    global _committed_run
    _committed_run = run_id


def committed_run() -> int | None:
    """The last run this process committed, if any."""
    return _committed_run


def outcome_line(signum: int) -> str:
    """The one line printed when a signal ends the process outside a run's rollback."""
    if _committed_run is not None:
        return (f"interrupted ({name(signum)}) after run {_committed_run} committed; "
                "its summary may be incomplete (sluice runs shows it)")
    return f"interrupted ({name(signum)}): nothing was committed"


def stopped_cleanly() -> None:
    """A long-running command (a watcher) was stopped by a signal while no run was open:
    that is how it is meant to stop, so the process exits 0."""
    global _received
    _received = None
