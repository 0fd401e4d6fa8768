"""The analytics warehouse: an embedded DuckDB engine and the destination its tables land
in (a DuckDB file, or a PostgreSQL database given by URL).

Pipelines talk to a `Warehouse`, never to a driver: `execute`, `query` and `scalar` run
on the engine (staging, validation, classification: temp tables), `warehouse.destination`
holds the ledger, the quarantine and the pipelines' tables. For a DuckDB file the two are
one connection; for PostgreSQL rows move between them by `push` and `pull`.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import duckdb

from sluice.destinations import Destination, Result, is_postgres_url
from sluice.errors import UsageError
from sluice.settings import DEFAULT_WAREHOUSE, WAREHOUSE_ENV

__all__ = ["Result", "Warehouse"]

MEMORY_LIMIT_ENV = "SLUICE_MEMORY_LIMIT"
# DuckDB spills to disk past this; it keeps a 10-million-row ingest well under 2 GB.
DEFAULT_MEMORY_LIMIT = "1GB"

_MEMORY_SIZE = re.compile(r"(?P<number>[0-9]+(\.[0-9]+)?)\s*(?P<unit>%|B|[KMGT]i?B)",
                          re.IGNORECASE)
_UNIT_BYTES = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
               "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
MIN_MEMORY_BYTES = 64 * 10**6
# The table that carries an engine's keys to the destination (`keys_at_destination`).
KEYS_TABLE = "sluice_keys"


def resolve_location(location: str | os.PathLike[str] | None) -> str:
    """The warehouse the user asked for: an argument, else $SLUICE_WAREHOUSE, else the default."""
    if location:
        return os.fspath(location)
    return os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE


class Warehouse:
    """The engine and one destination: a DuckDB file by default, or PostgreSQL by URL."""

    def __init__(self, location: str | os.PathLike[str] | None = None,
                 must_exist: bool = False, read_only: bool = False) -> None:
        self.location = resolve_location(location)
        memory_limit = _memory_limit()
        self.con = duckdb.connect(":memory:")
        try:
            self.destination = _open_destination(self.location, self.con, must_exist,
                                                 read_only)
        except BaseException:
            self.con.close()
            raise
        self.con.execute("SET memory_limit = ?", [memory_limit])
        self.con.execute("SET temp_directory = ?", [str(self.spill_dir)])
        # sluice draws its own progress bar, and only on a terminal.
        self.con.execute("SET enable_progress_bar = false")

    @property
    def dialect(self) -> str:
        return self.destination.dialect

    @property
    def quarantine_dir(self) -> Path:
        return self.destination.quarantine_dir

    @property
    def spill_dir(self) -> Path:
        return self.destination.spill_dir

    def own_paths(self) -> frozenset[Path]:
        """The files and folders that belong to this warehouse; never read as input."""
        return self.destination.own_paths()

    def close(self) -> None:
        self.destination.close()
        self.con.close()
        with contextlib.suppress(OSError):
            self.spill_dir.rmdir()  # only if the engine and sluice left it empty

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the engine ----------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.con.execute(sql, params or [])

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Result:
        cursor = self.con.execute(sql, params or [])
        columns = [d[0] for d in cursor.description or []]
        return Result(columns, cursor.fetchall())

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        row = self.con.execute(sql, params or []).fetchone()
        return None if row is None else row[0]

    # --- both ----------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together, or not at all: the destination's
        transaction, and the engine's when the engine is a separate database."""
        destination = self.destination
        destination.begin()
        if not destination.shares_engine:
            self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            destination.rollback()
            if not destination.shares_engine:
                with contextlib.suppress(duckdb.Error):
                    self.con.execute("ROLLBACK")
            raise
        destination.commit()
        if not destination.shares_engine:
            self.con.execute("COMMIT")

    @contextmanager
    def keys_at_destination(self, engine_sql: str, columns_ddl: str,
                            params: Sequence[Any] | None = None) -> Iterator[str]:
        """A table the destination's SQL can join, holding the rows of an engine query
        (keys to match against destination tables), for the length of the block; yields
        its name. On a separate destination it is a temp table filled by COPY."""
        destination = self.destination
        # On the engine's own file: a view (nothing copied), or a table if the query
        # takes parameters, which a view cannot hold.
        kind = "TABLE" if params else "VIEW"
        if destination.shares_engine:
            self.execute(f"CREATE OR REPLACE TEMP {kind} {KEYS_TABLE} AS {engine_sql}", params)
        else:
            destination.execute(f"CREATE TEMP TABLE {KEYS_TABLE} ({columns_ddl})")
            columns = [part.split()[0] for part in columns_ddl.split(",")]
            destination.push(KEYS_TABLE, columns, engine_sql, params)
        try:
            yield KEYS_TABLE
        finally:
            if destination.shares_engine:
                self.execute(f"DROP {kind} IF EXISTS {KEYS_TABLE}")
            else:
                destination.execute(f"DROP TABLE IF EXISTS {KEYS_TABLE}")

    def pull_for_keys(self, engine_keys_sql: str, columns_ddl: str, destination_sql: str,
                      engine_table: str) -> None:
        """Engine table `engine_table`: a destination query that joins `sluice_keys`,
        the rows of an engine query (see `keys_at_destination`)."""
        with self.keys_at_destination(engine_keys_sql, columns_ddl):
            self.destination.pull(destination_sql, None, engine_table)

    def run_sql_file(self, sql_file: Path | Traversable) -> None:
        """Run a SQL file written in DuckDB's dialect on the destination, transpiled, in
        one transaction: a model replaced (or dropped and created again) is never seen
        missing or half-built."""
        statements = self.destination.transpile(sql_file.read_text(encoding="utf-8"))
        with self.transaction():
            self.destination.run_script(statements)


def _open_destination(location: str, engine: duckdb.DuckDBPyConnection, must_exist: bool,
                      read_only: bool) -> Destination:
    if is_postgres_url(location):
        from sluice.destinations.postgres import PostgresDatabase

        return PostgresDatabase(location, engine, read_only)
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise UsageError(f"warehouse URL scheme '{scheme}' is not supported; use a DuckDB "
                         "file path or a postgresql:// URL")
    from sluice.destinations.duckdb_file import DuckDBFile

    path = Path(location).resolve()
    if (must_exist or read_only) and not path.exists():
        raise UsageError(
            f"warehouse {location} does not exist; run an ingest first, or name "
            f"the warehouse with --warehouse or {WAREHOUSE_ENV}")
    return DuckDBFile(engine, path, read_only)


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
