"""A run from start to end: recorded as running, then committed whole, or rolled back
and marked failed or interrupted with no counts, its quarantine copies removed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

from sluice import interrupts, ledger
from sluice.errors import InputNotRead, RunInterrupted, user_message
from sluice.faults import crash_point
from sluice.ledger import FAILED, INTERRUPTED, RunSummary
from sluice.quarantine import discard_copies, publish_copies
from sluice.warehouse import Warehouse


@contextmanager
def recorded_run(warehouse: Warehouse, pipeline: str, verb: str) -> Iterator[RunSummary]:
    """The body does the run's work and commits it (ledger.record_files inside its
    transaction); any exception, Ctrl-C or SIGTERM before that rolls it back."""
    run = ledger.start_run(warehouse, pipeline, verb)
    try:
        yield run
    except BaseException as error:
        _end_rolled_back(warehouse, run, error)
        raise
    interrupts.note_committed(run.run_id)
    publish_copies(warehouse, run.run_id)


@contextmanager
def committing(warehouse: Warehouse, run: RunSummary) -> Iterator[None]:
    """The run's one transaction: the body writes the run's rows; then the ledger's rows
    are written (each input's counts must balance, else everything rolls back) and the
    transaction commits. The crash point tests kill the process at sits here, after every
    write and before the commit."""
    with warehouse.transaction():
        yield
        for write in run.in_transaction:
            write(warehouse)
        ledger.record_files(warehouse, run)
        crash_point("before-commit")


def _end_rolled_back(warehouse: Warehouse, run: RunSummary, error: BaseException) -> None:
    if ledger.committed(warehouse, run.run_id):
        interrupts.note_committed(run.run_id)
        publish_copies(warehouse, run.run_id)
        return
    discard_copies(warehouse, run.run_id)
    signum = interrupts.received()
    if signum is None and not isinstance(error, KeyboardInterrupt):
        _mark(warehouse, run, FAILED, user_message(error))
        return
    signum = signum or interrupts.HANDLED[0]
    _mark(warehouse, run, INTERRUPTED, f"interrupted by {interrupts.name(signum)}")
    raise RunInterrupted(
        f"interrupted ({interrupts.name(signum)}): run {run.run_id} was rolled back; "
        "nothing was committed", interrupts.exit_code(signum)) from None


def _mark(warehouse: Warehouse, run: RunSummary, status: str, error: str) -> None:
    # If even this fails, the run stays `running` and the next run marks it interrupted.
    with contextlib.suppress(Exception):
        ledger.end_run(warehouse, run, status, error)


def check_all_read(run: RunSummary) -> None:
    """After a committed run: exit 5 if some input could not be read."""
    if run.unreadable:
        raise InputNotRead(
            f"{run.unreadable:,} of {run.file_count:,} files could not be read (status "
            f"unreadable, with the reason, in the ledger); the rest was committed in "
            f"run {run.run_id}")
