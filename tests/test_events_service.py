"""The symbol event service as users run it: `sluice events serve` in a process of its
own (uvicorn, one or two workers), real HTTP, a real Redis: the contract existing
clients rely on, 400s for bad input, no acknowledged event lost to SIGKILL, the
dashboards exact through a Redis outage, a flush and a rebuild, and every event in the
warehouse once the service stops."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid as uuids
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from conftest import sluice, sluice_json
from sluice.pipelines.events.aggregates import SYMBOLS, RedisAggregates

REDIS_URL = os.environ.get("SLUICE_TEST_REDIS", "redis://127.0.0.1:6379/0")
TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}")
EVERYTHING = "/dashboard/range/2000-01-01/2100-01-01"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], seconds: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class Service:
    """`sluice events serve` in a process group of its own, in `folder`."""

    def __init__(self, folder: Path, *options: str) -> None:
        self.folder, self.port = folder, free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sluice", "events", "serve", "--port", str(self.port),
             "--log", "log", "--warehouse", "w.db", *options],
            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)

        def listening() -> bool:
            assert self.process.poll() is None, self.process.communicate()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_until(listening, 60, "the service to listen")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, method: str, path: str) -> tuple[int, str]:
        request = urllib.request.Request(f"{self.url}{path}", method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def get(self, path: str) -> Any:
        status, text = self.call("GET", path)
        assert status == 200, (status, text)
        return json.loads(text)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[str, str]:
        """Stop it (SIGKILL: the whole process group, workers too); its output."""
        if self.process.poll() is None:
            if signum == signal.SIGKILL:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.send_signal(signum)
        out, err = self.process.communicate(timeout=60)
        return out, err


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"sluice:test:{uuids.uuid4().hex}:"
    yield name
    delete_keys(REDIS_URL, name)


def delete_keys(url: str, prefix: str) -> None:
    """Every key under the prefix gone at once, as a flushed Redis loses them: one by one,
    the service could notice the loss half way, count everything again, and then lose the
    rest (a partial loss no real flush makes)."""
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=10_000))
    if keys:
        client.unlink(*keys)
    client.close()


@pytest.fixture
def service(tmp_path: Path, prefix: str) -> Iterator[Service]:
    running = Service(tmp_path, "--redis", REDIS_URL, "--redis-prefix", prefix)
    yield running
    running.stop()


def test_the_contract_existing_clients_rely_on(service: Service) -> None:
    for n, symbol in enumerate("eeeaxy"):
        status, text = service.call("POST", f"/initial?uuid=u{n}&symbol={symbol}")
        assert status == 200 and text in ("True", "False")
    assert service.call("POST", "/followup?uuid=u0") == (200, "hooray")
    assert service.call("POST", "/followup?uuid=u0") == (200, "hooray")   # both count
    assert service.call("POST", "/followup?uuid=u9") == (200, "hooray")   # no initial yet
    body = service.get("/dashboard/symbol/e")
    assert list(body) == ["symbol", "count", "earliest", "latest", "followups"]
    assert (body["symbol"], body["count"], body["followups"]) == ("e", 3, 2)
    assert TIME.fullmatch(body["earliest"]) and TIME.fullmatch(body["latest"])
    assert body["earliest"] <= body["latest"]
    assert service.get("/dashboard/symbol/q") == {
        "symbol": "q", "count": 0, "earliest": None, "latest": None, "followups": 0}
    # u9's followup is counted once its initial arrives.
    service.call("POST", "/initial?uuid=u9&symbol=x")
    assert service.get("/dashboard/symbol/x")["followups"] == 1
    everything = service.get(EVERYTHING)
    assert [r["symbol"] for r in everything] == ["a", "e", "x", "y"]
    for row in everything:
        assert row == service.get(f"/dashboard/symbol/{row['symbol']}")
    assert service.get("/dashboard/range/2000-01-01/2000-01-02") == []


def test_guesses_are_mostly_right(service: Service) -> None:
    right = 0
    for n in range(200):
        symbol = "aeiouxyz"[n % 8]
        text = service.call("POST", f"/initial?uuid=g{n}&symbol={symbol}")[1]
        if symbol != "y":
            right += (text == "True") == (symbol in "aeiou")
    assert 140 <= right <= 175  # 175 guesses, each flipped with probability 0.1


@pytest.mark.parametrize(("method", "path", "message"), [
    ("POST", "/initial?symbol=e", "missing uuid"),
    ("POST", "/initial?uuid=&symbol=e", "missing uuid"),
    ("POST", "/initial?uuid=+%20&symbol=e", "missing uuid"),
    ("POST", "/initial?uuid=u1", "missing symbol"),
    ("POST", "/initial?uuid=u1&symbol=E", "symbol must be one letter a-z"),
    ("POST", "/initial?uuid=u1&symbol=ab", "symbol must be one letter a-z"),
    ("POST", "/initial?uuid=u1&symbol=%C3%A9", "symbol must be one letter a-z"),
    ("POST", "/initial?uuid=%00&symbol=e",
     "uuid must be printable text of at most 128 characters"),
    ("POST", "/followup", "missing uuid"),
    ("GET", "/dashboard/symbol/7", "symbol must be one letter a-z"),
    ("GET", "/dashboard/range/2017-13-01/2018-01-01", "LOWER '2017-13-01' is not a real date"),
    ("GET", "/dashboard/range/2018-01-01/2018-02-30", "UPPER '2018-02-30' is not a real date"),
    ("GET", "/dashboard/range/yesterday/2018-01-01",
     "LOWER must be a date (YYYY-MM-DD) or a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])"),
    ("GET", "/dashboard/range/2018-01-02/2018-01-01", "LOWER is after UPPER"),
])
def test_bad_input_is_a_400_with_a_short_message(service: Service, method: str, path: str,
                                                 message: str) -> None:
    assert service.call(method, path) == (400, message)


def test_a_range_takes_timestamps_lower_inclusive_upper_exclusive(service: Service) -> None:
    service.call("POST", "/initial?uuid=r1&symbol=k")
    service.call("POST", "/followup?uuid=r1")
    latest = service.get("/dashboard/symbol/k")["latest"]
    path = "/dashboard/range/{}/{}"
    quoted = urllib.request.quote
    assert service.get(path.format(quoted(latest), quoted(latest))) == []
    found = service.get(path.format(quoted(latest), "9999-12-31"))
    assert [(r["symbol"], r["count"], r["followups"]) for r in found] == [("k", 1, 1)]
    assert service.get(path.format("1900-01-01", quoted(latest))) == []  # upper excluded
    iso = quoted(latest.replace(" ", "T"))  # a T between date and time is taken too
    assert [r["count"] for r in service.get(path.format(iso, "9999-12-31"))] == [1]


def load(service: Service, *options: str) -> dict[str, Any]:
    found: dict[str, Any] = sluice_json("events", "load", "--url", service.url, *options,
                                        cwd=service.folder)
    return found


def test_many_clients_on_two_workers_every_event_counted_and_warehoused(
        tmp_path: Path, prefix: str) -> None:
    running = Service(tmp_path, "--redis", REDIS_URL, "--redis-prefix", prefix,
                      "--workers", "2", "--seal-after", "1", "--load-every", "2")
    try:
        sent = load(running, "--count", "1500", "--concurrency", "8", "--seed", "3")
        assert (sent["requests"], sent["errors"]) == (1500, 0)
        assert sent["initial"] + sent["followup"] == 1500 and sent["followup"] > 50
        dashboards = running.get(EVERYTHING)
        # Each client follows up once at most, on the uuid it opened with: all count.
        assert sum(d["count"] for d in dashboards) == sent["initial"]
        assert sum(d["followups"] for d in dashboards) == sent["followup"]
        for row in dashboards:
            assert row == running.get(f"/dashboard/symbol/{row['symbol']}")
    finally:
        out, err = running.stop()
    assert out.endswith("stopped; every acknowledged event is in the log\n")
    assert running.process.returncode == 0 and "interrupted" not in err
    report = sluice_json("events", "report", "--warehouse", "w.db", cwd=tmp_path)
    assert {r["kind"]: r["events"] for r in report["events"]} == {
        "initial": sent["initial"], "followup": sent["followup"]}
    assert [(r["symbol"], r["requests"], r["followups"]) for r in report["symbols"]] == [
        (d["symbol"], d["count"], d["followups"]) for d in dashboards]
    assert "warehouse load, run" in err


def test_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    running = Service(tmp_path)  # the embedded service: aggregates in memory
    sent = {s: 0 for s in SYMBOLS}
    for n in range(300):
        symbol = SYMBOLS[n % 26]
        assert running.call("POST", f"/initial?uuid=k{n}&symbol={symbol}")[0] == 200
        sent[symbol] += 1
    running.stop(signal.SIGKILL)
    again = Service(tmp_path)  # closes the dead process's segment, catches up from the log
    try:
        for symbol in SYMBOLS:
            assert again.get(f"/dashboard/symbol/{symbol}")["count"] == sent[symbol], symbol
    finally:
        again.stop()
    report = sluice_json("events", "report", "--warehouse", "w.db", cwd=tmp_path)
    assert report["events"] == [{"kind": "initial", "events": 300}]


def test_sigkill_of_two_workers_loses_nothing_and_redis_is_rebuilt_exactly(
        tmp_path: Path, prefix: str) -> None:
    options = ("--redis", REDIS_URL, "--redis-prefix", prefix, "--workers", "2")
    running = Service(tmp_path, *options)
    sent = load(running, "--count", "600", "--concurrency", "6", "--seed", "5")
    assert sent["errors"] == 0
    before = running.get(EVERYTHING)
    running.stop(signal.SIGKILL)
    delete_keys(REDIS_URL, prefix)  # Redis lost with the service
    rebuilt = sluice_json("events", "rebuild", "--redis", REDIS_URL, "--redis-prefix", prefix,
                          "--log", "log", cwd=tmp_path)
    assert rebuilt["events"] == 600
    aggregates = RedisAggregates(REDIS_URL, prefix)
    try:
        assert [a.as_dict() for a in aggregates.range(-(2**62), 2**62)] == before
    finally:
        aggregates.close()
    again = Service(tmp_path, *options)
    try:
        assert again.get(EVERYTHING) == before
        # The rebuild is refused while the service writes to the log.
        again.call("POST", "/initial?uuid=late&symbol=z")
        refused = sluice("events", "rebuild", "--redis", REDIS_URL, "--redis-prefix", prefix,
                         "--log", "log", cwd=tmp_path, expect=2)
        assert "the service is running" in refused.stderr
    finally:
        again.stop()
    report = sluice_json("events", "report", "--warehouse", "w.db", cwd=tmp_path)
    assert sum(r["events"] for r in report["events"]) == 601


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """A Redis server of this test's own, to stop and start again."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        processes.append(subprocess.Popen(
            [server, "--port", str(port), "--save", "", "--appendonly", "no",
             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL))
        client = redis.Redis(port=port)
        wait_until(lambda: _pings(client), 20, "redis-server to start")
        client.close()

    def stop() -> None:
        processes[-1].terminate()
        processes[-1].wait(timeout=20)

    start()
    yield f"redis://127.0.0.1:{port}/0", stop, start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_a_redis_outage_delays_the_dashboards_and_loses_nothing(
        tmp_path: Path, own_redis: tuple[str, Callable[[], None], Callable[[], None]]) -> None:
    url, stop_redis, start_redis = own_redis
    running = Service(tmp_path / "svc", "--redis", url, "--workers", "1")
    try:
        for n in range(20):
            assert running.call("POST", f"/initial?uuid=a{n}&symbol=o")[0] == 200
        assert running.get("/dashboard/symbol/o")["count"] == 20
        stop_redis()
        # Events are still taken (they are in the log); the dashboards say they cannot answer.
        for n in range(30):
            assert running.call("POST", f"/initial?uuid=b{n}&symbol=o")[0] == 200
        assert running.call("POST", "/followup?uuid=b0") == (200, "hooray")
        assert running.call("GET", "/dashboard/symbol/o") == (
            503, "the dashboard store (Redis) cannot be reached")
        assert running.call("GET", EVERYTHING)[0] == 503
        start_redis()  # empty: it kept nothing
        wait_until(lambda: running.call("GET", "/dashboard/symbol/o")[1].count('"count":50,') == 1,
                   30, "the dashboards to catch up")
        assert running.get("/dashboard/symbol/o")["followups"] == 1
    finally:
        err = running.stop()[1]
    assert "Traceback" not in err
    assert "warning: the dashboard store (Redis) cannot be reached; events are logged, and " \
        "counted once it is back" in err
    assert "the dashboard store is back" in err


def test_a_flushed_redis_catches_up_while_the_service_runs(service: Service,
                                                           prefix: str) -> None:
    sent = load(service, "--count", "300", "--seed", "9")
    before = service.get(EVERYTHING)
    assert sum(d["count"] for d in before) == sent["initial"]
    delete_keys(REDIS_URL, prefix)
    wait_until(lambda: service.get(EVERYTHING) == before, 30, "the dashboards to catch up")


def test_the_load_generator_reports_rate_and_latency(service: Service) -> None:
    shown = sluice("events", "load", "--url", service.url, "--count", "200",
                   "--concurrency", "4", cwd=service.folder).stdout
    assert re.search(r"^200 requests \(\d+ initial, \d+ followup\) in [\d.]+ s over 4 "
                     r"connections: [\d,]+ requests/s, 0 errors$", shown, re.M), shown
    assert re.search(r"^latency ms: p50 [\d.]+  p90 [\d.]+  p99 [\d.]+  max [\d.]+$", shown,
                     re.M), shown
    timed = load(service, "--duration", "1", "--concurrency", "2")
    assert timed["requests"] > 10 and timed["seconds"] >= 1
    text = service.folder / "text.txt"
    text.write_text("Zzz... zz!", encoding="utf-8")
    before = {s: service.get(f"/dashboard/symbol/{s}")["count"] for s in "az"}
    only_z = load(service, "--count", "40", "--text", str(text), "--seed", "7")
    after = {s: service.get(f"/dashboard/symbol/{s}")["count"] for s in "az"}
    # About 1 request in 6 is a followup (p = 0.2 after a correct consonant guess).
    assert after["z"] - before["z"] == only_z["initial"] > 20 and after["a"] == before["a"]


@pytest.mark.parametrize(("arguments", "message"), [
    (("serve", "--workers", "2"), "--workers above 1 needs --redis"),
    (("serve", "--redis", "redis://127.0.0.1:1/0"), "Redis cannot be reached there"),
    (("serve", "--redis", "mysql://nowhere"), "--redis mysql://nowhere"),
    (("rebuild", "--redis", REDIS_URL, "--log", "missing"), "--log missing: no such folder"),
    (("load", "--url", "http://127.0.0.1:1", "--count", "5"), "cannot connect"),
    (("load", "--url", "ftp://x", "--count", "5"), "is not an http://host:port address"),
    (("ingest", "--log", "missing"), "--log missing: no such folder"),
])
def test_wrong_arguments_are_usage_errors(tmp_path: Path, arguments: tuple[str, ...],
                                          message: str) -> None:
    result = sluice("events", *arguments, cwd=tmp_path, expect=2)
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_port_in_use_is_a_usage_error(service: Service) -> None:
    result = sluice("events", "serve", "--port", str(service.port), cwd=service.folder / "..",
                    expect=2)
    assert f"--port {service.port}" in result.stderr and "in use" in result.stderr
