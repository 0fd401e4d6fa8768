"""The event log: every acknowledged event is on disk before its answer leaves.

Each server process appends to segments of its own (`segment-<UTC start>-<pid>.jsonl`
in the log folder), so processes never share a file or a lock. Appends are group
committed: a request hands its event to the writer thread and waits; the writer takes
everything that is waiting, writes it with one `write` and one `fsync`, and then
releases every waiter at once. Under load one fsync serves many events; an event alone
waits for one fsync.

A segment is JSON Lines, one event a line, each with an `id` (`<segment>:<n>`) that is
unique across segments and the key the warehouse loads events by. A process killed
while writing can leave a last line cut short: that event was never acknowledged (its
fsync had not returned), and the reader reports the line as torn instead of failing.
A segment grows to `segment_bytes` and is then closed; closed segments are what the
warehouse loads.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SEGMENT_PREFIX, SEGMENT_SUFFIX = "segment-", ".jsonl"
OPEN_SUFFIX = ".open"  # a segment still being written: `<name>.jsonl.open`
DEFAULT_SEGMENT_BYTES = 64 << 20


class LogClosed(Exception):
    """The log was closed: the event was not written."""


@dataclass
class _Pending:
    record: dict[str, Any]
    done: Future[str] = field(default_factory=Future)


class EventLog:
    """An append-only, group-committed log of events in `folder`."""

    def __init__(self, folder: Path, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> None:
        self.folder = folder
        self.segment_bytes = segment_bytes
        self.fsyncs = 0  # how many group commits were made (for tests and benchmarks)
        self._pending: list[_Pending] = []
        self._wake = threading.Condition()
        self._closed = False
        self._segment: Path | None = None
        self._stream: Any = None
        self._written = 0
        self._sequence = 0
        folder.mkdir(parents=True, exist_ok=True)
        self._writer = threading.Thread(target=self._write_loop, name="sluice-event-log",
                                         daemon=True)
        self._writer.start()

    def append(self, record: dict[str, Any]) -> Future[str]:
        """Queue an event; the future's result is its id, once the event is on disk."""
        pending = _Pending(record)
        with self._wake:
            if self._closed:
                raise LogClosed("the event log is closed")
            self._pending.append(pending)
            self._wake.notify()
        return pending.done

    def write(self, record: dict[str, Any]) -> str:
        """Append an event and wait until it is on disk; returns its id."""
        return self.append(record).result()

    def close(self) -> None:
        """Write what is waiting, then close the open segment (it becomes a closed
        segment, ready to load)."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._writer.join()

    def _write_loop(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                batch, self._pending = self._pending, []
                closing = self._closed
            if batch:
                self._commit(batch)
            if closing and not batch:
                self._finish_segment()
                return

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            if self._stream is None or self._written >= self.segment_bytes:
                self._finish_segment()
                self._start_segment()
            assert self._segment is not None
            name = self._segment.name.removesuffix(SEGMENT_SUFFIX + OPEN_SUFFIX)
            ids, lines = [], []
            for pending in batch:
                self._sequence += 1
                event_id = f"{name}:{self._sequence}"
                ids.append(event_id)
                lines.append(json.dumps({"id": event_id, **pending.record},
                                        separators=(",", ":")))
            data = ("\n".join(lines) + "\n").encode()
            self._stream.write(data)
            self._stream.flush()
            os.fsync(self._stream.fileno())
            self.fsyncs += 1
            self._written += len(data)
        except BaseException as error:
            for pending in batch:
                pending.done.set_exception(error)
            return
        for pending, event_id in zip(batch, ids, strict=True):
            pending.done.set_result(event_id)

    def _start_segment(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        self._segment = self.folder / f"{SEGMENT_PREFIX}{stamp}-{os.getpid()}{SEGMENT_SUFFIX}{OPEN_SUFFIX}"
        self._stream = self._segment.open("ab")
        self._written = 0
        self._sequence = 0
        _sync_folder(self.folder)

    def _finish_segment(self) -> None:
        if self._stream is None or self._segment is None:
            return
        self._stream.close()
        os.replace(self._segment, self._segment.with_name(
            self._segment.name.removesuffix(OPEN_SUFFIX)))
        _sync_folder(self.folder)
        self._stream = self._segment = None


def _sync_folder(folder: Path) -> None:
    """Make a file's creation or rename durable, as fsync does for its bytes."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class SegmentRead:
    events: list[dict[str, Any]]
    torn: str | None  # the cut-short last line of a segment a killed process left


def segments(folder: Path, include_open: bool = True) -> list[Path]:
    """The log's segments, oldest first; open ones (still written, or left by a killed
    process) only if `include_open`."""
    found = [p for p in folder.glob(f"{SEGMENT_PREFIX}*") if p.name.endswith(SEGMENT_SUFFIX)
             or (include_open and p.name.endswith(SEGMENT_SUFFIX + OPEN_SUFFIX))]
    return sorted(found, key=lambda p: p.name)


def read_segment(path: Path) -> SegmentRead:
    """A segment's events; a last line without its line end is torn, not an event."""
    events: list[dict[str, Any]] = []
    torn = None
    with path.open("rb") as stream:
        for line in stream:
            if not line.endswith(b"\n"):
                torn = line.decode("utf-8", errors="backslashreplace")
                break
            events.append(json.loads(line))
    return SegmentRead(events, torn)


def read_all(folder: Path) -> Iterator[dict[str, Any]]:
    """Every whole event in every segment, oldest segment first."""
    for path in segments(folder):
        yield from read_segment(path).events


def recover(folder: Path) -> list[Path]:
    """Close the open segments that no live process is writing (a server killed, or
    stopped without closing its log): a torn last line is cut off (it was never
    acknowledged) and the segment is renamed as closed. Returns the segments closed."""
    closed = []
    for path in segments(folder):
        if not path.name.endswith(OPEN_SUFFIX) or _writer_alive(path):
            continue
        with path.open("r+b") as stream:
            data = stream.read()
            whole = data.rfind(b"\n") + 1
            if whole < len(data):
                stream.truncate(whole)
                stream.flush()
                os.fsync(stream.fileno())
        final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
        os.replace(path, final)
        closed.append(final)
    if closed:
        _sync_folder(folder)
    return closed


def _writer_alive(path: Path) -> bool:
    """Whether the process that writes this open segment (by the pid in its name) is
    alive; this process's own segments are alive by definition."""
    pid_text = path.name.removesuffix(SEGMENT_SUFFIX + OPEN_SUFFIX).rsplit("-", 1)[-1]
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
