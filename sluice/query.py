"""Operators' tools: `sluice sql` (one read-only query against the warehouse) and `sluice
tables` (every table and view, with its row count), on a DuckDB file or PostgreSQL.

Read-only is the engine's, not a check of keywords. A DuckDB file is attached read-only,
and the connection that runs the query then loses file access (`enable_external_access`,
no extension loading) and its settings are locked (`lock_configuration`), so no `SET`,
`ATTACH`, `COPY ... TO` or `read_csv('/etc/passwd')` can get past it. On PostgreSQL the
query runs as a server-side cursor (`DECLARE ... CURSOR FOR`: one statement, a query)
inside a `READ ONLY` transaction that is rolled back. Before either, the SQL is parsed
(DuckDB's parser, which reads PostgreSQL's SQL too): one statement, and a query, or a
clear refusal saying which.

Rows stream: fetched in batches and written as they come (`--csv`, `--jsonl`, `--json`);
the text table shows at most `TABLE_ROWS` rows unless `--limit` says otherwise.

The commands' options are declared in `sluice.cli_operations`, which `--help` imports
(this module imports DuckDB): they call `run_query` and `list_tables`.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json as json_module
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO, TypeVar
from uuid import UUID

import duckdb

from sluice import console, interrupts
from sluice.destinations import Result
from sluice.destinations.duckdb_file import CATALOG
from sluice.errors import UsageError
from sluice.rejects import check_text
from sluice.settings import TABLE_ROWS
from sluice.warehouse import Warehouse

if TYPE_CHECKING:
    import psycopg

# Rows fetched from the engine at a time.
BATCH_ROWS = 10_000
# Settings of the DuckDB connection that runs a user's SQL, applied in this order: the
# last one locks them all.
_DUCKDB_LOCKDOWN = (
    "SET TimeZone = 'UTC'",
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)
_CURSOR = "sluice_sql"
Value = TypeVar("Value")
_TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"


def run_query(warehouse: str | None, sql: str, limit: int | None, *, as_json: bool,
              as_csv: bool, as_jsonl: bool) -> None:
    """`sluice sql`: one read-only query against the warehouse, its rows printed."""
    output = _output(as_json, as_csv, as_jsonl)
    check_text("SQL", sql)
    with Warehouse(warehouse, read_only=True, must_exist=True) as wh, _rows_of(wh, sql) as rows:
        _show(rows, output, limit)


def list_tables(warehouse: str | None, count_timeout: float, *, as_json: bool,
                as_csv: bool, as_jsonl: bool) -> None:
    """`sluice tables`: every table and view of the warehouse, with its row count."""
    output = _output(as_json, as_csv, as_jsonl)
    with Warehouse(warehouse, read_only=True, must_exist=True) as wh:
        if wh.destination.shares_engine:
            result = _duckdb_tables(wh.con, count_timeout)
        else:
            result = _postgres_tables(_postgres_connection(wh), count_timeout)
    _show(_Rows.of(result), output, len(result.rows), title=f"tables of {wh.destination.shown}")


# --- output ------------------------------------------------------------------------------


@dataclass
class _Rows:
    """A result read as it streams: its columns, the next rows, and how many are left."""

    columns: list[str]
    fetch: Callable[[int], list[tuple[Any, ...]]]
    count_rest: Callable[[], int]
    json_columns: frozenset[int] = frozenset()

    @classmethod
    def of(cls, result: Result) -> _Rows:
        rows = iter(result.rows)

        def fetch(n: int) -> list[tuple[Any, ...]]:
            return [row for _, row in zip(range(n), rows, strict=False)]

        return cls(result.columns, fetch, lambda: sum(1 for _ in rows))

    def batches(self, limit: int | None) -> Iterator[list[tuple[Any, ...]]]:
        left = limit
        while left is None or left > 0:
            size = BATCH_ROWS if left is None else min(BATCH_ROWS, left)
            batch = [self._decoded(row) for row in self.fetch(size)]
            if batch:
                yield batch
            if len(batch) < size:
                return
            if left is not None:
                left -= len(batch)

    def _decoded(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """JSON columns as their values (as PostgreSQL's driver gives them), numbers
        exact."""
        if not self.json_columns:
            return row
        return tuple(_parsed_json(value) if i in self.json_columns else value
                     for i, value in enumerate(row))


def _output(as_json: bool, as_csv: bool, as_jsonl: bool) -> str:
    chosen = [name for name, wanted in (("json", as_json), ("csv", as_csv),
                                        ("jsonl", as_jsonl)) if wanted]
    if len(chosen) > 1:
        raise UsageError("choose one of --json, --csv and --jsonl")
    return chosen[0] if chosen else "table"


def _show(rows: _Rows, output: str, limit: int | None, title: str = "") -> None:
    if output == "table":
        _print_table(rows, limit, title)
    elif output == "csv":
        _write_csv(rows, limit, sys.stdout)
    elif output == "jsonl":
        keys = _json_keys(rows.columns)
        for batch in rows.batches(limit):
            sys.stdout.write("".join(_compact(_row_object(keys, row)) + "\n" for row in batch))
    else:
        _write_json_array(rows, limit, sys.stdout)


def _print_table(rows: _Rows, limit: int | None, title: str) -> None:
    shown = [tuple(_table_cell(value) for value in row)
             for batch in rows.batches(TABLE_ROWS if limit is None else limit)
             for row in batch]
    more = rows.count_rest() if limit is None and len(shown) == TABLE_ROWS else 0
    console.print_result(Result(rows.columns, shown), title)
    if more:
        console.out.print(f"{more:,} more row{'s' if more != 1 else ''} not shown; use "
                          "--csv or --jsonl for every row, or --limit N", markup=False)


def _write_csv(rows: _Rows, limit: int | None, stream: TextIO) -> None:
    # CRLF as RFC 4180 has it: then a value holding a lone CR is quoted too.
    writer = csv.writer(stream, lineterminator="\r\n")
    batches = rows.batches(limit)
    first = next(batches, [])  # an error in the query comes before the header, not after
    writer.writerow(rows.columns)
    for batch in itertools.chain([first], batches):
        writer.writerows([_csv_cell(value) for value in row] for row in batch)


def _write_json_array(rows: _Rows, limit: int | None, stream: TextIO) -> None:
    """`console.to_json` of the whole list, written a batch at a time."""
    keys = _json_keys(rows.columns)
    first = True
    for batch in rows.batches(limit):
        for row in batch:
            stream.write(("[\n" if first else ",\n")
                         + "  " + console.to_json(_row_object(keys, row), "  "))
            first = False
    stream.write("[]\n" if first else "\n]\n")


def _json_keys(columns: Sequence[str]) -> list[str]:
    """Column names as object keys: a repeated name gets `_1`, `_2`, ... (as DuckDB
    names a subquery's repeated columns), so that no value is lost."""
    keys: list[str] = []
    for column in columns:
        key, n = column, 0
        while key in keys:
            n += 1
            key = f"{column}_{n}"
        keys.append(key)
    return keys


def _row_object(keys: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    return {key: _plain(value) for key, value in zip(keys, row, strict=True)}


def _plain(value: Any) -> Any:
    """A value as `console.to_json` prints it exactly: times to the microsecond (the
    ledger's `iso_time` stops at the second), bytes as hex, nested values throughout."""
    if isinstance(value, datetime):
        return _exact_time(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, UUID | timedelta):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _exact_time(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as everywhere in sluice, with the fraction of a
    second it has (milliseconds, or microseconds when it has them)."""
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not utc.microsecond:
        spec = "seconds"
    elif utc.microsecond % 1000:
        spec = "microseconds"
    else:
        spec = "milliseconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _compact(value: Any) -> str:
    """JSON on one line, with the values `console.to_json` gives (decimals exact)."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json_module.dumps(str(k))}: {_compact(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    return console.to_json(value)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return _exact_time(value)
    if isinstance(value, date | time):
        return value.isoformat()
    plain = _plain(value)
    if isinstance(plain, dict | list):
        return _compact(plain)
    return str(plain)


def _table_cell(value: Any) -> Any:
    """What the text table prints: numbers stay numbers (the table adds separators),
    times exact, nested values as JSON."""
    if isinstance(value, datetime):
        return _exact_time(value)
    if value is None or isinstance(value, bool | int | float | Decimal | str | date):
        return value
    plain = _plain(value)
    return _compact(plain) if isinstance(plain, dict | list) else plain


def _parsed_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json_module.loads(value, parse_float=Decimal)
    except ValueError:
        return value


# --- running the query -------------------------------------------------------------------


@contextlib.contextmanager
def _rows_of(wh: Warehouse, sql: str) -> Iterator[_Rows]:
    on_duckdb = wh.destination.shares_engine
    _check_statement(wh.con, sql, on_duckdb)
    if on_duckdb:
        yield _duckdb_rows(wh.con, sql)
    else:
        with _postgres_rows(_postgres_connection(wh), sql) as rows:
            yield rows


def _check_statement(parser: duckdb.DuckDBPyConnection, sql: str, on_duckdb: bool) -> None:
    """One statement, and a query. DuckDB's parser reads PostgreSQL's SQL as well; what
    it cannot parse goes to PostgreSQL, which refuses anything but one query itself."""
    try:
        statements = parser.extract_statements(sql)
    except duckdb.ParserException as error:
        if not on_duckdb:
            return  # PostgreSQL's own syntax, perhaps: PostgreSQL judges it
        raise UsageError(f"the query is not valid SQL: {_engine_text(error)}") from None
    if not statements:
        raise UsageError("no SQL statement given; give one query, such as "
                         "\"SELECT * FROM sluice.runs\"")
    if len(statements) > 1:
        raise UsageError(f"sluice sql runs one statement at a time; this SQL has "
                         f"{len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise UsageError(f"sluice sql only reads: {kind.name} statements are refused; give "
                         "one query (SELECT ...), the warehouse is open read-only")


def _duckdb_rows(con: duckdb.DuckDBPyConnection, sql: str) -> _Rows:
    for setting in _DUCKDB_LOCKDOWN:
        con.execute(setting)
    with _user_sql(_duckdb_error):
        _interruptible(con, lambda: con.execute(sql))
        described = [(d[0], str(d[1])) for d in con.description or []]
        if any("WITH TIME ZONE" in kind for _, kind in described):
            # A time with a zone reaches Python only through pytz, which sluice does not
            # need otherwise: the engine gives it in UTC (times with a zone nested in a
            # list or struct as text, in UTC).
            zoned = f"SELECT {_utc_columns(described)} FROM query(?)"
            _interruptible(con, lambda: con.execute(zoned, [sql]))
    json_columns = frozenset(i for i, (_, kind) in enumerate(described) if kind == "JSON")

    def fetch(n: int) -> list[tuple[Any, ...]]:
        with _user_sql(_duckdb_error):
            return _interruptible(con, lambda: con.fetchmany(n))

    def count_rest() -> int:
        # Counted by the engine (fast: nothing comes to Python) rather than fetched.
        with _user_sql(_duckdb_error):
            counted = _interruptible(con, lambda: con.execute(
                "SELECT count(*) FROM query(?)", [sql]).fetchone())
        return max(int(counted[0]) - TABLE_ROWS, 0) if counted else 0

    return _Rows([name for name, _ in described], fetch, count_rest, json_columns)


def _interruptible(con: duckdb.DuckDBPyConnection, work: Callable[[], Value]) -> Value:
    """`work` on the engine, in a thread of its own: the engine does not notice Ctrl-C or
    SIGTERM while it runs a query, the main thread waiting here does. Then the query is
    interrupted and the signal goes on (one line, exit 130 or 143, as for every verb)."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as error:
            outcome.append((False, error))

    worker = threading.Thread(target=run, name="sluice-query", daemon=True)
    worker.start()
    try:
        worker.join()
    except BaseException:
        con.interrupt()
        worker.join()  # a second signal only waits (sluice.interrupts)
        raise
    done, value = outcome[0]
    if not done:
        raise value
    return value  # type: ignore[no-any-return]


def _utc_columns(described: Sequence[tuple[str, str]]) -> str:
    items = []
    for i, (name, kind) in enumerate(described, start=1):
        if kind == _TIMESTAMPTZ:
            item = f"timezone('UTC', #{i})"
        elif "WITH TIME ZONE" in kind and kind != "TIME WITH TIME ZONE":
            item = f"CAST(#{i} AS VARCHAR)"
        else:
            item = f"#{i}"
        items.append(f"{item} AS {_quoted(name)}")
    return ", ".join(items)


def _postgres_connection(wh: Warehouse) -> psycopg.Connection[Any]:
    from sluice.destinations.postgres import PostgresDatabase

    destination = wh.destination
    assert isinstance(destination, PostgresDatabase)
    return destination.con


@contextlib.contextmanager
def _postgres_rows(con: psycopg.Connection[Any], sql: str) -> Iterator[_Rows]:
    """The query as a cursor on the server, inside a READ ONLY transaction that is rolled
    back: rows come a batch at a time, and nothing the SQL does can be kept."""
    from functools import partial

    from psycopg import sql as pg_sql
    from psycopg.types.json import set_json_loads

    set_json_loads(partial(json_module.loads, parse_float=Decimal), con)
    con.execute("BEGIN TRANSACTION READ ONLY")
    try:
        cursor = con.cursor(name=_CURSOR)
        try:
            with _user_sql(_postgres_error):
                cursor.execute(sql)  # no parameters: a % in the SQL stays as it is

            def fetch(n: int) -> list[tuple[Any, ...]]:
                with _user_sql(_postgres_error):
                    return cursor.fetchmany(n)

            def count_rest() -> int:
                with _user_sql(_postgres_error):
                    moved = con.execute(pg_sql.SQL("MOVE FORWARD ALL FROM {}").format(
                        pg_sql.Identifier(_CURSOR)))
                return max(moved.rowcount, 0)

            yield _Rows([d.name for d in cursor.description or []], fetch, count_rest)
        finally:
            with contextlib.suppress(Exception):
                cursor.close()
    finally:
        with contextlib.suppress(Exception):
            con.execute("ROLLBACK")


@contextlib.contextmanager
def _user_sql(translate: Callable[[Exception], BaseException | None]) -> Iterator[None]:
    """The engine's errors about the user's SQL as one line in sluice's words (with the
    engine's own message, which is about that SQL); any other error goes on as it is."""
    try:
        yield
    except Exception as error:
        translated = None if interrupts.received() is not None else translate(error)
        if translated is None:
            raise
        raise translated from None


def _duckdb_error(error: Exception) -> BaseException | None:
    if not isinstance(error, duckdb.Error) or isinstance(error, (
            duckdb.InterruptException, duckdb.OutOfMemoryException, duckdb.IOException,
            duckdb.FatalException, duckdb.InternalException, duckdb.ConnectionException)):
        return None
    text = _engine_text(error)
    if isinstance(error, duckdb.PermissionException):
        return UsageError(f"the query was refused: sluice sql reads the warehouse only, "
                          f"never files or extensions ({text})")
    if "read-only mode" in text or "configuration has been locked" in text:
        return UsageError(f"the query was refused: the warehouse is open read-only ({text})")
    if isinstance(error, duckdb.ParserException):
        return UsageError(f"the query is not valid SQL: {text}")
    return UsageError(f"the query failed: {text}")


# SQLSTATE classes that are the server's trouble, not the query's: connection, resources,
# operator intervention, system errors, internal errors.
_SERVER_CLASSES = ("08", "53", "57", "58", "XX")


def _postgres_error(error: Exception) -> BaseException | None:
    state = str(getattr(error, "sqlstate", "") or "")
    if not state or state.startswith(_SERVER_CLASSES):
        return None
    text = _postgres_text(error)
    if state == "25006" or "data-modifying" in text:
        return UsageError(f"the query was refused: the warehouse is open read-only ({text})")
    if "multiple commands" in text:
        return UsageError("sluice sql runs one statement at a time; this SQL has more")
    if state == "42601":
        return UsageError(f"the query is not valid SQL: {text}")
    return UsageError(f"the query failed: {text}")


def _postgres_text(error: Exception) -> str:
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None) or _engine_text(error)
    hint = getattr(diag, "message_hint", None)
    return f"{primary} ({hint})" if hint else str(primary)


def _engine_text(error: Exception) -> str:
    """The engine's message on one line: its first paragraph (DuckDB adds the SQL with a
    pointer under it, PostgreSQL the `LINE 1:` of it), without the warehouse's catalog
    name, which the user never wrote."""
    kept = []
    for line in str(error).strip().splitlines():
        if not line.strip() or line.startswith("LINE "):
            break
        kept.append(line.strip())
    text = " ".join(kept).replace(f'database "{CATALOG}"', "the warehouse")
    return text.replace(f'"{CATALOG}"', "the warehouse").replace(f'"{CATALOG}.', '"').replace(
        f"{CATALOG}.", "")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- tables ------------------------------------------------------------------------------

_TABLE_COLUMNS = ["schema", "name", "kind", "rows", "note"]


def _duckdb_tables(con: duckdb.DuckDBPyConnection, seconds: float) -> Result:
    for setting in _DUCKDB_LOCKDOWN:
        con.execute(setting)
    relations = con.execute(
        "SELECT schema_name, table_name, 'table' FROM duckdb_tables() "
        "WHERE database_name = ? AND NOT internal AND NOT temporary "
        "UNION ALL SELECT schema_name, view_name, 'view' FROM duckdb_views() "
        "WHERE database_name = ? AND NOT internal AND NOT temporary",
        [CATALOG, CATALOG]).fetchall()
    rows = []
    for schema, name, kind in sorted(relations):
        count, note = _duckdb_count(con, f"{_quoted(schema)}.{_quoted(name)}", seconds)
        rows.append((schema, name, kind, count, note))
    return Result(_TABLE_COLUMNS, rows)


def _duckdb_count(con: duckdb.DuckDBPyConnection, relation: str, seconds: float
                  ) -> tuple[int | None, str | None]:
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        con.interrupt()

    timer = threading.Timer(seconds, stop)
    timer.start()
    try:
        counted = _interruptible(con, lambda: con.execute(
            f"SELECT count(*) FROM {relation}").fetchone())
    except duckdb.InterruptException:
        if not fired.is_set() or interrupts.received() is not None:
            raise
        return None, _too_long(seconds)
    except duckdb.Error as error:
        if interrupts.received() is not None or isinstance(error, (
                duckdb.OutOfMemoryException, duckdb.FatalException, duckdb.ConnectionException)):
            raise
        return None, f"cannot count: {_engine_text(error)}"
    finally:
        timer.cancel()
    return (int(counted[0]) if counted else 0), None


def _postgres_tables(con: psycopg.Connection[Any], seconds: float) -> Result:
    import psycopg

    con.execute("BEGIN TRANSACTION READ ONLY")
    try:
        con.execute("SELECT set_config('statement_timeout', %s, true)",
                    [f"{max(int(seconds * 1000), 1)}ms"])
        relations = con.execute(
            "SELECT n.nspname, c.relname, CASE c.relkind WHEN 'v' THEN 'view' "
            "WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' "
            "ELSE 'table' END FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition "
            "AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'").fetchall()
        rows = []
        for schema, name, kind in sorted(relations):
            relation = f"{_quoted(schema)}.{_quoted(name)}"
            con.execute("SAVEPOINT sluice_count")
            try:
                counted = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
                count, note = (int(counted[0]) if counted else 0), None
            except psycopg.Error as error:
                state = str(error.sqlstate or "")
                if interrupts.received() is not None or (
                        state.startswith(_SERVER_CLASSES) and state != "57014"):
                    raise
                con.execute("ROLLBACK TO SAVEPOINT sluice_count")
                count = None
                note = (_too_long(seconds) if state == "57014"
                        else f"cannot count: {_postgres_text(error)}")
            con.execute("RELEASE SAVEPOINT sluice_count")
            rows.append((schema, name, kind, count, note))
    finally:
        with contextlib.suppress(Exception):
            con.execute("ROLLBACK")
    return Result(_TABLE_COLUMNS, rows)


def _too_long(seconds: float) -> str:
    return f"not counted: counting took longer than {seconds:g} s (--count-timeout)"
