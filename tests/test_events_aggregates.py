"""Per-symbol aggregates in Redis (a real server) and in memory: the same answers, in
any arrival order, and rebuilt exactly from the stored events."""

from __future__ import annotations

import os
import random
import uuid as uuids
from collections.abc import Iterator

import pytest

from sluice.pipelines.events.aggregates import (
    SYMBOLS,
    Aggregates,
    MemoryAggregates,
    RedisAggregates,
    SymbolAggregate,
    rebuild,
)

REDIS_URL = os.environ.get("SLUICE_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[Aggregates]:
    if request.param == "memory":
        yield MemoryAggregates()
        return
    redis_store = RedisAggregates(REDIS_URL, prefix=f"sluice:test:{uuids.uuid4().hex}:")
    try:
        yield redis_store
    finally:
        redis_store.clear()
        redis_store.close()


def initial(u: str, s: str, at: str) -> dict[str, str]:
    return {"kind": "initial", "uuid": u, "symbol": s, "at": at}


def followup(u: str) -> dict[str, str]:
    return {"kind": "followup", "uuid": u}


def apply(store: Aggregates, events: list[dict[str, str]]) -> None:
    for event in events:
        if event["kind"] == "initial":
            store.initial(event["uuid"], event["symbol"], event["at"])
        else:
            store.followup(event["uuid"])


EVENTS = [
    initial("u1", "e", "2017-06-28 19:34:14.486693"),
    initial("u2", "e", "2017-06-29 13:15:01.173535"),
    initial("u3", "e", "2017-06-28 09:00:00.000001"),
    followup("u1"), followup("u1"),                 # repeated followups both count
    followup("u4"),                                 # before its initial: kept, counted later
    initial("u4", "b", "2017-06-30 00:00:00.000000"),
    followup("nobody"),                             # never opened: counted nowhere
    initial("u5", "a", "2017-07-01 00:00:00.000000"),
    initial("u5", "y", "2017-07-01 00:00:01.000000"),  # one uuid, two symbols
    followup("u5"),
]


def test_counts_times_and_followups(store: Aggregates) -> None:
    apply(store, EVENTS)
    assert store.symbol("e") == SymbolAggregate(
        "e", 3, "2017-06-28 09:00:00.000001", "2017-06-29 13:15:01.173535", 2)
    assert store.symbol("b") == SymbolAggregate(
        "b", 1, "2017-06-30 00:00:00.000000", "2017-06-30 00:00:00.000000", 1)
    assert store.symbol("a").followups == 1 and store.symbol("y").followups == 1
    assert store.symbol("z") == SymbolAggregate("z", 0, None, None, 0)
    assert store.symbol("e").as_dict() == {
        "symbol": "e", "count": 3, "earliest": "2017-06-28 09:00:00.000001",
        "latest": "2017-06-29 13:15:01.173535", "followups": 2}


def random_events(seed: int, n: int = 2_000) -> list[dict[str, str]]:
    rng = random.Random(seed)
    events = []
    for i in range(n):
        u = f"u{rng.randrange(n // 3)}"
        if rng.random() < 0.7:
            second = rng.randrange(86_400)
            at = f"2026-11-{rng.randrange(1, 29):02d} {second // 3600:02d}:" \
                 f"{second // 60 % 60:02d}:{second % 60:02d}.{rng.randrange(10**6):06d}"
            events.append(initial(u, rng.choice(SYMBOLS), at))
        else:
            events.append(followup(u))
        del i
    return events


def totals(store: Aggregates) -> list[SymbolAggregate]:
    return [store.symbol(s) for s in SYMBOLS]


def test_arrival_order_does_not_matter_and_both_stores_agree(store: Aggregates) -> None:
    events = random_events(1)
    apply(store, events)
    expected = totals(store)
    reference = MemoryAggregates()
    shuffled = events[:]
    random.Random(2).shuffle(shuffled)
    apply(reference, shuffled)
    assert totals(reference) == expected
    assert sum(a.count for a in expected) == sum(e["kind"] == "initial" for e in events)


def test_rebuild_from_stored_events_is_exact(store: Aggregates) -> None:
    events = random_events(3)
    apply(store, events)
    expected = totals(store)
    store.followup("extra")
    store.initial("extra", "q", "2030-01-01 00:00:00.000000")  # drift to be undone
    assert rebuild(store, events) == len(events)
    assert totals(store) == expected
