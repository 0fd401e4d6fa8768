"""The analytics warehouse: where it lives, how to connect, transactions and SQL files.

Pipelines talk to a `Warehouse`, never to a driver, so that another engine (a
PostgreSQL URL) can be added here without touching them. SQL models are written once
in DuckDB's dialect; `run_sql_file` transpiles them with sqlglot for other engines.
"""

from __future__ import annotations

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

from sluice.errors import SluiceError, UsageError, WarehouseLocked

DEFAULT_WAREHOUSE = "warehouse.db"
WAREHOUSE_ENV = "SLUICE_WAREHOUSE"
MEMORY_LIMIT_ENV = "SLUICE_MEMORY_LIMIT"
# DuckDB spills to disk past this; it keeps a 10-million-row ingest well under 2 GB.
DEFAULT_MEMORY_LIMIT = "1GB"

BULK_PARAMETER_ROWS = 5_000
NULL_TEXT = "\\N"
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

    def __init__(self, location: str | os.PathLike[str] | None = None) -> None:
        self.location = resolve_location(location)
        if "://" in self.location:
            scheme = self.location.split("://", 1)[0]
            raise UsageError(
                f"warehouse URL scheme '{scheme}' is not supported yet; "
                "use a DuckDB file path"
            )
        self.path = Path(self.location).resolve()
        self.con = _connect_duckdb(self.path)
        self.con.execute(
            "SET memory_limit = ?",
            [os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)],
        )
        # sluice draws its own progress bar, and only on a terminal.
        self.con.execute("SET enable_progress_bar = false")
        self._in_transaction = False

    @property
    def quarantine_dir(self) -> Path:
        """Where files that cannot be read at all are kept, beside the warehouse."""
        return self.path.parent / "quarantine"

    def close(self) -> None:
        self.con.close()

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
        with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", encoding="utf-8",
                                         dir=self.path.parent, delete=False) as stream:
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
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
        finally:
            self._in_transaction = False

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


def _connect_duckdb(path: Path) -> duckdb.DuckDBPyConnection:
    if path.is_dir():
        raise UsageError(f"warehouse {path} is a folder, not a DuckDB file")
    if not path.parent.is_dir():
        raise UsageError(f"cannot create warehouse {path}: folder {path.parent} does not exist")
    try:
        return duckdb.connect(str(path))
    except duckdb.IOException as error:
        message = str(error)
        holder = _LOCK_HOLDER.search(message)
        if holder:
            raise WarehouseLocked(
                f"warehouse {path} is in use by another process "
                f"(PID {holder['pid']}); try again when it has finished"
            ) from None
        if "not a valid DuckDB database file" in message:
            raise SluiceError(f"{path} is not a DuckDB warehouse file") from None
        raise SluiceError(f"cannot open warehouse {path}: {message}") from None
