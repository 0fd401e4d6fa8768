"""The symbol event service's HTTP contract (existing clients work unchanged).

- `POST /initial?uuid=U&symbol=S` -> `True` or `False`: the guess that S is a vowel
  (`y`: a coin flip), flipped with probability 0.1.
- `POST /followup?uuid=U` -> `hooray`.
- `GET /dashboard/symbol/S` -> `{"symbol", "count", "earliest", "latest", "followups"}`.
- `GET /dashboard/range/LOWER/UPPER` -> a list of those, one per symbol with requests in
  [LOWER, UPPER), on the initial request's time.

Every event is in the log (on disk) before its answer is sent; the per-symbol
aggregates are updated after that. Bad input is a 400 with a short message. Endpoints
are plain functions: the server runs them in its thread pool, where a request waits for
its group commit without holding up the others.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sluice.pipelines.events.aggregates import SYMBOLS, Aggregates
from sluice.pipelines.events.log import EventLog, segments

VOWELS = frozenset("aeiou")
FLIP = 0.1
MAX_UUID = 128
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?")


class BadRequest(Exception):
    """Input the contract refuses: answered 400 with the message."""


def guess(symbol: str, rng: random.Random) -> bool:
    """Whether the symbol is a vowel, as the service guesses it."""
    vowel = rng.random() < 0.5 if symbol == "y" else symbol in VOWELS
    return not vowel if rng.random() < FLIP else vowel


def now() -> str:
    return datetime.now(UTC).strftime(TIME_FORMAT)


def parse_bound(text: str, name: str) -> str:
    """A range bound as the log writes times (`YYYY-MM-DD HH:MM:SS.ffffff`, which
    sort as text): a date means its midnight."""
    if _DATE.fullmatch(text):
        value = f"{text} 00:00:00"
    elif _TIMESTAMP.fullmatch(text):
        value = text
    else:
        raise BadRequest(f"{name} must be a date (YYYY-MM-DD) or a timestamp "
                         "(YYYY-MM-DD HH:MM:SS[.ffffff])")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} {text!r} is not a real date") from None
    return parsed.strftime(TIME_FORMAT)


# How the range dashboard is answered; given the log's folder and the two bounds.
RangeQuery = Callable[[Path, str, str], list[dict[str, Any]]]


def range_from_log(folder: Path, lower: str, upper: str) -> list[dict[str, Any]]:
    """The range dashboard computed from the log itself, exactly (the engine reads the
    segments; a torn last line is ignored)."""
    import duckdb

    paths = [str(p) for p in segments(folder)]
    if not paths:
        return []
    con = duckdb.connect()
    try:
        rows = con.execute("""
            WITH events AS (
                SELECT * FROM read_json(?, format = 'newline_delimited', ignore_errors = true,
                                        columns = {id: 'VARCHAR', kind: 'VARCHAR',
                                                   uuid: 'VARCHAR', symbol: 'VARCHAR',
                                                   "at": 'VARCHAR'})
                WHERE id IS NOT NULL
            ),
            initials AS (
                SELECT uuid, symbol, "at" FROM events
                WHERE kind = 'initial' AND "at" >= ? AND "at" < ?
            ),
            followups AS (
                SELECT uuid, count(*) AS n FROM events WHERE kind = 'followup' GROUP BY uuid
            ),
            opened AS (SELECT DISTINCT uuid, symbol FROM initials)
            SELECT i.symbol, i.count, i.earliest, i.latest, coalesce(f.followups, 0)
            FROM (SELECT symbol, count(*) AS count, min("at") AS earliest, max("at") AS latest
                  FROM initials GROUP BY symbol) i
            LEFT JOIN (SELECT o.symbol, sum(f.n) AS followups
                       FROM opened o JOIN followups f USING (uuid) GROUP BY o.symbol) f
                   USING (symbol)
            ORDER BY i.symbol
        """, [paths, lower, upper]).fetchall()
    finally:
        con.close()
    return [{"symbol": s, "count": int(c), "earliest": e, "latest": la, "followups": int(f)}
            for s, c, e, la, f in rows]


@dataclass
class EventService:
    """The service's state: the log (durability), the aggregates (the per-symbol
    dashboard), and how the range dashboard is answered."""

    log: EventLog
    aggregates: Aggregates
    range_query: RangeQuery = range_from_log
    rng: random.Random | None = None

    def __post_init__(self) -> None:
        self._rng = self.rng or random.Random()

    def initial(self, uuid: str, symbol: str) -> bool:
        answer = guess(symbol, self._rng)
        at = now()
        self.log.write({"kind": "initial", "uuid": uuid, "symbol": symbol, "guess": answer,
                        "at": at})
        self.aggregates.initial(uuid, symbol, at)
        return answer

    def followup(self, uuid: str) -> None:
        self.log.write({"kind": "followup", "uuid": uuid, "symbol": None, "guess": None,
                        "at": now()})
        self.aggregates.followup(uuid)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/initial", self._initial, methods=["POST"]),
            Route("/followup", self._followup, methods=["POST"]),
            Route("/dashboard/symbol/{symbol}", self._symbol, methods=["GET"]),
            Route("/dashboard/range/{lower}/{upper}", self._range, methods=["GET"]),
        ], exception_handlers={BadRequest: _bad_request})

    def _initial(self, request: Request) -> Response:
        uuid = _uuid(request)
        symbol = _symbol(request.query_params.get("symbol"))
        return PlainTextResponse(str(self.initial(uuid, symbol)))

    def _followup(self, request: Request) -> Response:
        self.followup(_uuid(request))
        return PlainTextResponse("hooray")

    def _symbol(self, request: Request) -> Response:
        symbol = _symbol(request.path_params["symbol"])
        return JSONResponse(self.aggregates.symbol(symbol).as_dict())

    def _range(self, request: Request) -> Response:
        lower = parse_bound(request.path_params["lower"], "LOWER")
        upper = parse_bound(request.path_params["upper"], "UPPER")
        if lower > upper:
            raise BadRequest("LOWER is after UPPER")
        return JSONResponse(self.range_query(self.log.folder, lower, upper))


def _uuid(request: Request) -> str:
    uuid = request.query_params.get("uuid", "")
    if not uuid:
        raise BadRequest("missing uuid")
    if len(uuid) > MAX_UUID or not uuid.isprintable():
        raise BadRequest(f"uuid must be printable text of at most {MAX_UUID} characters")
    return uuid


def _symbol(symbol: str | None) -> str:
    if not symbol:
        raise BadRequest("missing symbol")
    if len(symbol) != 1 or symbol not in SYMBOLS:
        raise BadRequest("symbol must be one letter a-z")
    return symbol


def _bad_request(request: Request, error: Exception) -> Response:
    return PlainTextResponse(str(error), status_code=400)


def serve(log_folder: Path, redis_url: str | None, host: str = "127.0.0.1", port: int = 8000,
          redis_prefix: str | None = None) -> None:
    """Run the service until stopped. The log's segments a dead process left are closed
    first. Without Redis the aggregates live in memory and are rebuilt from the log at
    start, so a restart loses nothing."""
    import uvicorn

    from sluice.pipelines.events.aggregates import (
        DEFAULT_PREFIX,
        MemoryAggregates,
        RedisAggregates,
        rebuild,
    )
    from sluice.pipelines.events.log import read_all, recover

    log_folder.mkdir(parents=True, exist_ok=True)
    recover(log_folder)
    aggregates: Aggregates
    if redis_url:
        aggregates = RedisAggregates(redis_url, redis_prefix or DEFAULT_PREFIX)
    else:
        aggregates = MemoryAggregates()
        rebuild(aggregates, read_all(log_folder))
    log = EventLog(log_folder)
    try:
        uvicorn.run(EventService(log, aggregates).app(), host=host, port=port,
                    log_level="warning", access_log=False)
    finally:
        log.close()
