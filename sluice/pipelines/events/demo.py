"""The events demo step: the embedded service (no Redis) serves a stream of clients,
its dashboards are read over HTTP, and its log is loaded into the warehouse, where the
same dashboard computed from the raw events agrees."""

from __future__ import annotations

import json
import random
import urllib.request
from pathlib import Path
from typing import Any

from sluice import ingest
from sluice.demo import run_totals
from sluice.pipelines import events
from sluice.pipelines.events.aggregates import MemoryAggregates, catch_up
from sluice.pipelines.events.load import SPEC, load_segments
from sluice.pipelines.events.loadgen import run_load
from sluice.pipelines.events.log import recover, segments
from sluice.pipelines.events.server import Settings, build_app, running
from sluice.progress import Progress
from sluice.warehouse import Warehouse

DEMO_REQUESTS = 3_000
SEED = 7


def run_demo(warehouse: Warehouse, folder: Path, progress: Progress) -> dict[str, Any]:
    log = folder / "log"
    aggregates = MemoryAggregates()
    if log.is_dir():
        recover(log)  # a demo killed while serving left its segment open
    if not (log.is_dir() and segments(log)):
        # Sequential clients and a seeded service: the same requests and guesses each time.
        with running(build_app(Settings(str(log)), aggregates, random.Random(SEED))) as url:
            run_load(url, count=DEMO_REQUESTS, seed=SEED)
            served = _get(f"{url}/dashboard/range/2000-01-01/2100-01-01")
        run = load_segments(warehouse, log, progress)
    else:
        # The demo ran before: its log is offered again, and every segment is skipped
        # by its checksum, as every other demo file is.
        catch_up(aggregates, log)
        served = [found.as_dict() for found in aggregates.range(-(2**62), 2**62)]
        run = ingest.ingest(warehouse, SPEC, [str(p) for p in segments(log)], progress)
    assert run is not None  # the service closed its segment when it stopped
    events.build_models(warehouse)
    stored = warehouse.destination.query(
        "SELECT symbol, requests, followups FROM events.symbol_totals ORDER BY symbol")
    agree = [(d["symbol"], d["count"], d["followups"]) for d in served] == \
        [(s, int(n), int(f)) for s, n, f in stored.rows]
    requests = sum(d["count"] for d in served)
    followups = sum(d["followups"] for d in served)
    summary = run_totals(run)
    summary.update(initial=requests, followups=followups, dashboards_match_warehouse=agree)
    summary["headline"] = (
        f"{requests:,} initial requests and {followups:,} followups served; the dashboards "
        + ("match" if agree else "DO NOT match") + " the raw events in events.raw_events")
    return summary


def _get(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        found: list[dict[str, Any]] = json.loads(answer.read())
    return found
