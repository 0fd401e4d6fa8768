"""Per-symbol aggregates, updated as events arrive: Redis, or memory for the embedded demo.

For each symbol: `count` (initial requests), `earliest` and `latest` (their UTC times,
`YYYY-MM-DD HH:MM:SS.ffffff`, which sort as text), and `followups`: the followups whose
uuid belongs to an initial request for the symbol. Every followup event counts, repeated
ones included (a client that follows up twice is counted twice), and a followup that
arrives before its uuid's initial is kept and counted when the initial comes.

Per uuid the store keeps which symbols it opened with and how many followups it sent.
An initial adds its symbol's request (and, the first time the uuid opens with that
symbol, the uuid's followups so far); a followup adds one to every symbol the uuid
opened with. The final state does not depend on the order events arrive in, so the
aggregates can be rebuilt exactly by replaying the stored events (`rebuild`).

In Redis each update is one Lua script (atomic, one round trip). Uuids are kept in
65,536 hash buckets, which Redis stores compactly (listpacks), rather than one key each.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

SYMBOLS = "abcdefghijklmnopqrstuvwxyz"
BUCKETS = 65_536
DEFAULT_PREFIX = "sluice:events:"


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


class Aggregates(Protocol):
    def initial(self, uuid: str, symbol: str, at: str) -> None: ...

    def followup(self, uuid: str) -> None: ...

    def symbol(self, symbol: str) -> SymbolAggregate: ...

    def clear(self) -> None: ...


def rebuild(aggregates: Aggregates, events: Iterable[dict[str, Any]]) -> int:
    """Recompute the aggregates from stored events; returns how many were replayed."""
    aggregates.clear()
    replayed = 0
    for event in events:
        if event["kind"] == "initial":
            aggregates.initial(event["uuid"], event["symbol"], event["at"])
        else:
            aggregates.followup(event["uuid"])
        replayed += 1
    return replayed


class MemoryAggregates:
    """The aggregates in this process's memory: the embedded service, with no Redis."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self._symbols: dict[str, list[Any]] = {}
        self._uuids: dict[str, list[Any]] = {}  # uuid: [symbols opened with, followups]

    def initial(self, uuid: str, symbol: str, at: str) -> None:
        with self._lock:
            totals = self._symbols.setdefault(symbol, [0, None, None, 0])
            totals[0] += 1
            totals[1] = at if totals[1] is None or at < totals[1] else totals[1]
            totals[2] = at if totals[2] is None or at > totals[2] else totals[2]
            seen = self._uuids.setdefault(uuid, ["", 0])
            if symbol not in seen[0]:
                seen[0] += symbol
                totals[3] += seen[1]

    def followup(self, uuid: str) -> None:
        with self._lock:
            seen = self._uuids.setdefault(uuid, ["", 0])
            seen[1] += 1
            for symbol in seen[0]:
                self._symbols[symbol][3] += 1

    def symbol(self, symbol: str) -> SymbolAggregate:
        with self._lock:
            count, earliest, latest, followups = self._symbols.get(symbol, [0, None, None, 0])
        return SymbolAggregate(symbol, count, earliest, latest, followups)


_INITIAL = """
local totals, uuids, uuid, symbol, at = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]
redis.call('HINCRBY', totals, 'count', 1)
local earliest = redis.call('HGET', totals, 'earliest')
if not earliest or at < earliest then redis.call('HSET', totals, 'earliest', at) end
local latest = redis.call('HGET', totals, 'latest')
if not latest or at > latest then redis.call('HSET', totals, 'latest', at) end
local opened = redis.call('HGET', uuids, 's:' .. uuid) or ''
if not string.find(opened, symbol, 1, true) then
  redis.call('HSET', uuids, 's:' .. uuid, opened .. symbol)
  local sent = tonumber(redis.call('HGET', uuids, 'f:' .. uuid) or '0')
  if sent > 0 then redis.call('HINCRBY', totals, 'followups', sent) end
end
"""

_FOLLOWUP = """
local uuids, uuid, prefix = KEYS[1], ARGV[1], ARGV[2]
redis.call('HINCRBY', uuids, 'f:' .. uuid, 1)
local opened = redis.call('HGET', uuids, 's:' .. uuid) or ''
for i = 1, #opened do
  redis.call('HINCRBY', prefix .. 'symbol:' .. string.sub(opened, i, i), 'followups', 1)
end
"""


class RedisAggregates:
    """The aggregates in Redis, under `prefix` (so several services or tests can share
    a server)."""

    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        import redis

        self.prefix = prefix
        self.client = redis.Redis.from_url(url, decode_responses=True)
        self._initial = self.client.register_script(_INITIAL)
        self._followup = self.client.register_script(_FOLLOWUP)

    def _totals(self, symbol: str) -> str:
        return f"{self.prefix}symbol:{symbol}"

    def _uuids(self, uuid: str) -> str:
        return f"{self.prefix}uuids:{zlib.crc32(uuid.encode()) % BUCKETS}"

    def initial(self, uuid: str, symbol: str, at: str) -> None:
        self._initial(keys=[self._totals(symbol), self._uuids(uuid)], args=[uuid, symbol, at])

    def followup(self, uuid: str) -> None:
        # The symbols' keys are computed in the script from what the uuid opened with;
        # on one Redis server (no cluster) that is allowed.
        self._followup(keys=[self._uuids(uuid)], args=[uuid, self.prefix])

    def symbol(self, symbol: str) -> SymbolAggregate:
        found = self.client.hgetall(self._totals(symbol))
        totals = {str(k): str(v) for k, v in found.items()}
        return SymbolAggregate(symbol, int(totals.get("count", 0)), totals.get("earliest"),
                               totals.get("latest"), int(totals.get("followups", 0)))

    def clear(self) -> None:
        for key in self.client.scan_iter(match=f"{self.prefix}*", count=10_000):
            self.client.unlink(key)

    def close(self) -> None:
        self.client.close()
