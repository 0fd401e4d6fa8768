"""The event log: every acknowledged event is on disk before its answer leaves.

Each server process appends to segments of its own (`segment-<UTC start>-<pid>.jsonl.open`
in the log folder; `closed/segment-<UTC start>-<pid>.jsonl` once closed), so processes
never share a file or a lock. Appends are group
committed: a request hands its event to the writer thread and waits; the writer takes
everything that is waiting, writes it with one `write` and one `fsync`, and then
releases every waiter at once. Under load one fsync serves many events; an event alone
waits for one fsync.

A segment is JSON Lines, one event a line, each with an `id` (`<segment>:<n>`) that is
unique across segments and the key the warehouse loads events by. A process killed
while writing can leave a last line cut short: that event was never acknowledged (its
fsync had not returned), and the reader reports the line as torn instead of failing.
A segment is closed when it reaches `segment_bytes` or has been open for
`seal_after` seconds, whichever comes first; closed segments are what the warehouse
loads. After each group commit the batch is handed to `on_commit`, if one is given,
before the waiters are released (the service counts events from the log instead).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sluice.pipelines.events.settings import DEFAULT_SEAL_AFTER as DEFAULT_SEAL_AFTER

SEGMENT_PREFIX, SEGMENT_SUFFIX = "segment-", ".jsonl"
OPEN_SUFFIX = ".open"  # a segment still being written: `<name>.jsonl.open`
CLOSED = "closed"  # the subfolder closed segments move to
DEFAULT_SEGMENT_BYTES = 64 << 20
LOGGER = logging.getLogger("sluice.events")

# Told of each group commit: the segment's name, the number of its first event in the
# batch, the byte offset after the batch, and the batch's events.
OnCommit = Callable[[str, int, int, Sequence[dict[str, Any]]], object]


class LogClosed(Exception):
    """The log was closed: the event was not written."""


@dataclass
class _Pending:
    record: dict[str, Any]
    done: Future[str] | asyncio.Future[str]


class EventLog:
    """An append-only, group-committed log of events in `folder`."""

    def __init__(self, folder: Path, segment_bytes: int = DEFAULT_SEGMENT_BYTES,
                 seal_after: float = DEFAULT_SEAL_AFTER, on_commit: OnCommit | None = None
                 ) -> None:
        self.folder = folder
        self.segment_bytes = segment_bytes
        self.seal_after = seal_after
        self.on_commit = on_commit
        self._opened_at = 0.0
        self.fsyncs = 0  # how many group commits were made (for tests and benchmarks)
        self._pending: list[_Pending] = []
        self._turn: list[_Pending] = []  # events from the event loop, this turn of it
        self._wake = threading.Condition()
        self._io = threading.Lock()  # the open segment: the writer thread or the loop
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
        done: Future[str] = Future()
        with self._wake:
            if self._closed:
                raise LogClosed("the event log is closed")
            self._pending.append(_Pending(record, done))
            self._wake.notify()
        return done

    def write(self, record: dict[str, Any]) -> str:
        """Append an event and wait until it is on disk; returns its id."""
        return self.append(record).result()

    async def write_async(self, record: dict[str, Any]) -> str:
        """Append an event from the event loop and wait until it is on disk; returns
        its id. The events of one turn of the loop are committed together, on the loop
        itself (one write, one fsync, as Redis's own append-only file does), so waiting
        takes no thread and no hand-over between threads."""
        if self._closed:
            raise LogClosed("the event log is closed")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str] = loop.create_future()
        self._turn.append(_Pending(record, done))
        if len(self._turn) == 1:
            loop.call_soon(self._commit_turn)
        return await done

    def _commit_turn(self) -> None:
        batch, self._turn = self._turn, []
        self._commit(batch)

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
                while not self._pending and not self._closed and not self._due():
                    # At least once a second: the loop may have opened a segment.
                    self._wake.wait(min(self._until_due(), 1.0))
                batch, self._pending = self._pending, []
                closing = self._closed
            if batch:
                self._commit(batch)
            elif closing:
                with self._io:
                    self._finish_segment()
                return
            elif self._due():
                with self._io:
                    if self._due():
                        self._finish_segment()

    def _due(self) -> bool:
        """Whether the open segment has been open for `seal_after` seconds."""
        return self._stream is not None and time.monotonic() - self._opened_at >= self.seal_after

    def _until_due(self) -> float:
        if self._stream is None:
            return self.seal_after
        return max(0.0, self._opened_at + self.seal_after - time.monotonic())

    def _commit(self, batch: list[_Pending]) -> None:
        with self._io:
            self._commit_batch(batch)

    def _commit_batch(self, batch: list[_Pending]) -> None:
        first = 0
        try:
            if self._stream is None or self._written >= self.segment_bytes or self._due():
                self._finish_segment()
                self._start_segment()
            assert self._segment is not None
            name = segment_name(self._segment)
            first = self._sequence + 1
            ids, lines = [], []
            for pending in batch:
                self._sequence += 1
                event_id = f"{name}:{self._sequence}"
                ids.append(event_id)
                lines.append(json.dumps({"id": event_id, **pending.record},
                                        separators=(",", ":")))
            data = memoryview(("\n".join(lines) + "\n").encode())
            while data:  # an unbuffered write may take part of it
                data = data[self._stream.write(data):]
            os.fsync(self._stream.fileno())
            self.fsyncs += 1
            self._written = self._stream.tell()
        except BaseException as error:
            if first:
                self._undo(first - 1)
            for pending in batch:
                if not pending.done.done():  # a request given up on is cancelled
                    pending.done.set_exception(error)
            return
        self._tell(name, first, [pending.record for pending in batch])
        for pending, event_id in zip(batch, ids, strict=True):
            if not pending.done.done():
                pending.done.set_result(event_id)

    def _undo(self, sequence: int) -> None:
        """After a failed commit: its numbers are free again and whatever part of it
        reached the file is cut off, so the segment stays whole lines numbered 1, 2, ..."""
        self._sequence = sequence
        if self._stream is None:
            return
        try:
            os.ftruncate(self._stream.fileno(), self._written)
        except OSError as error:
            LOGGER.error("the log could not cut off a failed write: %s", error)

    def _tell(self, name: str, first: int, records: list[dict[str, Any]]) -> None:
        """Hand the batch to `on_commit`. The events are on disk whatever happens here:
        what `on_commit` misses is caught up later from the log."""
        if self.on_commit is None:
            return
        try:
            self.on_commit(name, first, self._written, records)
        except Exception as error:
            LOGGER.warning("events are logged but not yet counted: %s", error)

    def _start_segment(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        self._segment = self.folder / f"{SEGMENT_PREFIX}{stamp}-{os.getpid()}{SEGMENT_SUFFIX}{OPEN_SUFFIX}"
        self._stream = self._segment.open("ab", buffering=0)
        self._written = 0
        self._sequence = 0
        self._opened_at = time.monotonic()
        _sync_folder(self.folder)

    def _finish_segment(self) -> None:
        if self._stream is None or self._segment is None:
            return
        self._stream.close()
        _close(self._segment)
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
    found = closed_segments(folder) + (open_segments(folder) if include_open else [])
    return sorted(found, key=lambda p: p.name)


def open_segments(folder: Path) -> list[Path]:
    """The segments being written (or left open by a killed process): the log folder
    holds only these, so finding them costs the same however long the log grows."""
    return sorted(folder.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}{OPEN_SUFFIX}"))


def closed_segments(folder: Path) -> list[Path]:
    return sorted((folder / CLOSED).glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}"))


def closed_path(folder: Path, name: str) -> Path:
    """Where the segment `name` is once closed."""
    return folder / CLOSED / f"{name}{SEGMENT_SUFFIX}"


def _close(path: Path) -> Path:
    """Move an open segment into the closed folder, durably."""
    closed = path.parent / CLOSED
    closed.mkdir(exist_ok=True)
    final = closed_path(path.parent, segment_name(path))
    os.replace(path, final)
    _sync_folder(closed)
    _sync_folder(path.parent)
    return final


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


def segment_name(path: Path) -> str:
    """A segment's name as its events' ids carry it: the file name without suffixes."""
    return path.name.removesuffix(OPEN_SUFFIX).removesuffix(SEGMENT_SUFFIX)


def read_from(path: Path, offset: int) -> Iterator[tuple[dict[str, Any], int]]:
    """A segment's whole lines from byte `offset` on: each event with the offset after it."""
    with path.open("rb") as stream:
        stream.seek(offset)
        for line in stream:
            if not line.endswith(b"\n"):
                return
            offset += len(line)
            yield _event(line), offset


def _event(line: bytes) -> dict[str, Any]:
    """A line as an event; one that is not a JSON object (a segment edited by hand) is
    an event of kind `unreadable`: counted nowhere, quarantined when loaded."""
    try:
        event = json.loads(line)
    except ValueError:
        return {"kind": "unreadable"}
    return event if isinstance(event, dict) else {"kind": "unreadable"}


def read_all(folder: Path) -> Iterator[dict[str, Any]]:
    """Every whole event in every segment, oldest segment first."""
    for path in segments(folder):
        yield from read_segment(path).events


def recover(folder: Path) -> list[Path]:
    """Close the open segments that no live process is writing (a server killed, or
    stopped without closing its log): a torn last line is cut off (it was never
    acknowledged) and the segment is renamed as closed. Returns the segments closed."""
    closed = []
    for path in open_segments(folder):
        if _writer_alive(path):
            continue
        with path.open("r+b") as stream:
            data = stream.read()
            whole = data.rfind(b"\n") + 1
            if whole < len(data):
                stream.truncate(whole)
                stream.flush()
                os.fsync(stream.fileno())
        closed.append(_close(path))
    return closed


def live_writers(folder: Path) -> list[int]:
    """The live processes writing to the log: the pids of its open segments' writers."""
    return sorted({_writer_pid(path) for path in open_segments(folder)
                   if _writer_alive(path)})


def _writer_pid(path: Path) -> int:
    text = path.name.removesuffix(SEGMENT_SUFFIX + OPEN_SUFFIX).rsplit("-", 1)[-1]
    return int(text) if text.isdigit() else -1


def _writer_alive(path: Path) -> bool:
    """Whether the process that writes this open segment (by the pid in its name) is
    alive; this process's own segments are alive by definition."""
    pid = _writer_pid(path)
    if pid < 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A process that has ended but not been reaped (its parent died first, say, where
    nothing reaps orphans): it writes nothing, though a signal still finds it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].startswith(("Z", "X"))
