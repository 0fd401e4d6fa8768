"""A DuckDB file as the destination: attached to the engine itself, so rows never move."""

from __future__ import annotations

import contextlib
import csv
import os
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from sluice.destinations import Destination, Result
from sluice.errors import SluiceError, UsageError, WarehouseLocked, user_message

# The catalog the warehouse file is attached as; no schema of sluice's has this name.
CATALOG = "sluice_warehouse"
BULK_PARAMETER_ROWS = 5_000
NULL_TEXT = "\\N"
LOCK_WAIT_ENV = "SLUICE_LOCK_WAIT"
DEFAULT_LOCK_WAIT = 10.0  # seconds a command waits for another process to let go of the file
LOCK_POLL_SECONDS = 0.05
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>\S+) \(PID (?P<pid>\d+)\)")


class DuckDBFile(Destination):
    dialect = "duckdb"
    shares_engine = True
    text_holds_nul = True

    def __init__(self, engine: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        """Attach the file to `engine` under a fixed catalog name, so that no file name
        (say `sluice.db`, whose catalog would clash with the schema `sluice`) can make a
        table name ambiguous."""
        self.con, self.path = engine, path
        if path.is_dir():
            raise UsageError(f"warehouse {path} is a folder, not a DuckDB file")
        if not path.parent.is_dir():
            raise UsageError(f"cannot create warehouse {path}: folder {path.parent} does not "
                             "exist")
        deadline = time.monotonic() + lock_wait()
        while True:
            try:
                engine.execute(f"ATTACH ? AS {CATALOG}" + (" (READ_ONLY)" if read_only else ""),
                               [str(path)])
                engine.execute(f"USE {CATALOG}")
                break
            except duckdb.Error as error:
                problem = open_error(path, error)
                # Another process holds it: `sluice serve` copying it, say, for a moment.
                if not isinstance(problem, WarehouseLocked) or time.monotonic() > deadline:
                    raise problem from None
                time.sleep(LOCK_POLL_SECONDS)

    @property
    def shown(self) -> str:
        return str(self.path)

    @property
    def quarantine_dir(self) -> Path:
        """This warehouse's own folder beside it, so two warehouses in one folder never
        share one."""
        return self.path.with_name(self.path.name + ".quarantine")

    @property
    def spill_dir(self) -> Path:
        """Beside the warehouse, as DuckDB does for a database it opens itself."""
        return self.path.with_name(self.path.name + ".tmp")

    def own_paths(self) -> frozenset[Path]:
        name = self.path.name
        return frozenset(self.path.with_name(name + suffix)
                         for suffix in ("", ".wal", ".tmp", ".quarantine"))

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.con.execute(sql, params or [])

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Result:
        cursor = self.con.execute(sql, params or [])
        return Result([d[0] for d in cursor.description or []], cursor.fetchall())

    def insert_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        """Up to a few thousand rows go as one list per column; beyond that through a
        temporary CSV file, because a list parameter costs the engine far more memory
        per value than the rows themselves."""
        if not rows:
            return
        if len(rows) <= BULK_PARAMETER_ROWS:
            columns = [list(column) for column in zip(*rows, strict=True)]
            self.execute(f"INSERT INTO {table} SELECT " + ", ".join(["unnest(?)"] * len(columns)),
                         columns)
            return
        self.spill_dir.mkdir(exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", encoding="utf-8",
                                         dir=self.spill_dir, delete=False) as stream:
            csv.writer(stream).writerows(
                [NULL_TEXT if value is None else value for value in row] for row in rows)
        try:
            self.execute(
                f"INSERT INTO {table} SELECT * FROM read_csv(?, header = false, "
                f"all_varchar = true, nullstr = '{NULL_TEXT}', quote = '\"', escape = '\"', "
                "delim = ',', auto_detect = false, columns = "
                "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(rows[0]))) + "})",
                [stream.name])
        finally:
            os.unlink(stream.name)

    def push(self, table: str, columns: Sequence[str], engine_sql: str,
             params: Sequence[Any] | None = None) -> int:
        inserted = self.con.execute(f"INSERT INTO {table} ({', '.join(columns)}) {engine_sql}",
                                    params or []).fetchone()
        return int(inserted[0]) if inserted else 0

    def pull(self, sql: str, params: Sequence[Any] | None, engine_table: str) -> None:
        self.execute(f"CREATE OR REPLACE TEMP TABLE {engine_table} AS {sql}", params)

    def reserve_ids(self, sequence: str, count: int) -> int:
        first = self.scalar(f"SELECT min(nextval('{sequence}')) FROM range(?)", [max(count, 1)])
        return int(first)

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(self.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_catalog = ? "
            "AND table_schema = ? AND table_name = ?", [CATALOG, schema, table]))

    def begin(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.con.execute("COMMIT")

    def rollback(self) -> None:
        # If the engine already aborted the transaction, the original error matters.
        with contextlib.suppress(duckdb.Error):
            self.con.execute("ROLLBACK")

    def transpile(self, sql: str) -> list[str]:
        return [sql]  # models are written in DuckDB's dialect

    def close(self) -> None:
        """The engine owns the connection; it closes it."""


def lock_wait() -> float:
    """$SLUICE_LOCK_WAIT: how many seconds to wait for a warehouse file another process
    holds (default 10; 0: fail at once)."""
    value = os.environ.get(LOCK_WAIT_ENV, "").strip()
    if not value:
        return DEFAULT_LOCK_WAIT
    try:
        seconds = float(value)
    except ValueError:
        raise UsageError(f"{LOCK_WAIT_ENV}={value!r} is not a number of seconds") from None
    if not 0 <= seconds <= 86_400:
        raise UsageError(f"{LOCK_WAIT_ENV}={value!r}: give 0 to 86400 seconds")
    return seconds


def open_error(path: Path, error: duckdb.Error) -> SluiceError:
    message = str(error)
    holder = _LOCK_HOLDER.search(message)
    if holder:
        return WarehouseLocked(f"warehouse {path} is in use by another process "
                               f"(PID {holder['pid']}); try again when it has finished")
    if "not a valid DuckDB database file" in message:
        return SluiceError(f"{path} is not a DuckDB warehouse file")
    if "Permission denied" in message:
        return SluiceError(f"cannot open warehouse {path}: permission denied")
    return SluiceError(f"cannot open warehouse {path}: {user_message(error)}")
