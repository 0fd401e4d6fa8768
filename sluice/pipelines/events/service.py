"""The symbol event service's HTTP contract (existing clients work unchanged).

- `POST /initial?uuid=U&symbol=S` -> `True` or `False`: the guess that S is a vowel
  (`y`: a coin flip), flipped with probability 0.1.
- `POST /followup?uuid=U` -> `hooray`.
- `GET /dashboard/symbol/S` -> `{"symbol", "count", "earliest", "latest", "followups"}`.
- `GET /dashboard/range/LOWER/UPPER` -> a list of those, one per symbol with requests in
  [LOWER, UPPER), on the initial request's time.

Every event is in the log (on disk) before its answer is sent, and counted in the
aggregates by then unless their store is down (it catches up from the log). Bad input is
a 400 with a short message; a disk or dashboard store that fails is a 503, never a 500.
A request waits for its group commit on the event loop (the log's writer resolves its
future), so thousands can wait at once without a thread each; the dashboards' reads,
which block on their store, run in the server's thread pool.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sluice.pipelines.events.aggregates import (
    EPOCH,
    MICROSECOND,
    SYMBOLS,
    Aggregates,
    Mark,
    StoreUnavailable,
    SymbolAggregate,
    catch_up,
)
from sluice.pipelines.events.log import EventLog, LogClosed, open_segments, segment_name

VOWELS = frozenset("aeiou")
FLIP = 0.1
MAX_UUID = 128
LOGGER = logging.getLogger("sluice.events")
CATCH_UP_WAIT = 0.2  # how long a dashboard waits for events on disk to be counted
Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?", re.ASCII)


class BadRequest(Exception):
    """Input the contract refuses: answered 400 with the message."""


def guess(symbol: str, rng: random.Random) -> bool:
    """Whether the symbol is a vowel, as the service guesses it."""
    vowel = rng.random() < 0.5 if symbol == "y" else symbol in VOWELS
    return not vowel if rng.random() < FLIP else vowel


_second: tuple[int, str] = (-1, "")  # the last second formatted, and its text


def now() -> str:
    """The UTC time, `YYYY-MM-DD HH:MM:SS.ffffff`; the part up to the second is
    formatted once a second (a measurable share of a request's time otherwise)."""
    global _second
    seconds, fraction = divmod(time.time_ns() // 1000, 1_000_000)
    if _second[0] != seconds:
        _second = (seconds, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)))
    return f"{_second[1]}.{fraction:06d}"


def parse_bound(text: str, name: str) -> int:
    """A range bound in microseconds since the epoch: a date means its midnight (UTC)."""
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
    return (parsed - EPOCH) // MICROSECOND


class EventStore(Protocol):
    """Where the service keeps events and reads its dashboards from. The service's own
    is `LoggedStore`; benchmarks put others behind the same server."""

    async def record(self, event: dict[str, Any]) -> None:
        """Keep an event; once this returns, the event must survive a crash. A store
        that blocks runs its work in the server's thread pool."""
        ...

    def symbol(self, symbol: str) -> SymbolAggregate: ...

    def range(self, lower: int, upper: int) -> list[SymbolAggregate]: ...

    def close(self) -> None: ...


@dataclass
class LoggedStore:
    """Events into the group-committed log; the dashboards from the aggregates, counted
    from the log (by the server's housekeeping, and by a dashboard request itself)."""

    log: EventLog
    aggregates: Aggregates

    async def record(self, event: dict[str, Any]) -> None:
        await self.log.write_async(event)

    def symbol(self, symbol: str) -> SymbolAggregate:
        self._count_open_segments()
        return self.aggregates.symbol(symbol)

    def range(self, lower: int, upper: int) -> list[SymbolAggregate]:
        self._count_open_segments()
        return self.aggregates.range(lower, upper)

    def _count_open_segments(self) -> None:
        """Count what every server process's open segment holds now, before reading: an
        answered event is then on the dashboards, whichever worker took it. The
        housekeeping counts the same events every few milliseconds anyway; a batch
        applies only right after its segment's mark, so nothing counts twice."""
        folder = self.log.folder
        deadline = time.monotonic() + CATCH_UP_WAIT
        while True:
            paths, sizes = open_segments(folder), {}
            for path in paths:
                try:
                    sizes[segment_name(path)] = path.stat().st_size
                except FileNotFoundError:
                    continue  # closed meanwhile: catch_up finds it closed
            if not paths:
                return
            catch_up(self.aggregates, folder, paths=paths)
            marks = self.aggregates.marks(list(sizes))
            behind = [name for name, size in sizes.items()
                      if marks.get(name, Mark()).offset < size]
            if not behind or time.monotonic() > deadline:
                return
            time.sleep(0.001)  # someone else is applying those events right now

    def close(self) -> None:
        self.log.close()


class Unavailable(Exception):
    """The service cannot do this now (the disk or the dashboard store): answered 503."""


@dataclass
class EventService:
    """The HTTP contract over a store."""

    store: EventStore
    rng: random.Random | None = None

    def __post_init__(self) -> None:
        self._rng = self.rng or random.Random()

    async def initial(self, uuid: str, symbol: str) -> bool:
        answer = guess(symbol, self._rng)
        await self._record({"kind": "initial", "uuid": uuid, "symbol": symbol, "guess": answer,
                      "at": now()})
        return answer

    async def followup(self, uuid: str) -> None:
        await self._record({"kind": "followup", "uuid": uuid, "symbol": None, "guess": None,
                      "at": now()})

    async def _record(self, event: dict[str, Any]) -> None:
        try:
            await self.store.record(event)
        except (OSError, LogClosed) as error:
            LOGGER.error("an event could not be stored: %s", error)
            raise Unavailable("the event could not be stored; try again") from None

    def app(self, lifespan: Lifespan | None = None) -> Starlette:
        return Starlette(routes=[
            Route("/initial", self._initial, methods=["POST"]),
            Route("/followup", self._followup, methods=["POST"]),
            Route("/dashboard/symbol/{symbol}", self._symbol, methods=["GET"]),
            Route("/dashboard/range/{lower}/{upper}", self._range, methods=["GET"]),
        ], exception_handlers={BadRequest: _bad_request, Unavailable: _unavailable,
                               StoreUnavailable: _unavailable}, lifespan=lifespan)

    async def _initial(self, request: Request) -> Response:
        uuid = _uuid(request)
        symbol = _symbol(request.query_params.get("symbol"))
        return PlainTextResponse(str(await self.initial(uuid, symbol)))

    async def _followup(self, request: Request) -> Response:
        await self.followup(_uuid(request))
        return PlainTextResponse("hooray")

    async def _symbol(self, request: Request) -> Response:
        symbol = _symbol(request.path_params["symbol"])
        found = await run_in_threadpool(self.store.symbol, symbol)
        return JSONResponse(found.as_dict())

    async def _range(self, request: Request) -> Response:
        lower = parse_bound(request.path_params["lower"], "LOWER")
        upper = parse_bound(request.path_params["upper"], "UPPER")
        if lower > upper:
            raise BadRequest("LOWER is after UPPER")
        found = await run_in_threadpool(self.store.range, lower, upper)
        return JSONResponse([aggregate.as_dict() for aggregate in found])


def _uuid(request: Request) -> str:
    uuid = request.query_params.get("uuid", "")
    if not uuid.strip():
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


def _unavailable(request: Request, error: Exception) -> Response:
    return PlainTextResponse(str(error), status_code=503, headers={"Retry-After": "1"})


