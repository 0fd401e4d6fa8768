"""Events dashboards benchmark: GET /dashboard/... latency of `sluice events serve` with
10 million events stored, against the naive design (bench/events_stores.py) at 0.5 million.

    python bench/events_dashboards.py [--events 10000000] [--small 500000] [--seed 7]
        [--redis redis://127.0.0.1:6379/0] [--json] [--keep]

The goal (issue 10): with 10 million events stored, GET /dashboard/symbol/S p99 under
5 ms, GET /dashboard/range/LOWER/UPPER p99 under 50 ms for a day's range and under
200 ms for the whole history (the naive design: 0.2 s and 4.4 s at 0.5 million events).

The event logs are generated with DuckDB SQL in the service's exact on-disk format
(closed segments `closed/segment-<UTC start>-999999.jsonl` of `--per-segment` events, lines
numbered 1..n as the `id`s say; pid 999999 is above the machine's pid_max, and closed
segments are never checked for a live writer anyway): initial requests with symbols
drawn by English letter frequency and uuid4-like uuids over `--days` days, followups
as the service's clients send them (after a correct guess, 0.2 after a consonant and 0.1
after a vowel), a few twice, a few before their initial, a few from uuids that never
opened. Each log is made once into bench/data/events-<events>-seed<seed>/ with what its
dashboards must answer (computed from the files written, by DuckDB's own JSON reader).

For each size, sluice's aggregates are loaded with the real tool (`sluice events
rebuild`, timed, Redis `used_memory` before and after), the real server is started
(`sluice events serve --workers 2`; its start-up catch-up must apply nothing: the Redis
marks are compared before and after), and the dashboards are read sequentially over one
keep-alive connection (http.client), client wall time per request, requests of all
kinds shuffled together after a warm-up; nearest-rank p50 and p99 and the maximum are
reported and every answer is checked against the expected aggregates. The server is
stopped with SIGKILL of its process group: no event is posted, so nothing is lost, and a
SIGTERM would load the whole log into the warehouse on its way out. The naive store
gets the small log's events by a bulk insert (its loading is not what is measured) and
is served by the same server code under uvicorn with the same settings.
The Redis keys (everything under the run's prefix) are deleted at the end unless --keep.
Prints Markdown (or JSON with --json); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import json
import math
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import numpy as np
import numpy.typing as npt
import redis

from sluice.pipelines.events.aggregates import EPOCH, MICROSECOND, SYMBOLS, time_text

DATA = Path(__file__).parent / "data"
STORES = Path(__file__).parent / "events_stores.py"
ROOT = Path(__file__).parent.parent
FAKE_PID = 999_999  # above pid_max: no live process writes these segments
START = datetime(2026, 10, 1)  # the first day of generated events (UTC)
DAY_US = 86_400_000_000
BIG = 2**62  # beyond any time: a bound that takes everything

# English letter frequencies (per cent), the symbols' distribution.
FREQUENCIES = {
    "a": 8.167, "b": 1.492, "c": 2.782, "d": 4.253, "e": 12.702, "f": 2.228, "g": 2.015,
    "h": 6.094, "i": 6.966, "j": 0.153, "k": 0.772, "l": 4.025, "m": 2.406, "n": 6.749,
    "o": 7.507, "p": 1.929, "q": 0.095, "r": 5.987, "s": 6.327, "t": 9.056, "u": 2.758,
    "v": 0.978, "w": 2.360, "x": 0.150, "y": 1.974, "z": 0.074,
}
VOWELS = "aeiou"
FLIP = 0.1  # the service's guess is flipped this often
FOLLOW_CONSONANT, FOLLOW_VOWEL = 0.2, 0.1  # followup after a correct guess (loadgen's rule)
TWICE = 0.05  # of followed-up uuids, these follow up a second time
EARLY = 0.003  # of followups, these arrive before their uuid's initial
REUSE = 0.002  # of initials, these reuse a recent uuid (a client opening again)
STRAY = 0.0002  # per initial: a followup from a uuid that never opens
GENERATOR_VERSION = 2

GOALS_MS = {"symbol": 5.0, "day": 50.0, "whole": 200.0}
KINDS = {
    "symbol": "GET /dashboard/symbol/S (random S)",
    "day": "GET /dashboard/range/DAY/NEXT DAY (random day)",
    "whole": "GET /dashboard/range/FIRST DAY/DAY AFTER LAST (whole history)",
    "window": "GET /dashboard/range/T1/T2 (random timestamps, up to a day apart)",
}


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def micros_of(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def day_text(value: int) -> str:
    return (EPOCH + value * MICROSECOND).strftime("%Y-%m-%d")


# --- generation --------------------------------------------------------------------------


def _symbol_case(column: str) -> str:
    """A CASE expression mapping a uniform [0, 1) column to a letter by frequency."""
    total = sum(FREQUENCIES.values())
    edge, arms = 0.0, []
    for letter in SYMBOLS[:-1]:
        edge += FREQUENCIES[letter] / total
        arms.append(f"WHEN {column} < {edge!r} THEN '{letter}'")
    return f"CASE {' '.join(arms)} ELSE '{SYMBOLS[-1]}' END"


def _follow_rate() -> float:
    total = sum(FREQUENCIES.values())
    vowels = sum(FREQUENCIES[v] for v in VOWELS) / total
    return (1 - FLIP) * (vowels * FOLLOW_VOWEL + (1 - vowels) * FOLLOW_CONSONANT)


def engine() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that draws no progress bar on stderr."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def _text(value: object) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _candidates(con: duckdb.DuckDBPyConnection, seed: int, days: int, opens: int) -> int:
    """Table `candidates`: `opens` initial requests over `days` days and their followups,
    in no order; returns how many events that is."""
    start, span = micros_of(START), days * DAY_US
    vowels = ", ".join(f"'{v}'" for v in VOWELS)
    # One stream of numbers per (k, s): DuckDB's hash of one BIGINT mixes well, while its
    # hash of several values is strongly correlated between streams (hash(k, seed, 4) and
    # hash(k, seed, 5) are far from independent).
    con.execute(f"CREATE OR REPLACE MACRO h(k, s) AS hash(k * 256 + s + {seed} * 1099511627776)")
    con.execute("CREATE OR REPLACE MACRO u(k, s) AS h(k, s) / 18446744073709551616.0")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE initials AS
        WITH base AS (
            SELECT k, {start} + CAST(floor((k + u(k, 1)) * {span} / {opens}) AS BIGINT) AS at_us,
                   u(k, 2) AS us, u(k, 3) AS ur, u(k, 4) AS uf, u(k, 5) AS ug, u(k, 6) AS uflip,
                   u(k, 7) AS uback
            FROM range({opens}) AS t(k)
        ), lettered AS (
            SELECT *, {_symbol_case('us')} AS symbol FROM base
        ), guessed AS (
            SELECT *, symbol IN ({vowels}) AS vowel,
                   CASE WHEN symbol = 'y' THEN ug < 0.5 ELSE symbol IN ({vowels}) END AS thinks
            FROM lettered
        )
        SELECT k, at_us, symbol,
               CASE WHEN ur < {REUSE} THEN greatest(k - 1 - CAST(floor(uback * 50) AS BIGINT), 0)
                    ELSE k END AS uid,
               CASE WHEN uflip < {FLIP} THEN NOT thinks ELSE thinks END AS guess,
               (CASE WHEN uflip < {FLIP} THEN NOT thinks ELSE thinks END) = vowel
                   AND uf < CASE WHEN vowel THEN {FOLLOW_VOWEL} ELSE {FOLLOW_CONSONANT} END
                   AS follows
        FROM guessed
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE candidates AS
        WITH f AS (
            SELECT k, at_us, uid, u(k, 8) AS u1, u(k, 9) AS u2, u(k, 10) AS u3
            FROM initials WHERE follows
        )
        SELECT at_us, 0 AS ord, k, 'initial' AS kind, uid, symbol, guess FROM initials
        UNION ALL
        SELECT CASE WHEN u1 < {EARLY} THEN at_us - 1000000 - CAST(u2 * 4000000 AS BIGINT)
                    ELSE at_us + 2000000 + CAST(u2 * 8000000 AS BIGINT) END,
               1, k, 'followup', uid, NULL, NULL FROM f
        UNION ALL
        SELECT at_us + 12000000 + CAST(u3 * 20000000 AS BIGINT), 2, k, 'followup', uid,
               NULL, NULL FROM f WHERE u1 >= {1 - TWICE}
        UNION ALL
        SELECT at_us + 500000 + CAST(u(k, 11) * 5000000 AS BIGINT), 3, k, 'followup', -1 - k,
               NULL, NULL FROM initials WHERE u(k, 12) < {STRAY}
    """)
    row = con.execute("SELECT count(*) FROM candidates").fetchone()
    assert row is not None
    return int(row[0])


def _numbered(con: duckdb.DuckDBPyConnection, events: int, per_segment: int) -> None:
    """Table `events`: the first `events` candidates in time order, with their segment,
    their line in it and their uuid (uuid4-like, from the uuid's number and the seed)."""
    per = per_segment
    con.execute("CREATE OR REPLACE MACRO hex16(h) AS lower(lpad(hex(h), 16, '0'))")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE events AS
        WITH numbered AS (
            SELECT *, row_number() OVER (ORDER BY at_us, ord, k) AS p FROM candidates
            QUALIFY p <= {events}
        ), hexed AS (
            SELECT *, hex16(h(uid, 101)) AS ha, hex16(h(uid, 102)) AS hb,
                   CAST(h(uid, 103) % 4 AS INTEGER) AS variant
            FROM numbered
        )
        SELECT (p - 1) // {per} AS seg, p - ((p - 1) // {per}) * {per} AS n, at_us, kind,
               substr(ha, 1, 8) || '-' || substr(ha, 9, 4) || '-4' || substr(ha, 13, 3) || '-'
                   || substr('89ab', 1 + variant, 1) || substr(hb, 1, 3) || '-'
                   || substr(hb, 4, 12) AS uuid,
               symbol, guess
        FROM hexed ORDER BY p
    """)


def write_log(log: Path, events: int, seed: int, days: int, per_segment: int
              ) -> list[dict[str, Any]]:
    """Generate the log's closed segments into `log/closed/`, where the service keeps
    closed segments; returns them (name, events, bytes)."""
    (log / "closed").mkdir(parents=True)
    con = engine()
    rate = 1 + _follow_rate() * (1 + TWICE) + STRAY
    opens = math.ceil(events / rate * 1.003) + 200
    while _candidates(con, seed, days, opens) < events:
        opens = math.ceil(opens * 1.01) + 100
    _numbered(con, events, per_segment)
    written = []
    for seg, first, count in con.execute(
            "SELECT seg, min(at_us), count(*) FROM events GROUP BY seg ORDER BY seg").fetchall():
        stamp = (EPOCH + int(first) * MICROSECOND).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"segment-{stamp}-{FAKE_PID}"
        target, part = log / "closed" / f"{name}.jsonl", log / "closed" / f"{name}.part"
        if target.exists():
            raise SystemExit(f"two segments would be named {name}")
        con.execute(f"""
            COPY (SELECT '{name}:' || n AS id, kind, uuid, symbol, guess,
                         strftime(make_timestamp(at_us), '%Y-%m-%d %H:%M:%S.%f') AS at
                  FROM events WHERE seg = {int(seg)} ORDER BY n)
            TO {_text(part)} (FORMAT JSON)
        """)
        part.rename(target)
        written.append({"name": name, "events": int(count), "bytes": target.stat().st_size})
    con.close()
    return written


def check_log(log: Path, segments: list[dict[str, Any]]) -> None:
    """Every line is whole and numbered as its id says; every 997th line is exactly what
    EventLog writes for its event (keys in order, `json.dumps` compact separators)."""
    keys = ["id", "kind", "uuid", "symbol", "guess", "at"]
    for segment in segments:
        name, n = segment["name"], 0
        with (log / "closed" / f"{name}.jsonl").open("rb") as stream:
            for n, line in enumerate(stream, 1):
                if not line.startswith(f'{{"id":"{name}:{n}",'.encode()) or line[-1:] != b"\n":
                    raise SystemExit(f"{name} line {n} is not numbered {n}: {line[:80]!r}")
                if n % 997 == 1:
                    record = json.loads(line)
                    again = json.dumps(record, separators=(",", ":")) + "\n"
                    if list(record) != keys or again.encode() != line:
                        raise SystemExit(f"{name} line {n} is not as EventLog writes it: "
                                         f"{line!r} against {again!r}")
        if n != segment["events"]:
            raise SystemExit(f"{name}: {n:,} lines, {segment['events']:,} expected")


def derive_expected(folder: Path) -> dict[str, Any]:
    """What the dashboards must answer, computed from the log files by DuckDB's JSON
    reader: initials.parquet (symbol, at_us) and followups.parquet (symbol, at_us, n:
    each uuid's first initial for the symbol and how many followups the uuid sent).
    Returns the log's statistics."""
    con = engine()
    columns = ("{id: 'VARCHAR', kind: 'VARCHAR', uuid: 'VARCHAR', symbol: 'VARCHAR', "
               "guess: 'BOOLEAN', \"at\": 'VARCHAR'}")
    con.execute(f"""
        CREATE TEMP TABLE log AS
        SELECT kind, uuid, symbol, guess, epoch_us(CAST("at" AS TIMESTAMP)) AS at_us
        FROM read_json({_text(folder / 'log' / 'closed' / 'segment-*.jsonl')},
                       format = 'newline_delimited', columns = {columns})
    """)
    con.execute(f"""
        COPY (SELECT symbol, at_us FROM log WHERE kind = 'initial' ORDER BY symbol, at_us)
        TO {_text(folder / 'initials.parquet')} (FORMAT PARQUET)
    """)
    con.execute(f"""
        COPY (WITH opened AS (SELECT uuid, symbol, min(at_us) AS at_us FROM log
                              WHERE kind = 'initial' GROUP BY uuid, symbol),
                   sent AS (SELECT uuid, count(*) AS n FROM log WHERE kind = 'followup'
                            GROUP BY uuid)
              SELECT symbol, at_us, n FROM opened JOIN sent USING (uuid) ORDER BY symbol, at_us)
        TO {_text(folder / 'followups.parquet')} (FORMAT PARQUET)
    """)
    row = con.execute("""
        WITH first AS (SELECT uuid, min(at_us) AS at_us FROM log WHERE kind = 'initial'
                       GROUP BY uuid),
             f AS (SELECT l.uuid, l.at_us, first.at_us AS opened FROM log AS l
                   LEFT JOIN first USING (uuid) WHERE l.kind = 'followup'),
             per AS (SELECT uuid, count(*) AS n FROM f GROUP BY uuid)
        SELECT (SELECT count(*) FROM log),
               (SELECT count(*) FROM log WHERE kind = 'initial'),
               (SELECT count(*) FROM f),
               (SELECT count(*) FROM first),
               (SELECT count(*) FROM per),
               (SELECT count(*) FROM per WHERE n > 1),
               (SELECT count(*) FROM f WHERE opened IS NOT NULL AND at_us < opened),
               (SELECT count(*) FROM f WHERE opened IS NULL),
               (SELECT count(*) FROM log WHERE kind = 'initial' AND guess),
               (SELECT min(at_us) FROM log WHERE kind = 'initial'),
               (SELECT max(at_us) FROM log WHERE kind = 'initial')
    """).fetchone()
    assert row is not None
    con.close()
    names = ["events", "initials", "followups", "uuids_opened", "uuids_following_up",
             "uuids_following_up_more_than_once", "followups_before_their_initial",
             "followups_never_opened", "guesses_true", "first_initial_us", "last_initial_us"]
    return dict(zip(names, (int(value) for value in row), strict=True))


def generated(events: int, seed: int, days: int, per_segment: int
              ) -> tuple[Path, dict[str, Any], bool]:
    """The log of `events` events (made once into bench/data/), its manifest, and whether
    it was made before."""
    folder = DATA / f"events-{events}-seed{seed}"
    params = {"version": GENERATOR_VERSION, "events": events, "seed": seed, "days": days,
              "per_segment": per_segment}
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        if all(manifest.get(key) == value for key, value in params.items()):
            return folder, manifest, True
    note(f"generating {events:,} events into {folder} ...")
    work = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    started = time.perf_counter()
    segments = write_log(work / "log", events, seed, days, per_segment)
    generation = time.perf_counter() - started
    started = time.perf_counter()
    check_log(work / "log", segments)
    checking = time.perf_counter() - started
    started = time.perf_counter()
    stats = derive_expected(work)
    deriving = time.perf_counter() - started
    if stats["events"] != events:
        raise SystemExit(f"DuckDB read {stats['events']:,} events from the log, not {events:,}")
    manifest = {**params, "segments": segments, "generation_seconds": round(generation, 2),
                "check_seconds": round(checking, 2), "expected_seconds": round(deriving, 2),
                "stats": stats}
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    work.rename(folder)
    note(f"  generated in {generation:.1f} s (lines checked in {checking:.1f} s, expected "
         f"answers derived from the files in {deriving:.1f} s)")
    return folder, manifest, False


# --- expected answers --------------------------------------------------------------------

Times = npt.NDArray[np.int64]


@dataclass
class Expected:
    """The dashboards' answers for any range, from the log's initials and followups."""

    initials: dict[str, Times]
    followup_at: dict[str, Times]
    followup_sums: dict[str, Times]  # running sums of followups, a leading 0

    @classmethod
    def load(cls, folder: Path) -> Expected:
        con = engine()
        initials, followup_at, followup_sums = {}, {}, {}
        for symbol in SYMBOLS:
            got = con.execute(f"SELECT at_us FROM read_parquet({_text(folder / 'initials.parquet')})"
                              " WHERE symbol = ? ORDER BY at_us", [symbol]).fetchnumpy()
            initials[symbol] = np.asarray(got["at_us"], dtype=np.int64)
            got = con.execute(f"SELECT at_us, n FROM read_parquet({_text(folder / 'followups.parquet')})"
                              " WHERE symbol = ? ORDER BY at_us", [symbol]).fetchnumpy()
            followup_at[symbol] = np.asarray(got["at_us"], dtype=np.int64)
            followup_sums[symbol] = np.concatenate(
                (np.zeros(1, dtype=np.int64), np.cumsum(np.asarray(got["n"], dtype=np.int64))))
        con.close()
        return cls(initials, followup_at, followup_sums)

    def aggregate(self, symbol: str, lower: int, upper: int) -> dict[str, Any]:
        found = self.initials[symbol]
        start = int(np.searchsorted(found, lower))
        end = int(np.searchsorted(found, upper))
        if start >= end:
            return {"symbol": symbol, "count": 0, "earliest": None, "latest": None,
                    "followups": 0}
        at, sums = self.followup_at[symbol], self.followup_sums[symbol]
        followups = sums[int(np.searchsorted(at, upper))] - sums[int(np.searchsorted(at, lower))]
        return {"symbol": symbol, "count": end - start, "earliest": time_text(int(found[start])),
                "latest": time_text(int(found[end - 1])), "followups": int(followups)}

    def range(self, lower: int, upper: int) -> list[dict[str, Any]]:
        found = (self.aggregate(symbol, lower, upper) for symbol in SYMBOLS)
        return [aggregate for aggregate in found if aggregate["count"]]


# --- requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    kind: str  # a key of KINDS
    path: str
    symbol: str | None = None
    lower: int = -BIG
    upper: int = BIG


def log_days(stats: dict[str, Any]) -> list[int]:
    """Midnights (microseconds) of the days the log's initial requests fall on."""
    first = stats["first_initial_us"] // DAY_US * DAY_US
    last = stats["last_initial_us"] // DAY_US * DAY_US
    return list(range(first, last + DAY_US, DAY_US))


def plan(stats: dict[str, Any], counts: dict[str, int], rng: random.Random) -> list[Request]:
    """`counts[kind]` requests of each kind, shuffled together."""
    days = log_days(stats)
    first, last = stats["first_initial_us"], stats["last_initial_us"]
    whole = Request("whole", f"/dashboard/range/{day_text(days[0])}/{day_text(days[-1] + DAY_US)}",
                    lower=days[0], upper=days[-1] + DAY_US)
    requests = []
    for kind, count in counts.items():
        for _ in range(count):
            if kind == "symbol":
                symbol = rng.choice(SYMBOLS)
                requests.append(Request(kind, f"/dashboard/symbol/{symbol}", symbol))
            elif kind == "day":
                day = rng.choice(days)
                requests.append(Request(kind, f"/dashboard/range/{day_text(day)}/"
                                        f"{day_text(day + DAY_US)}", lower=day, upper=day + DAY_US))
            elif kind == "whole":
                requests.append(whole)
            else:
                lower = rng.randrange(first, last)
                upper = lower + rng.randrange(1_000_000, DAY_US)
                requests.append(Request(kind, f"/dashboard/range/{quote(time_text(lower), safe='')}/"
                                        f"{quote(time_text(upper), safe='')}",
                                        lower=lower, upper=upper))
    rng.shuffle(requests)
    return requests


def expected_answer(request: Request, expected: Expected) -> Any:
    if request.symbol is not None:
        return expected.aggregate(request.symbol, -BIG, BIG)
    return expected.range(request.lower, request.upper)


def without_followups(answer: Any) -> Any:
    if isinstance(answer, dict):
        return {key: value for key, value in answer.items() if key != "followups"}
    return [without_followups(item) for item in answer]


def get(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


@dataclass
class Measured:
    seconds: dict[str, list[float]] = field(default_factory=dict)
    checked: int = 0
    mismatches: list[str] = field(default_factory=list)


def measure(port: int, requests: list[Request], warmup: list[Request], expected: Expected,
            range_followups: bool = True) -> Measured:
    """Each request in turn over one keep-alive connection, client wall time each; then
    every answer checked (the naive store counts a range's followups by any initial of
    the uuid in range, not the first: with `range_followups` False a range's followups
    are checked only for the whole history)."""
    measured = Measured({kind: [] for kind in KINDS})
    bodies = []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        for request in warmup:
            status, body = get(connection, request.path)
            if status != 200:
                raise SystemExit(f"GET {request.path}: {status} {body[:200]!r}")
        for request in requests:
            started = time.perf_counter()
            connection.request("GET", request.path)
            response = connection.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                raise SystemExit(f"GET {request.path}: {response.status} {body[:200]!r}")
            measured.seconds[request.kind].append(elapsed)
            bodies.append(body)
    finally:
        connection.close()
    for request, body in zip(requests, bodies, strict=True):
        answer, wanted = json.loads(body), expected_answer(request, expected)
        if not range_followups and request.kind in ("day", "window"):
            answer, wanted = without_followups(answer), without_followups(wanted)
        measured.checked += 1
        if answer != wanted:
            measured.mismatches.append(f"GET {request.path}: {json.dumps(answer)[:300]} "
                                       f"expected {json.dumps(wanted)[:300]}")
    return measured


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {}
    return {"requests": len(seconds), "p50_ms": percentile(seconds, 50) * 1000,
            "p99_ms": percentile(seconds, 99) * 1000, "max_ms": max(seconds) * 1000}


# --- servers and Redis -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running(command: list[str], port: int, scratch: Path, name: str,
            env: dict[str, str] | None = None, ready_timeout: float = 300.0
            ) -> Iterator[float]:
    """The server `command` (listening on `port`) in a session of its own until the block
    ends, then SIGKILL for its whole process group; yields the seconds it took to answer
    GET /dashboard/symbol/e."""
    out, err = (scratch / f"{name}.stdout").open("wb"), (scratch / f"{name}.stderr").open("wb")
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err,
                               start_new_session=True)
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{name} ended with status {process.returncode}:\n"
                                 + (scratch / f"{name}.stderr").read_text()[-3000:])
            if time.perf_counter() - started > ready_timeout:
                raise SystemExit(f"{name} did not answer within {ready_timeout:.0f} s")
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            try:
                status, _ = get(connection, "/dashboard/symbol/e")
            except OSError:
                time.sleep(0.05)
                continue
            finally:
                connection.close()
            if status == 200:
                break
            time.sleep(0.05)
        yield time.perf_counter() - started
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        out.close()
        err.close()


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def prefix_keys(client: redis.Redis, prefix: str) -> Iterator[str]:
    yield from client.scan_iter(match=f"{prefix}*", count=10_000)


def delete_prefix(client: redis.Redis, prefix: str) -> int:
    deleted, batch = 0, []
    for key in prefix_keys(client, prefix):
        batch.append(key)
        if len(batch) == 1_000:
            deleted += int(client.unlink(*batch))
            batch = []
    if batch:
        deleted += int(client.unlink(*batch))
    return deleted


def redis_shape(client: redis.Redis, prefix: str, rng: random.Random) -> dict[str, Any]:
    """How the aggregates sit in Redis: keys and their MEMORY USAGE summed (whatever
    other clients of the server do meanwhile), and a sample of the uuid buckets."""
    keys, total, batch = 0, 0, []
    for key in [*prefix_keys(client, prefix), None]:
        if key is not None:
            keys += 1
            batch.append(key)
        if len(batch) == 1_000 or (key is None and batch):
            pipe = client.pipeline(transaction=False)
            for each in batch:
                pipe.memory_usage(each, samples=0)
            total += sum(int(n or 0) for n in pipe.execute())
            batch = []
    buckets = [f"{prefix}u:{rng.randrange(1 << 20):05x}" for _ in range(200)]
    encodings: dict[str, int] = {}
    lengths = []
    for bucket in buckets:
        encoding = client.object("encoding", bucket) or "absent"
        encodings[str(encoding)] = encodings.get(str(encoding), 0) + 1
        lengths.append(int(client.hlen(bucket)))
    return {"keys": keys, "memory_usage_of_keys": total, "bucket_encodings_of_200": encodings,
            "uuids_per_bucket_mean": sum(lengths) / len(lengths),
            "uuids_per_bucket_max_of_200": max(lengths),
            "initials_zset_e_encoding": str(client.object("encoding", f"{prefix}i:e")),
            "initials_zset_e_bytes": int(client.memory_usage(f"{prefix}i:e", samples=0) or 0),
            "config_hash_max_listpack_entries":
                client.config_get("hash-max-listpack-entries").get("hash-max-listpack-entries")}


def sluice_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sluice", *args]


def rebuild(url: str, prefix: str, log: Path, scratch: Path) -> tuple[float, float, int]:
    """`sluice events rebuild`: wall seconds, peak RSS MB and the events it applied."""
    output = scratch / f"rebuild-{prefix.replace(':', '_')}.json"
    with output.open("wb") as stream:
        started = time.perf_counter()
        process = subprocess.Popen(sluice_command(
            "events", "rebuild", "--redis", url, "--redis-prefix", prefix, "--log", str(log),
            "--json"), cwd=ROOT, stdout=stream)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"sluice events rebuild failed with status "
                         f"{os.waitstatus_to_exitcode(status)}")
    applied = int(json.loads(output.read_text())["events"])
    return seconds, usage.ru_maxrss / 1024, applied


def naive_schema() -> str:
    """The naive store's table, from bench/events_stores.py (not importable as a package
    when this file runs as a script)."""
    spec = importlib.util.spec_from_file_location("bench_events_stores", STORES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.SCHEMA)


def load_naive(database: Path, log: Path) -> int:
    """The log's events into the naive store's table, in one transaction."""
    def rows() -> Iterator[tuple[Any, ...]]:
        for path in sorted((log / "closed").glob("segment-*.jsonl")):
            with path.open("rb") as stream:
                for line in stream:
                    event = json.loads(line)
                    yield event["kind"], event["uuid"], event["symbol"], event["guess"], event["at"]

    con = sqlite3.connect(database)
    try:
        con.execute(naive_schema())
        with con:
            con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows())
        row = con.execute("SELECT count(*) FROM events").fetchone()
    finally:
        con.close()
    return int(row[0])


# --- the runs ----------------------------------------------------------------------------


def marks_wanted(manifest: dict[str, Any]) -> dict[str, str]:
    """Every segment's mark once it is all applied: its last event and its size."""
    return {s["name"]: f"{s['events']} {s['bytes']}" for s in manifest["segments"]}


def run_sluice(args: argparse.Namespace, client: redis.Redis, scratch: Path, prefix: str,
               folder: Path, manifest: dict[str, Any], counts: dict[str, int],
               expected: Expected) -> dict[str, Any]:
    """Rebuild the aggregates from the log, serve them, read the dashboards."""
    events = manifest["events"]
    rng = random.Random(f"{args.seed}-{events}-sluice")
    delete_prefix(client, prefix)
    before = used_memory(client)
    note(f"sluice events rebuild: {events:,} events into {prefix}* ...")
    seconds, peak, applied = rebuild(args.redis, prefix, folder / "log", scratch)
    after = used_memory(client)
    note(f"  {seconds:.1f} s; Redis used_memory {before / 1e6:,.0f} -> {after / 1e6:,.0f} MB")
    if applied != events:
        raise SystemExit(f"the rebuild applied {applied:,} events, not {events:,}")
    marks = client.hgetall(f"{prefix}marks")
    if marks != marks_wanted(manifest):
        raise SystemExit(f"after the rebuild the marks are {marks}, not {marks_wanted(manifest)}")
    shape = redis_shape(client, prefix, rng)
    port = free_port()
    command = sluice_command(
        "events", "serve", "--port", str(port), "--redis", args.redis, "--redis-prefix", prefix,
        "--log", str(folder / "log"), "--workers", "2",
        "--warehouse", str(scratch / f"warehouse-{events}.db"), "--load-every", "0")
    warmup = plan(manifest["stats"], {k: min(args.warmup, n) for k, n in counts.items()}, rng)
    requests = plan(manifest["stats"], counts, rng)
    note(f"sluice events serve at {events:,} events: {len(requests):,} requests after "
         f"{len(warmup):,} to warm up ...")
    name = f"serve-{events}"
    with running(command, port, scratch, name) as ready:
        marks_started = client.hgetall(f"{prefix}marks")
        measured = measure(port, requests, warmup, expected)
        marks_ended = client.hgetall(f"{prefix}marks")
    told = (scratch / f"{name}.stderr").read_text()
    if marks_started != marks or marks_ended != marks or "caught up" in told:
        raise SystemExit(f"the server's start-up catch-up applied events: {told[-2000:]}")
    result = {"events": events, "prefix": prefix, "rebuild_seconds": seconds,
              "rebuild_events_per_second": events / seconds, "rebuild_peak_rss_mb": peak,
              "redis_used_memory_before": before, "redis_used_memory_after": after,
              "redis_bytes_per_event": (after - before) / events, "redis": shape,
              "server_ready_seconds": ready, "startup_catch_up_applied": 0,
              "latency": {kind: summary(values) for kind, values in measured.seconds.items()},
              "checked": measured.checked, "mismatches": measured.mismatches[:20],
              "mismatch_count": len(measured.mismatches)}
    if not args.keep:
        result["keys_deleted"] = delete_prefix(client, prefix)
        result["redis_used_memory_after_delete"] = used_memory(client)
    return result


def run_naive(args: argparse.Namespace, scratch: Path, folder: Path, manifest: dict[str, Any],
              counts: dict[str, int], expected: Expected) -> dict[str, Any]:
    """The naive SQLite store, bulk-loaded, behind the same server."""
    events = manifest["events"]
    rng = random.Random(f"{args.seed}-{events}-naive")
    database = scratch / "naive.db"
    started = time.perf_counter()
    loaded = load_naive(database, folder / "log")
    loading = time.perf_counter() - started
    if loaded != events:
        raise SystemExit(f"the naive table holds {loaded:,} events, not {events:,}")
    port = free_port()
    command = [str(Path(sys.executable).parent / "uvicorn"), "bench.events_stores:create_app",
               "--factory", "--workers", "2", "--port", str(port), "--log-level", "warning",
               "--no-access-log"]
    env = {**os.environ, "BENCH_EVENTS_STORE": "naive", "BENCH_EVENTS_SQLITE": str(database)}
    warmup = plan(manifest["stats"], {k: min(args.naive_warmup, n) for k, n in counts.items()},
                  rng)
    requests = plan(manifest["stats"], counts, rng)
    note(f"naive SQLite at {events:,} events (bulk-loaded in {loading:.1f} s): "
         f"{len(requests):,} requests after {len(warmup):,} to warm up ...")
    with running(command, port, scratch, "naive", env) as ready:
        measured = measure(port, requests, warmup, expected, range_followups=False)
    return {"events": events, "bulk_load_seconds": loading,
            "sqlite_mb": database.stat().st_size / 1e6, "server_ready_seconds": ready,
            "latency": {kind: summary(values) for kind, values in measured.seconds.items()},
            "checked": measured.checked, "mismatches": measured.mismatches[:20],
            "mismatch_count": len(measured.mismatches)}


# --- the report --------------------------------------------------------------------------


def millions(events: int) -> str:
    return f"{events / 1e6:g}M"


def markdown(results: dict[str, Any]) -> str:
    lines = [f"Ran {results['ran_at']} on {results['machine']['cores']} cores; Redis "
             f"{results['machine']['redis_version']}, Python {results['machine']['python']}, "
             f"DuckDB {results['machine']['duckdb']}.", "",
             "| log | segments | MB | initials | followups | before their initial | "
             "from never-opened uuids | uuids following up twice+ | generated in s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for log in results["logs"].values():
        stats = log["stats"]
        lines.append(
            f"| {log['events']:,} events | {len(log['segments'])} | {log['mb']:,.0f} | "
            f"{stats['initials']:,} | {stats['followups']:,} | "
            f"{stats['followups_before_their_initial']:,} | {stats['followups_never_opened']:,} | "
            f"{stats['uuids_following_up_more_than_once']:,} | {log['generation_seconds']:.1f}"
            f"{' (cached)' if log['cached'] else ''} |")
    lines += ["", "| `sluice events rebuild` | s | events/s | peak RSS MB | Redis used_memory "
              "before → after MB | bytes/event | keys' MEMORY USAGE MB | keys | server ready s | "
              "start-up catch-up |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for run in results["sluice"].values():
        lines.append(
            f"| {run['events']:,} events | {run['rebuild_seconds']:.1f} | "
            f"{run['rebuild_events_per_second']:,.0f} | {run['rebuild_peak_rss_mb']:,.0f} | "
            f"{run['redis_used_memory_before'] / 1e6:,.0f} → "
            f"{run['redis_used_memory_after'] / 1e6:,.0f} | {run['redis_bytes_per_event']:.0f} | "
            f"{run['redis']['memory_usage_of_keys'] / 1e6:,.0f} | {run['redis']['keys']:,} | {run['server_ready_seconds']:.1f} | 0 events applied |")
    for run in results["sluice"].values():
        shape = run["redis"]
        encodings = ", ".join(f"{name} {n}" for name, n in shape["bucket_encodings_of_200"].items())
        lines.append(
            f"\nRedis at {run['events']:,} events: uuid buckets (200 sampled): {encodings}, "
            f"{shape['uuids_per_bucket_mean']:.1f} uuids each on average (max "
            f"{shape['uuids_per_bucket_max_of_200']}; hash-max-listpack-entries "
            f"{shape['config_hash_max_listpack_entries']}); `i:e` is a "
            f"{shape['initials_zset_e_encoding']} of {shape['initials_zset_e_bytes'] / 1e6:,.0f} MB.")
    lines += ["", "Latency: client wall time per request, sequential on one keep-alive "
              "connection, nearest-rank percentiles.", "",
              "| endpoint | server | requests | p50 ms | p99 ms | max ms | goal p99 |",
              "|---|---|---:|---:|---:|---:|---|"]
    runs = [(f"sluice @ {millions(run['events'])}", run) for run in results["sluice"].values()]
    if results.get("naive"):
        runs.append((f"naive @ {millions(results['naive']['events'])}", results["naive"]))
    biggest = max(run["events"] for run in results["sluice"].values())
    for kind, label in KINDS.items():
        for name, run in runs:
            got = run["latency"].get(kind)
            if not got:
                continue
            goal = ""
            if kind in GOALS_MS and name.startswith("sluice") and run["events"] == biggest:
                verdict = "met" if got["p99_ms"] < GOALS_MS[kind] else "**not met**"
                goal = f"< {GOALS_MS[kind]:g} ms: {verdict}"
            lines.append(f"| {label} | {name} | {got['requests']:,} | {got['p50_ms']:.2f} | "
                         f"{got['p99_ms']:.2f} | {got['max_ms']:.2f} | {goal} |")
    if results.get("ratios"):
        lines += ["", f"Naive / sluice at {millions(results['naive']['events'])} events "
                  "(above 1: sluice is faster):", "",
                  "| endpoint | p50 ratio | p99 ratio |", "|---|---:|---:|"]
        for kind, ratio in results["ratios"].items():
            lines.append(f"| {KINDS[kind]} | {ratio['p50']:,.0f} | {ratio['p99']:,.0f} |")
    checked = sum(run["checked"] for _, run in runs)
    wrong = sum(run["mismatch_count"] for _, run in runs)
    lines += ["", f"Answers checked against the log: {checked:,}, wrong: {wrong:,} (the naive "
              "store's day and window followups are not checked: it counts a followup by any "
              "initial of its uuid in range, not the first)."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--small", type=int, default=500_000,
                        help="the size compared with the naive design (0: no comparison)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-segment", type=int, default=1_000_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--symbol", type=int, default=2_000, help="symbol requests")
    parser.add_argument("--day", type=int, default=1_000, help="day-range requests")
    parser.add_argument("--whole", type=int, default=300, help="whole-history requests")
    parser.add_argument("--window", type=int, default=500, help="sub-day range requests")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up requests per kind")
    parser.add_argument("--naive", default="20,10,5,10", metavar="S,D,W,T",
                        help="the naive store's symbol, day, whole and window requests")
    parser.add_argument("--naive-warmup", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print JSON, not Markdown")
    parser.add_argument("--keep", action="store_true",
                        help="keep the Redis keys and the scratch folder")
    args = parser.parse_args()
    if not 0 <= args.seed < 2**22:
        parser.error("--seed must be in 0 .. 4194303")

    client = redis.Redis.from_url(args.redis, decode_responses=True)
    client.ping()
    sizes = sorted({args.events, args.small} - {0})
    logs: dict[int, tuple[Path, dict[str, Any], bool]] = {}
    for size in sizes:
        logs[size] = generated(size, args.seed, args.days, args.per_segment)

    counts = {"symbol": args.symbol, "day": args.day, "whole": args.whole,
              "window": args.window}
    naive_counts = dict(zip(KINDS, (int(n) for n in args.naive.split(",")), strict=True))
    scratch = Path(tempfile.mkdtemp(prefix="evdash_", dir="/tmp"))
    base = f"bench:evdash:{os.getpid()}:"
    results: dict[str, Any] = {
        "ran_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0],
                    "duckdb": duckdb.__version__,
                    "redis_version": client.info("server")["redis_version"]},
        "settings": {**vars(args), "goals_ms": GOALS_MS},
        "logs": {}, "sluice": {}, "naive": None, "ratios": {}}
    for size, (folder, manifest, cached) in logs.items():
        results["logs"][str(size)] = {
            "events": size, "folder": str(folder), "cached": cached,
            "segments": manifest["segments"], "stats": manifest["stats"],
            "mb": sum(s["bytes"] for s in manifest["segments"]) / 1e6,
            "generation_seconds": manifest["generation_seconds"]}
    try:
        for size in sizes:
            folder, manifest, _ = logs[size]
            expected = Expected.load(folder)
            results["sluice"][str(size)] = run_sluice(
                args, client, scratch, f"{base}{size}:", folder, manifest, counts, expected)
            if size == args.small:
                results["naive"] = run_naive(args, scratch, folder, manifest, naive_counts,
                                             expected)
    finally:
        if not args.keep:
            for size in sizes:
                delete_prefix(client, f"{base}{size}:")
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            note(f"kept: Redis keys {base}*, scratch folder {scratch}")
    if results["naive"] is not None:
        naive, ours = results["naive"]["latency"], results["sluice"][str(args.small)]["latency"]
        for kind in KINDS:
            if naive.get(kind) and ours.get(kind):
                results["ratios"][kind] = {
                    "p50": naive[kind]["p50_ms"] / ours[kind]["p50_ms"],
                    "p99": naive[kind]["p99_ms"] / ours[kind]["p99_ms"]}
    print(json.dumps(results, indent=2) if args.json else markdown(results))
    wrong = [m for run in [*results["sluice"].values(), results["naive"] or {}]
             for m in run.get("mismatches", [])]
    if wrong:
        raise SystemExit("wrong answers:\n" + "\n".join(wrong[:10]))


if __name__ == "__main__":
    main()
