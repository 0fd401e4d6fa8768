"""`sluice serve` for tests, over real HTTP: the command in a process of its own on a free
port, and a warehouse the demo filled (built once per test session, then only read).

    def test_x(demo_server: str) -> None:           # the base URL, http://127.0.0.1:PORT
        answer = get_json(demo_server, "/api/pipelines")

`serving(warehouse)` starts one of a test's own (another warehouse, PostgreSQL, other
options); it stops it (SIGTERM) when the block ends and fails the test if the server
printed a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import MAIN

START_SECONDS = 60.0
POLL_SECONDS = 120.0  # only a guard against hanging: nothing asserts how long it took


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(warehouse: str | Path, *options: str, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> Iterator[str]:
    """`sluice serve` over `warehouse` until the block ends; yields its base URL."""
    port = free_port()
    log = (Path(cwd) if cwd else Path.cwd()) / f"serve-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, MAIN, "serve", "--port", str(port), "--warehouse",
             str(warehouse), *options], cwd=cwd, stdout=output, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        printed = log.read_text(encoding="utf-8", errors="replace")
        log.unlink(missing_ok=True)
    assert "Traceback" not in printed, printed


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"sluice serve stopped at start: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{base}/api/openapi.json", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    pytest.fail(f"sluice serve did not answer in {START_SECONDS:.0f} s")


def until(check: Callable[[], bool], what: str) -> None:
    """Poll until `check` holds; fail naming `what` if it never does (no timing asserted)."""
    deadline = time.monotonic() + POLL_SECONDS
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"never happened: {what}")


def get(base: str, path: str, timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET (an error status is returned, not raised)."""
    request = urllib.request.Request(base + path, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def get_json(base: str, path: str, status: int = 200) -> Any:
    """The JSON of a GET that must answer `status`."""
    code, _, body = get(base, path)
    assert code == status, f"GET {path}: {code} {body[:500]!r}"
    return json.loads(body)


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse `sluice demo` filled, every pipeline in it; tests only read it."""
    folder = tmp_path_factory.mktemp("demo-warehouse")
    done = subprocess.run([sys.executable, MAIN, "demo", "--json"], cwd=folder,
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return folder / "warehouse.db"


@pytest.fixture(scope="session")
def demo_server(demo_warehouse: Path) -> Iterator[str]:
    """`sluice serve` over the demo's warehouse, for the whole session."""
    with serving(demo_warehouse, cwd=demo_warehouse.parent) as base:
        yield base
