"""A PostgreSQL database as the destination. The engine is an embedded DuckDB of its
own; classified rows arrive by COPY, one PostgreSQL transaction per run, and a session
advisory lock gives the warehouse one writer at a time, as a DuckDB file's lock does."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict

from sluice.destinations import Destination, Result
from sluice.errors import SluiceError, UsageError, WarehouseLocked

QUARANTINE_DIR_ENV = "SLUICE_QUARANTINE_DIR"
NULL_TEXT = "\\N"
# The advisory lock every sluice writer of a database takes: 'sluice' in ASCII.
WRITE_LOCK = 0x736C75696365
COPY_CHUNK = 1 << 20
_CONNECT_TIMEOUT_SECONDS = 10
# Engine types (as DuckDB names them) and the PostgreSQL types pulled rows arrive as.
_PULLED_TYPES = {16: "BOOLEAN", 20: "BIGINT", 21: "SMALLINT", 23: "INTEGER", 25: "VARCHAR",
                 1043: "VARCHAR", 1114: "TIMESTAMP", 1184: "TIMESTAMPTZ", 1082: "DATE",
                 700: "FLOAT", 701: "DOUBLE", 2950: "UUID", 114: "VARCHAR", 3802: "VARCHAR",
                 17: "BLOB"}


class PostgresDatabase(Destination):
    dialect = "postgres"
    shares_engine = False
    text_holds_nul = False

    def __init__(self, url: str, engine: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        self.engine = engine
        try:
            self.settings = conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            raise UsageError("the warehouse URL is not a valid PostgreSQL URL "
                             "(postgresql://user@host:port/database)") from None
        configured = os.environ.get(QUARANTINE_DIR_ENV)
        if configured and Path(configured).exists() and not Path(configured).is_dir():
            raise UsageError(f"{QUARANTINE_DIR_ENV}={configured!r} is a file, not a folder")
        self._spill = Path(tempfile.mkdtemp(prefix="sluice-engine-"))
        try:
            self.con = psycopg.connect(url, autocommit=True, application_name="sluice",
                                       connect_timeout=_CONNECT_TIMEOUT_SECONDS)
        except psycopg.Error as error:
            shutil.rmtree(self._spill, ignore_errors=True)
            raise _connect_error(self.shown, error) from None
        if read_only:
            self.con.execute("SET default_transaction_read_only = on")
        elif not self.con.execute("SELECT pg_try_advisory_lock(%s)", [WRITE_LOCK]).fetchone()[0]:  # type: ignore[index]
            holder = self.con.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND ((classid::bigint << 32) | objid::bigint) = %s LIMIT 1", [WRITE_LOCK]
            ).fetchone()
            self.close()
            pid = f" (PID {holder[0]} on the server)" if holder else ""
            raise WarehouseLocked(f"warehouse {self.shown} is in use by another sluice "
                                  f"process{pid}; try again when it has finished")

    @property
    def shown(self) -> str:
        s = self.settings
        user = f"{s['user']}@" if s.get("user") else ""
        port = f":{s['port']}" if s.get("port") else ""
        return f"postgresql://{user}{s.get('host', '')}{port}/{s.get('dbname', '')}"

    @property
    def quarantine_dir(self) -> Path:
        """$SLUICE_QUARANTINE_DIR, else a folder of the user's named by the database, so
        that every run against one database finds the same one."""
        configured = os.environ.get(QUARANTINE_DIR_ENV)
        if configured:
            return Path(configured).resolve()
        s = self.settings
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        name = f"{s.get('host') or 'local'}-{s.get('port') or 5432}-{s.get('dbname', '')}"
        return base / "sluice" / "postgresql" / f"{name}.quarantine"

    @property
    def spill_dir(self) -> Path:
        return self._spill

    def own_paths(self) -> frozenset[Path]:
        return frozenset({self.quarantine_dir, self._spill})

    # --- statements ----------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.con.execute(*_bound(sql, params))

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Result:
        cursor = self.con.execute(*_bound(sql, params))
        return Result([d.name for d in cursor.description or []], cursor.fetchall())

    def insert_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        with self.con.cursor() as cursor, cursor.copy(f"COPY {table} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def push(self, table: str, columns: Sequence[str], engine_sql: str,
             params: Sequence[Any] | None = None) -> int:
        """The engine writes the rows as CSV, in PostgreSQL's text forms, into a pipe
        that a second thread feeds to COPY: both work at once, and no file is written."""
        described = self.engine.execute(f"SELECT * FROM ({engine_sql}) LIMIT 0", params or [])
        names = [d[0] for d in described.description or []]
        types = [str(d[1]) for d in described.description or []]
        select = ", ".join(_postgres_text(f'"{n}"', t, self.text_holds_nul)
                           for n, t in zip(names, types, strict=True))
        pipe = self._spill / f"push-{next(_PIPES)}.csv"
        os.mkfifo(pipe)
        feeder = _CopyFeeder(self.con, f"COPY {table} ({', '.join(columns)}) FROM STDIN "
                                       f"(FORMAT csv, NULL '{NULL_TEXT}')", pipe)
        feeder.start()
        try:
            try:
                self.engine.execute(
                    f"COPY (SELECT {select} FROM ({engine_sql})) TO '{pipe}' "
                    f"(FORMAT csv, HEADER false, NULLSTR '{NULL_TEXT}')", params or [])
            except BaseException as error:
                feeder.abandon()
                if feeder.failure is not None and not isinstance(error, KeyboardInterrupt):
                    raise feeder.failure from None  # the engine only saw the pipe close
                raise
            return feeder.finish()
        finally:
            pipe.unlink(missing_ok=True)

    def pull(self, sql: str, params: Sequence[Any] | None, engine_table: str) -> None:
        cursor = self.con.execute(*_bound(f"SELECT * FROM ({sql}) AS pulled LIMIT 0", params))
        columns = ", ".join(f"'{d.name}': '{_engine_type(d)}'" for d in cursor.description or [])
        inlined = psycopg.ClientCursor(self.con).mogrify(*_bound(sql, params))
        path = self._spill / f"pull-{os.getpid()}.csv"
        try:
            with self.con.cursor() as copying, copying.copy(
                    f"COPY ({inlined}) TO STDOUT (FORMAT csv, NULL '{NULL_TEXT}')"
                    ) as copy, path.open("wb") as stream:
                for chunk in copy:
                    stream.write(chunk)
            self.engine.execute(
                f"CREATE OR REPLACE TEMP TABLE {engine_table} AS SELECT * FROM read_csv(?, "
                f"header = false, nullstr = '{NULL_TEXT}', quote = '\"', escape = '\"', "
                f"delim = ',', auto_detect = false, max_line_size = 100000000, "
                f"columns = {{{columns}}})", [str(path)])
        finally:
            path.unlink(missing_ok=True)

    def reserve_ids(self, sequence: str, count: int) -> int:
        first = int(self.scalar("SELECT nextval(?)", [sequence]))
        if count > 1:
            self.execute("SELECT setval(?, ?)", [sequence, first + count - 1])
        return first

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(self.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
            "AND table_name = ?", [schema, table]))

    def run_script(self, statements: Sequence[str]) -> None:
        replace_views(self.con.execute, statements)

    def begin(self) -> None:
        self.con.execute("BEGIN")

    def commit(self) -> None:
        self.con.execute("COMMIT")

    def rollback(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.con.execute("ROLLBACK")

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.con.close()  # the advisory lock goes with the session
        shutil.rmtree(self._spill, ignore_errors=True)


_PIPES = itertools.count(1)


class _Abandoned(Exception):
    """The engine did not write every row: the COPY is cancelled, never committed."""


class _CopyFeeder(threading.Thread):
    """Reads a pipe the engine writes CSV into and feeds it to a COPY ... FROM STDIN."""

    def __init__(self, con: psycopg.Connection[Any], copy_sql: str, pipe: Path) -> None:
        super().__init__(name="sluice-copy", daemon=True)
        self.con, self.copy_sql, self.pipe = con, copy_sql, pipe
        self.opened = False
        self.abandoned = False
        self.failure: BaseException | None = None
        self.stored = 0

    def run(self) -> None:
        try:
            with self.pipe.open("rb") as stream:
                self.opened = True
                with self.con.cursor() as cursor:
                    with cursor.copy(self.copy_sql) as copy:
                        while chunk := stream.read(COPY_CHUNK):
                            copy.write(chunk)
                        if self.abandoned:
                            raise _Abandoned
                    self.stored = cursor.rowcount
        except BaseException as error:
            self.failure = error

    def finish(self) -> int:
        """Wait for the COPY to end; raise what stopped it, or return the rows stored."""
        self._join()
        if self.failure is not None:
            raise self.failure
        return self.stored

    def abandon(self) -> None:
        """The engine failed: release the thread (still waiting for the pipe to open, or
        reading it) and wait for it, so that the connection is free for the rollback."""
        self.abandoned = True
        while not self.opened and self.is_alive():
            try:
                os.close(os.open(self.pipe, os.O_WRONLY | os.O_NONBLOCK))
                break
            except OSError:  # the thread has not reached the pipe yet
                time.sleep(0.01)
        self._join()

    def _join(self) -> None:
        while self.is_alive():
            try:
                self.join()
            except KeyboardInterrupt:  # the run ends; the connection must be free first
                self.abandoned = True


_REPLACED_VIEW = re.compile(r"CREATE\s+OR\s+REPLACE\s+VIEW\s+(\S+)", re.IGNORECASE)


def replace_views(execute: Callable[[str], object], statements: Sequence[str]) -> None:
    """Run statements inside a transaction. PostgreSQL refuses to CREATE OR REPLACE a
    view whose columns change; then, and only then, the view is dropped with the views
    built on it (a model file recreates its own later ones) and created again. A view of
    the user's own built on a model survives every refresh that keeps its columns."""
    for statement in statements:
        view = _REPLACED_VIEW.search(statement)
        if view is None:
            execute(statement)
            continue
        execute("SAVEPOINT sluice_view")
        try:
            execute(statement)
        except psycopg.errors.InvalidTableDefinition:
            execute("ROLLBACK TO SAVEPOINT sluice_view")
            execute(f"DROP VIEW IF EXISTS {view[1]} CASCADE")
            execute(statement)
        execute("RELEASE SAVEPOINT sluice_view")


def _bound(sql: str, params: Sequence[Any] | None) -> tuple[str, Sequence[Any] | None]:
    """sluice's `?` placeholders as psycopg's `%s` (and a literal % doubled), outside
    quoted strings and names."""
    if not params:
        return sql, None
    out: list[str] = []
    quote: str | None = None
    for char in sql:
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        out.append("%%" if char == "%" else char)
    return "".join(out), list(params)


def _postgres_text(column: str, engine_type: str, holds_nul: bool) -> str:
    """An engine column as the text PostgreSQL's COPY reads for its type."""
    if engine_type.endswith("[]"):
        item = ("CASE WHEN x IS NULL THEN 'NULL' ELSE '\"' || replace(replace(CAST(x AS VARCHAR), "
                "'\\', '\\\\'), '\"', '\\\"') || '\"' END")
        return (f"CASE WHEN {column} IS NOT NULL THEN '{{' || coalesce(list_aggr("
                f"list_transform({column}, lambda x: {item}), 'string_agg', ','), '') || '}}' "
                f"END AS {column}")
    if engine_type == "VARCHAR" and not holds_nul:
        # PostgreSQL's text cannot hold NUL: it is kept as the six characters \u0000.
        return f"replace({column}, chr(0), '\\u0000') AS {column}"
    if engine_type == "BLOB":
        return f"'\\x' || hex({column}) AS {column}"
    return column


def _engine_type(column: psycopg.Column) -> str:
    if column.type_code == 1700:  # numeric
        if column.precision is not None and column.scale is not None:
            return f"DECIMAL({column.precision}, {column.scale})"
        return "DOUBLE"
    return _PULLED_TYPES.get(column.type_code, "VARCHAR")


def _connect_error(shown: str, error: psycopg.Error) -> SluiceError:
    text = str(error)
    if isinstance(error, psycopg.ProgrammingError) or "invalid" in text.split(":", 1)[-1][:30]:
        return UsageError(f"warehouse {shown}: not a valid PostgreSQL URL "
                          "(postgresql://user@host:port/database, libpq's options only)")
    if "does not exist" in text and "database" in text:
        return SluiceError(f"cannot open warehouse {shown}: the database does not exist; "
                           "create it first (createdb)")
    if "role" in text and "does not exist" in text:
        return SluiceError(f"cannot open warehouse {shown}: the server has no such user (role)")
    if "authentication failed" in text or "no password supplied" in text:
        return SluiceError(f"cannot open warehouse {shown}: authentication failed")
    if "could not translate host name" in text or "Name or service not known" in text:
        return SluiceError(f"cannot open warehouse {shown}: unknown host")
    if "timeout" in text.lower():
        return SluiceError(f"cannot open warehouse {shown}: the server did not answer")
    return SluiceError(f"cannot open warehouse {shown}: cannot connect to the server "
                       "(is it running, and is this the right host and port?)")
