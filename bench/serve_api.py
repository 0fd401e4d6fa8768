"""`sluice serve` under load: every API endpoint and every page over a big warehouse, on
DuckDB and on PostgreSQL, and an ingest running beside the server.

    python bench/serve_api.py [--votes 10000000] [--advocates 10000] [--seconds 60]
        [--engines duckdb,postgres] [--cache /tmp/sluice-serve-bench] [--keep]
        [--json results.json]
    python bench/serve_api.py --votes 1000000 --seconds 10      # a quick run

The warehouse: `sluice votes ingest` of a generated file of `--votes` votes, `sluice
advocacy ingest` of a generated folder of `--advocates` advocates, then `sluice demo`
(every pipeline's demo data; `--no-demo` leaves it out), all through the CLI. The DuckDB
file is kept under `--cache`,
keyed by those parameters, and reused; the PostgreSQL database
(`sluice_serve_bench_v..._a...`) is built by the script and dropped at the end unless
`--keep` (then it is reused too). Each build step is timed and reported. Every
measurement runs on a copy (a file copy; `CREATE DATABASE ... TEMPLATE`), so the cached
warehouse never changes.

Per engine:
1. A first server lists the GET operations of `/api/openapi.json`, fills their path
   parameters with values read from the API itself (every view and page name, the newest
   run and the biggest, quarantine records, trace keys read from the traced tables),
   adds page 2 of every list and what the pages ask for (each panel's route with its
   controls' defaults and page size, one variation per control with options), the
   downloads, the HTML pages and the static assets.
2. A fresh server: the first request to each endpoint, one after the other (cold), then
   `--readers` threads, each with its own keep-alive connection, round-robin over every
   endpoint but the downloads for `--seconds` (warm): count, median, p95, p99, max per
   endpoint; a request fails when it gets no answer, a 5xx, or another status than the
   endpoint gave cold. The downloads are then timed alone, 3 times each.
3. Pages in Chromium (Playwright, /usr/bin/chromium): navigation start to
   `body[data-ready=true]`, `--loads` loads per page, a fresh tab each, one browser
   context (its cache warm after the first load).
4. An ingest of `--beside-votes` new votes while the readers run: their latencies and
   failures during it, its wall time against the same ingest with no server (measured
   before and after, on identical copies), and how long after it finished the API
   answered with the new data (the votes overview's `loaded`).
5. Lookups that miss the server's cache: each request a key not asked before (trace),
   a record, a quarantine page.

Prints Markdown; `--json` also writes every figure. Generated data stays under `--cache`
and a temporary folder; nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.metadata
import itertools
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

REPOSITORY = Path(__file__).resolve().parent.parent
HEADERS = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate",
           "Connection": "keep-alive"}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_SECONDS = 600.0  # a server over a big DuckDB file copies it before it answers
FRESH_SECONDS = 600.0  # the longest the new data may take to be served after an ingest
GOAL_MS = 50.0
PAGE_GOAL_MS = 1_000.0
# Marks the moments the page sets body[data-usable=true] (every table, form and figure
# drawn) and body[data-ready=true] (its charts too), on the page's own clock
# (performance.now(): milliseconds since navigation start).
READY_PROBE = """
(() => {
  const mark = () => {
    const data = document.body ? document.body.dataset : {};
    if (window.__sluiceUsable === undefined && data.usable === "true")
      window.__sluiceUsable = performance.now();
    if (window.__sluiceReady === undefined && data.ready === "true")
      window.__sluiceReady = performance.now();
  };
  new MutationObserver(mark).observe(document, {attributes: true, subtree: true,
                                                attributeFilter: ["data-ready", "data-usable"]});
})();
"""

# Where a load's time went, on the page's clock: scripts done (DOMContentLoaded ends after
# the deferred scripts ran), the API requests and the slowest of them.
TIMELINE = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const api = performance.getEntriesByType("resource").filter((r) => r.name.includes("/api/"));
  const last = api.reduce((a, r) => (a === null || r.responseEnd > a.responseEnd ? r : a), null);
  return {scripts_done: nav ? nav.domContentLoadedEventEnd : 0, api_requests: api.length,
          longest_api: Math.max(0, ...api.map((r) => r.duration)),
          last_api_end: last ? last.responseEnd : 0, last_api: last ? last.name : null};
}"""


# --- small things -----------------------------------------------------------------------

def sluice(*args: str) -> list[str]:
    return [sys.executable, "-m", "sluice", *args]


def run(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, Any]:
    """Wall seconds of a command and its `--json` output."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n"
                         f"{done.stderr.decode(errors='replace')[-3000:]}")
    text = done.stdout.decode(errors="replace").strip()
    try:
        return elapsed, json.loads(text) if text else None
    except json.JSONDecodeError:
        return elapsed, text


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share / 100 * len(ordered)) - 1)]


def summary(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"count": 0}
    return {"count": len(latencies), "median": statistics.median(latencies),
            "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
            "max": max(latencies)}


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the inputs ---------------------------------------------------------------------------

@dataclass
class Inputs:
    votes: Path
    advocates: Path
    beside: Path
    seconds: dict[str, float]


def votes_file(cache: Path, votes: int, first_id: int, seed: int,
               seconds: dict[str, float]) -> Path:
    path = cache / "inputs" / f"votes-{votes}-first{first_id}-seed{seed}.jsonl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        say(f"generating {votes:,} votes into {path}")
        seconds[path.name] = run(sluice("votes", "generate", str(partial), "--votes",
                                        str(votes), "--first-id", str(first_id), "--seed",
                                        str(seed), "--json"), dict(os.environ), cache)[0]
        partial.rename(path)
    return path


def advocates_folder(cache: Path, advocates: int, seed: int,
                     seconds: dict[str, float]) -> Path:
    folder = cache / "inputs" / f"advocates-{advocates}-seed{seed}"
    if not folder.exists():
        partial = folder.with_name(folder.name + ".part")
        shutil.rmtree(partial, ignore_errors=True)
        say(f"generating {advocates:,} advocates into {folder}")
        seconds[folder.name] = run(sluice("advocacy", "generate", str(partial), "--advocates",
                                          str(advocates), "--seed", str(seed), "--json"),
                                   dict(os.environ), cache)[0]
        partial.rename(folder)
    return folder


def inputs_for(args: argparse.Namespace) -> Inputs:
    seconds: dict[str, float] = {}
    return Inputs(
        votes=votes_file(args.cache, args.votes, 1_000_000, 7, seconds),
        advocates=advocates_folder(args.cache, args.advocates, 7, seconds),
        # Ids past every id of the warehouse: all of them new votes.
        beside=votes_file(args.cache, args.beside_votes, 3 * args.votes + 10_000_000, 11,
                          seconds),
        seconds=seconds)


# --- the warehouses ----------------------------------------------------------------------

def cache_key(args: argparse.Namespace) -> str:
    return f"v{args.votes}_a{args.advocates}_{'demo' if args.demo else 'nodemo'}"


def build(location: str, inputs: Inputs, demo: Path | None, env: dict[str, str],
          cwd: Path, memory: str | None) -> dict[str, Any]:
    """Fill an empty warehouse through the CLI; each step's wall seconds and summary."""
    steps: dict[str, Any] = {}
    say(f"  sluice votes ingest {inputs.votes.name}")
    # At the default engine memory limit (1GB) this ingest runs out of memory (see
    # BENCHMARKS.md); the build may raise it. The server and the measured ingests keep
    # the default.
    big = {**env, "SLUICE_MEMORY_LIMIT": memory} if memory else env
    seconds, answer = run(sluice("votes", "ingest", str(inputs.votes), "--warehouse", location,
                                 "--json"), big, cwd)
    steps[f"sluice votes ingest ({inputs.votes.stat().st_size / 1e9:.2f} GB"
          + (f", SLUICE_MEMORY_LIMIT={memory})" if memory else ")")] = {
        "seconds": seconds, "loaded": answer.get("loaded") if isinstance(answer, dict) else None}
    say(f"  sluice advocacy ingest {inputs.advocates.name}")
    seconds, answer = run(sluice("advocacy", "ingest", str(inputs.advocates), "--warehouse",
                                 location, "--json"), env, cwd)
    files = sum(1 for _ in inputs.advocates.iterdir())
    steps[f"sluice advocacy ingest ({files:,} files)"] = {
        "seconds": seconds, "loaded": answer.get("loaded") if isinstance(answer, dict) else None}
    # The demo last: the big vote file into a warehouse already holding the demo's votes
    # runs the engine out of memory at the default limit (see BENCHMARKS.md).
    if demo is not None:
        say(f"  sluice demo -> {location}")
        seconds, _ = run(sluice("demo", "--dir", str(demo), "--warehouse", location, "--json"),
                         env, cwd)
        steps["sluice demo (every pipeline's demo data)"] = {"seconds": seconds}
    return steps


def duckdb_cached(args: argparse.Namespace, inputs: Inputs) -> tuple[Path, dict[str, Any]]:
    folder = args.cache / f"duckdb_{cache_key(args)}"
    record = folder / "build.json"
    if record.exists() and not args.rebuild:
        return folder / "warehouse.db", {**json.loads(record.read_text()), "reused": True}
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    say(f"building the DuckDB warehouse in {folder}")
    steps = build(str(folder / "warehouse.db"), inputs, folder / "demo" if args.demo else None,
                  dict(os.environ), folder, args.build_memory)
    info = {"steps": steps, "built": time.strftime("%Y-%m-%d %H:%M"), "load": load(),
            "bytes": (folder / "warehouse.db").stat().st_size}
    record.write_text(json.dumps(info, indent=1))
    return folder / "warehouse.db", {**info, "reused": False}


def admin(server: str) -> psycopg.Connection[Any]:
    return psycopg.connect(f"{server}/postgres", autocommit=True)


def database_comment(server: str, name: str) -> str | None:
    with admin(server) as con:
        row = con.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                          "WHERE datname = %s", [name]).fetchone()
    return None if row is None else str(row[0] or "")


def drop_database(server: str, name: str) -> None:
    with admin(server) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_cached(args: argparse.Namespace, inputs: Inputs
                    ) -> tuple[str, Path, dict[str, Any]]:
    """The cached database's name, its quarantine folder and how it was built."""
    name = f"sluice_serve_bench_{cache_key(args)}"
    quarantine = args.cache / f"postgres_{cache_key(args)}" / "quarantine"
    comment = database_comment(args.server, name)
    if comment and not args.rebuild:
        with contextlib.suppress(json.JSONDecodeError):
            info = json.loads(comment)
            if info.get("complete") and quarantine.parent.exists():
                return name, quarantine, {**info, "reused": True}
    drop_database(args.server, name)
    shutil.rmtree(quarantine.parent, ignore_errors=True)
    quarantine.parent.mkdir(parents=True)
    with admin(args.server) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    say(f"building the PostgreSQL warehouse {name}")
    env = {**os.environ, "SLUICE_QUARANTINE_DIR": str(quarantine)}
    steps = build(f"{args.server}/{name}", inputs,
                  quarantine.parent / "demo" if args.demo else None, env, quarantine.parent,
                  args.build_memory)
    # What autovacuum does within minutes of a load: statistics and the visibility map.
    started = time.perf_counter()
    with psycopg.connect(f"{args.server}/{name}", autocommit=True) as con:
        con.execute("VACUUM (ANALYZE)")
    steps["VACUUM (ANALYZE) (what autovacuum does after a load)"] = {
        "seconds": time.perf_counter() - started}
    with psycopg.connect(f"{args.server}/{name}") as con:
        size = con.execute("SELECT pg_database_size(current_database())").fetchone()
    info = {"complete": True, "steps": steps, "built": time.strftime("%Y-%m-%d %H:%M"),
            "load": load(), "bytes": int(size[0]) if size else None}
    with admin(args.server) as con:
        con.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(json.dumps(info))))
    return name, quarantine, {**info, "reused": False}


@dataclass
class Copies:
    """Identical working copies of the cached warehouse (it never changes itself)."""

    engine: str
    work: Path
    cached: Path | str  # the DuckDB file, or the PostgreSQL database's name
    quarantine: Path  # the cached warehouse's quarantine folder
    server: str
    made: list[str] = field(default_factory=list)

    def fresh(self, name: str) -> tuple[str, dict[str, str]]:
        """A copy named `name`: its location and the environment its commands need."""
        quarantine = self.work / f"{name}.quarantine"
        shutil.rmtree(quarantine, ignore_errors=True)
        if self.quarantine.exists():
            shutil.copytree(self.quarantine, quarantine)
        if self.engine == "duckdb":
            target = self.work / f"{name}.db"
            target.unlink(missing_ok=True)
            shutil.copyfile(self.cached, target)
            return str(target), dict(os.environ)
        database = f"sluice_serve_bench_{name}"
        drop_database(self.server, database)
        with admin(self.server) as con:
            con.execute(f'CREATE DATABASE "{database}" TEMPLATE "{self.cached}" '
                        "STRATEGY = FILE_COPY")
            con.execute("CHECKPOINT")
        self.made.append(database)
        return (f"{self.server}/{database}",
                {**os.environ, "SLUICE_QUARANTINE_DIR": str(quarantine)})

    def drop(self, location: str) -> None:
        if self.engine == "duckdb":
            path = Path(location)
            for leftover in (path, path.with_name(path.name + ".wal")):
                leftover.unlink(missing_ok=True)
            shutil.rmtree(path.with_name(path.name + ".quarantine"), ignore_errors=True)
        else:
            database = location.rsplit("/", 1)[1]
            drop_database(self.server, database)
            shutil.rmtree(self.work / f"{database.removeprefix('sluice_serve_bench_')}"
                          ".quarantine", ignore_errors=True)


def read_warehouse(location: str, env: dict[str, str]) -> dict[str, Any]:
    """Row counts and trace keys, read directly (before any server holds the copy)."""
    from sluice.registry import pipelines
    from sluice.warehouse import Warehouse

    saved = os.environ.get("SLUICE_QUARANTINE_DIR")
    if "SLUICE_QUARANTINE_DIR" in env:
        os.environ["SLUICE_QUARANTINE_DIR"] = env["SLUICE_QUARANTINE_DIR"]
    try:
        warehouse = Warehouse(location, must_exist=True, read_only=True)
        try:
            destination = warehouse.destination
            counts = {table: int(destination.scalar(f"SELECT count(*) FROM {table}"))
                      for table in ("blog_analysis.votes", "advocacy.advocates",
                                    "sluice.quarantine")}
            keys: dict[str, list[str]] = {}
            for pipeline in pipelines():
                for traced in pipeline.traced:
                    schema, table = traced.table.split(".", 1)
                    if destination.table_exists(schema, table):
                        expression = traced.key_expression
                        found = destination.query(
                            f"SELECT {expression} FROM {traced.table} "
                            f"WHERE {expression} IS NOT NULL LIMIT 3000")
                        keys[pipeline.name] = [str(row[0]) for row in found.rows]
                        break
            return {"counts": counts, "keys": keys}
        finally:
            warehouse.close()
    finally:
        if saved is None:
            os.environ.pop("SLUICE_QUARANTINE_DIR", None)
        else:
            os.environ["SLUICE_QUARANTINE_DIR"] = saved


# --- the server and its client ------------------------------------------------------------

@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    up_seconds: float
    log: Path
    peak_mb: float = 0.0
    tracebacks: int = 0


@contextlib.contextmanager
def serving(location: str, env: dict[str, str], work: Path) -> Iterator[Server]:
    """`sluice serve` over `location` until the block ends."""
    port = free_port()
    log = work / f"serve-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(sluice("serve", "--port", str(port), "--warehouse", location),
                                   cwd=work, env=env, stdout=output, stderr=subprocess.STDOUT)
    started = time.perf_counter()
    server = Server(port, process, 0.0, log)
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"sluice serve stopped at start:\n{log.read_text()}")
            if time.perf_counter() - started > START_SECONDS:
                raise SystemExit(f"sluice serve did not answer in {START_SECONDS:.0f} s")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json",
                                            timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        server.up_seconds = time.perf_counter() - started
        yield server
    finally:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    server.peak_mb = int(line.split()[1]) / 1024
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        server.tracebacks = log.read_text(errors="replace").count("Traceback")


class Client:
    """One keep-alive HTTP connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def exchange(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """A GET; on a kept-alive connection the server had closed (idle), asked again
        once on a new one, as browsers do."""
        for attempt in (1, 2):
            try:
                self.connection.request("GET", path, headers=headers)
                response = self.connection.getresponse()
                body = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.connection.close()
                if attempt == 2:
                    raise
                continue
            if response.getheader("Connection", "").lower() == "close":
                self.connection.close()
            return response.status, body
        raise AssertionError("unreachable")

    def get(self, path: str) -> tuple[int, int, float]:
        """Status (0: the request failed), bytes received and seconds taken."""
        started = time.perf_counter()
        try:
            status, body = self.exchange(path, HEADERS)
        except (OSError, http.client.HTTPException):
            self.connection.close()
            return 0, 0, time.perf_counter() - started
        return status, len(body), time.perf_counter() - started

    def json(self, path: str) -> Any:
        status, body = self.exchange(path, {"Accept": "application/json"})
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
        return json.loads(body)

    def close(self) -> None:
        self.connection.close()


# --- the endpoints ------------------------------------------------------------------------

@dataclass
class Endpoint:
    label: str
    kind: str  # api, download, page, asset
    paths: list[str]  # one, or (a lookup missing the cache) a new one each request
    expected: int = 200  # its status at rest (from the cold pass); any other is a failure
    _next: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def path(self) -> str:
        if len(self.paths) == 1:
            return self.paths[0]
        with self._lock:
            return self.paths[next(self._next) % len(self.paths)]


def url(path: str, query: dict[str, Any] | None = None) -> str:
    """`path` with `query` set in its query string (as the page's script does)."""
    route, _, given = path.partition("?")
    merged: dict[str, Any] = dict(urllib.parse.parse_qsl(given, keep_blank_values=True))
    merged.update({k: v for k, v in (query or {}).items() if v is not None and v != ""})
    return route + ("?" + urllib.parse.urlencode(merged) if merged else "")


def discover(client: Client, keys: dict[str, list[str]]) -> tuple[list[Endpoint], list[str]]:
    """Every GET operation of the OpenAPI schema with real parameter values, what the pages
    ask for, the pages and their assets."""
    spec = client.json("/api/openapi.json")
    schemas = spec.get("components", {}).get("schemas", {})
    notes: list[str] = []

    def schema_of(parameter: dict[str, Any]) -> dict[str, Any]:
        schema: dict[str, Any] = parameter.get("schema", {})
        for choice in schema.get("anyOf", []):
            if choice.get("type") != "null":
                schema = choice
        ref = schema.get("$ref")
        if ref:
            schema = schemas.get(ref.rsplit("/", 1)[1], {})
        return schema

    runs = client.json("/api/runs?limit=1000")["items"]
    quarantine = client.json("/api/quarantine?limit=20")["items"]
    votes_quarantine = client.json("/api/quarantine?pipeline=votes&limit=1")["items"]
    biggest = max(runs, key=lambda run: run.get("read") or 0)
    values: dict[str, list[Any]] = {
        "run_id": [runs[0]["run_id"], biggest["run_id"]] if runs else [],
        "record_id": [item["id"] for item in (quarantine[:1] + votes_quarantine[:1])],
    }
    pages = schema_of(next(p for p in spec["paths"]["/api/pages/{page}"]["get"]["parameters"]
                           if p["name"] == "page")).get("enum", [])
    descriptions = {page: client.json(f"/api/pages/{page}") for page in pages}
    seen: dict[str, Endpoint] = {}

    def add(path: str, kind: str = "api", label: str | None = None) -> None:
        if path not in seen:
            seen[path] = Endpoint(label or path, kind, [path])

    views_paged = False
    for route, operations in spec["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        parameters = operation.get("parameters", [])
        choices: list[list[tuple[str, Any]]] = []
        for parameter in (p for p in parameters if p["in"] == "path"):
            name = parameter["name"]
            found = schema_of(parameter).get("enum") or list(dict.fromkeys(values.get(name, [])))
            if not found:
                notes.append(f"{route}: no value for {name}; left out")
            choices.append([(name, value) for value in found])
        for chosen in itertools.product(*choices):
            path = route
            for name, value in chosen:
                path = path.replace("{" + name + "}", urllib.parse.quote(str(value), safe=""))
            query: dict[str, Any] = {}
            for parameter in (p for p in parameters if p["in"] == "query" and p.get("required")):
                schema = schema_of(parameter)
                owner = dict(chosen).get("pipeline")
                if parameter["name"] == "key" and owner is not None:
                    known = keys.get(str(owner), [])
                    query["key"] = known[0] if known else None
                elif schema.get("enum"):
                    query[parameter["name"]] = schema["enum"][0]
            missing = [p["name"] for p in parameters
                       if p["in"] == "query" and p.get("required") and query.get(p["name"]) is None]
            if missing:
                notes.append(f"{path}: no value for {', '.join(missing)}; left out")
                continue
            kind = "download" if "export" in route else "api"
            # A trace key differs between builds and engines: the label does not show it.
            add(url(path, query), kind, url(path, {**query, "key": "KEY"}).replace(
                "KEY", "<a key>") if "key" in query else None)
            names = {p["name"]: p for p in parameters if p["in"] == "query"}
            # Page 2 of every list; of the generic views (one code path, one cached
            # answer per view whatever the page) only of the first one.
            generic = "/views/{view}" in route
            if "limit" in names and "offset" in names and not (generic and views_paged):
                views_paged = views_paged or generic
                size = schema_of(names["limit"]).get("default", 20)
                add(url(path, {**query, "offset": size}))
    for page, description in descriptions.items():
        for panel in description["panels"]:
            add_panel(panel, add, client, notes)
        for download in (d for panel in description["panels"] for d in panel["downloads"]):
            add(download["href"], "download")
        add("/" if page == "overview" else "/operations" if page == "operations"
            else f"/pipelines/{page}", "page")
    for asset in ("sluice.js", "sluice.css", "plotly.min.js"):
        add(f"/static/{asset}", "asset")
    endpoints = sorted(seen.values(), key=lambda e: ["api", "download", "page", "asset"]
                       .index(e.kind))
    asked = {e.label.partition("?")[0] for e in endpoints}
    notes = [note if note.partition(":")[0] not in asked else
             note.replace("left out", "only as its page asks for it") for note in notes]
    return endpoints, notes


def add_panel(panel: dict[str, Any], add: Any, client: Client, notes: list[str]) -> None:
    """What a page asks for a panel (its controls at their defaults, a table's first page),
    and one variation per control that has options."""
    base = {c["param"]: c["default"] for c in panel["controls"] if c["default"] is not None}
    if panel["kind"] == "table":
        base.update(limit=panel["page_size"], offset=0)
    options: dict[str, list[str]] = {}
    for control in panel["controls"]:
        found = list(control["options"])
        if control["options_from"]:
            found += client.json(control["options_from"])["options"]
        options[control["param"]] = [o for o in found if o != control["default"]]
    if panel["kind"] == "form":
        filled: dict[str, Any] = {**base, **{name: found[0] if found else None
                                             for name, found in options.items()
                                             if name not in base}}
        if any(value is None for value in filled.values()):
            notes.append(f"{panel['source']}: a form control without options; left out")
            return
        add(url(panel["source"], filled))
        for name, found in options.items():
            if found and found[-1] != filled[name]:
                add(url(panel["source"], {**filled, name: found[-1]}))
        return
    add(url(panel["source"], base))
    for name, found in options.items():
        if found:
            add(url(panel["source"], {**base, name: found[0]}))


def missing_the_cache(client: Client, keys: dict[str, list[str]]) -> list[Endpoint]:
    """Lookups where each request asks for something not asked before."""
    endpoints = [Endpoint(f"/api/trace/{name}?key=<a new key each request>", "api",
                          [url(f"/api/trace/{name}", {"key": key}) for key in found])
                 for name, found in keys.items() if found]
    records = client.json("/api/quarantine?limit=1000")
    endpoints.append(Endpoint("/api/quarantine/records/<a new record each request>", "api",
                              [f"/api/quarantine/records/{item['id']}"
                               for item in records["items"]]))
    pages = range(20, min(records["total"], 200_000), 20)
    endpoints.append(Endpoint("/api/quarantine?offset=<a new page each request>", "api",
                              [url("/api/quarantine", {"offset": offset}) for offset in pages]))
    return [e for e in endpoints if e.paths]


# --- the measurements ---------------------------------------------------------------------

@dataclass
class Sample:
    endpoint: int
    started: float
    seconds: float
    status: int
    failed: bool  # no answer, a 5xx, or another status than at rest


def cold(port: int, endpoints: list[Endpoint]) -> dict[str, dict[str, Any]]:
    """The first request to each endpoint, one after the other, on a fresh server; each
    endpoint's status then is the one expected from it afterwards (a 4xx included: a
    route with no data to show; no answer or a 5xx never)."""
    client = Client(port)
    found = {}
    for endpoint in endpoints:
        status, size, seconds = client.get(endpoint.path())
        found[endpoint.label] = {"status": status, "bytes": size, "ms": seconds * 1000}
        endpoint.expected = status if 0 < status < 500 else 200
    client.close()
    return found


def downloads(port: int, endpoints: list[Endpoint], repeats: int) -> dict[str, Any]:
    """Each download, `repeats` times one after the other (not in the readers' mix: one
    costs as much as hundreds of page requests, and is asked for rarely)."""
    client = Client(port)
    found: dict[str, Any] = {}
    for endpoint in (e for e in endpoints if e.kind == "download"):
        answers = [client.get(endpoint.path()) for _ in range(repeats)]
        found[endpoint.label] = {**summary([a[2] * 1000 for a in answers]),
                                 "bytes": answers[-1][1],
                                 "statuses": sorted({a[0] for a in answers})}
    client.close()
    return found


def readers(port: int, endpoints: list[Endpoint], threads: int, seconds: float,
            stop: threading.Event | None = None) -> list[Sample]:
    """`threads` readers, each on its own keep-alive connection, round-robin over the
    endpoints (each starting at another one) until `seconds` pass or `stop` is set."""
    samples: list[list[Sample]] = [[] for _ in range(threads)]
    deadline = time.perf_counter() + seconds
    stop = stop or threading.Event()

    def reader(number: int) -> None:
        client = Client(port)
        mine = samples[number]
        index = number * len(endpoints) // threads
        while not stop.is_set() and time.perf_counter() < deadline:
            endpoint = index % len(endpoints)
            started = time.perf_counter()
            status, _, elapsed = client.get(endpoints[endpoint].path())
            mine.append(Sample(endpoint, started, elapsed, status,
                               status == 0 or status >= 500
                               or status != endpoints[endpoint].expected))
            index += 1
        client.close()

    workers = [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return [sample for found in samples for sample in found]


def figures(samples: list[Sample]) -> dict[str, Any]:
    row: dict[str, Any] = summary([s.seconds * 1000 for s in samples])
    row["failed"] = sum(1 for s in samples if s.failed)
    row["statuses"] = sorted({s.status for s in samples if s.failed})
    return row


def by_endpoint(samples: list[Sample], endpoints: list[Endpoint]) -> dict[str, Any]:
    return {endpoint.label: figures([s for s in samples if s.endpoint == number])
            for number, endpoint in enumerate(endpoints)}


def overall(samples: list[Sample], endpoints: list[Endpoint], kinds: tuple[str, ...]
            ) -> dict[str, Any]:
    return figures([s for s in samples if endpoints[s.endpoint].kind in kinds])


def pages(port: int, endpoints: list[Endpoint], loads: int) -> dict[str, Any]:
    """Milliseconds from navigation start to body[data-ready=true], per page."""
    try:
        from playwright.sync_api import Response, sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed"}
    if not Path(CHROMIUM).exists():
        return {"skipped": f"{CHROMIUM} is missing"}
    found: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        found["chromium"] = browser.version
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(READY_PROBE)
        for endpoint in (e for e in endpoints if e.kind == "page"):
            times, usable, errors, failed = [], [], 0, []
            parts: list[dict[str, Any]] = []
            for _ in range(loads):
                page = context.new_page()
                problems: list[str] = []

                def answered(response: Response, problems: list[str] = problems) -> None:
                    if response.status >= 400:
                        problems.append(f"{response.status} {response.url}")

                page.on("response", answered)
                page.goto(f"http://127.0.0.1:{port}{endpoint.label}", wait_until="commit")
                page.wait_for_selector('body[data-ready="true"]', state="attached",
                                       timeout=120_000)
                times.append(float(page.evaluate("() => window.__sluiceReady")))
                usable.append(float(page.evaluate("() => window.__sluiceUsable")))
                parts.append(page.evaluate(TIMELINE))
                errors = max(errors, int(page.evaluate(
                    "() => document.querySelectorAll('.error, [data-state=error]').length")))
                failed += problems
                page.close()
            found[endpoint.label] = {
                "first": times[0], "median": statistics.median(times), "max": max(times),
                "usable_median": statistics.median(usable),
                "loads": times, "panels_in_error": errors, "failed_requests": sorted(set(failed)),
                "scripts_done_median": statistics.median(p["scripts_done"] for p in parts),
                "api_requests": parts[-1]["api_requests"],
                "longest_api_median": statistics.median(p["longest_api"] for p in parts),
                "timeline": parts}
        browser.close()
    return found


def ingest_beside(port: int, endpoints: list[Endpoint], threads: int, location: str,
                  env: dict[str, str], work: Path, beside: Path) -> dict[str, Any]:
    """An ingest of `beside` while the readers run; their latencies during it, its wall
    time, and when the API served the new data."""
    client = Client(port)
    before = int(client.json("/api/pipelines/votes")["loaded"])
    stop = threading.Event()
    collected: list[Sample] = []

    def read() -> None:
        collected.extend(readers(port, endpoints, threads, 10 * FRESH_SECONDS, stop))

    reading = threading.Thread(target=read, daemon=True)
    reading.start()
    time.sleep(2.0)  # readers at full speed before the ingest starts
    started = time.perf_counter()
    seconds, answer = run(sluice("votes", "ingest", str(beside), "--warehouse", location,
                                 "--json"), env, work)
    finished = started + seconds
    expected = before + int(answer["loaded"])
    polls, seen = 0, before
    while time.perf_counter() - finished < FRESH_SECONDS:
        polls += 1
        seen = int(client.json("/api/pipelines/votes")["loaded"])
        if seen == expected:
            break
        time.sleep(0.05)
    fresh = time.perf_counter()
    time.sleep(2.0)  # and a little after
    stop.set()
    reading.join()
    client.close()

    def window(start: float, end: float) -> dict[str, Any]:
        return figures([s for s in collected if start <= s.started < end])

    return {"ingest_seconds": seconds, "loaded": answer["loaded"], "before": before,
            "served_new_data": seen == expected,
            "fresh_after_seconds": fresh - finished, "polls": polls,
            "readers_before": window(0, started), "readers_during": window(started, finished),
            "readers_refresh": window(finished, fresh),
            "readers_after": window(fresh, math.inf),
            "slowest": [{"endpoint": endpoints[s.endpoint].label, "ms": s.seconds * 1000,
                         "status": s.status,
                         "started_after_ingest_end_s": s.started - finished}
                        for s in sorted(collected, key=lambda s: -s.seconds)[:15]],
            "failed": sum(1 for s in collected if s.failed),
            "failed_requests": sorted({f"{endpoints[s.endpoint].label}: {s.status}"
                                       for s in collected if s.failed})[:20]}


def baseline_ingest(copies: Copies, name: str, beside: Path) -> float:
    location, env = copies.fresh(name)
    try:
        return float(run(sluice("votes", "ingest", str(beside), "--warehouse", location,
                                "--json"), env, copies.work)[0])
    finally:
        copies.drop(location)


def measure_engine(engine: str, args: argparse.Namespace, inputs: Inputs, work: Path
                   ) -> dict[str, Any]:
    result: dict[str, Any] = {"engine": engine}
    if engine == "duckdb":
        cached, build_info = duckdb_cached(args, inputs)
        copies = Copies(engine, work, cached, cached.with_name(cached.name + ".quarantine"),
                        args.server)
    else:
        name, quarantine, build_info = postgres_cached(args, inputs)
        copies = Copies(engine, work, name, quarantine, args.server)
        with psycopg.connect(f"{args.server}/postgres") as con:
            version = con.execute("SHOW server_version").fetchone()
        result["postgresql"] = version[0] if version else "?"
    result["build"] = build_info
    say(f"[{engine}] baseline ingest, no server")
    result["baseline_ingest_seconds"] = [baseline_ingest(copies, "base", inputs.beside)]
    location, env = copies.fresh("serve")
    try:
        found = read_warehouse(location, env)
        result["counts"] = found["counts"]
        keys: dict[str, list[str]] = found["keys"]
        say(f"[{engine}] {found['counts']}; listing the endpoints")
        with serving(location, env, work) as first:
            client = Client(first.port)
            endpoints, notes = discover(client, keys)
            uncached = missing_the_cache(client, keys)
            client.close()
        result["notes"] = notes
        result["endpoints"] = [{"label": e.label, "kind": e.kind} for e in endpoints]
        say(f"[{engine}] {len(endpoints)} endpoints; a fresh server")
        mix = [e for e in endpoints if e.kind != "download"]
        with serving(location, env, work) as server:
            result["server_up_seconds"] = server.up_seconds
            result["load_before"] = load()
            result["cold"] = cold(server.port, endpoints)
            say(f"[{engine}] cold pass done; {args.readers} readers for {args.seconds} s")
            samples = readers(server.port, mix, args.readers, args.seconds)
            result["warm"] = by_endpoint(samples, mix)
            result["warm_overall"] = {kind: overall(samples, mix, kinds) for kind, kinds in
                                      (("api", ("api",)), ("all", ("api", "page", "asset")))}
            result["requests_per_second"] = len(samples) / args.seconds
            result["load_after_readers"] = load()
            result["downloads"] = downloads(server.port, endpoints, 3)
            say(f"[{engine}] pages")
            result["pages"] = pages(server.port, endpoints, args.loads)
            say(f"[{engine}] an ingest beside the server")
            result["beside"] = ingest_beside(server.port, mix, args.readers, location,
                                             env, work, inputs.beside)
            if args.uncached_seconds > 0:
                say(f"[{engine}] lookups that miss the cache")
                missed = readers(server.port, uncached, args.readers, args.uncached_seconds)
                result["uncached"] = [{"label": e.label, "distinct": len(e.paths),
                                       **by_endpoint(missed, uncached)[e.label]}
                                      for e in uncached]
            result["load_after"] = load()
        result["server_peak_mb"] = server.peak_mb
        result["server_tracebacks"] = server.tracebacks
        for log in (first.log, server.log):
            if log.exists() and "Traceback" in log.read_text(errors="replace"):
                shutil.copyfile(log, args.cache / f"{engine}-{log.name}")
                say(f"[{engine}] the server printed a traceback: {args.cache / log.name}")
            log.unlink(missing_ok=True)
    finally:
        copies.drop(location)
    say(f"[{engine}] baseline ingest again, no server")
    result["baseline_ingest_seconds"].append(baseline_ingest(copies, "base", inputs.beside))
    if engine == "postgres" and not args.keep:
        drop_database(args.server, str(copies.cached))
        shutil.rmtree(copies.quarantine.parent, ignore_errors=True)
    return result


# --- the report ---------------------------------------------------------------------------

def ms(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    versions = {name: importlib.metadata.version(name) for name in
                ("duckdb", "fastapi", "starlette", "uvicorn", "psycopg", "playwright")}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPOSITORY,
                            capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "sluice"], cwd=REPOSITORY,
                                capture_output=True, text=True).stdout.strip())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "versions": versions, "commit": commit + ("+uncommitted changes in sluice/"
                                                       if dirty else ""),
            "date": time.strftime("%Y-%m-%d %H:%M"), "load_at_start": load()}


def report(results: dict[str, Any]) -> None:
    engines = results["engines"]
    names = list(engines)
    info = results["machine"]
    print(f"\n{info['cpu']}, {info['cores']} cores, Python {info['python']}, "
          f"{info['versions']}, commit {info['commit']}; load average at start "
          f"{info['load_at_start']}")
    for name in names:
        found = engines[name]
        built = found["build"]
        print(f"\n{name}{' ' + found['postgresql'] if 'postgresql' in found else ''}: "
              f"{found['counts']}; build "
              f"{'reused from the cache (built ' + built['built'] + ')' if built['reused'] else 'now'}"
              f", {(built.get('bytes') or 0) / 1e6:,.0f} MB; server up in "
              f"{found['server_up_seconds']:.2f} s; server peak RSS "
              f"{found['server_peak_mb']:,.0f} MB; tracebacks in its log: "
              f"{found['server_tracebacks']}; {found['requests_per_second']:,.0f} requests/s")
        print("\n| build step | s |\n|---|---:|")
        for step, row in built["steps"].items():
            print(f"| {step} | {row['seconds']:.1f} |")
        for note in found["notes"]:
            print(f"- {note}")

    print(f"\n{results['readers']} readers, {results['seconds']} s each engine, round-robin "
          "over every endpoint but the downloads; cold: the first request after a fresh "
          "start, one at a time. Milliseconds.\n")
    print("| endpoint | " + " | ".join(f"{n} cold | {n} n | {n} p50 | {n} p95 | {n} p99 | "
                                       f"{n} max" for n in names) + " |")
    print("|---|" + "---:|" * (6 * len(names)))
    labels = list(dict.fromkeys(e["label"] for n in names for e in engines[n]["endpoints"]
                                if e["kind"] != "download"))
    for label in labels:
        cells = []
        for name in names:
            cold_row = engines[name]["cold"].get(label)
            warm = engines[name]["warm"].get(label)
            if cold_row is None or warm is None:
                cells.append(" | | | | | ")
                continue
            flag = "" if 200 <= cold_row["status"] < 400 else f" ({cold_row['status']})"
            failed = f" ({warm['failed']} failed)" if warm.get("failed") else ""
            cells.append(f"{ms(cold_row['ms'])}{flag} | {warm.get('count', 0)}{failed} | "
                         f"{ms(warm.get('median'))} | {ms(warm.get('p95'))} | "
                         f"{ms(warm.get('p99'))} | {ms(warm.get('max'))}")
        print(f"| `{label}` | " + " | ".join(cells) + " |")
    for kind in ("api", "all"):
        cells = []
        for name in names:
            row = engines[name]["warm_overall"][kind]
            failed = f" ({row['failed']} failed)" if row.get("failed") else ""
            cells.append(f" | {row['count']}{failed} | {ms(row['median'])} | "
                         f"{ms(row['p95'])} | {ms(row['p99'])} | {ms(row['max'])}")
        print(f"| **every {'API endpoint' if kind == 'api' else 'request'}** | "
              + " | ".join(cells) + " |")
    for name in names:
        found = engines[name]
        kinds = {e["label"]: e["kind"] for e in found["endpoints"]}
        slow = [label for label, row in found["warm"].items()
                if kinds[label] == "api" and row.get("p95", 0) > GOAL_MS]
        cold_slow = [f"{label} {ms(row['ms'])}" for label, row in found["cold"].items()
                     if kinds[label] == "api" and row["ms"] > GOAL_MS]
        print(f"\n{name}: {len(slow)} of {sum(1 for k in kinds.values() if k == 'api')} API "
              f"endpoints over {GOAL_MS:.0f} ms at p95; cold over {GOAL_MS:.0f} ms: "
              f"{', '.join(cold_slow) or 'none'}")

    print("\n| download (3 times, one at a time) | " + " | ".join(
        f"{n} cold ms | {n} median ms | {n} MB" for n in names) + " |")
    print("|---|" + "---:|" * (3 * len(names)))
    for label in engines[names[0]]["downloads"]:
        cells = []
        for name in names:
            row = engines[name]["downloads"].get(label, {})
            cold_row = engines[name]["cold"].get(label, {})
            cells.append(f"{ms(cold_row.get('ms'))} | {ms(row.get('median'))} | "
                         f"{row.get('bytes', 0) / 1e6:.2f}")
        print(f"| `{label}` | " + " | ".join(cells) + " |")

    print(f"\nPages in Chromium, {results['loads']} loads each (a fresh tab, the browser's "
          "cache warm after the first): usable, navigation start to body[data-usable=true] "
          "(every table, form and figure drawn); ready, to body[data-ready=true] (the charts "
          "too: Plotly is fetched after the rest); scripts: when the deferred scripts had "
          "run (DOMContentLoaded); API: the slowest API request of the load. Milliseconds, "
          "medians.\n")
    print("| page | " + " | ".join(f"{n} usable | {n} ready (first) | {n} scripts | {n} API"
                                   for n in names) + " |")
    print("|---|" + "---:|" * (4 * len(names)))
    for label in (k for k in engines[names[0]]["pages"] if k.startswith("/")):
        cells = []
        for name in names:
            row = engines[name]["pages"].get(label, {})
            extra = ""
            if row.get("panels_in_error") or row.get("failed_requests"):
                extra = (f" ({row['panels_in_error']} panel(s) in error: "
                         f"{'; '.join(row['failed_requests'])})")
            cells.append(f"{ms(row.get('usable_median'))}{extra} | {ms(row.get('median'))} "
                         f"({ms(row.get('first'))}) | "
                         f"{ms(row.get('scripts_done_median'))} | "
                         f"{ms(row.get('longest_api_median'))}")
        print(f"| `{label}` | " + " | ".join(cells) + " |")

    print("\n| ingest beside the server | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("new votes loaded", lambda f: f"{f['beside']['loaded']:,}"),
        ("ingest, no server (s; before, after)",
         lambda f: ", ".join(f"{v:.2f}" for v in f["baseline_ingest_seconds"])),
        ("ingest beside the server (s)", lambda f: f"{f['beside']['ingest_seconds']:.2f}"),
        ("its ratio to the mean without a server",
         lambda f: f"{f['beside']['ingest_seconds'] / statistics.mean(f['baseline_ingest_seconds']):.2f}"),
        ("new data served, s after the ingest ended",
         lambda f: f"{f['beside']['fresh_after_seconds']:.2f}"
                   + ("" if f["beside"]["served_new_data"] else " (never)")),
        ("requests failed (no answer, 5xx, another status than at rest)",
         lambda f: f"{f['beside']['failed']}"),
    ]

    def readers_in(window: str) -> Callable[[dict[str, Any]], str]:
        def cell(found: dict[str, Any]) -> str:
            row = found["beside"][f"readers_{window}"]
            return (f"{row['count']} / {ms(row.get('median'))} / {ms(row.get('p95'))} / "
                    f"{ms(row.get('max'))}")
        return cell

    for window, what in (("before", "2 s before it"), ("during", "during it"),
                         ("refresh", "from its end until the new data was served"),
                         ("after", "2 s after that")):
        rows.append((f"readers {what}: n / p50 / p95 / max ms", readers_in(window)))
    for label, cell in rows:
        print(f"| {label} | " + " | ".join(cell(engines[n]) for n in names) + " |")

    if all("uncached" in engines[n] for n in names):
        print(f"\n{results['readers']} readers, {results['uncached_seconds']} s, lookups "
              "that miss the server's cache (each request asks for something not asked "
              "before). Milliseconds.\n")
        print("| lookup | " + " | ".join(f"{n} n | {n} p50 | {n} p95 | {n} max"
                                         for n in names) + " |")
        print("|---|" + "---:|" * (4 * len(names)))
        for row in engines[names[0]]["uncached"]:
            cells = []
            for name in names:
                other: dict[str, Any] = next((o for o in engines[name]["uncached"]
                                              if o["label"] == row["label"]), {})
                cells.append(f"{other.get('count', 0)} | {ms(other.get('median'))} | "
                             f"{ms(other.get('p95'))} | {ms(other.get('max'))}")
            print(f"| `{row['label']}` | " + " | ".join(cells) + " |")
    print("\nload average (1, 5, 15 min): " + "; ".join(
        f"{n}: {engines[n]['load_before']} before the readers, "
        f"{engines[n]['load_after_readers']} after them, {engines[n]['load_after']} at the end"
        for n in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--votes", type=int, default=10_000_000)
    parser.add_argument("--advocates", type=int, default=10_000)
    parser.add_argument("--beside-votes", type=int, default=1_000_000,
                        help="new votes ingested while the server answers")
    parser.add_argument("--no-demo", dest="demo", action="store_false",
                        help="leave out `sluice demo`'s data of the other pipelines")
    parser.add_argument("--engines", default="duckdb,postgres")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="how long the readers run over the endpoints")
    parser.add_argument("--uncached-seconds", type=float, default=20.0,
                        help="how long lookups missing the cache run (0: not at all)")
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--loads", type=int, default=5, help="loads of each page")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/sluice-serve-bench"))
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true",
                        help="keep the PostgreSQL database for the next run")
    parser.add_argument("--rebuild", action="store_true", help="ignore the cached warehouses")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--build-memory", default="2GB",
                        help="SLUICE_MEMORY_LIMIT for the build's big vote ingest ('': the "
                             "default)")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not set(engines) <= {"duckdb", "postgres"}:
        parser.error("--engines: duckdb, postgres or both")
    args.cache = args.cache.resolve()
    if args.cache.is_relative_to(REPOSITORY):
        parser.error("--cache: generated data stays out of the repository")

    results: dict[str, Any] = {"machine": machine(), "readers": args.readers,
                               "seconds": args.seconds, "loads": args.loads,
                               "uncached_seconds": args.uncached_seconds, "votes": args.votes,
                               "advocates": args.advocates, "beside_votes": args.beside_votes,
                               "demo": args.demo, "engines": {}}
    inputs = inputs_for(args)
    results["generated_seconds"] = inputs.seconds
    work = Path(tempfile.mkdtemp(prefix="sluice-serve-bench-"))
    try:
        for engine in engines:
            results["engines"][engine] = measure_engine(engine, args, inputs, work)
            if args.json:
                args.json.write_text(json.dumps(results, indent=1, default=str))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
