"""The analytics warehouse: where it lives, how to connect, transactions and SQL files.

Pipelines talk to a `Warehouse`, never to a driver, so that another engine (a
PostgreSQL URL) can be added here without touching them. SQL models are written once
in DuckDB's dialect; `run_sql_file` transpiles them with sqlglot for other engines.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import duckdb

from sluice.errors import SluiceError, UsageError, WarehouseLocked, user_message

DEFAULT_WAREHOUSE = "warehouse.db"
WAREHOUSE_ENV = "SLUICE_WAREHOUSE"
MEMORY_LIMIT_ENV = "SLUICE_MEMORY_LIMIT"
# DuckDB spills to disk past this; it keeps a 10-million-row ingest well under 2 GB.
DEFAULT_MEMORY_LIMIT = "1GB"

BULK_PARAMETER_ROWS = 5_000
NULL_TEXT = "\\N"
# The catalog the warehouse file is attached as; no schema of sluice's has this name.
CATALOG = "sluice_warehouse"
_MEMORY_SIZE = re.compile(r"(?P<number>[0-9]+(\.[0-9]+)?)\s*(?P<unit>%|B|[KMGT]i?B)",
                          re.IGNORECASE)
_UNIT_BYTES = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
               "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
MIN_MEMORY_BYTES = 64 * 10**6
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>\S+) \(PID (?P<pid>\d+)\)")


def resolve_location(location: str | os.PathLike[str] | None) -> str:
    """The warehouse the user asked for: an argument, else $SLUICE_WAREHOUSE, else the default."""
    if location:
        return os.fspath(location)
    return os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class Warehouse:
    """A connection to one warehouse; DuckDB file by default."""

    dialect = "duckdb"

    def __init__(self, location: str | os.PathLike[str] | None = None,
                 must_exist: bool = False, read_only: bool = False) -> None:
        self.location = resolve_location(location)
        if "://" in self.location:
            scheme = self.location.split("://", 1)[0]
            raise UsageError(
                f"warehouse URL scheme '{scheme}' is not supported yet; "
                "use a DuckDB file path"
            )
        self.path = Path(self.location).resolve()
        if (must_exist or read_only) and not self.path.exists():
            raise UsageError(
                f"warehouse {self.location} does not exist; run an ingest first, or name "
                f"the warehouse with --warehouse or {WAREHOUSE_ENV}")
        memory_limit = _memory_limit()
        self.con = _connect_duckdb(self.path, read_only)
        self.con.execute("SET memory_limit = ?", [memory_limit])
        # Spill next to the warehouse, as DuckDB does for a database it opens itself.
        self.con.execute("SET temp_directory = ?", [str(self.spill_dir)])
        # sluice draws its own progress bar, and only on a terminal.
        self.con.execute("SET enable_progress_bar = false")

    @property
    def quarantine_dir(self) -> Path:
        """Where copies of files that cannot be read are kept: this warehouse's own
        folder beside it, so two warehouses in one folder never share one."""
        return self.path.with_name(self.path.name + ".quarantine")

    @property
    def spill_dir(self) -> Path:
        return self.path.with_name(self.path.name + ".tmp")

    def own_paths(self) -> frozenset[Path]:
        """The files and folders that belong to this warehouse; never read as input."""
        name = self.path.name
        return frozenset(self.path.with_name(name + suffix)
                         for suffix in ("", ".wal", ".tmp", ".quarantine"))

    def close(self) -> None:
        self.con.close()
        with contextlib.suppress(OSError):
            self.spill_dir.rmdir()  # only if the engine and sluice left it empty

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.con.execute(sql, params or [])

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Result:
        cursor = self.con.execute(sql, params or [])
        columns = [d[0] for d in cursor.description or []]
        return Result(columns, cursor.fetchall())

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        row = self.con.execute(sql, params or []).fetchone()
        return None if row is None else row[0]

    def insert_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        """Insert many rows at once. Up to a few thousand go as one list per column;
        beyond that through a temporary CSV file, because a list parameter costs the
        engine far more memory per value than the rows themselves."""
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

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together, or not at all."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            # If the engine already aborted the transaction, the original error matters.
            with contextlib.suppress(duckdb.Error):
                self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def run_sql_file(self, sql_file: Path | Traversable) -> None:
        """Run a SQL file written in DuckDB's dialect, transpiled to this warehouse's."""
        for statement in self.transpile(sql_file.read_text(encoding="utf-8")):
            self.execute(statement)

    def transpile(self, sql: str) -> list[str]:
        """The statements of a DuckDB-dialect script, in this warehouse's dialect."""
        if self.dialect == "duckdb":
            return [sql]
        import sqlglot  # only other engines need it; it costs 50 ms at start-up

        return sqlglot.transpile(sql, read="duckdb", write=self.dialect, pretty=True)


def _memory_limit() -> str:
    """SLUICE_MEMORY_LIMIT checked before the engine sees it: a size such as 500MB, 2GB
    or 1.5GiB, or a share of the machine's memory such as 50%; at least 64 MB."""
    value = os.environ.get(MEMORY_LIMIT_ENV)
    if not value:  # unset or empty, as for every SLUICE_ variable: the default
        return DEFAULT_MEMORY_LIMIT
    size = _MEMORY_SIZE.fullmatch(value.strip())
    if not size:
        raise UsageError(
            f"{MEMORY_LIMIT_ENV}={value!r} is not a memory size; use a number and a unit "
            "(500MB, 2GB, 1.5GiB) or a share of memory (50%)")
    number, unit = float(size["number"]), size["unit"].upper()
    if unit == "%":
        if not 0 < number <= 100:
            raise UsageError(f"{MEMORY_LIMIT_ENV}={value!r}: a share must be above 0% "
                             "and at most 100%")
    elif number * _UNIT_BYTES[unit] < MIN_MEMORY_BYTES:
        raise UsageError(f"{MEMORY_LIMIT_ENV}={value!r} is too small; sluice needs at "
                         "least 64MB")
    return f"{size['number']}{size['unit']}"


def _connect_duckdb(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """The warehouse file attached under a fixed catalog name, so that no file name (say
    `sluice.db`, whose catalog would clash with the schema `sluice`) can make a table
    name ambiguous."""
    if path.is_dir():
        raise UsageError(f"warehouse {path} is a folder, not a DuckDB file")
    if not path.parent.is_dir():
        raise UsageError(f"cannot create warehouse {path}: folder {path.parent} does not exist")
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH ? AS {CATALOG}" + (" (READ_ONLY)" if read_only else ""),
                    [str(path)])
        con.execute(f"USE {CATALOG}")
        return con
    except duckdb.Error as error:
        con.close()
        message = str(error)
        holder = _LOCK_HOLDER.search(message)
        if holder:
            raise WarehouseLocked(
                f"warehouse {path} is in use by another process "
                f"(PID {holder['pid']}); try again when it has finished"
            ) from None
        if "not a valid DuckDB database file" in message:
            raise SluiceError(f"{path} is not a DuckDB warehouse file") from None
        if "Permission denied" in message:
            raise SluiceError(f"cannot open warehouse {path}: permission denied") from None
        raise SluiceError(f"cannot open warehouse {path}: {user_message(error)}") from None
