"""The event service's benchmark stores, behind the very server `sluice events serve`
runs (the same Starlette app and endpoints, on uvicorn with the same settings):

- `naive`: the design the issue describes as the starting point: SQLite, one INSERT and
  one COMMIT per request (SQLite's defaults: a rollback journal, synchronous FULL), no
  index, and the dashboards computed by full scans at read time.
- `noop`: keeps nothing and answers empty dashboards: the cost of the server alone.

Run one with uvicorn (the store and its file come from the environment, as a worker
process gets them):

    BENCH_EVENTS_STORE=naive BENCH_EVENTS_SQLITE=/tmp/naive.db \\
        uvicorn bench.events_stores:create_app --factory --workers 2 --port 8001
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from sluice.pipelines.events.aggregates import SymbolAggregate, time_text
from sluice.pipelines.events.service import EventService, EventStore

STORE_VARIABLE, SQLITE_VARIABLE = "BENCH_EVENTS_STORE", "BENCH_EVENTS_SQLITE"

SCHEMA = "CREATE TABLE IF NOT EXISTS events (kind TEXT, uuid TEXT, symbol TEXT, guess INTEGER, at TEXT)"

# The dashboards by full scans: initials of the symbols in range, and the followups
# whose uuid opened with the symbol (each followup event counts, as the service counts).
DASHBOARD = """
WITH initials AS (
    SELECT uuid, symbol, at FROM events
    WHERE kind = 'initial' AND at >= ? AND at < ? AND (? IS NULL OR symbol = ?)
),
opened AS (SELECT DISTINCT uuid, symbol FROM initials),
sent AS (SELECT uuid, count(*) AS n FROM events WHERE kind = 'followup' GROUP BY uuid)
SELECT i.symbol, count(*), min(i.at), max(i.at),
       (SELECT coalesce(sum(s.n), 0) FROM opened o JOIN sent s ON s.uuid = o.uuid
        WHERE o.symbol = i.symbol)
FROM initials i GROUP BY i.symbol ORDER BY i.symbol
"""


class NaiveSQLiteStore:
    """SQLite, a commit per insert, no index, full scans for the dashboards."""

    def __init__(self, path: str) -> None:
        self._con = sqlite3.connect(path, check_same_thread=False, timeout=60,
                                    isolation_level=None)
        self._con.execute(SCHEMA)
        self._lock = threading.Lock()  # one connection, used by the server's threads

    async def record(self, event: dict[str, Any]) -> None:
        await run_in_threadpool(self._insert, event)

    def _insert(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")
            self._con.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                              (event["kind"], event["uuid"], event["symbol"],
                               event["guess"], event["at"]))
            self._con.execute("COMMIT")

    def symbol(self, symbol: str) -> SymbolAggregate:
        found = self._dashboard("0000", "9999", symbol)
        return found[0] if found else SymbolAggregate(symbol, 0, None, None, 0)

    def range(self, lower: int, upper: int) -> list[SymbolAggregate]:
        return self._dashboard(time_text(lower), time_text(upper), None)

    def _dashboard(self, lower: str, upper: str, symbol: str | None) -> list[SymbolAggregate]:
        with self._lock:
            rows = self._con.execute(DASHBOARD, (lower, upper, symbol, symbol)).fetchall()
        return [SymbolAggregate(s, n, first, last, followups)
                for s, n, first, last, followups in rows]

    def close(self) -> None:
        self._con.close()


class NoopStore:
    """Keeps nothing: what the server costs by itself."""

    async def record(self, event: dict[str, Any]) -> None:
        return None

    def symbol(self, symbol: str) -> SymbolAggregate:
        return SymbolAggregate(symbol, 0, None, None, 0)

    def range(self, lower: int, upper: int) -> list[SymbolAggregate]:
        return []

    def close(self) -> None:
        return None


def make_store(kind: str, sqlite_path: str | None = None) -> EventStore:
    if kind == "noop":
        return NoopStore()
    if kind == "naive":
        if not sqlite_path:
            raise ValueError(f"the naive store needs {SQLITE_VARIABLE}")
        return NaiveSQLiteStore(sqlite_path)
    raise ValueError(f"unknown store {kind!r}: naive or noop")


def create_app() -> Starlette:
    """A worker's app, with the store the environment names."""
    store = make_store(os.environ[STORE_VARIABLE], os.environ.get(SQLITE_VARIABLE))
    return EventService(store).app()

