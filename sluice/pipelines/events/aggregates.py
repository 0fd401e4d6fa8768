"""The dashboards' aggregates, kept as events arrive: in Redis, or in memory for the
embedded service. Both answer the per-symbol and the range dashboard.

For a set of initial requests (all of a symbol's, or those in a time range): `count`,
`earliest` and `latest` (UTC, `YYYY-MM-DD HH:MM:SS.ffffff`), and `followups`: the
followup events whose uuid opened with the symbol, each placed at the time of that
uuid's first initial request for the symbol, so a range counts them when that request is
in range. Every followup event counts, repeated ones included; a followup that arrives
before its uuid's initial is kept and counted once the initial comes.

Per symbol, the store keeps two sorted sets scored by time in microseconds since the
epoch: its initial requests (member: the event's id) and its followups (member:
`<uuid>#<k>`, the uuid's k-th followup). Counting a range is then two `ZCOUNT`s and the
edges two one-element `ZRANGE`s, logarithmic in the events stored, whatever the range's
length. Per uuid: which symbols it opened with (and when first) and how many followups
it sent, in 1,048,576 hash buckets rather than a key each: small hashes, which Redis
stores compactly (a listpack, up to `hash-max-listpack-entries`, 128 by default) until
about a hundred million uuids.

Updates come from the event log, a batch of a segment at a time (`apply`), with the
segment's watermark (the last event applied and its byte offset) moved in the same
atomic step; a batch that does not start right after the watermark changes nothing. So
applying is exactly-once whoever applies and however often, and `catch_up` brings the
aggregates level with the log after Redis was down, flushed or lost: the log is the
truth and the aggregates a view of it. The state reached does not depend on the order
of events, so catching up later gives exactly what applying at once would have.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sluice.pipelines.events.log import closed_path, read_from, segment_name, segments
from sluice.pipelines.events.settings import DEFAULT_PREFIX as DEFAULT_PREFIX

SYMBOLS = "abcdefghijklmnopqrstuvwxyz"
EPOCH = datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
# Scores are doubles: whole microseconds are exact up to 2**53 (the year 2255).
EXACT_SCORES = 2**53


class StoreUnavailable(Exception):
    """The aggregates' store cannot be reached."""


def micros(at: str) -> int:
    """A UTC time as written in the log, in microseconds since the epoch."""
    return (datetime.fromisoformat(at) - EPOCH) // MICROSECOND


def time_text(value: int) -> str:
    return (EPOCH + value * MICROSECOND).strftime(TIME_FORMAT)


@dataclass(frozen=True)
class SymbolAggregate:
    symbol: str
    count: int
    earliest: str | None
    latest: str | None
    followups: int

    def as_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "count": self.count, "earliest": self.earliest,
                "latest": self.latest, "followups": self.followups}


@dataclass(frozen=True)
class Mark:
    """How far a segment is applied: its last event applied and the byte after it."""

    event: int = 0
    offset: int = 0


class Aggregates(Protocol):
    def apply(self, segment: str, first: int, offset: int,
              events: Sequence[dict[str, Any]]) -> Mark:
        """Apply a segment's events numbered `first`, `first + 1`, ..., ending at byte
        `offset`, unless the segment's mark is not `first - 1`; returns the mark."""
        ...

    def marks(self, segments: Sequence[str] | None = None) -> dict[str, Mark]:
        """The marks of these segments (those with none are left out), or of all."""
        ...

    def symbol(self, symbol: str) -> SymbolAggregate: ...

    def range(self, lower: int, upper: int) -> list[SymbolAggregate]:
        """One aggregate per symbol with initial requests in [lower, upper) (microseconds)."""
        ...

    def clear(self) -> None: ...

    def lost(self) -> bool:
        """Whether the store may have lost what it held since this was last asked (a
        flushed or replaced Redis): then the whole log is counted again."""
        ...


class MemoryAggregates:
    """The aggregates in this process's memory: the embedded service, with no Redis."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self._initials: dict[str, list[int]] = {s: [] for s in SYMBOLS}
        self._followups: dict[str, list[int]] = {s: [] for s in SYMBOLS}
        self._opened: dict[str, dict[str, int]] = {}  # uuid: {symbol: first initial}
        self._sent: dict[str, int] = {}  # uuid: followups sent
        self._marks: dict[str, Mark] = {}

    def apply(self, segment: str, first: int, offset: int,
              events: Sequence[dict[str, Any]]) -> Mark:
        with self._lock:
            mark = self._marks.get(segment, Mark())
            if mark.event != first - 1:
                return mark
            for event in events:
                kind, at = _countable(event)  # the same judgement as in Redis
                if kind == "i" and at is not None:
                    self._initial(event["uuid"], event["symbol"], at)
                elif kind == "f":
                    self._followup(event["uuid"])
            mark = self._marks[segment] = Mark(first + len(events) - 1, offset)
            return mark

    def _initial(self, uuid: str, symbol: str, at: int) -> None:
        insort(self._initials[symbol], at)
        opened = self._opened.setdefault(uuid, {})
        before = opened.get(symbol)
        if before is not None and before <= at:
            return
        opened[symbol] = at
        sent = self._sent.get(uuid, 0)
        followups = self._followups[symbol]
        if before is not None:
            start = bisect_left(followups, before)
            del followups[start:start + sent]
        for _ in range(sent):
            insort(followups, at)

    def _followup(self, uuid: str) -> None:
        self._sent[uuid] = self._sent.get(uuid, 0) + 1
        for symbol, at in self._opened.get(uuid, {}).items():
            insort(self._followups[symbol], at)

    def lost(self) -> bool:
        return False  # it lives and dies with the process

    def marks(self, segments: Sequence[str] | None = None) -> dict[str, Mark]:
        with self._lock:
            if segments is None:
                return dict(self._marks)
            return {name: self._marks[name] for name in segments if name in self._marks}

    def symbol(self, symbol: str) -> SymbolAggregate:
        with self._lock:
            initials = self._initials[symbol]
            if not initials:
                return SymbolAggregate(symbol, 0, None, None, 0)
            return SymbolAggregate(symbol, len(initials), time_text(initials[0]),
                                   time_text(initials[-1]), len(self._followups[symbol]))

    def range(self, lower: int, upper: int) -> list[SymbolAggregate]:
        found = []
        with self._lock:
            for symbol in SYMBOLS:
                initials, followups = self._initials[symbol], self._followups[symbol]
                start, end = bisect_left(initials, lower), bisect_left(initials, upper)
                if start < end:
                    found.append(SymbolAggregate(
                        symbol, end - start, time_text(initials[start]),
                        time_text(initials[end - 1]),
                        bisect_left(followups, upper) - bisect_left(followups, lower)))
        return found


# ARGV: prefix, segment, first, offset, and the batch: one line per event,
# `kind TAB symbol TAB microseconds TAB uuid` (kind i or f; a followup's symbol and time
# empty; kind x: a line that cannot be counted, which only takes its number). The uuid
# comes last, so a tab in it cannot shift the fields; it holds no line break (the
# service takes printable uuids only; a hand-edited line with one is an x).
# Per uuid, in bucket `u:<5 hex digits of its SHA-1>`: `<followups sent>` then
# `;<symbol><first initial's microseconds>` for each symbol it opened with.
# Times stay strings from ARGV to ZADD: Lua formats numbers with 14 digits only.
_APPLY = r"""
local prefix, segment, first, offset, batch = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local marks = prefix .. 'marks'
local mark = redis.call('HGET', marks, segment)
local done = 0
if mark then done = tonumber(string.match(mark, '^(%d+)')) end
if done ~= first - 1 then return mark end
local e = 0
for kind, symbol, score, uuid in string.gmatch(batch, '(%a)\t(%a?)\t(%-?%d*)\t([^\n]*)\n') do
  local bucket = prefix .. 'u:' .. string.sub(redis.sha1hex(uuid), 1, 5)
  local state = '0'
  if kind ~= 'x' then state = redis.call('HGET', bucket, uuid) or '0' end
  if kind == 'i' then
    redis.call('ZADD', prefix .. 'i:' .. symbol, score, segment .. ':' .. (first + e))
    local before = string.match(state, ';' .. symbol .. '(%-?%d+)')
    if not before or tonumber(score) < tonumber(before) then
      if before then
        state = string.gsub(state, ';' .. symbol .. '%-?%d+', ';' .. symbol .. score)
      else
        state = state .. ';' .. symbol .. score
      end
      redis.call('HSET', bucket, uuid, state)
      local followups = prefix .. 'f:' .. symbol
      for k = 1, tonumber(string.match(state, '^(%d+)')) do
        redis.call('ZADD', followups, score, uuid .. '#' .. k)
      end
    end
  elseif kind == 'f' then
    local sent = tonumber(string.match(state, '^(%d+)')) + 1
    state = sent .. string.match(state, '^%d+(.*)$')
    redis.call('HSET', bucket, uuid, state)
    for symbol, score in string.gmatch(state, ';(%a)(%-?%d+)') do
      redis.call('ZADD', prefix .. 'f:' .. symbol, score, uuid .. '#' .. sent)
    end
  end
  e = e + 1
end
mark = (first + e - 1) .. ' ' .. offset
redis.call('HSET', marks, segment, mark)
return mark
"""


def _batch_lines(events: Sequence[dict[str, Any]]) -> str:
    lines = []
    for event in events:
        kind, at = _countable(event)
        if kind == "i":
            lines.append(f"i\t{event['symbol']}\t{at}\t{event['uuid']}\n")
        elif kind == "f":
            lines.append(f"f\t\t\t{event['uuid']}\n")
        else:
            lines.append("x\t\t\t\n")
    return "".join(lines)


def _countable(event: dict[str, Any]) -> tuple[str, int | None]:
    """What an event counts as: `i` with its time in microseconds, `f`, or `x` for one
    that cannot be counted (a log line edited by hand)."""
    kind, uuid = event.get("kind"), event.get("uuid")
    if not isinstance(uuid, str) or not uuid or "\n" in uuid or "\r" in uuid:
        return "x", None
    if kind == "followup":
        return "f", None
    at = countable_time(event) if kind == "initial" else None
    return ("x", None) if at is None else ("i", at)


def countable_time(event: dict[str, Any]) -> int | None:
    """An initial request's time in microseconds, or None if it cannot be counted (a
    log line edited by hand: no symbol a-z, no real time)."""
    symbol, at = event.get("symbol"), event.get("at")
    if not isinstance(symbol, str) or len(symbol) != 1 or symbol not in SYMBOLS:
        return None
    try:
        return micros(at) if isinstance(at, str) else None
    except ValueError:
        return None


def _mark(text: str | None) -> Mark:
    if not text:
        return Mark()
    event, offset = text.split()
    return Mark(int(event), int(offset))


def _bound(value: int, exclusive: bool = False) -> str:
    if value >= EXACT_SCORES:
        return "+inf"
    if value <= -EXACT_SCORES:
        return "-inf"
    return f"({value}" if exclusive else str(value)


class RedisAggregates:
    """The aggregates in Redis, under `prefix` (so several services or tests can share
    a server)."""

    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        import redis

        self.prefix = prefix
        self.client = redis.Redis.from_url(url, decode_responses=True,
                                           socket_connect_timeout=2, socket_timeout=10)
        self._apply = self.client.register_script(_APPLY)
        self._errors: tuple[type[Exception], ...] = (redis.ConnectionError,
                                                     redis.TimeoutError)

    def apply(self, segment: str, first: int, offset: int,
              events: Sequence[dict[str, Any]]) -> Mark:
        args: list[str | int] = [self.prefix, segment, first, offset, _batch_lines(events)]
        with self._reachable():
            return _mark(self._apply(args=args))

    def lost(self) -> bool:
        # A key set once: when it is gone, so may be everything else under the prefix.
        with self._reachable():
            return bool(self.client.set(f"{self.prefix}kept", "1", nx=True))

    def marks(self, segments: Sequence[str] | None = None) -> dict[str, Mark]:
        key = f"{self.prefix}marks"
        with self._reachable():
            if segments is None:
                found = self.client.hgetall(key)
            else:
                texts = self.client.hmget(key, list(segments)) if segments else []
                found = {name: text for name, text in zip(segments, texts, strict=True) if text}
        return {str(segment): _mark(str(text)) for segment, text in found.items()}

    def symbol(self, symbol: str) -> SymbolAggregate:
        return self._aggregates([symbol], "-inf", "+inf")[0]

    def range(self, lower: int, upper: int) -> list[SymbolAggregate]:
        found = self._aggregates(list(SYMBOLS), _bound(lower), _bound(upper, exclusive=True))
        return [aggregate for aggregate in found if aggregate.count]

    def _aggregates(self, symbols: list[str], lower: str, upper: str) -> list[SymbolAggregate]:
        # One transaction, so a count and its edges come from the same moment.
        pipe = self.client.pipeline(transaction=True)
        for symbol in symbols:
            initials, followups = f"{self.prefix}i:{symbol}", f"{self.prefix}f:{symbol}"
            pipe.zcount(initials, lower, upper)
            pipe.zrangebyscore(initials, lower, upper, start=0, num=1, withscores=True)
            pipe.zrevrangebyscore(initials, upper, lower, start=0, num=1, withscores=True)
            pipe.zcount(followups, lower, upper)
        with self._reachable():
            replies = pipe.execute()
        found = []
        for n, symbol in enumerate(symbols):
            count, first, last, followups = replies[4 * n:4 * n + 4]
            found.append(SymbolAggregate(
                symbol, int(count), time_text(int(first[0][1])) if first else None,
                time_text(int(last[0][1])) if last else None, int(followups)))
        return found

    def clear(self) -> None:
        with self._reachable():
            for key in self.client.scan_iter(match=f"{self.prefix}*", count=10_000):
                self.client.unlink(key)

    def close(self) -> None:
        self.client.close()

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        try:
            yield
        except self._errors as error:
            raise StoreUnavailable("the dashboard store (Redis) cannot be reached") from error


def catch_up(aggregates: Aggregates, folder: Path, batch: int = 5_000,
             paths: Sequence[Path] | None = None) -> int:
    """Apply what the log holds beyond each segment's mark (every whole line, in any
    segment, open or closed, or in `paths` only); returns how many events were applied.
    Safe beside a server applying its own batches: a batch applies only right after the
    mark, and a segment someone else is applying is left to them."""
    candidates = [(segment_name(path), path) for path in
                  (paths if paths is not None else segments(folder))]
    marks = aggregates.marks([name for name, _ in candidates]) if candidates else {}
    applied = 0
    for name, path in candidates:
        mark = marks.get(name, Mark())
        # An open segment may have been closed (moved) since it was listed.
        for where in (path, closed_path(folder, name)):
            try:
                if where.stat().st_size > mark.offset:
                    applied += _catch_up_segment(aggregates, name, where, mark, batch)
                break
            except FileNotFoundError:
                continue
    return applied


def _catch_up_segment(aggregates: Aggregates, name: str, path: Path, mark: Mark,
                      batch: int) -> int:
    applied = 0
    events: list[dict[str, Any]] = []
    offset = mark.offset
    for event, offset in read_from(path, mark.offset):
        events.append(event)
        if len(events) == batch:
            if not _apply_next(aggregates, name, mark, offset, events):
                return applied
            mark, applied, events = Mark(mark.event + len(events), offset), applied + batch, []
    if events and _apply_next(aggregates, name, mark, offset, events):
        applied += len(events)
    return applied


def _apply_next(aggregates: Aggregates, name: str, mark: Mark, offset: int,
                events: list[dict[str, Any]]) -> bool:
    """Apply events right after `mark`; False if the segment had moved on meanwhile."""
    expected = Mark(mark.event + len(events), offset)
    return aggregates.apply(name, mark.event + 1, offset, events) == expected


def rebuild(aggregates: Aggregates, folder: Path) -> int:
    """Recompute the aggregates from the log alone; returns how many events it holds."""
    aggregates.clear()
    return catch_up(aggregates, folder)
