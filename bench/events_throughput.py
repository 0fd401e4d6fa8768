"""Event service throughput: `POST /initial` under concurrent load, the real service
against the same server with a no-op store and with the naive SQLite store
(bench/events_stores.py), measured side by side in one run.

    python bench/events_throughput.py [--concurrency 32 128] [--seconds 10] [--repeats 3]

Each configuration is the same uvicorn server with 2 workers (the default of
`sluice events serve --redis` on this 2-core machine):
- sluice: `sluice events serve --redis` (the log with group commit and fsync, the
  aggregates in Redis, the housekeeping), a fresh log folder and Redis prefix each time;
- noop: the same app with a store that keeps nothing;
- naive: the same app with SQLite, one INSERT and COMMIT per request, no index.

The load is wrk (Debian's `wrk`, a C load generator, so the client takes little of the
two cores) with bench/events_initial.lua: POST /initial with a fresh uuid and a symbol
drawn from an English text. Without wrk the load is `sluice events load` (Python, mixed
initial and followup requests; noted in the output). Each measurement starts a fresh
server, warms it up for 2 s, then loads it for `--seconds`; the configurations alternate
within each repeat so that drift on the machine hits them alike; medians are reported,
and each ratio is the median of the per-repeat ratios. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).parent.parent
LUA = Path(__file__).parent / "events_initial.lua"
REDIS_URL = os.environ.get("SLUICE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
STORES = ("sluice", "noop", "naive")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(store: str, port: int, folder: Path, prefix: str) -> subprocess.Popen[bytes]:
    if store == "sluice":
        command = [sys.executable, "-m", "sluice", "events", "serve", "--port", str(port),
                   "--redis", REDIS_URL, "--redis-prefix", prefix, "--workers", "2",
                   "--log", str(folder / "log"), "--warehouse", str(folder / "w.db"),
                   "--load-every", "0"]
        env = dict(os.environ)
    else:
        command = [sys.executable, "-m", "uvicorn", "bench.events_stores:create_app",
                   "--factory", "--workers", "2", "--port", str(port),
                   "--log-level", "warning", "--no-access-log"]
        env = {**os.environ, "BENCH_EVENTS_STORE": store,
               "BENCH_EVENTS_SQLITE": str(folder / "naive.db")}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the {store} server did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    # SIGKILL: a SIGTERM would make sluice load the log into the warehouse on the way
    # out, which is not what is measured; every acknowledged event is in the log anyway.
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def drive(port: int, concurrency: int, seconds: float) -> tuple[float, float]:
    """Requests per second and mean latency in ms."""
    url = f"http://127.0.0.1:{port}"
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "-t2", f"-c{concurrency}", f"-d{round(seconds)}s",
                              "-s", str(LUA), url], capture_output=True, text=True,
                             check=True).stdout
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if errors:
            raise RuntimeError(f"{errors.group(1)} requests failed:\n{out}")
        latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
        assert latency is not None
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[latency.group(2)]
        return rate, float(latency.group(1)) * scale
    out = subprocess.run([sys.executable, "-m", "sluice", "events", "load", "--url", url,
                          "--duration", str(seconds), "--concurrency", str(concurrency),
                          "--json"], capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    return float(result["requests_per_second"]), 1000.0 * concurrency / max(
        result["requests_per_second"], 1e-9)


def measure(store: str, concurrency: int, seconds: float) -> tuple[float, float]:
    folder = Path(tempfile.mkdtemp(prefix=f"sluice-bench-{store}-"))
    prefix = f"sluice:bench:{os.getpid()}:{time.monotonic_ns()}:"
    port = free_port()
    process = start(store, port, folder, prefix)
    try:
        drive(port, concurrency, 2)  # warm up
        return drive(port, concurrency, seconds)
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*", count=10_000):
            client.unlink(key)
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    driver = "wrk" if shutil.which("wrk") else "sluice events load (wrk not installed)"
    print(f"driver: {driver}; {args.repeats} repeats of {args.seconds:g} s per configuration\n")
    print("| connections | sluice req/s | no-op req/s | naive req/s | sluice / no-op "
          "| sluice / naive | mean latency ms (sluice, no-op, naive) |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for concurrency in args.concurrency:
        rates: dict[str, list[float]] = {s: [] for s in STORES}
        latencies: dict[str, list[float]] = {s: [] for s in STORES}
        for repeat in range(args.repeats):
            order = STORES[repeat % 3:] + STORES[:repeat % 3]
            for store in order:
                rate, latency = measure(store, concurrency, args.seconds)
                rates[store].append(rate)
                latencies[store].append(latency)
                print(f"  c={concurrency} repeat {repeat + 1} {store}: {rate:,.0f} req/s",
                      file=sys.stderr)
        median = {s: statistics.median(r) for s, r in rates.items()}
        to_noop = statistics.median(a / b for a, b in zip(rates["sluice"], rates["noop"],
                                                          strict=True))
        to_naive = statistics.median(a / b for a, b in zip(rates["sluice"], rates["naive"],
                                                           strict=True))
        lat = ", ".join(f"{statistics.median(latencies[s]):.1f}" for s in STORES)
        print(f"| {concurrency} | {median['sluice']:,.0f} | {median['noop']:,.0f} | "
              f"{median['naive']:,.0f} | {to_noop:.2f} | {to_naive:.1f} | {lat} |")


if __name__ == "__main__":
    main()
