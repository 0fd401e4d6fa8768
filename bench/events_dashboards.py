"""Events dashboards benchmark: GET /dashboard/... latency of `sluice events serve` with
10 million events stored, against the naive design (bench/events_stores.py) at 0.5 million.

    python bench/events_dashboards.py [--events 10000000] [--small 500000] [--seed 7]
        [--redis redis://127.0.0.1:6379/0] [--json] [--keep]

The goal (issue 10): with 10 million events stored, GET /dashboard/symbol/S p99 under
5 ms, GET /dashboard/range/LOWER/UPPER p99 under 50 ms for a day's range and under
200 ms for the whole history (the naive design: 0.2 s and 4.4 s at 0.5 million events).

The event logs are generated with DuckDB SQL in the service's exact on-disk format
(closed segments `segment-<UTC start>-999999.jsonl` of `--per-segment` events, lines
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
from datetime import UTC, datetime, timedelta
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
GENERATOR_VERSION = 1

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


