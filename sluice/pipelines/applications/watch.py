"""`sluice applications watch`: process the inbox when files arrive and on a schedule.

Three things wake the watcher, each from a well-kept library: the file system's change
notifications (watchfiles, on inotify), a schedule (APScheduler's interval trigger: at
least once every `every` minutes, whatever the notifications did), and a one-off timer
for files that were still being written (taken once they have stopped changing). The
main thread only waits for a wake-up and runs a pass; a pass opens the warehouse and
closes it, so between passes other commands can use the warehouse.

Ctrl-C or SIGTERM while waiting stops the watcher at once; during a pass it rolls the
pass's run back (its files stay in the inbox for the next start) and stops.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from watchfiles import Change, watch

from sluice import interrupts
from sluice.errors import LedgerMismatch, SluiceError, WarehouseLocked
from sluice.pipelines.applications.inbox import SUFFIXES, Inbox, InboxPass, process
from sluice.progress import Progress, no_progress
from sluice.warehouse import Warehouse

# Notifications that come together (a file written in several steps) make one pass.
DEBOUNCE_MS = 500
WAKE_START, WAKE_FILES, WAKE_SCHEDULE, WAKE_WAITING = "start", "files", "schedule", "waiting"
_STOPPED_WATCHING = "stopped-watching"
SHUTDOWN_SECONDS = 5


def watch_inbox(inbox: Inbox, warehouse: str | None, every_minutes: float,
                on_pass: Callable[[str, InboxPass], None],
                on_error: Callable[[BaseException], None],
                progress: Progress = no_progress) -> None:
    """Run passes until a signal: one that comes while waiting ends the watch (the
    function returns); one during a pass interrupts the pass (RunInterrupted, or
    KeyboardInterrupt after its run committed) and propagates. A pass that cannot run
    now (another process holds the warehouse) or was rolled back (its counts did not
    balance) is reported through `on_error`, and the watcher goes on; any other error
    stops it."""
    wake: queue.Queue[str] = queue.Queue()
    stop = threading.Event()
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(wake.put, "interval", minutes=every_minutes, args=[WAKE_SCHEDULE],
                      id="every")
    watcher = threading.Thread(target=_watch_files, args=(inbox.inbox, wake, stop),
                               name="sluice-watch-files", daemon=True)
    scheduler.start()
    watcher.start()
    wake.put(WAKE_START)
    try:
        while True:
            try:
                reason = wake.get()
            except KeyboardInterrupt:
                return  # stopped while waiting: no run was open
            if reason == _STOPPED_WATCHING:
                raise SluiceError(f"stopped watching {inbox.inbox}: the folder is gone or "
                                  "cannot be read")
            _drain(wake)
            committed_before = interrupts.committed_run()
            try:
                with Warehouse(warehouse) as opened:
                    done = process(opened, inbox, progress)
                on_pass(reason, done)
            except (WarehouseLocked, LedgerMismatch) as error:
                on_error(error)  # another run holds the warehouse, say: try again later
                continue
            except KeyboardInterrupt:
                # A run rolled back raises RunInterrupted instead. A run that committed
                # in this pass may still have outputs to publish: say so (the next
                # start settles them). Otherwise no run was open: a clean stop.
                if interrupts.committed_run() != committed_before:
                    raise
                return
            if done.waiting:
                soonest = min(seconds for _, seconds in done.waiting)
                scheduler.add_job(
                    wake.put, "date", args=[WAKE_WAITING], id="waiting", replace_existing=True,
                    run_date=datetime.now(UTC) + timedelta(seconds=soonest + 0.2))
    finally:
        stop.set()
        # Bounded: a signal that landed while a lock of the scheduler or the queue was
        # held must not keep the process from ending (its threads are daemons).
        closer = threading.Thread(target=_shut_down, args=(scheduler,), daemon=True)
        closer.start()
        closer.join(timeout=SHUTDOWN_SECONDS)
        watcher.join(timeout=SHUTDOWN_SECONDS)


def _shut_down(scheduler: BackgroundScheduler) -> None:
    with contextlib.suppress(Exception):
        scheduler.shutdown(wait=False)


def _drain(wake: queue.Queue[str]) -> None:
    """Wake-ups that came while waiting or during the last pass: one pass serves them."""
    with contextlib.suppress(queue.Empty):
        while True:
            if wake.get_nowait() == _STOPPED_WATCHING:
                wake.put(_STOPPED_WATCHING)
                return


def _watch_files(folder: Path, wake: queue.Queue[str], stop: threading.Event) -> None:
    """Wake the main thread when an input file (or a folder, which may hold some)
    appears or changes under `folder`; tell it when `folder` itself is gone."""
    try:
        for changes in watch(folder, watch_filter=_filter_for(folder), stop_event=stop,
                             debounce=DEBOUNCE_MS, recursive=True, raise_interrupt=False):
            if not folder.is_dir():
                break
            if changes:
                wake.put(WAKE_FILES)
    except Exception:  # the notifier failed: the folder is gone or cannot be watched
        pass
    if not stop.is_set():
        wake.put(_STOPPED_WATCHING)


def _filter_for(folder: Path) -> Callable[[Change, str], bool]:
    inbox = str(folder)

    def wanted(change: Change, path: str) -> bool:
        if path == inbox:
            return change == Change.deleted  # the inbox itself went away
        if change == Change.deleted:
            return False
        # A folder moved in (or made and filled at once) is reported as the folder only.
        return path.lower().endswith(SUFFIXES) or os.path.isdir(path)

    return wanted
