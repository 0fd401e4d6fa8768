"""The log's group commits into the aggregates, from a thread of its own.

A request is answered once its event is on disk; counting it is this thread's work. It
takes every commit that has piled up while it was busy and applies them as one batch per
segment, after lingering `LINGER` seconds for more (a Redis round trip costs about as much
for one event as for a hundred, so under load the batches grow and the cost per event
falls, as with the log's group commit). The
aggregates are behind the log by at most one such round trip; `LoggedStore` waits for
that before it answers a dashboard, so a client reads its own writes.

If the aggregates' store fails, the batch is dropped and nothing is tried for
`RETRY_AFTER` seconds: the events are in the log, and the server's housekeeping applies
what is missing once the store is back (a batch applies only right after its segment's
mark, so nothing counts twice).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sluice.pipelines.events.aggregates import Aggregates

RETRY_AFTER = 5.0
LINGER = 0.002  # seconds a batch waits for more commits to join it
LOGGER = logging.getLogger("sluice.events")


@dataclass
class _Commit:
    segment: str
    first: int
    offset: int
    events: list[dict[str, Any]] = field(default_factory=list)

    def follows(self, other: _Commit) -> bool:
        return self.segment == other.segment and self.first == other.first + len(other.events)


class BackgroundApplier:
    """Called with each group commit of the log (its `on_commit`); applies them from a
    thread, several at a time."""

    def __init__(self, aggregates: Aggregates) -> None:
        self.aggregates = aggregates
        self._waiting: list[_Commit] = []
        self._wake = threading.Condition()
        self._closed = False
        self._retry_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="sluice-events-applier",
                                        daemon=True)
        self._thread.start()

    def __call__(self, segment: str, first: int, offset: int,
                 events: Sequence[dict[str, Any]]) -> None:
        with self._wake:
            self._waiting.append(_Commit(segment, first, offset, list(events)))
            self._wake.notify()

    def close(self) -> None:
        """Apply what is waiting, then stop."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._waiting and not self._closed:
                    self._wake.wait()
                if not self._closed:
                    # Let more commits join: the round trip costs the same for them all.
                    self._wake.wait_for(lambda: self._closed, LINGER)
                commits, self._waiting = self._waiting, []
                closing = self._closed
            for batch in _merged(commits):
                self._apply(batch)
            if closing and not commits:
                return

    def _apply(self, batch: _Commit) -> None:
        if self._retry_at is not None and time.monotonic() < self._retry_at:
            return
        try:
            self.aggregates.apply(batch.segment, batch.first, batch.offset, batch.events)
        except Exception as error:
            if self._retry_at is None:
                LOGGER.warning("events are logged but not yet counted: %s", error)
            self._retry_at = time.monotonic() + RETRY_AFTER
        else:
            self._retry_at = None


def _merged(commits: list[_Commit]) -> list[_Commit]:
    """Consecutive commits of one segment as one batch."""
    merged: list[_Commit] = []
    for commit in commits:
        if merged and commit.follows(merged[-1]):
            merged[-1].events.extend(commit.events)
            merged[-1].offset = commit.offset
        else:
            merged.append(commit)
    return merged
