"""Where a warehouse's tables land: a DuckDB file, or a PostgreSQL database.

The engine (an embedded DuckDB) stages, validates and classifies whatever the
destination is; a destination holds the ledger, the quarantine, the pipelines' tables and
their models. Rows move between them only through `push` (engine rows into a destination
table, by COPY on PostgreSQL) and `pull` (destination rows into an engine table).
SQL sent to a destination is written once, with `?` placeholders, in SQL that both
dialects read; model files are DuckDB's dialect, transpiled with sqlglot.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class Destination(abc.ABC):
    """What every destination can do; the `Warehouse` holds one beside its engine."""

    #: sqlglot's name for the destination's SQL dialect.
    dialect: str
    #: Whether the destination is the engine's own database (no rows need to move).
    shares_engine: bool
    #: Whether its text can hold the NUL character (else NUL arrives as \u0000).
    text_holds_nul: bool

    @property
    @abc.abstractmethod
    def shown(self) -> str:
        """How the destination is named to a user (never with a password)."""

    @property
    @abc.abstractmethod
    def quarantine_dir(self) -> Path:
        """Where copies of files that cannot be read are kept."""

    @property
    @abc.abstractmethod
    def spill_dir(self) -> Path:
        """Where the engine spills and sluice writes its temporary files."""

    @abc.abstractmethod
    def own_paths(self) -> frozenset[Path]:
        """Files and folders of this warehouse's own; never read as input."""

    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    @abc.abstractmethod
    def query(self, sql: str, params: Sequence[Any] | None = None) -> Result: ...

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.query(sql, params).rows
        return rows[0][0] if rows else None

    @abc.abstractmethod
    def insert_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        """Many Python rows into a table, at once."""

    @abc.abstractmethod
    def push(self, table: str, columns: Sequence[str], engine_sql: str,
             params: Sequence[Any] | None = None) -> int:
        """The rows of an engine query into the destination table's `columns`; returns
        how many rows the destination says it stored."""

    @abc.abstractmethod
    def pull(self, sql: str, params: Sequence[Any] | None, engine_table: str) -> None:
        """The rows of a destination query into a new engine temp table."""

    @abc.abstractmethod
    def reserve_ids(self, sequence: str, count: int) -> int:
        """`count` consecutive values of a sequence; returns the first. Needs the write
        lock, which makes them consecutive."""

    @abc.abstractmethod
    def table_exists(self, schema: str, table: str) -> bool: ...

    @abc.abstractmethod
    def begin(self) -> None: ...

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None:
        """Roll back; never raises (the original error is what matters)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def run_script(self, statements: Sequence[str]) -> None:
        """A model file's statements, in the destination's dialect, inside a transaction."""
        for statement in statements:
            self.execute(statement)

    def transpile(self, sql: str) -> list[str]:
        """The statements of a DuckDB-dialect script, in this destination's dialect."""
        import sqlglot  # it costs 50 ms at start-up; only model files need it

        return sqlglot.transpile(sql, read="duckdb", write=self.dialect, pretty=True,
                                 unsupported_level=sqlglot.ErrorLevel.RAISE)


def is_postgres_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))
