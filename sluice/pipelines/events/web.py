"""Events on the dashboard: the per-symbol dashboard and the range view, from the raw
events in the warehouse (`events.raw_events`, which the event service loads every
`--load-every` seconds; the page re-reads them every 2 s, and `sluice serve` serves a
committed load within about a second).

The figures follow the service's rules, as `events.symbol_totals` does: a symbol's
requests are its initial requests; every followup of a uuid counts for each symbol the
uuid opened with; a range holds the initial requests in [lower, upper) and the followups
of the uuids whose first initial request for the symbol is in it. They are computed
from `events.raw_events` itself, so a warehouse the service loaded without its models
built answers too. Times are the service's: UTC, `YYYY-MM-DD HH:MM:SS.ffffff`.

With `SLUICE_EVENTS_URL` naming a running event service, `live/symbols` and
`live/range` answer from its own dashboards (`GET /dashboard/range/...`) instead.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from sluice.destinations import Result
from sluice.pipelines.events.aggregates import EPOCH, MICROSECOND, TIME_FORMAT
from sluice.pipelines.events.service import BadRequest, parse_bound
from sluice.warehouse import Warehouse
from sluice.web.answers import (
    ApiError,
    JSONText,
    Limit,
    Offset,
    ReadersDep,
    RowsPage,
    answer,
    sliced,
)
from sluice.web.part import Choice, Column, Panel, WebPart

LIVE_VARIABLE = "SLUICE_EVENTS_URL"
LIVE_TIMEOUT = 2.0  # seconds: a dashboard answers in milliseconds
LIVE_BYTES = 1 << 20  # 26 symbols' figures are a few kilobytes
REFRESH_SECONDS = 2.0
COLUMNS = ["symbol", "requests", "earliest", "latest", "followups"]
Bound = Annotated[str, Query(
    max_length=40, description="A date (YYYY-MM-DD: its midnight, UTC) or a timestamp "
                               "(YYYY-MM-DD HH:MM:SS[.ffffff]), as the service takes it.")]
EVERYTHING = ("0001-01-01", "9999-12-31")  # a range that holds every event

# The service's rules in SQL (as events.symbol_totals), bounded by the initial
# requests' time; `{within}` is the bound on a time, or nothing.
DASHBOARD = """
WITH initials AS (
    SELECT uuid, symbol, "at" FROM events.raw_events WHERE kind = 'initial'
),
sent AS (
    SELECT uuid, count(*) AS followups FROM events.raw_events
    WHERE kind = 'followup' GROUP BY uuid
),
opened AS (
    SELECT uuid, symbol, min("at") AS first_at FROM initials GROUP BY uuid, symbol
),
counted AS (
    SELECT symbol, count(*) AS requests, min("at") AS earliest, max("at") AS latest
    FROM initials WHERE {within_at} GROUP BY symbol
),
followed AS (
    SELECT o.symbol, sum(s.followups) AS followups
    FROM opened AS o JOIN sent AS s ON s.uuid = o.uuid
    WHERE {within_first} GROUP BY o.symbol
)
SELECT c.symbol, CAST(c.requests AS BIGINT) AS requests, c.earliest, c.latest,
       CAST(coalesce(f.followups, 0) AS BIGINT) AS followups
FROM counted AS c LEFT JOIN followed AS f ON f.symbol = c.symbol
ORDER BY c.symbol
"""
EVERY_SYMBOL = DASHBOARD.format(within_at="1 = 1", within_first="1 = 1")
IN_RANGE = DASHBOARD.format(within_at='"at" >= ? AND "at" < ?',
                            within_first="o.first_at >= ? AND o.first_at < ?")


def _shown(result: Result) -> Result:
    """Times as the service writes them."""
    return Result(COLUMNS, [(symbol, int(requests), _time(earliest), _time(latest),
                             int(followups))
                            for symbol, requests, earliest, latest, followups in result.rows])


def _time(value: Any) -> Any:
    return value.strftime(TIME_FORMAT) if isinstance(value, datetime) else value


def symbols(warehouse: Warehouse) -> Result:
    return _shown(warehouse.destination.query(EVERY_SYMBOL))


def in_range(warehouse: Warehouse, lower: datetime, upper: datetime) -> Result:
    return _shown(warehouse.destination.query(IN_RANGE, [lower, upper, lower, upper]))


def bounds(lower: str, upper: str) -> tuple[datetime, datetime]:
    """The range's bounds as the service parses them (`parse_bound`); a bound that is
    not a date or timestamp is a 422, a lower bound after the upper a 400."""
    try:
        low, high = parse_bound(lower, "lower"), parse_bound(upper, "upper")
    except BadRequest as error:
        raise ApiError(422, str(error)) from None
    if low > high:
        raise ApiError(400, "lower is after upper")
    return EPOCH + low * MICROSECOND, EPOCH + high * MICROSECOND


def headline(warehouse: Warehouse) -> str | None:
    rows = symbols(warehouse).dicts()
    if not rows:
        return None
    requests = sum(row["requests"] for row in rows)
    busiest = max(rows, key=lambda row: row["requests"])  # the first by symbol on a tie
    followups = sum(row["followups"] for row in rows)
    return (f"{requests:,} initial requests for {len(rows)} "
            f"symbol{'s' if len(rows) != 1 else ''} in the warehouse, "
            f"{followups:,} followups counted; the most requested: {busiest['symbol']} "
            f"({busiest['requests']:,})")


# --- the running service's own dashboards ------------------------------------------------

def live_url() -> str:
    url = os.environ.get(LIVE_VARIABLE, "").rstrip("/")
    if not url:
        raise ApiError(404, f"no event service to ask: set {LIVE_VARIABLE} to its address "
                            "(http://HOST:PORT) before starting sluice serve")
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ApiError(503, f"{LIVE_VARIABLE} is not an http:// or https:// address")
    return url


def _where(url: str) -> str:
    """The service's address as a message shows it: never a user name or password."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def live_range(lower: str, upper: str) -> Result:
    """The service's `GET /dashboard/range/LOWER/UPPER`, as rows."""
    base = live_url()
    where = _where(base)
    path = "/dashboard/range/" + "/".join(urllib.parse.quote(b, safe="") for b in (lower, upper))
    request = urllib.request.Request(base + path, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=LIVE_TIMEOUT) as response:
            found = json.loads(response.read(LIVE_BYTES))
    except urllib.error.HTTPError as error:
        said = error.read(500).decode("utf-8", "replace").strip()
        status = 400 if error.code == 400 else 503
        raise ApiError(status, f"the event service answered {error.code}: {said}") from None
    except (urllib.error.URLError, OSError, ValueError):
        raise ApiError(503, f"the event service at {where} cannot be reached now") from None
    try:
        rows = [(str(item["symbol"]), int(item["count"]), item["earliest"], item["latest"],
                 int(item["followups"])) for item in found]
    except (TypeError, KeyError, ValueError):
        raise ApiError(503, f"the event service at {where} answered something else than "
                            "its dashboard") from None
    return Result(COLUMNS, sorted(rows))


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/symbols", response_model=RowsPage, response_class=JSONText,
             summary="The per-symbol dashboard from the warehouse: requests, earliest, "
                     "latest and followups of each symbol")
    def symbol_rows(source: ReadersDep, limit: Limit = 50, offset: Offset = 0) -> JSONText:
        found = answer(source, ("events", "symbols"), symbols, "events")
        return JSONText(sliced(found, limit, offset))

    @api.get("/range", response_model=RowsPage, response_class=JSONText,
             summary="The range dashboard from the warehouse: per symbol with initial "
                     "requests in [lower, upper)")
    def range_rows(source: ReadersDep, lower: Bound, upper: Bound, limit: Limit = 50,
                   offset: Offset = 0) -> JSONText:
        low, high = bounds(lower, upper)

        def compute(warehouse: Warehouse) -> Result:
            return in_range(warehouse, low, high)

        found = answer(source, ("events", "range", low, high), compute, "events")
        return JSONText(sliced(found, limit, offset))

    @api.get("/live/symbols", response_model=RowsPage, response_class=JSONText,
             summary="The per-symbol dashboard from the running event service "
                     f"(${LIVE_VARIABLE})")
    def live_symbols(limit: Limit = 50, offset: Offset = 0) -> JSONText:
        return JSONText(sliced(live_range(*EVERYTHING), limit, offset))

    @api.get("/live/range", response_model=RowsPage, response_class=JSONText,
             summary="The range dashboard from the running event service "
                     f"(${LIVE_VARIABLE})")
    def live_range_rows(lower: Bound, upper: Bound, limit: Limit = 50,
                        offset: Offset = 0) -> JSONText:
        bounds(lower, upper)  # refused here as the service would refuse it
        return JSONText(sliced(live_range(lower, upper), limit, offset))

    return api


SYMBOL_COLUMNS = (Column("symbol"), Column("requests", format="number"),
                  Column("earliest", "earliest (UTC)"), Column("latest", "latest (UTC)"),
                  Column("followups", format="number"))


def _panels() -> tuple[Panel, ...]:
    panels = [
        Panel("table", "the per-symbol dashboard (from the warehouse)", "symbols",
              columns=SYMBOL_COLUMNS, page_size=26,
              note="Events reach the warehouse when the event service loads its log "
                   "(every --load-every seconds); this page reads it every 2 s."),
        Panel("table", "symbols requested in a range [lower, upper)", "range",
              columns=SYMBOL_COLUMNS, page_size=26, controls=(
                  Choice("lower", "from (a date or timestamp, UTC)", text=True,
                         default=EVERYTHING[0]),
                  Choice("upper", "to, not included", text=True, default=EVERYTHING[1]))),
        Panel("table", "events in the warehouse by kind", "views/events"),
    ]
    if os.environ.get(LIVE_VARIABLE):
        panels.append(Panel("table", "the per-symbol dashboard (live, from the event "
                                     "service)", "live/symbols", columns=SYMBOL_COLUMNS,
                            page_size=26))
    return tuple(panels)


# Its views are its panels: the per-symbol view is what `symbols` answers (with the
# service's times), so it is not shown twice.
PART = WebPart(panels=_panels(), router=router, headline=headline, views_shown=False,
               refresh_seconds=REFRESH_SECONDS)
