"""Fetching a COVID-19 API response over real HTTP from a local test server that answers
as scripted: retries with growing pauses on 5xx, timeouts and refused connections, a
clear error at once on 4xx or a body that is not the expected JSON; or from a file."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from covid_api import ARCHIVE, DAYS, PATH, Answer, ScriptedServer, server

from sluice.pipelines.covid.fetch import FetchError, RetryPolicy, fetch

__all__ = ["server"]  # the fixture, used by name


def quick(slept: list[float], attempts: int = 4, timeout: float = 2.0) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, timeout=timeout, first_pause=0.5, sleep=slept.append)


def test_a_good_answer_is_read_and_checked(server: ScriptedServer) -> None:
    slept: list[float] = []
    got = fetch(server.url, quick(slept))
    assert got.records == DAYS and got.attempts == 1 and slept == []
    assert got.source == server.url and got.body == json.dumps(DAYS).encode()
    assert server.requests == [PATH]


def test_5xx_is_tried_again_with_growing_pauses(server: ScriptedServer) -> None:
    server.script = [Answer(503, b"busy"), Answer(502, b"gateway"), Answer()]
    slept: list[float] = []
    got = fetch(server.url, quick(slept))
    assert got.records == DAYS and got.attempts == 3
    assert slept == [0.5, 1.0] and len(server.requests) == 3


def test_retry_after_is_respected(server: ScriptedServer) -> None:
    server.script = [Answer(503, b"busy", headers=(("Retry-After", "2"),)), Answer()]
    slept: list[float] = []
    assert fetch(server.url, quick(slept)).attempts == 2 and slept == [2.0]


def test_a_server_that_keeps_failing_is_a_clear_error(server: ScriptedServer) -> None:
    server.script = [Answer(500, b"broken")]
    slept: list[float] = []
    with pytest.raises(FetchError, match=r"the server answered 500 .*\(tried 4 times\)$"):
        fetch(server.url, quick(slept))
    assert len(server.requests) == 4 and slept == [0.5, 1.0, 2.0]


def test_4xx_is_an_error_at_once(server: ScriptedServer) -> None:
    server.script = [Answer(404, b"no such country")]
    with pytest.raises(FetchError, match=r"the server answered 404 Not Found$"):
        fetch(server.url, quick([]))
    assert len(server.requests) == 1


def test_a_slow_answer_times_out_and_is_tried_again(server: ScriptedServer) -> None:
    server.script = [Answer(delay=1.5), Answer()]
    slept: list[float] = []
    got = fetch(server.url, quick(slept, timeout=0.5))
    assert got.attempts == 2 and slept == [0.5]


@pytest.mark.parametrize(("body", "message"), [
    (b"<html>maintenance</html>", "the body is not JSON"),
    (b'{"message": "rate limited"}', "expected a JSON array of days, got a JSON object"),
    (b'[{"Date": "2020-03-01T00:00:00Z"}]', "element 1 has no Cases"),
    (b'[{"Date": "2020-03-01T00:00:00Z", "Cases": 1}, 7]', "element 2 is not an object"),
    (b"\xff\xfe\x00", "the body is not UTF-16 text"),
    (b'[{"Date": "2020-03-01", "Cases": 1, "Name": "caf\xe9"}]', "the body is not UTF-8 text"),
    (b'[{"Date": "2020-03-01", "Cases": 1} {"Date": "2020-03-02", "Cases": 2}]',
     r"the body is not JSON \(the array is not closed\)"),
    (b'[{"Date": "2020-03-01", "Cases": 1}] []', "something follows the array"),
    (b'[{"Date": "2020-03-01", "Cases": 1}, {"Date": ]', "element 2 is not JSON"),
])
def test_a_body_that_is_not_the_expected_json_is_an_error_at_once(
        server: ScriptedServer, body: bytes, message: str) -> None:
    server.script = [Answer(200, body)]
    with pytest.raises(FetchError, match=message):
        fetch(server.url, quick([]))
    assert len(server.requests) == 1


def test_a_refused_connection_is_tried_again_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    slept: list[float] = []
    with pytest.raises(FetchError, match=r"cannot connect .*\(tried 3 times\)$"):
        fetch(f"http://127.0.0.1:{port}{PATH}", quick(slept, attempts=3))
    assert slept == [0.5, 1.0]


def test_a_file_holding_a_response(tmp_path: Path) -> None:
    got = fetch(str(ARCHIVE))
    assert len(got.records) == 1_142 and got.records[0]["Cases"] == 1
    with pytest.raises(FetchError, match="no such file"):
        fetch(str(tmp_path / "missing.json"))
    with pytest.raises(FetchError, match="a folder, not a file"):
        fetch(str(tmp_path))
    (tmp_path / "empty.json").write_bytes(b"")
    with pytest.raises(FetchError, match="the body is empty"):
        fetch(str(tmp_path / "empty.json"))
    # Each day keeps its text as it arrived (a line break inside it becomes a space).
    (tmp_path / "days.json").write_bytes(
        b'\xef\xbb\xbf [ {"Date": "2020-03-01",\r\n "Cases": 1.0, "Cases": NaN},\n'
        b'{"Date":"2020-03-02","Cases":2,"City":"S\xc3\xa3o"}]\n')
    got = fetch(str(tmp_path / "days.json"))
    assert got.texts == ['{"Date": "2020-03-01",   "Cases": 1.0, "Cases": NaN}',
                         '{"Date":"2020-03-02","Cases":2,"City":"S\u00e3o"}']
