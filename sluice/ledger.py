"""The ledger (schema `sluice`): one row per run, one per input file, and the proof
that every record read was loaded, counted as a duplicate, or rejected."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sluice.errors import LedgerMismatch
from sluice.paths import shown
from sluice.quarantine import settle_partial_folders, supersede_earlier
from sluice.warehouse import Result, Warehouse

LEDGER_DDL = """
CREATE SCHEMA IF NOT EXISTS sluice;
CREATE SEQUENCE IF NOT EXISTS sluice.run_ids START 1;
CREATE SEQUENCE IF NOT EXISTS sluice.file_ids START 1;
CREATE TABLE IF NOT EXISTS sluice.runs (
    run_id      BIGINT PRIMARY KEY,
    pipeline    VARCHAR NOT NULL,
    verb        VARCHAR NOT NULL,
    started     TIMESTAMP NOT NULL,
    finished    TIMESTAMP,
    status      VARCHAR NOT NULL,  -- running, succeeded, failed, interrupted
    files       INTEGER,
    files_skipped INTEGER,
    records_read BIGINT,
    loaded      BIGINT,
    duplicates  BIGINT,
    rejected    BIGINT,
    error       VARCHAR
);
CREATE TABLE IF NOT EXISTS sluice.files (
    file_id     BIGINT PRIMARY KEY,
    run_id      BIGINT NOT NULL,
    pipeline    VARCHAR NOT NULL,
    path        VARCHAR NOT NULL,
    size        BIGINT NOT NULL,
    modified_ns BIGINT NOT NULL,
    sha256      VARCHAR NOT NULL,
    status      VARCHAR NOT NULL,  -- loaded, rejected, skipped, unreadable
    records_read BIGINT NOT NULL,
    loaded      BIGINT NOT NULL,
    duplicates  BIGINT NOT NULL,
    rejected    BIGINT NOT NULL,
    note        VARCHAR
);
"""

# A summary lists this many files at most; sluice.files has them all.
DETAILS_LIMIT = 1_000
RUNNING, SUCCEEDED, FAILED, INTERRUPTED = "running", "succeeded", "failed", "interrupted"
# A file's status, decided here from its counts and what happened to it:
# loaded (read; some record loaded or counted a duplicate), rejected (read; every record
# it held rejected), skipped (not input, or content loaded before), unreadable.
LOADED, REJECTED, SKIPPED, UNREADABLE = "loaded", "rejected", "skipped", "unreadable"
FILE_STATUSES = (LOADED, REJECTED, SKIPPED, UNREADABLE)


@dataclass(slots=True)
class InputFile:
    """One input offered to a run, identified by its content: a file (its path), or an
    input that is not a file, such as an HTTP response or a batch of events (`of_bytes`,
    or an intake entry's `identity`: a URL or a batch name). Its row in `sluice.files` carries the identity as `path`."""

    path: Path
    size: int
    modified_ns: int
    sha256: str
    file_id: int = 0
    status: str = LOADED
    records_read: int = 0
    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    note: str | None = None
    identity: str | None = None  # for an input that is not a file

    @property
    def shown(self) -> str:
        """The input as the ledger names it."""
        return self.identity if self.identity is not None else shown(self.path)

    @property
    def label(self) -> str:
        """The input as a table row names it: the file's name, or its identity."""
        return self.identity if self.identity is not None else shown(self.path.name)

    @classmethod
    def of_bytes(cls, identity: str, content: bytes, file_id: int) -> InputFile:
        """An input that is not a file: its identity, size and checksum (no modification
        time: 0)."""
        return cls(Path(), len(content), 0, hashlib.sha256(content).hexdigest(),
                   file_id=file_id, identity=identity)

    @property
    def balanced(self) -> bool:
        return self.records_read == self.loaded + self.duplicates + self.rejected


@dataclass
class RunSummary:
    run_id: int
    pipeline: str
    verb: str = "ingest"
    status: str = RUNNING
    files: list[InputFile] = field(default_factory=list)
    # Files loaded whole with nothing to report (read = loaded = one record each), counted
    # but not listed: a run over a million small files keeps no object per file.
    clean_files: int = 0
    # Writes of the run's own, done in its transaction just before the ledger's rows.
    in_transaction: list[Callable[[Warehouse], None]] = field(default_factory=list)

    def total(self, counter: str) -> int:
        listed = sum(int(getattr(f, counter)) for f in self.files)
        return listed + (self.clean_files if counter in ("records_read", "loaded") else 0)

    @property
    def file_count(self) -> int:
        return len(self.files) + self.clean_files

    @property
    def skipped(self) -> int:
        return sum(1 for f in self.files if f.status == SKIPPED)

    @property
    def unreadable(self) -> int:
        return sum(1 for f in self.files if f.status == UNREADABLE)

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "status": self.status,
            "files": self.file_count,
            "files_skipped": self.skipped,
            "files_unreadable": self.unreadable,
            "read": self.total("records_read"),
            "loaded": self.total("loaded"),
            "duplicates": self.total("duplicates"),
            "rejected": self.total("rejected"),
            "file_details": [
                {
                    "path": f.shown,
                    "status": f.status,
                    "sha256": f.sha256,
                    "read": f.records_read,
                    "loaded": f.loaded,
                    "duplicates": f.duplicates,
                    "rejected": f.rejected,
                    "note": f.note,
                }
                for f in self.files[:DETAILS_LIMIT]
            ],
            "file_details_omitted": max(0, len(self.files) - DETAILS_LIMIT),
        }


def ensure_ledger(warehouse: Warehouse) -> None:
    warehouse.destination.execute(LEDGER_DDL)


def start_run(warehouse: Warehouse, pipeline: str, verb: str) -> RunSummary:
    """Record a run as running, in its own commit, so that a crash leaves a trace.

    Holding the warehouse's write lock proves that no other run is alive, so any run
    still marked running was cut off: it is marked interrupted, and the quarantine
    copies a killed run left behind are settled.
    """
    ensure_ledger(warehouse)
    destination = warehouse.destination
    destination.execute(
        "UPDATE sluice.runs SET status = ?, error = 'process ended before the run committed' "
        "WHERE status = ?",
        [INTERRUPTED, RUNNING],
    )
    settle_partial_folders(warehouse, lambda run_id: committed(warehouse, run_id))
    run_id = destination.reserve_ids("sluice.run_ids", 1)
    destination.execute(
        "INSERT INTO sluice.runs (run_id, pipeline, verb, started, status) VALUES (?, ?, ?, ?, ?)",
        [run_id, pipeline, verb, _now(), RUNNING],
    )
    return RunSummary(run_id=run_id, pipeline=pipeline, verb=verb)


def committed(warehouse: Warehouse, run_id: int) -> bool:
    status = warehouse.destination.scalar("SELECT status FROM sluice.runs WHERE run_id = ?",
                                          [run_id])
    return bool(status == SUCCEEDED)


def record_files(warehouse: Warehouse, run: RunSummary) -> None:
    """Write the run's file rows and totals; call inside the run's transaction."""
    for f in run.files:
        if f.status == LOADED and f.records_read and f.rejected == f.records_read:
            f.status = REJECTED
        if f.status not in FILE_STATUSES:
            raise ValueError(f"unknown file status {f.status!r}")
        if not f.balanced:
            raise LedgerMismatch(
                f"{f.path}: read {f.records_read} != loaded {f.loaded} + duplicates "
                f"{f.duplicates} + rejected {f.rejected}; the run was rolled back"
            )
    rows = [
        (f.file_id, run.run_id, run.pipeline, f.shown, f.size, f.modified_ns, f.sha256,
         f.status, f.records_read, f.loaded, f.duplicates, f.rejected, f.note)
        for f in run.files
    ]
    warehouse.destination.insert_rows("sluice.files", rows)
    supersede_earlier(warehouse, run.run_id, run.pipeline)
    run.status = SUCCEEDED
    warehouse.destination.execute(
        "UPDATE sluice.runs SET finished = ?, status = ?, files = ?, files_skipped = ?, "
        "records_read = ?, loaded = ?, duplicates = ?, rejected = ?, error = NULL "
        "WHERE run_id = ?",
        [_now(), SUCCEEDED, run.file_count, run.skipped, run.total("records_read"),
         run.total("loaded"), run.total("duplicates"), run.total("rejected"), run.run_id],
    )


def record_whole_files(warehouse: Warehouse, run: RunSummary, engine_sql: str) -> None:
    """Ledger rows for files read whole, each one record loaded, straight from an engine
    query (columns file_id, path, size, modified_ns, sha256): a run over a million small
    files keeps no Python object per file. They are counted in `run.clean_files`."""
    warehouse.destination.push(
        "sluice.files", ["file_id", "run_id", "pipeline", "path", "size", "modified_ns",
                         "sha256", "status", "records_read", "loaded", "duplicates",
                         "rejected"],
        f"SELECT file_id, ? AS run_id, ? AS pipeline, path, size, modified_ns, sha256, "
        f"'{LOADED}' AS status, 1 AS records_read, 1 AS loaded, 0 AS duplicates, "
        f"0 AS rejected FROM ({engine_sql})", [run.run_id, run.pipeline])


def end_run(warehouse: Warehouse, run: RunSummary, status: str, error: str) -> None:
    """Mark a rolled-back run failed or interrupted, in its own commit, with no counts:
    nothing it read was kept. A run that committed before the error stays succeeded."""
    warehouse.destination.execute(
        "UPDATE sluice.runs SET finished = ?, status = ?, error = ? "
        "WHERE run_id = ? AND status = ?",
        [_now(), status, error, run.run_id, RUNNING],
    )
    if not committed(warehouse, run.run_id):
        run.status = status


def next_file_id(warehouse: Warehouse) -> int:
    return next_file_ids(warehouse, 1)[0]


def next_file_ids(warehouse: Warehouse, count: int) -> list[int]:
    if count <= 0:
        return []
    first = warehouse.destination.reserve_ids("sluice.file_ids", count)
    return list(range(first, first + count))


def known_sha256(warehouse: Warehouse, pipeline: str, offered: InputFile) -> str | None:
    """The checksum recorded for a file with the same path, size and modification time.

    Trusting it (as make and rsync do) makes re-offering a loaded file cost a stat,
    whatever its size; any change to the file changes its size or modification time.
    """
    known = warehouse.destination.scalar(
        "SELECT sha256 FROM sluice.files WHERE pipeline = ? AND path = ? AND size = ? "
        "AND modified_ns = ? AND sha256 <> '' LIMIT 1",
        [pipeline, offered.shown, offered.size, offered.modified_ns],
    )
    return None if known is None else str(known)


def already_loaded(warehouse: Warehouse, pipeline: str, sha256: str) -> str | None:
    """The path under which this content was loaded before, if it was."""
    row = warehouse.destination.scalar(
        "SELECT path FROM sluice.files WHERE pipeline = ? AND sha256 = ? "
        "AND status IN (?, ?) ORDER BY file_id LIMIT 1",
        [pipeline, sha256, LOADED, REJECTED],
    )
    return None if row is None else str(row)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


RUN_COLUMNS = ["run_id", "pipeline", "verb", "status", "started", "finished", "seconds",
               "files", "files_skipped", "files_unreadable", "read", "loaded", "duplicates",
               "rejected", "error"]


def recent_runs(warehouse: Warehouse, limit: int, pipeline: str | None = None,
                run_id: int | None = None, offset: int = 0) -> Result:
    """The newest runs first (of one pipeline, or the one run asked for), under the
    names a run's summary uses (`RunSummary.as_dict`). Times are the ledger's (UTC, no
    zone); seconds and the count of unreadable files are computed here, so the SQL is
    plain and runs on every destination."""
    destination = warehouse.destination
    if not destination.table_exists("sluice", "runs"):
        return Result(RUN_COLUMNS, [])
    tests, params = ["1 = 1"], list[Any]()
    if pipeline is not None:
        tests.append("pipeline = ?")
        params.append(pipeline)
    if run_id is not None:
        tests.append("run_id = ?")
        params.append(run_id)
    runs = destination.query(
        "SELECT run_id, pipeline, verb, status, started, finished, files, files_skipped, "
        "records_read, loaded, duplicates, rejected, error "
        f"FROM sluice.runs WHERE {' AND '.join(tests)} ORDER BY run_id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset]).rows
    unreadable: dict[int, int] = {}
    if runs:
        unreadable = {int(run_id): int(count) for run_id, count in destination.query(
            "SELECT run_id, count(*) FROM sluice.files WHERE status = ? AND run_id >= ? "
            "AND run_id <= ? GROUP BY run_id", [UNREADABLE, runs[-1][0], runs[0][0]]).rows}
    rows = []
    for (run_id, pipeline, verb, status, started, finished, files, skipped, read, loaded,
         duplicates, rejected, error) in runs:
        seconds = None if finished is None else round((finished - started).total_seconds(), 2)
        rows.append((run_id, pipeline, verb, status, started, finished, seconds, files,
                     skipped, None if files is None else unreadable.get(run_id, 0), read,
                     loaded, duplicates, rejected, error))
    return Result(RUN_COLUMNS, rows)


FILE_COLUMNS = ["file_id", "path", "status", "read", "loaded", "duplicates", "rejected",
                "note", "size", "sha256"]


def run_files(warehouse: Warehouse, run_id: int) -> Result:
    """One run's inputs as the ledger recorded them, in the order they were offered."""
    return Result(FILE_COLUMNS, warehouse.destination.query(
        "SELECT file_id, path, status, records_read, loaded, duplicates, rejected, note, "
        "size, sha256 FROM sluice.files WHERE run_id = ? ORDER BY file_id", [run_id]).rows)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
