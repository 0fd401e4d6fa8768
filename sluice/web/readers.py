"""How the server reads the warehouse without ever standing in an ingest's way.

The server reads one *generation* of the warehouse at a time: a version of its data, a
pool of read-only connections to it, and a cache of the answers computed from it. A
warehouse changes only when a run commits, so an answer stays right for the whole
generation; the second request for it is a lookup.

- **PostgreSQL** lets readers and a writer work side by side (each statement sees the
  last commit). The version is read from the ledger (`sluice.runs`) once a second; when
  it moves, a new generation starts on the same connections.
- **A DuckDB file** has one writer and no readers beside it: a process that holds it
  read-only keeps an ingest out, and an ingest keeps every reader out. So the server
  never reads the file itself: it reads a *snapshot*, a copy taken while the file was
  free. Once a second it looks at the file's size and time; when they move and no
  writer holds it, it attaches the file read-only (which keeps a writer out for the
  moment it takes), copies it, lets go, and opens the copy. While an ingest runs, the
  server keeps answering from the last snapshot; an ingest that starts during a copy
  waits for it (`SLUICE_LOCK_WAIT`).

A new generation is made ready before it is served: the answers the old one was asked
for most recently are computed again on it first, so a page never waits for a new
version's first query.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from sluice.destinations import is_postgres_url
from sluice.destinations.duckdb_file import CATALOG, open_error
from sluice.errors import SluiceError, UsageError, WarehouseLocked
from sluice.warehouse import Warehouse, resolve_location

LOGGER = logging.getLogger("sluice.serve")
Answer = TypeVar("Answer")
Compute = Callable[[Warehouse], Any]

CHECK_EVERY = 1.0  # seconds between looks for a new version
CACHED_ANSWERS = 2_048  # per generation, the least recently used go first
WARM_ANSWERS = 256  # answers computed again on a new generation before it is served
# The old generation is served meanwhile, so no request waits for the warm-up; this only
# bounds a warm-up that cannot finish (a warehouse that stopped answering).
WARM_SECONDS = 600.0
DEFAULT_READERS = 4
DEDICATED_AT_ONCE = 4  # downloads streaming at once, each on a connection of its own
# The longest a reader's query may run on PostgreSQL; a page asks for small answers.
STATEMENT_TIMEOUT = "30s"


class Busy(Exception):
    """Too much long work at once: answered 503, try again."""


@dataclass
class Generation:
    """One version of the warehouse: its read-only connections and its answers."""

    number: int
    version: Hashable
    pool: queue.Queue[Warehouse]
    size: int
    snapshot: Path | None = None  # the copy it reads, for a DuckDB file
    taken: float = field(default_factory=time.time)
    answers: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict)
    computes: dict[Hashable, Compute] = field(default_factory=dict)
    pending: dict[Hashable, Future[Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    borrowed: int = 0
    retired: bool = False

    @contextlib.contextmanager
    def borrow(self) -> Iterator[Warehouse]:
        with self.lock:
            self.borrowed += 1
        warehouse = self.pool.get()
        try:
            yield warehouse
        finally:
            self.pool.put(warehouse)
            with self.lock:
                self.borrowed -= 1
                idle = self.retired and self.borrowed == 0
            if idle:
                self.close()

    def answer(self, key: Hashable, compute: Compute) -> Any:
        """The answer for `key`, computed once: a request that finds it being computed
        waits for that computation instead of starting its own."""
        with self.lock:
            if key in self.answers:
                self.answers.move_to_end(key)
                return self.answers[key]
            pending = self.pending.get(key)
            mine = pending is None
            if pending is None:
                pending = self.pending[key] = Future()
        if not mine:
            return pending.result()
        try:
            with self.borrow() as warehouse:
                value = compute(warehouse)
        except BaseException as error:
            with self.lock:
                del self.pending[key]
            pending.set_exception(error)
            raise
        with self.lock:
            del self.pending[key]
            self.answers[key] = value
            self.computes[key] = compute
            while len(self.answers) > CACHED_ANSWERS:
                oldest, _ = self.answers.popitem(last=False)
                self.computes.pop(oldest, None)
        pending.set_result(value)
        return value

    def recent(self, count: int) -> list[tuple[Hashable, Compute]]:
        with self.lock:
            keys = list(reversed(self.answers))[:count]
            return [(key, self.computes[key]) for key in keys]

    def retire(self) -> None:
        with self.lock:
            self.retired = True
            idle = self.borrowed == 0
        if idle:
            self.close()

    def close(self) -> None:
        while True:
            try:
                warehouse = self.pool.get_nowait()
            except queue.Empty:
                break
            with contextlib.suppress(Exception):
                warehouse.close()
        if self.snapshot is not None:
            for path in (self.snapshot, self.snapshot.with_name(self.snapshot.name + ".wal")):
                with contextlib.suppress(OSError):
                    path.unlink()


class Readers:
    """The generations of one warehouse, and the thread that notices a new one."""

    def __init__(self, location: str | None, readers: int = DEFAULT_READERS,
                 check_every: float = CHECK_EVERY,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.location = resolve_location(location)
        self.postgres = is_postgres_url(self.location)
        self.readers = max(1, readers)
        self.check_every = check_every
        self._numbers = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._snapshots: Path | None = None
        self._shared: list[Warehouse] = []  # PostgreSQL: one pool for every generation
        self._on_wait = on_wait
        self._dedicated = threading.Semaphore(DEDICATED_AT_ONCE)
        if not self.postgres:
            path = Path(self.location).resolve()
            if path.is_dir():
                raise UsageError(f"warehouse {self.location} is a folder, not a DuckDB file")
            if not path.is_file():
                raise UsageError(f"warehouse {self.location} does not exist; run an ingest "
                                 "first, or name the warehouse with --warehouse or "
                                 "SLUICE_WAREHOUSE")
            self.path = path
        try:
            self.current = self._first_generation()
        except BaseException:
            self._remove_snapshots()
            raise

    # --- the versions ----------------------------------------------------------------------

    def version(self) -> Hashable:
        """What changes when the warehouse does: the ledger's runs (PostgreSQL), or the
        file's and its write-ahead log's size and time (DuckDB)."""
        if self.postgres:
            with self.current.borrow() as warehouse:
                if not warehouse.destination.table_exists("sluice", "runs"):
                    return (0, None, None)
                row = warehouse.destination.query(
                    "SELECT count(*), max(run_id), max(finished) FROM sluice.runs").rows[0]
                return tuple(row)
        return _file_version(self.path)

    def _first_generation(self) -> Generation:
        if self.postgres:
            self._shared = [_open_postgres(self.location) for _ in range(self.readers)]
            pool: queue.Queue[Warehouse] = queue.Queue()
            for warehouse in self._shared:
                pool.put(warehouse)
            generation = Generation(self._next_number(), None, pool, self.readers)
            self.current = generation
            generation.version = self.version()
            return generation
        told = False
        while True:
            try:
                return self._duckdb_generation()
            except WarehouseLocked:
                # A writer has it (an ingest): the first snapshot waits for it to commit.
                if not told and self._on_wait is not None:
                    self._on_wait(f"warehouse {self.path} is being written by another "
                                  "process; serving starts when it has finished")
                    told = True
                time.sleep(0.2)

    def _next_number(self) -> int:
        self._numbers += 1
        return self._numbers

    def _duckdb_generation(self) -> Generation:
        if self._snapshots is None:
            self._snapshots = _snapshot_folder(self.path)
        number = self._next_number()
        snapshot = self._snapshots / f"snapshot-{number}.db"
        version = take_snapshot(self.path, snapshot)
        pool: queue.Queue[Warehouse] = queue.Queue()
        try:
            for _ in range(self.readers):
                pool.put(Warehouse(snapshot, read_only=True))
        except BaseException:
            Generation(number, version, pool, self.readers, snapshot).close()
            raise
        return Generation(number, version, pool, self.readers, snapshot)

    def refresh(self) -> bool:
        """A new generation if the warehouse changed (and is free to copy); whether one
        started."""
        try:
            version = self.version()
        except (SluiceError, duckdb.Error, OSError) as error:
            LOGGER.warning("cannot read the warehouse's version: %s", error)
            return False
        if version == self.current.version:
            return False
        if self.postgres:
            pool: queue.Queue[Warehouse] = self.current.pool
            fresh = Generation(self._next_number(), version, pool, self.readers)
        else:
            try:
                fresh = self._duckdb_generation()
            except WarehouseLocked:
                return False  # an ingest is writing: the last snapshot stands
            except (SluiceError, duckdb.Error, OSError) as error:
                LOGGER.warning("cannot take a snapshot of the warehouse: %s", error)
                return False
        self._warm(fresh)
        old, self.current = self.current, fresh
        if not self.postgres:
            old.retire()
        return True

    def _warm(self, fresh: Generation) -> None:
        """Compute on `fresh` what the current generation was asked for lately, on half
        the connections (the other half goes on serving the current one, on PostgreSQL
        where the two share them)."""
        deadline = time.monotonic() + WARM_SECONDS

        def warm(key: Hashable, compute: Compute) -> None:
            if time.monotonic() < deadline:
                with contextlib.suppress(Exception):  # fails again, with its message, when asked
                    fresh.answer(key, compute)

        recent = list(reversed(self.current.recent(WARM_ANSWERS)))
        with ThreadPoolExecutor(max(1, self.readers // 2), "sluice-serve-warm") as workers:
            for _ in workers.map(lambda item: warm(*item), recent):
                pass

    # --- serving ---------------------------------------------------------------------------

    def answer(self, key: Hashable, compute: Callable[[Warehouse], Answer]) -> Answer:
        """`compute`'s value on the current generation, computed once per generation."""
        value: Answer = self.current.answer(key, compute)
        return value

    @contextlib.contextmanager
    def dedicated(self) -> Iterator[Warehouse]:
        """A read-only warehouse of the current generation of its own, for long work (a
        download that streams as fast as its client reads): it never holds one of the
        pool's connections, so it never holds up other requests. At most
        `DEDICATED_AT_ONCE` at a time; past that, `Busy`."""
        if not self._dedicated.acquire(blocking=False):
            raise Busy("too many downloads in progress; try again when one has finished")
        try:
            generation = self.current
            location = str(generation.snapshot) if generation.snapshot else self.location
            warehouse = (_open_postgres(location) if self.postgres
                         else Warehouse(location, read_only=True))
            try:
                yield warehouse
            finally:
                warehouse.close()
        finally:
            self._dedicated.release()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="sluice-serve-versions",
                                        daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.check_every):
            try:
                self.refresh()
            except Exception:  # the watcher must outlive any one failure
                LOGGER.exception("looking for a new warehouse version failed")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.current.retire()
        for warehouse in self._shared:
            with contextlib.suppress(Exception):
                warehouse.close()
        self._remove_snapshots()

    def _remove_snapshots(self) -> None:
        if self._snapshots is not None:
            shutil.rmtree(self._snapshots, ignore_errors=True)
            with contextlib.suppress(OSError):
                self._snapshots.parent.rmdir()  # the spill folder, if nothing else is in it


def _snapshot_folder(path: Path) -> Path:
    """A folder of this process's own for snapshots, in the warehouse's own spill folder
    beside it (same disk; never read as input). Folders that servers no longer running
    left there (a SIGKILL) are removed first."""
    spill = path.with_name(path.name + ".tmp")
    spill.mkdir(exist_ok=True)
    for left in spill.glob("serve-*-*"):
        pid = left.name.split("-")[1]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(left, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"serve-{os.getpid()}-", dir=spill))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _file_version(path: Path) -> Hashable:
    def stamp(file: Path) -> tuple[int, int] | None:
        try:
            status = file.stat()
        except FileNotFoundError:
            return None
        return status.st_size, status.st_mtime_ns

    return stamp(path), stamp(path.with_name(path.name + ".wal"))


def take_snapshot(path: Path, snapshot: Path) -> Hashable:
    """Copy the warehouse file (and its write-ahead log, if a writer left one) to
    `snapshot` while holding it read-only, so no writer can change it meanwhile; the
    version copied. Raises WarehouseLocked while a writer holds it."""
    engine = duckdb.connect(":memory:")
    try:
        try:
            engine.execute(f"ATTACH ? AS {CATALOG} (READ_ONLY)", [str(path)])
        except duckdb.Error as error:
            raise open_error(path, error) from None
        version = _file_version(path)
        shutil.copyfile(path, snapshot)
        wal = path.with_name(path.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, snapshot.with_name(snapshot.name + ".wal"))
        return version
    finally:
        engine.close()


def _open_postgres(location: str) -> Warehouse:
    warehouse = Warehouse(location, read_only=True)
    warehouse.destination.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
    return warehouse


