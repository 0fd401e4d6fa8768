"""The dashboards' aggregates in Redis (a real server) and in memory: the answers a small
example must give, the same answers in any arrival order and from both stores (checked
against a brute-force reference), exactly-once application by segment watermark, and
catching up with (or rebuilding from) a log the EventLog wrote."""

from __future__ import annotations

import json
import os
import random
import uuid as uuids
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sluice.pipelines.events.aggregates import (
    SYMBOLS,
    Aggregates,
    Mark,
    MemoryAggregates,
    RedisAggregates,
    StoreUnavailable,
    SymbolAggregate,
    catch_up,
    micros,
    rebuild,
    time_text,
)
from sluice.pipelines.events.log import (
    DEFAULT_SEGMENT_BYTES,
    OPEN_SUFFIX,
    EventLog,
    OnCommit,
    read_from,
    segment_name,
    segments,
)

REDIS_URL = os.environ.get("SLUICE_TEST_REDIS", "redis://127.0.0.1:6379/0")
UNREACHABLE_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
KINDS = ["memory", "redis"]
# Bounds far outside any event's time: a range over everything.
EVERYTHING = (-(2**62), 2**62)

Event = dict[str, Any]


@contextmanager
def opened(kind: str) -> Iterator[Aggregates]:
    if kind == "memory":
        yield MemoryAggregates()
        return
    redis_store = RedisAggregates(REDIS_URL, prefix=f"sluice:test:{uuids.uuid4().hex}:")
    try:
        yield redis_store
    finally:
        redis_store.clear()
        redis_store.close()


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest) -> Iterator[Aggregates]:
    with opened(request.param) as aggregates:
        yield aggregates


def initial(u: str, s: str, at: str) -> Event:
    return {"kind": "initial", "uuid": u, "symbol": s, "guess": s in "aeiou", "at": at}


def followup(u: str, at: str = "2030-01-01 00:00:00.000000") -> Event:
    # A followup's own time plays no part in the aggregates.
    return {"kind": "followup", "uuid": u, "symbol": None, "guess": None, "at": at}


_batches = Counter[str]()  # per tag: how many batches were fed, for fresh segment names


def feed(store: Aggregates, events: Sequence[Event], sizes: Sequence[int] = (),
         tag: str = "feed") -> None:
    """Apply `events` in batches of `sizes` (cycled; one batch if empty), each batch as
    a segment of its own, and check that each one applied."""
    sizes = sizes or [max(1, len(events))]
    start = 0
    while start < len(events):
        batch = events[start:start + sizes[_batches[tag] % len(sizes)]]
        _batches[tag] += 1
        segment = f"{tag}-{_batches[tag]}"
        assert store.apply(segment, 1, 99, batch) == Mark(len(batch), 99)
        start += len(batch)


def totals(store: Aggregates) -> list[SymbolAggregate]:
    return [store.symbol(s) for s in SYMBOLS]


def answers(store: Aggregates, ranges: Sequence[tuple[int, int]]
            ) -> tuple[list[SymbolAggregate], list[list[SymbolAggregate]]]:
    return totals(store), [store.range(lower, upper) for lower, upper in ranges]


def shown(at: str) -> str:
    return datetime.fromisoformat(at).strftime("%Y-%m-%d %H:%M:%S.%f")


def reference_range(events: Sequence[Event], lower: int, upper: int
                    ) -> list[SymbolAggregate]:
    """Brute force from the raw events, in no particular order: for each symbol, the
    initials in [lower, upper); followups: what each uuid sent, summed over the uuids
    whose earliest initial for the symbol is in range."""
    sent = Counter(e["uuid"] for e in events if e["kind"] == "followup")
    first: dict[tuple[str, str], int] = {}
    for e in events:
        if e["kind"] == "initial":
            key, at = (e["uuid"], e["symbol"]), micros(e["at"])
            first[key] = min(at, first.get(key, at))
    found = []
    for symbol in SYMBOLS:
        times = sorted((micros(e["at"]), e["at"]) for e in events
                       if e["kind"] == "initial" and e["symbol"] == symbol
                       and lower <= micros(e["at"]) < upper)
        if not times:
            continue
        followups = sum(sent[u] for (u, s), at in first.items()
                        if s == symbol and lower <= at < upper)
        found.append(SymbolAggregate(symbol, len(times), shown(times[0][1]),
                                     shown(times[-1][1]), followups))
    return found


def reference(events: Sequence[Event], ranges: Sequence[tuple[int, int]]
              ) -> tuple[list[SymbolAggregate], list[list[SymbolAggregate]]]:
    everything = {a.symbol: a for a in reference_range(events, *EVERYTHING)}
    symbols = [everything.get(s, SymbolAggregate(s, 0, None, None, 0)) for s in SYMBOLS]
    return symbols, [reference_range(events, lower, upper) for lower, upper in ranges]


START = datetime(2026, 11, 1)


def random_events(seed: int, n: int) -> list[Event]:
    """`n` events over four weeks, some initials sharing a time; about 2 initials per
    uuid, so some uuids open a symbol twice, and followups before or after."""
    rng = random.Random(seed)
    events: list[Event] = []
    times: list[str] = []
    for _ in range(n):
        u = f"u{rng.randrange(n // 4)}"
        if rng.random() < 0.6:
            if times and rng.random() < 0.1:
                at = rng.choice(times)
            else:
                moment = START + timedelta(microseconds=rng.randrange(28 * 86_400 * 10**6))
                at = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
                times.append(at)
            events.append(initial(u, rng.choice(SYMBOLS), at))
        else:
            events.append(followup(u))
    return events


def random_ranges(seed: int, events: Sequence[Event]) -> list[tuple[int, int]]:
    """Ranges with edges exactly on initials' times, a microsecond off them, at random
    points, and over everything."""
    rng = random.Random(seed)
    times = sorted({micros(e["at"]) for e in events if e["kind"] == "initial"})
    ranges = []
    for _ in range(4):
        lower, upper = sorted(rng.sample(times, 2))
        ranges += [(lower, upper), (lower + 1, upper + 1), (lower - 1, upper - 1)]
    first, last = micros(str(START)), micros(str(START + timedelta(days=28)))
    for _ in range(3):
        lower, upper = sorted(rng.randrange(first, last) for _ in range(2))
        ranges.append((lower, upper))
    ranges += [(times[0], times[-1]), (times[0], times[-1] + 1), EVERYTHING]
    return ranges


def test_times_are_microseconds_since_the_epoch_and_back() -> None:
    assert micros("1970-01-01 00:00:00.000001") == 1
    assert micros("2017-06-28 19:34:14.486693") == 1_498_678_454_486_693
    assert micros("2017-06-30 00:00:00") == 1_498_780_800_000_000
    assert time_text(0) == "1970-01-01 00:00:00.000000"
    assert time_text(1_498_678_454_486_693) == "2017-06-28 19:34:14.486693"
    assert time_text(1_498_780_800_000_100) == "2017-06-30 00:00:00.000100"


EVENTS = [
    initial("u1", "e", "2017-06-28 19:34:14.486693"),
    initial("u2", "e", "2017-06-29 13:15:01.173535"),
    initial("u3", "e", "2017-06-28 09:00:00.000001"),
    followup("u1"), followup("u1"),                    # repeated followups both count
    followup("u4"),                                    # before its initial: counted later
    initial("u4", "b", "2017-06-30 00:00:00"),         # shown with six digits
    followup("u4"),
    followup("nobody"),                                # never opens: counted nowhere
    initial("u5", "a", "2017-07-01 00:00:00.000000"),
    initial("u5", "y", "2017-07-01 00:00:01.000000"),  # one uuid, two symbols
    followup("u5"),
]
EXPECTED = {
    "e": SymbolAggregate("e", 3, "2017-06-28 09:00:00.000001", "2017-06-29 13:15:01.173535", 2),
    "b": SymbolAggregate("b", 1, "2017-06-30 00:00:00.000000", "2017-06-30 00:00:00.000000", 2),
    "a": SymbolAggregate("a", 1, "2017-07-01 00:00:00.000000", "2017-07-01 00:00:00.000000", 1),
    "y": SymbolAggregate("y", 1, "2017-07-01 00:00:01.000000", "2017-07-01 00:00:01.000000", 1),
}


@pytest.mark.parametrize("sizes", [[], [1], [4, 1, 2]], ids=["one-batch", "each", "mixed"])
def test_counts_times_and_followups(store: Aggregates, sizes: list[int]) -> None:
    feed(store, EVENTS, sizes)
    assert totals(store) == [EXPECTED.get(s, SymbolAggregate(s, 0, None, None, 0))
                             for s in SYMBOLS]
    # Six followup events: "nobody"'s counts nowhere, u5's counts for both its symbols.
    assert sum(a.followups for a in totals(store)) == 6
    assert store.symbol("z") == SymbolAggregate("z", 0, None, None, 0)
    assert store.symbol("e").as_dict() == {
        "symbol": "e", "count": 3, "earliest": "2017-06-28 09:00:00.000001",
        "latest": "2017-06-29 13:15:01.173535", "followups": 2}


def test_consecutive_batches_of_one_segment(store: Aggregates) -> None:
    first, rest = EVENTS[:5], EVENTS[5:]
    assert store.apply("one", 1, 500, first) == Mark(5, 500)
    assert store.apply("one", 6, 1200, rest) == Mark(12, 1200)
    assert store.marks() == {"one": Mark(12, 1200)}
    assert [store.symbol(s) for s in "abeyz"] == [
        EXPECTED["a"], EXPECTED["b"], EXPECTED["e"], EXPECTED["y"],
        SymbolAggregate("z", 0, None, None, 0)]


def test_range_edges_are_exact_to_the_microsecond(store: Aggregates) -> None:
    feed(store, EVENTS, [3])
    u3, u2 = micros("2017-06-28 09:00:00.000001"), micros("2017-06-29 13:15:01.173535")
    assert store.range(u3, u2) == [SymbolAggregate(
        "e", 2, "2017-06-28 09:00:00.000001", "2017-06-28 19:34:14.486693", 2)]
    assert store.range(u3 - 1, u2) == store.range(u3, u2)
    assert store.range(u3 + 1, u2) == [SymbolAggregate(
        "e", 1, "2017-06-28 19:34:14.486693", "2017-06-28 19:34:14.486693", 2)]
    assert store.range(u3, u2 + 1) == [EXPECTED["e"]]
    assert store.range(u3 + 1, u2 + 1) == [SymbolAggregate(
        "e", 2, "2017-06-28 19:34:14.486693", "2017-06-29 13:15:01.173535", 2)]
    # u3 (no followups) alone: the range's followups are its uuids' only.
    assert store.range(u3, u3 + 1) == [SymbolAggregate(
        "e", 1, "2017-06-28 09:00:00.000001", "2017-06-28 09:00:00.000001", 0)]

    a, y = micros("2017-07-01 00:00:00"), micros("2017-07-01 00:00:01")
    b = micros("2017-06-30 00:00:00")
    assert store.range(b, y) == [EXPECTED["a"], EXPECTED["b"]]  # y's initial is at upper
    assert store.range(b, y + 1) == [EXPECTED["a"], EXPECTED["b"], EXPECTED["y"]]
    assert store.range(a + 1, y + 1) == [EXPECTED["y"]]  # u5's followup counts for y here
    assert store.range(b + 1, a) == []


def test_range_over_everything_is_the_per_symbol_answers(store: Aggregates) -> None:
    feed(store, EVENTS, [2])
    expected = [EXPECTED[s] for s in "abey"]
    assert store.range(*EVERYTHING) == expected
    assert store.range(micros("2017-06-28 09:00:00.000001"),
                       micros("2017-07-01 00:00:01.000001")) == expected
    assert [a for a in totals(store) if a.count] == expected


def test_empty_ranges(store: Aggregates) -> None:
    feed(store, EVENTS)
    u1 = micros("2017-06-28 19:34:14.486693")
    assert store.range(micros("2018-01-01 00:00:00"), micros("2019-01-01 00:00:00")) == []
    assert store.range(u1, u1) == []
    assert store.range(u1 + 1, u1) == []
    assert MemoryAggregates().range(*EVERYTHING) == []


@pytest.mark.parametrize("later_first", [True, False], ids=["later-first", "earlier-first"])
def test_followups_sit_at_the_uuids_first_initial_for_the_symbol(
        store: Aggregates, later_first: bool) -> None:
    early, late = "2020-01-01 00:00:00.000000", "2020-01-02 00:00:00.000000"
    initials = [initial("r", "c", late), initial("r", "c", early)]
    if not later_first:
        initials.reverse()
    # r also opens with d, later still: its followups count for d at that time.
    events = [initials[0], followup("r"), followup("r"), initials[1],
              initial("r", "d", "2020-01-03 00:00:00.000000"), followup("r")]
    feed(store, events, [1])
    lo, hi = micros(early), micros(late)
    d = micros("2020-01-03 00:00:00")
    assert store.symbol("c") == SymbolAggregate("c", 2, early, late, 3)
    assert store.symbol("d") == SymbolAggregate(
        "d", 1, "2020-01-03 00:00:00.000000", "2020-01-03 00:00:00.000000", 3)
    assert store.range(lo, lo + 1) == [SymbolAggregate("c", 1, early, early, 3)]
    assert store.range(hi, hi + 1) == [SymbolAggregate("c", 1, late, late, 0)]
    assert store.range(lo + 1, d) == [SymbolAggregate("c", 1, late, late, 0)]
    assert store.range(hi, d + 1) == [
        SymbolAggregate("c", 1, late, late, 0),
        SymbolAggregate("d", 1, "2020-01-03 00:00:00.000000", "2020-01-03 00:00:00.000000", 3)]


def test_reference_on_the_small_example() -> None:
    """The brute-force reference gives the hand-worked answers (so it can be trusted
    on random events)."""
    symbols, ranges = reference(EVENTS, [(micros("2017-06-30 00:00:00"),
                                          micros("2017-07-01 00:00:01"))])
    assert symbols == [EXPECTED.get(s, SymbolAggregate(s, 0, None, None, 0)) for s in SYMBOLS]
    assert ranges == [[EXPECTED["a"], EXPECTED["b"]]]


def test_random_events_exercise_the_hard_cases() -> None:
    """Guards the generator: uuids that open a symbol twice with followups (re-scoring),
    followups before initials, and initials sharing a time."""
    events = random_events(1, 3_000)
    opens = Counter((e["uuid"], e["symbol"]) for e in events if e["kind"] == "initial")
    sent = Counter(e["uuid"] for e in events if e["kind"] == "followup")
    assert sum(1 for (u, _), n in opens.items() if n > 1 and sent[u]) >= 10
    at = Counter(e["at"] for e in events if e["kind"] == "initial")
    assert max(at.values()) > 1
    seen: set[str] = set()
    early = 0
    for e in events:
        if e["kind"] == "initial":
            seen.add(e["uuid"])
        elif e["uuid"] not in seen:
            early += 1
    assert early >= 50


@pytest.mark.parametrize("kind", KINDS)
def test_arrival_order_does_not_matter(kind: str) -> None:
    events = random_events(1, 3_000)
    shuffled = events[:]
    random.Random(2).shuffle(shuffled)
    ranges = random_ranges(3, events)
    expected = reference(events, ranges)
    assert sum(a.count for a in expected[0]) == sum(e["kind"] == "initial" for e in events)
    assert sum(1 for found in expected[1] if found) >= 10
    with opened(kind) as in_order, opened(kind) as out_of_order:
        feed(in_order, events, [3_000])
        feed(out_of_order, shuffled, [1, 17, 250, 3, 700], tag="shuffled")
        assert answers(in_order, ranges) == expected
        assert answers(out_of_order, ranges) == expected


def test_memory_and_redis_agree() -> None:
    events = random_events(4, 3_000)
    shuffled = events[:]
    random.Random(5).shuffle(shuffled)
    ranges = random_ranges(6, events)
    expected = reference(events, ranges)
    with opened("memory") as memory, opened("redis") as redis_store:
        feed(memory, shuffled, [500])
        feed(redis_store, events[::-1], [40, 9, 1_000], tag="reversed")
        assert answers(memory, ranges) == answers(redis_store, ranges) == expected


def test_a_batch_applies_exactly_once(store: Aggregates) -> None:
    batch = [initial("q1", "q", "2021-05-05 05:05:05.000005"), followup("q1"),
             followup("q1")]
    applied = SymbolAggregate("q", 1, "2021-05-05 05:05:05.000005",
                              "2021-05-05 05:05:05.000005", 2)
    assert store.apply("seg", 1, 300, batch) == Mark(3, 300)
    assert store.symbol("q") == applied
    assert store.apply("seg", 1, 300, batch) == Mark(3, 300)  # the same batch again
    assert store.symbol("q") == applied
    assert store.apply("seg", 2, 300, batch[1:]) == Mark(3, 300)  # overlapping the mark
    assert store.symbol("q") == applied
    assert store.marks() == {"seg": Mark(3, 300)}

    more = [initial("q2", "q", "2021-05-06 00:00:00.000000"), followup("q1")]
    assert store.apply("seg", 5, 500, more) == Mark(3, 300)  # skips event 4
    assert store.symbol("q") == applied
    assert store.apply("other", 2, 200, more) == Mark()  # skips event 1 of a new segment
    assert store.symbol("q") == applied
    assert store.marks() == {"seg": Mark(3, 300)}

    assert store.apply("seg", 4, 500, more) == Mark(5, 500)  # right after the mark
    assert store.symbol("q") == SymbolAggregate(
        "q", 2, "2021-05-05 05:05:05.000005", "2021-05-06 00:00:00.000000", 3)
    assert store.marks() == {"seg": Mark(5, 500)}


def test_clear_forgets_answers_and_marks(store: Aggregates) -> None:
    assert store.apply("seg", 1, 10, EVENTS) == Mark(len(EVENTS), 10)
    store.clear()
    assert totals(store) == [SymbolAggregate(s, 0, None, None, 0) for s in SYMBOLS]
    assert store.range(*EVERYTHING) == [] and store.marks() == {}
    assert store.apply("seg", 1, 10, EVENTS) == Mark(len(EVENTS), 10)  # applies again
    assert store.symbol("e") == EXPECTED["e"]


def write_log(folder: Path, events: Sequence[Event], chunk: int = 1_000,
              segment_bytes: int = DEFAULT_SEGMENT_BYTES,
              on_commit: OnCommit | None = None) -> None:
    """Write `events` through an EventLog, `chunk` at a time (so group commits hold at
    most `chunk` events), and close it."""
    log = EventLog(folder, segment_bytes=segment_bytes, on_commit=on_commit)
    try:
        for start in range(0, len(events), chunk):
            for future in [log.append(e) for e in events[start:start + chunk]]:
                future.result()
    finally:
        log.close()


def expected_marks(folder: Path) -> dict[str, Mark]:
    """Every segment applied to its end: its last event and its size."""
    return {segment_name(p): Mark(len(p.read_bytes().splitlines()), p.stat().st_size)
            for p in segments(folder)}


def test_catch_up_and_rebuild_from_the_log(store: Aggregates, tmp_path: Path) -> None:
    events = random_events(7, 600)
    ranges = random_ranges(8, events)
    expected = reference(events, ranges)
    write_log(tmp_path, events)
    assert answers(store, ranges) != expected  # nothing counted until caught up
    assert catch_up(store, tmp_path) == 600
    assert answers(store, ranges) == expected
    assert store.marks() == expected_marks(tmp_path)
    assert len(store.marks()) == 1
    assert catch_up(store, tmp_path) == 0
    assert answers(store, ranges) == expected

    u = events[0]["uuid"]  # drift: counts the log does not hold
    assert store.apply("drift", 1, 10, [initial(u, "q", "2026-11-03 00:00:00.000000"),
                                        followup(u)]) == Mark(2, 10)
    assert answers(store, ranges) != expected
    assert rebuild(store, tmp_path) == 600
    assert answers(store, ranges) == expected
    assert store.marks() == expected_marks(tmp_path)


def test_catch_up_equals_applying_directly(store: Aggregates, tmp_path: Path) -> None:
    write_log(tmp_path, EVENTS, chunk=1)
    assert catch_up(store, tmp_path) == len(EVENTS)
    direct = MemoryAggregates()
    feed(direct, EVENTS)
    assert totals(store) == totals(direct)
    assert [store.symbol(s) for s in "abey"] == [EXPECTED[s] for s in "abey"]


def test_catch_up_across_several_segments(store: Aggregates, tmp_path: Path) -> None:
    events = random_events(9, 300)
    ranges = random_ranges(10, events)
    write_log(tmp_path, events, chunk=5, segment_bytes=2_000)
    assert len(segments(tmp_path)) >= 5
    assert catch_up(store, tmp_path, batch=7) == 300
    assert answers(store, ranges) == reference(events, ranges)
    assert store.marks() == expected_marks(tmp_path)
    assert catch_up(store, tmp_path, batch=7) == 0


@pytest.mark.parametrize("batch", [1, 3, 4, 5_000])
def test_catch_up_continues_from_the_mark(store: Aggregates, tmp_path: Path,
                                          batch: int) -> None:
    write_log(tmp_path, EVENTS)
    [path] = segments(tmp_path)
    lines = list(read_from(path, 0))
    assert len(lines) == 12
    # The first six applied already (as the writer's on_commit would have).
    offset = lines[5][1]
    assert store.apply(segment_name(path), 1, offset, [e for e, _ in lines[:6]]) == Mark(6, offset)
    assert catch_up(store, tmp_path, batch=batch) == 6
    assert totals(store) == [EXPECTED.get(s, SymbolAggregate(s, 0, None, None, 0))
                             for s in SYMBOLS]
    assert store.marks() == {segment_name(path): Mark(12, path.stat().st_size)}


def test_catch_up_leaves_a_torn_last_line_for_later(store: Aggregates,
                                                     tmp_path: Path) -> None:
    write_log(tmp_path, EVENTS)
    [closed] = segments(tmp_path)
    # As a writer killed mid-line leaves it: open, its last line cut short.
    path = closed.rename(tmp_path / (closed.name + OPEN_SUFFIX))
    name = segment_name(path)
    line = json.dumps({"id": f"{name}:13", **initial("torn", "t", "2017-07-05 00:00:00.000000")},
                      separators=(",", ":")).encode() + b"\n"
    with path.open("ab") as stream:
        stream.write(line[:20])
    assert catch_up(store, tmp_path) == 12
    assert store.symbol("t") == SymbolAggregate("t", 0, None, None, 0)
    assert store.marks() == {name: Mark(12, path.stat().st_size - 20)}
    with path.open("ab") as stream:
        stream.write(line[20:])
    assert catch_up(store, tmp_path) == 1
    assert store.symbol("t") == SymbolAggregate(
        "t", 1, "2017-07-05 00:00:00.000000", "2017-07-05 00:00:00.000000", 0)
    assert store.marks() == {name: Mark(13, path.stat().st_size)}


def test_events_counted_on_commit_are_not_caught_up_again(store: Aggregates,
                                                           tmp_path: Path) -> None:
    events = random_events(11, 400)
    ranges = random_ranges(12, events)
    expected = reference(events, ranges)
    # The first 150 by a writer that did not count them (the store was down, say)...
    write_log(tmp_path, events[:150], chunk=10)
    # ... the rest by one that counted each group commit as it was made.
    write_log(tmp_path, events[150:], chunk=10, segment_bytes=4_000, on_commit=store.apply)
    assert len(segments(tmp_path)) >= 4
    assert answers(store, ranges) == reference(events[150:], ranges)
    assert catch_up(store, tmp_path) == 150
    assert answers(store, ranges) == expected
    assert store.marks() == expected_marks(tmp_path)
    assert catch_up(store, tmp_path) == 0
    assert answers(store, ranges) == expected


def test_unreachable_redis_is_store_unavailable(tmp_path: Path) -> None:
    down = RedisAggregates(UNREACHABLE_URL, prefix=f"sluice:test:{uuids.uuid4().hex}:")
    try:
        with pytest.raises(StoreUnavailable):
            down.symbol("a")
        with pytest.raises(StoreUnavailable):
            down.range(*EVERYTHING)
        with pytest.raises(StoreUnavailable):
            down.apply("seg", 1, 10, EVENTS)
        with pytest.raises(StoreUnavailable):
            down.marks()
        write_log(tmp_path, EVENTS)
        with pytest.raises(StoreUnavailable):
            catch_up(down, tmp_path)
    finally:
        down.close()


class SealsWhileApplying:
    """Memory aggregates that close `log` (sealing its open segment: `.jsonl.open`
    renamed to `.jsonl`) during their first apply, as the writer does at any moment
    while a catch-up is busy with earlier segments."""

    def __init__(self, log: EventLog) -> None:
        self.inner, self.log = MemoryAggregates(), log

    def apply(self, segment: str, first: int, offset: int,
              events: Sequence[Event]) -> Mark:
        self.log.close()
        return self.inner.apply(segment, first, offset, events)

    def marks(self, segments: Sequence[str] | None = None) -> dict[str, Mark]:
        return self.inner.marks(segments)

    def symbol(self, symbol: str) -> SymbolAggregate:
        return self.inner.symbol(symbol)

    def range(self, lower: int, upper: int) -> list[SymbolAggregate]:
        return self.inner.range(lower, upper)

    def clear(self) -> None:
        self.inner.clear()


def test_catch_up_survives_a_segment_sealed_meanwhile(tmp_path: Path) -> None:
    write_log(tmp_path, EVENTS[:6])  # a closed segment, caught up first
    log = EventLog(tmp_path)  # and an open one, still being written
    for e in EVENTS[6:]:
        log.write(e)
    assert [p.name.endswith(OPEN_SUFFIX) for p in segments(tmp_path)] == [False, True]
    store = SealsWhileApplying(log)
    catch_up(store, tmp_path)  # must not fail: the open segment was only renamed
    catch_up(store, tmp_path)
    assert totals(store) == [EXPECTED.get(s, SymbolAggregate(s, 0, None, None, 0))
                             for s in SYMBOLS]


class FailsOnce:
    """A segment's stream whose next write fails before writing anything (a full
    disk, say); then it writes as before."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.failed = stream, False

    def write(self, data: bytes) -> int:
        if not self.failed:
            self.failed = True
            raise OSError(28, "No space left on device")
        return int(self.stream.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def test_events_after_a_failed_commit_are_still_counted_on_commit(tmp_path: Path) -> None:
    store = MemoryAggregates()
    log = EventLog(tmp_path, on_commit=store.apply)
    try:
        log.write(initial("w1", "w", "2022-02-02 00:00:00.000000"))
        log._stream = FailsOnce(log._stream)  # the writer's open segment
        with pytest.raises(OSError):
            log.write(initial("w2", "w", "2022-02-02 00:00:01.000000"))
        log.write(initial("w3", "w", "2022-02-02 00:00:02.000000"))
        # Both acknowledged events are on disk and the store is up: both counted.
        assert store.symbol("w") == SymbolAggregate(
            "w", 2, "2022-02-02 00:00:00.000000", "2022-02-02 00:00:02.000000", 0)
    finally:
        log.close()
    assert [e["uuid"] for e, _ in read_from(segments(tmp_path)[0], 0)] == ["w1", "w3"]
