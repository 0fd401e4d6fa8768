"""The symbol event service over real HTTP (uvicorn in a process of its own), with a
real Redis: the contract existing clients rely on, 400s for bad input, and no
acknowledged event lost to SIGKILL."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid as uuids
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from sluice.pipelines.events.aggregates import SYMBOLS

REDIS_URL = os.environ.get("SLUICE_TEST_REDIS", "redis://127.0.0.1:6379/0")
SERVER = """
import sys
from pathlib import Path
from sluice.pipelines.events.service import serve
folder, port, redis_url, prefix = sys.argv[1:]
serve(Path(folder), redis_url or None, port=int(port), redis_prefix=prefix or None)
"""
TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    def __init__(self, folder: Path, redis_url: str = "", prefix: str = "") -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(folder), str(self.port), redis_url, prefix],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                assert self.process.poll() is None, self.process.stderr.read()  # type: ignore[union-attr]
                time.sleep(0.05)
        raise AssertionError("the service did not start")

    def call(self, method: str, path: str) -> tuple[int, str]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def stop(self, signum: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            self.process.wait(timeout=30)


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"sluice:test:{uuids.uuid4().hex}:"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{name}*"):
        client.unlink(key)
    client.close()


@pytest.fixture
def service(tmp_path: Path, prefix: str) -> Iterator[Service]:
    running = Service(tmp_path / "log", REDIS_URL, prefix)
    yield running
    running.stop()


def test_the_contract_existing_clients_rely_on(service: Service) -> None:
    answers = {}
    for n, symbol in enumerate("eeeaxy"):
        status, text = service.call("POST", f"/initial?uuid=u{n}&symbol={symbol}")
        assert status == 200 and text in ("True", "False")
        answers[n] = text
    assert service.call("POST", "/followup?uuid=u0") == (200, "hooray")
    assert service.call("POST", "/followup?uuid=u0") == (200, "hooray")   # both count
    assert service.call("POST", "/followup?uuid=u9") == (200, "hooray")   # no initial yet
    status, text = service.call("GET", "/dashboard/symbol/e")
    body = json.loads(text)
    assert status == 200 and list(body) == ["symbol", "count", "earliest", "latest",
                                            "followups"]
    assert (body["symbol"], body["count"], body["followups"]) == ("e", 3, 2)
    assert TIME.fullmatch(body["earliest"]) and TIME.fullmatch(body["latest"])
    assert body["earliest"] <= body["latest"]
    assert json.loads(service.call("GET", "/dashboard/symbol/q")[1]) == {
        "symbol": "q", "count": 0, "earliest": None, "latest": None, "followups": 0}
    # u9's followup is counted once its initial arrives.
    service.call("POST", "/initial?uuid=u9&symbol=x")
    assert json.loads(service.call("GET", "/dashboard/symbol/x")[1])["followups"] == 1
    status, text = service.call("GET", "/dashboard/range/2000-01-01/2100-01-01")
    everything = json.loads(text)
    assert status == 200 and [r["symbol"] for r in everything] == ["a", "e", "x", "y"]
    for row in everything:
        assert row == json.loads(service.call("GET", f"/dashboard/symbol/{row['symbol']}")[1])
    assert json.loads(service.call("GET", "/dashboard/range/2000-01-01/2000-01-02")[1]) == []


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
    ("POST", "/initial?uuid=u1", "missing symbol"),
    ("POST", "/initial?uuid=u1&symbol=E", "symbol must be one letter a-z"),
    ("POST", "/initial?uuid=u1&symbol=ab", "symbol must be one letter a-z"),
    ("POST", "/initial?uuid=u1&symbol=%C3%A9", "symbol must be one letter a-z"),
    ("POST", "/followup", "missing uuid"),
    ("GET", "/dashboard/symbol/7", "symbol must be one letter a-z"),
    ("GET", "/dashboard/range/2017-13-01/2018-01-01", "LOWER '2017-13-01' is not a real date"),
    ("GET", "/dashboard/range/yesterday/2018-01-01",
     "LOWER must be a date (YYYY-MM-DD) or a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])"),
    ("GET", "/dashboard/range/2018-01-02/2018-01-01", "LOWER is after UPPER"),
])
def test_bad_input_is_a_400_with_a_short_message(service: Service, method: str, path: str,
                                                 message: str) -> None:
    assert service.call(method, path) == (400, message)


def test_a_range_takes_timestamps_lower_inclusive_upper_exclusive(service: Service) -> None:
    service.call("POST", "/initial?uuid=r1&symbol=k")
    latest = json.loads(service.call("GET", "/dashboard/symbol/k")[1])["latest"]
    path = "/dashboard/range/{}/{}"
    quoted = urllib.request.quote
    assert json.loads(service.call("GET", path.format(quoted(latest), quoted(latest)))[1]) == []
    found = json.loads(service.call(
        "GET", path.format(quoted(latest), "2100-01-01"))[1])
    assert [r["count"] for r in found] == [1]


def test_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    running = Service(folder)  # the embedded service: aggregates in memory
    sent = {s: 0 for s in SYMBOLS}
    for n in range(300):
        symbol = SYMBOLS[n % 26]
        assert running.call("POST", f"/initial?uuid=k{n}&symbol={symbol}")[0] == 200
        sent[symbol] += 1
    running.stop(signal.SIGKILL)
    again = Service(folder)  # closes the dead process's segment, rebuilds from the log
    try:
        for symbol in SYMBOLS:
            body = json.loads(again.call("GET", f"/dashboard/symbol/{symbol}")[1])
            assert body["count"] == sent[symbol], symbol
    finally:
        again.stop()
