"""`sluice serve` attacked as a hostile user would, over real HTTP against real servers:
paths that climb out of `/static/`, names that are not there, odd bytes, NULs and huge
values in query strings, limits and offsets out of range, repeated parameters, methods
that are not GET, HEAD, record ids past 64 bits, filters that look like SQL, downloads
holding control characters, markup in a URL; a client that stalls or walks away in the
middle of a large download; and `sluice serve` itself started wrongly.

Everywhere: a 4xx (never a 500) whose body is JSON, `{"error": message}`; the security
headers; no traceback, no engine text; the warehouse unchanged. The warehouses are made
here, through the CLI, from input files each test writes (or the demo's, read only).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import http.client
import io
import itertools
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hostile import environment
from postgres_server import SERVER
from web_server import free_port, serving

from conftest import MAIN, query, sluice, vote, write_lines
from sluice.web.readers import DEFAULT_READERS

WAIT = 60  # seconds; only so that a stuck server fails the test instead of hanging it
ENGINE_TEXT = ("Traceback", "duckdb", "DuckDB", "psycopg", "Binder Error", "Catalog Error",
               "SELECT ")
WRONG_METHODS = ("POST", "PUT", "DELETE", "PATCH")
# The pages and files outside the API (not in its schema): a pipeline's page is added
# from the overview.
PAGES = ("/", "/operations", "/static/sluice.js", "/static/sluice.css",
         "/static/plotly.min.js", "/favicon.ico")


# --- HTTP, as a client that sends exactly what it is given -------------------------------


class Answer:
    """A response: its status, headers (lower-case names) and body."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"{self.status} {self.type} {self.body[:300]!r}"


def address(base: str) -> tuple[str, int]:
    parts = urlsplit(base)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def send(base: str, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> Answer:
    """`method path` sent as it is (no normalising of `..`, no re-encoding)."""
    host, port = address(base)
    connection = http.client.HTTPConnection(host, port, timeout=WAIT)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                      response.read())
    finally:
        connection.close()


def get(base: str, path: str) -> Answer:
    return send(base, "GET", path)


def assert_error(answer: Answer, status: int | tuple[int, ...], *fragments: str) -> str:
    """A JSON error, `{"error": message}`, of that status, its message holding every
    fragment; no engine text, no traceback."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert answer.status in statuses, answer
    assert answer.type.startswith("application/json"), answer
    body = answer.json()
    assert isinstance(body, dict) and list(body) == ["error"], answer
    message = body["error"]
    assert isinstance(message, str) and message.strip(), answer
    for fragment in fragments:
        assert fragment in message, (fragment, answer)
    clean(answer)
    return message


def clean(answer: Answer, asked: str = "") -> None:
    text = answer.body.decode("utf-8", errors="replace")
    leaked = [word for word in ENGINE_TEXT if word in text and word not in asked]
    assert not leaked, (leaked, answer)


def secured(answer: Answer) -> None:
    assert answer.headers.get("x-content-type-options") == "nosniff", answer.headers
    policy = answer.headers.get("content-security-policy", "")
    assert "default-src 'self'" in policy and "object-src 'none'" in policy, answer.headers


# --- the API's routes, from the schema it serves -----------------------------------------


def openapi(base: str) -> dict[str, Any]:
    answer = get(base, "/api/openapi.json")
    assert answer.status == 200, answer
    spec: dict[str, Any] = answer.json()
    return spec


def resolved(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def sample(spec: dict[str, Any], parameter: dict[str, Any]) -> str:
    """A valid value for a parameter: its first choice or example, its least integer."""
    schema = resolved(spec, parameter.get("schema", {}))
    for options in (schema.get("enum"), schema.get("examples")):
        if options:
            return str(options[0])
    if schema.get("type") == "integer":
        return str(schema.get("minimum", 1))
    if schema.get("type") == "boolean":
        return "false"
    return "1"


def get_operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [(path, methods["get"]) for path, methods in spec["paths"].items()
             if "get" in methods]
    assert len(found) >= 10, sorted(spec["paths"])
    return found


def sample_path(spec: dict[str, Any], path: str, operation: dict[str, Any],
                **query: str) -> str:
    """The operation's path with its path parameters and required query parameters set
    to valid values, and `query` added."""
    parameters = operation.get("parameters", [])
    for parameter in parameters:
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}",
                                quote(sample(spec, parameter), safe=""))
    required = {p["name"]: sample(spec, p) for p in parameters
                if p["in"] == "query" and p.get("required")}
    wanted = {**required, **query}
    return path + (f"?{urlencode(wanted)}" if wanted else "")


def every_get_path(base: str) -> list[str]:
    """A request for every GET route: each operation of the schema, each page."""
    spec = openapi(base)
    paths = [sample_path(spec, path, operation) for path, operation in get_operations(spec)]
    overview = get(base, "/api/pipelines").json()["items"]
    return paths + list(PAGES) + [item["page"] for item in overview]


def paged_operations(spec: dict[str, Any]) -> list[tuple[str, int, int]]:
    """Every operation that takes `limit` and `offset`: a sample path without them, and
    the largest limit and offset its schema allows."""
    found = []
    for path, operation in get_operations(spec):
        bounds = {p["name"]: resolved(spec, p.get("schema", {})).get("maximum")
                  for p in operation.get("parameters", []) if p["in"] == "query"}
        if "limit" in bounds and "offset" in bounds:
            largest_limit, largest_offset = bounds["limit"], bounds["offset"]
            assert isinstance(largest_limit, int) and isinstance(largest_offset, int), (
                f"{path}: limit and offset must have a maximum ({bounds})")
            found.append((sample_path(spec, path, operation), largest_limit, largest_offset))
    return found


def with_query(path: str, **query: str) -> str:
    return path + ("&" if "?" in path else "?") + urlencode(query)


# --- the warehouse, read from outside -----------------------------------------------------


def counts(db: Path) -> dict[str, int]:
    tables = query(db, "SELECT schema_name, table_name FROM duckdb_tables() "
                       "WHERE database_name = current_database() ORDER BY ALL")
    return {f"{s}.{t}": query(db, f'SELECT count(*) FROM "{s}"."{t}"')[0][0]
            for s, t in tables}


def state(db: Path) -> tuple[dict[str, int], list[tuple[Any, ...]], str]:
    """Every table's row count, the ledger, and the file's bytes (as a digest)."""
    ledger = query(db, "SELECT * FROM sluice.runs ORDER BY run_id")
    return counts(db), ledger, hashlib.sha256(db.read_bytes()).hexdigest()


# --- paths out of /static/ ----------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/static/../../etc/passwd",
    "/static/../../../../../../etc/passwd",
    "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static/%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "/static/..%5c..%5c..%5cetc%5cpasswd",
    "/static/....//....//etc/passwd",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/sluice.js/../../../../etc/passwd",
    "/static/sluice.js%00.png",
    "/static/sluice.js%2500",
    "/static/%00",
    "/static/..",
    "/static/.",
    "/static/%2e%2e",
    "/static/__init__.py",
    "/static/..%2fapp.py",
    "/static/%2e%2e%2fapp.py",
    "/static/..%2f..%2fweb%2fapp.py",
    "/static/plotly.min.js%2f..%2f..%2f__init__.py",
    "//etc/passwd",
    "/..%2f..%2fetc%2fpasswd",
])
def test_no_path_reaches_a_file_outside_the_static_assets(demo_server: str, path: str
                                                           ) -> None:
    answer = get(demo_server, path)
    assert_error(answer, (400, 404, 422))
    secured(answer)
    assert b"root:" not in answer.body and b"import " not in answer.body, answer


def test_the_static_assets_themselves_are_served(demo_server: str) -> None:
    from importlib import resources

    for asset in ("sluice.js", "sluice.css"):
        answer = get(demo_server, f"/static/{asset}")
        assert answer.status == 200, answer
        assert answer.body == (resources.files("sluice.web") / "static" / asset).read_bytes()


# --- names that are not there -------------------------------------------------------------


@pytest.mark.parametrize(("path", "status", "fragment"), [
    ("/api/pipelines/nope", 404, ""),
    ("/api/pipelines/nope/views/x", 404, ""),
    ("/api/pipelines/votes/views/nope", (404, 422), "outlier_weeks"),
    ("/api/pipelines/votes/nope", 404, ""),
    ("/api/pages/nope", (404, 422), "overview"),
    ("/api/trace/nope?key=1", (404, 422), "votes"),
    ("/api/runs?pipeline=nope", (400, 422), "votes"),
    ("/api/quarantine?pipeline=nope", (400, 422), "votes"),
    ("/api/quarantine/export?pipeline=nope", (400, 422), "votes"),
    ("/api/quarantine/export?format=xlsx", (400, 422), "csv"),
    ("/api/runs/987654321", 404, "987654321"),
    ("/api/quarantine/records/987654321:1", 404, "987654321:1"),
    ("/api/nope", 404, ""),
    ("/nope", 404, ""),
    ("/pipelines/nope", 404, "nope"),
    ("/pipelines/votes/nope", 404, ""),
    ("/api/pipelines/VOTES", 404, ""),
    ("/pipelines/VOTES", 404, ""),
])
def test_a_name_that_is_not_there_is_a_json_4xx(demo_server: str, path: str,
                                                 status: int | tuple[int, ...],
                                                 fragment: str) -> None:
    answer = get(demo_server, path)
    assert_error(answer, status, fragment)
    secured(answer)


# --- odd bytes, NULs and huge values in query strings -------------------------------------


@pytest.mark.parametrize("path", [
    "/api/quarantine?file=%00",
    "/api/quarantine?reason=a%00b",
    "/api/quarantine?file=ok&reason=%00",
    "/api/quarantine/export?file=%00",
    "/api/quarantine/export?format=csv&reason=%00",
    "/api/trace/votes?key=%00",
    "/api/trace/votes?key=1%00",
])
def test_a_nul_in_a_text_filter_is_refused_clearly(demo_server: str, path: str) -> None:
    assert_error(get(demo_server, path), (400, 422), "NUL")


@pytest.mark.parametrize("path", [
    "/api/runs?limit=%00", "/api/runs?pipeline=%00", "/api/runs?pipeline=%ff",
    "/api/quarantine?run=%ff", "/api/quarantine?superseded=%ff",
    "/api/quarantine/records/%ff", "/api/quarantine/records/1%00",
    "/api/pages/%ff", "/api/pages/%00", "/api/trace/%ff?key=1",
    "/api/pipelines/votes/views/%ff", "/api/quarantine/export?format=%00",
])
def test_odd_bytes_where_a_name_or_number_belongs_are_a_json_4xx(demo_server: str,
                                                                  path: str) -> None:
    answer = get(demo_server, path)
    assert_error(answer, (400, 404, 422))
    secured(answer)


def test_bytes_that_are_not_utf8_in_a_text_filter_match_only_what_they_say(
        demo_server: str) -> None:
    """Invalid UTF-8 is read as U+FFFD, which no path or reason of the demo holds: no
    records, and no error."""
    for filter_ in ("file", "reason"):
        for value in ("%ff", "%c3%28", "%ed%a0%80", "caf%e9"):
            answer = get(demo_server, f"/api/quarantine?{filter_}={value}")
            assert answer.status == 200, answer
            assert answer.json()["total"] == 0, (filter_, value, answer)
    for value in ("%ff%fe", "%c3%28"):
        answer = get(demo_server, f"/api/trace/votes?key={value}")
        assert answer.status == 200, answer
        assert (answer.json()["rows"], answer.json()["conflicts"]) == ([], [])


@pytest.mark.parametrize(("name", "path"), [
    ("file", "/api/quarantine?file="), ("reason", "/api/quarantine?reason="),
    ("file", "/api/quarantine/export?file="), ("key", "/api/trace/votes?key="),
])
def test_a_text_value_over_its_limit_is_refused_by_name(demo_server: str, name: str,
                                                        path: str) -> None:
    for size in (1_001, 20_000):
        answer = get(demo_server, path + "a" * size)
        assert_error(answer, (400, 422), name)
        secured(answer)
    assert get(demo_server, path + "a" * 1_000).status == 200


@pytest.mark.parametrize("path", ["/api/quarantine?file=", "/api/runs?limit="])
def test_a_50kb_query_value_is_refused_with_a_json_error(demo_server: str, path: str
                                                         ) -> None:
    """A value far past its limit is a JSON error. (A request line past about 64 KB never
    reaches the application: uvicorn's HTTP parser refuses it with a plain-text 400;
    the next test shows the server goes on answering after it.)"""
    answer = get(demo_server, path + "9" * 50_000)
    assert_error(answer, (400, 413, 414, 422, 431))
    secured(answer)


def test_the_server_answers_after_requests_too_long_to_read(demo_server: str) -> None:
    for size in (100_000, 1_000_000):
        answer = get(demo_server, "/api/quarantine?reason=" + "x" * size)
        assert 400 <= answer.status < 500, answer
        assert b"Traceback" not in answer.body
    assert get(demo_server, "/api/runs?limit=1").status == 200


# --- limits and offsets -------------------------------------------------------------------


def bad_pages(largest_limit: int, largest_offset: int) -> list[dict[str, str]]:
    return [
        {"limit": "0"}, {"limit": "-1"}, {"limit": str(largest_limit + 1)},
        {"limit": str(2**63)}, {"limit": str(10**30)}, {"limit": "9" * 5_000},
        {"limit": ""}, {"limit": "abc"}, {"limit": "1.5"}, {"limit": "1e3"},
        {"limit": "0x10"}, {"limit": "NaN"},
        {"offset": "-1"}, {"offset": str(largest_offset + 1)}, {"offset": str(2**63)},
        {"offset": str(2**64)}, {"offset": str(-2**63)}, {"offset": "inf"}, {"offset": ""},
    ]


def test_every_limit_and_offset_out_of_range_is_a_json_422_naming_it(demo_server: str
                                                                     ) -> None:
    operations = paged_operations(openapi(demo_server))
    assert len(operations) >= 4, operations
    for path, largest_limit, largest_offset in operations:
        assert largest_offset <= 2**62, path  # past any table, and inside 64 bits
        for bad in bad_pages(largest_limit, largest_offset):
            answer = get(demo_server, with_query(path, **bad))
            assert_error(answer, 422, *bad)
            secured(answer)


def test_the_largest_offset_and_limit_are_answered(demo_server: str) -> None:
    answered = 0
    for path, largest_limit, largest_offset in paged_operations(openapi(demo_server)):
        first = get(demo_server, with_query(path, limit=str(largest_limit), offset="0"))
        if first.status != 200:  # a sample value the route refuses (a range's bounds)
            assert_error(first, (400, 404, 422))
            continue
        page = first.json()
        assert len(page["items"]) == min(page["total"], largest_limit), path
        assert (page["limit"], page["offset"]) == (largest_limit, 0)
        far = get(demo_server, with_query(path, limit=str(largest_limit),
                                          offset=str(largest_offset)))
        assert far.status == 200, (path, far)
        assert far.json() == {**page, "items": [], "offset": largest_offset}, path
        answered += 1
    assert answered >= 4


def test_a_repeated_parameter_is_answered_as_one_of_its_values(demo_server: str) -> None:
    """Never a mix of the two, never an error that is not JSON."""
    cases = [
        ("/api/runs", "limit", ("2", "3")),
        ("/api/runs", "pipeline", ("votes", "shop")),
        ("/api/quarantine", "pipeline", ("votes", "shop")),
        ("/api/quarantine", "offset", ("0", "5")),
        ("/api/pipelines/votes/views/outlier_weeks", "limit", ("1", "4")),
        ("/api/trace/votes", "key", ("1", "2")),
    ]
    for path, name, (one, other) in cases:
        both = get(demo_server, f"{path}?{name}={one}&{name}={other}")
        singles = [get(demo_server, f"{path}?{name}={value}") for value in (one, other)]
        if both.status >= 400:
            assert_error(both, (400, 422), name)
            continue
        assert both.status == 200, both
        assert both.json() in [single.json() for single in singles], (path, name, both)
    formats = get(demo_server, "/api/quarantine/export?format=csv&format=jsonl")
    assert formats.status == 200, formats
    if formats.type.startswith("text/csv"):
        assert formats.body.startswith(b"id,"), formats
    else:
        assert formats.type.startswith("application/x-ndjson"), formats
        assert all(json.loads(line) for line in formats.body.split(b"\n") if line)


def test_a_record_id_past_64_bits_is_a_json_4xx(demo_server: str) -> None:
    assert_error(get(demo_server, "/api/quarantine/records/99999999999999999999:1"), 422,
                 "record_id")
    assert_error(get(demo_server, "/api/quarantine/records/1:99999999999999999999"), 422,
                 "record_id")
    for record in ("9999999999999999999:1", "1:9999999999999999999", "9223372036854775808",
                   "9223372036854775807:9223372036854775807", "0:0", "0"):
        assert_error(get(demo_server, f"/api/quarantine/records/{record}"), 404, record)
    for run in ("99999999999999999999", str(2**62 + 1), "0", "-1"):
        assert_error(get(demo_server, f"/api/runs/{run}"), 422, "run_id")
    assert_error(get(demo_server, f"/api/runs/{2**62}"), 404, str(2**62))
    listed = get(demo_server, "/api/quarantine?limit=1").json()["items"][0]
    shown = get(demo_server, f"/api/quarantine/records/{listed['id']}")
    assert shown.status == 200, shown
    assert {k: v for k, v in shown.json().items() if k != "run"} == listed


# --- methods ------------------------------------------------------------------------------


def test_every_get_route_refuses_other_methods_and_changes_nothing(
        demo_server: str, demo_warehouse: Path) -> None:
    before = state(demo_warehouse)
    paths = every_get_path(demo_server)
    for path in paths:
        for method in WRONG_METHODS:
            answer = send(demo_server, method, path,
                          body=b'{"sql": "DROP TABLE sluice.runs"}',
                          headers={"Content-Type": "application/json"})
            assert_error(answer, 405, "method not allowed")
            assert "GET" in answer.headers.get("allow", ""), (method, path, answer.headers)
            secured(answer)
    assert state(demo_warehouse) == before
    assert get(demo_server, "/api/runs?limit=1").status == 200


def test_head_answers_as_get_does_without_a_body(demo_server: str) -> None:
    """HTTP: a server that answers GET answers HEAD (RFC 9110, 9.3.2): the same status
    and headers, no body."""
    refused = []
    for path in every_get_path(demo_server):
        full, head = get(demo_server, path), send(demo_server, "HEAD", path)
        if (head.status, head.type) != (full.status, full.type):
            refused.append(f"HEAD {path}: {head.status} {head.type}; "
                           f"GET: {full.status} {full.type}")
        assert head.body == b"", (path, head)
        secured(head)
    assert not refused, "\n".join(refused)


# --- headers and markup -------------------------------------------------------------------


def test_every_kind_of_response_carries_the_security_headers(demo_server: str) -> None:
    paths = [*every_get_path(demo_server), "/api/nope", "/pipelines/nope", "/static/nope",
             "/api/runs?limit=0", "/api/quarantine?file=%00",
             "/api/quarantine/export?format=csv", "/api/quarantine/export?format=jsonl"]
    for path in paths:
        secured(get(demo_server, path))
        secured(send(demo_server, "POST", path))
    gzipped = send(demo_server, "GET", "/static/plotly.min.js",
                   headers={"Accept-Encoding": "gzip"})
    assert gzipped.status == 200
    secured(gzipped)


@pytest.mark.parametrize("path", [
    "/pipelines/<script>alert(1)</script>",
    "/pipelines/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/pipelines/votes%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/pipelines/%3Cimg%20src=x%20onerror=alert(1)%3E",
    "/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/static/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
])
def test_a_page_that_is_not_there_is_json_never_html_echoing_the_url(
        demo_server: str, path: str) -> None:
    answer = get(demo_server, path)
    assert_error(answer, 404)
    assert not answer.body.lstrip().startswith(b"<"), answer
    secured(answer)


@pytest.mark.parametrize("path", [
    "/?q=<script>alert(1)</script>",
    "/operations?run=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/pipelines/votes?x=%3Cscript%3Ealert(1)%3C/script%3E#<script>",
    "/pipelines/votes?%3Cscript%3E=1",
])
def test_a_page_never_echoes_the_request_unescaped(demo_server: str, path: str) -> None:
    answer = get(demo_server, path)
    assert answer.status == 200, answer
    assert answer.type.startswith("text/html"), answer
    assert b"alert(1)" not in answer.body and b"<script>" not in answer.body, answer
    secured(answer)


# --- the quarantine of a hostile warehouse ------------------------------------------------

# Raw text that only a careful CSV writer round-trips, and the line it was written on.
ODD_RAW = {
    2: "ctl \x01\x02\x1b[2J\x7f\x0b\x0c end",
    3: "a lone\rCR inside",
    4: 'tab\there "quoted", comma | pipe',
    5: "nul \x00 inside",
    6: "line sep \u2028 and \u0085 next-line",
}
FILES = ("100%.jsonl", "a_b.jsonl", "axb.jsonl", "' OR 1=1 --.jsonl", "plain.jsonl")
CARS = ["vhigh,vhigh,2,2,small,low,unacc", "10%,low,4,more,big,high,vgood",
        "low,a_b,4,more,big,high,good", "low,axb,4,more,big,high,good"]


@pytest.fixture(scope="module")
def hostile_quarantine(tmp_path_factory: pytest.TempPathFactory
                       ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A server over a warehouse whose quarantine holds file names with LIKE's wildcards
    and quotes, raw text with control characters and a CR, and reasons holding `%` and
    `_`; and every record, as `sluice quarantine export` gives them (read before the
    server starts)."""
    work = tmp_path_factory.mktemp("hostile-quarantine")
    (work / "in").mkdir()
    for n, name in enumerate(FILES, start=1):
        write_lines(work / "in" / name, [vote(n), f"bad in {name}"])
    lines: list[str | bytes] = [vote(50), *(ODD_RAW[n] for n in sorted(ODD_RAW))]
    write_lines(work / "in" / "odd.jsonl", lines)
    sluice("votes", "ingest", "in", cwd=work)
    write_lines(work / "cars.csv", CARS)
    sluice("cars", "train", "cars.csv", "--model", "m.joblib", cwd=work, expect=2)  # too few
    exported = sluice("quarantine", "export", cwd=work).stdout
    records = [json.loads(line) for line in exported.split("\n") if line]
    with serving(work / "warehouse.db", cwd=work) as base:
        yield base, records


def literal(records: list[dict[str, Any]], file: str | None = None,
            reason: str | None = None) -> list[str]:
    """The ids a filter keeps, as documented: a path holding the text; a reason holding
    it, in any case."""
    return [r["id"] for r in records
            if (file is None or file in r["source_file"])
            and (reason is None or any(reason.lower() in why.lower() for why in r["reasons"]))]


def api_ids(base: str, **filters: str) -> list[str]:
    answer = get(base, "/api/quarantine?" + urlencode({**filters, "limit": "1000"}))
    assert answer.status == 200, answer
    page = answer.json()
    assert page["total"] == len(page["items"]), page
    return [item["id"] for item in page["items"]]


def export_ids(base: str, **filters: str) -> list[str]:
    answer = get(base, "/api/quarantine/export?" + urlencode(filters))
    assert answer.status == 200, answer
    return [json.loads(line)["id"] for line in answer.body.split(b"\n") if line]


SQL_LIKE = ["' OR 1=1 --", "' OR '1'='1", "%", "_", "100%", "a_b", "%_%", "\\", "[",
            "'", '"', ";", "--", "/*", "invalid JSON", "INVALID json", "10%'", " ",
            "is not one of", "a_b' is"]


@pytest.mark.parametrize("text", SQL_LIKE)
def test_a_filter_that_looks_like_sql_matches_only_its_literal_text(
        hostile_quarantine: tuple[str, list[dict[str, Any]]], text: str) -> None:
    base, records = hostile_quarantine
    for name in ("file", "reason"):
        wanted = literal(records, **{name: text})
        assert api_ids(base, **{name: text}) == wanted, (name, text)
        assert export_ids(base, **{name: text}) == wanted, (name, text)


def test_the_wildcards_match_themselves_only(
        hostile_quarantine: tuple[str, list[dict[str, Any]]]) -> None:
    """Not vacuous: each wildcard finds exactly the one record that holds it."""
    base, records = hostile_quarantine
    by_raw = {r["raw"]: r["id"] for r in records}
    for text, holder, other in (("%", "100%.jsonl", "plain.jsonl"),
                                ("_", "a_b.jsonl", "axb.jsonl"),
                                ("' OR 1=1 --", "' OR 1=1 --.jsonl", "plain.jsonl")):
        found = api_ids(base, file=text)
        assert by_raw[f"bad in {holder}"] in found and by_raw[f"bad in {other}"] not in found
    assert api_ids(base, reason="%") == [by_raw[CARS[1]]]
    assert api_ids(base, reason="_") == [by_raw[CARS[2]]]
    assert len(records) == len(FILES) + len(ODD_RAW) + 3


def test_the_export_round_trips_control_characters_and_a_cr(
        hostile_quarantine: tuple[str, list[dict[str, Any]]]) -> None:
    base, records = hostile_quarantine
    odd = {r["line_number"]: r["raw"] for r in records if r["source_file"].endswith("odd.jsonl")}
    assert odd == ODD_RAW  # what the test wrote, as the CLI gives it back

    answer = get(base, "/api/quarantine/export?format=csv")
    assert answer.status == 200 and answer.type.startswith("text/csv"), answer
    assert "attachment" in answer.headers.get("content-disposition", ""), answer.headers
    secured(answer)
    with io.StringIO(answer.body.decode("utf-8"), newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["id"] for row in rows] == [r["id"] for r in records]
    for row, record in zip(rows, records, strict=True):
        assert row["raw"] == record["raw"], record["id"]
        assert row["reasons"] == " | ".join(record["reasons"]), record["id"]
        assert (row["source_file"], row["line_number"], row["pipeline"]) == (
            record["source_file"], str(record["line_number"]), record["pipeline"])

    answer = get(base, "/api/quarantine/export?format=jsonl")
    assert answer.status == 200 and answer.type.startswith("application/x-ndjson"), answer
    assert answer.body.endswith(b"\n")
    lines = answer.body.split(b"\n")[:-1]
    assert [json.loads(line) for line in lines] == records

    # Compressed on the way (a browser asks for gzip): the same bytes once inflated.
    for form in ("csv", "jsonl"):
        plain = get(base, f"/api/quarantine/export?format={form}")
        zipped = send(base, "GET", f"/api/quarantine/export?format={form}",
                      headers={"Accept-Encoding": "gzip"})
        assert zipped.status == 200, zipped
        inflated = (gzip.decompress(zipped.body)
                    if zipped.headers.get("content-encoding") == "gzip" else zipped.body)
        assert inflated == plain.body, form


# --- a large download, and clients that stall or leave ------------------------------------

BIG = 200_000


def big_raw(n: int) -> str:
    return f'broken {n:06d}, "q" | ' + "x" * 100


@pytest.fixture(scope="module")
def big_quarantine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse whose quarantine holds 200,000 records (a download of 40 MB)."""
    work = tmp_path_factory.mktemp("big-quarantine")
    path = work / "broken.jsonl"
    path.write_text("".join(big_raw(n) + "\n" for n in range(BIG)), encoding="utf-8")
    sluice("votes", "ingest", str(path), cwd=work)
    return work / "warehouse.db"


@contextlib.contextmanager
def download(base: str, path: str) -> Iterator[tuple[http.client.HTTPResponse, bytes]]:
    """A download started and left unread after its first bytes (the response, and
    those bytes); the connection closed when the block ends."""
    host, port = address(base)
    connection = http.client.HTTPConnection(host, port, timeout=WAIT)
    try:
        connection.connect()
        assert connection.sock is not None
        connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 200, (path, response.status)
        try:
            yield response, response.read(65_536)
        finally:
            response.close()
    finally:
        connection.close()


FRESH = itertools.count(1)  # offsets never asked before: answers no cache holds


def answers_while(base: str, what: str) -> None:
    """Requests no cache holds (a new offset each) are answered, with the right totals."""
    for _ in range(3):
        n = next(FRESH)
        for path, total in ((f"/api/runs?limit=1&offset={n}", 1),
                            (f"/api/quarantine?limit=1&offset={n}", BIG)):
            try:
                answer = get(base, path)
            except TimeoutError:
                pytest.fail(f"GET {path} had no answer in {WAIT} s {what}")
            assert answer.status == 200, answer
            assert answer.json()["total"] == total, answer


def assert_whole_csv(body: bytes) -> None:
    with io.StringIO(body.decode("utf-8"), newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == BIG
    step = BIG // 100
    assert [(row["line_number"], row["raw"]) for row in rows[::step]] == [
        (str(n + 1), big_raw(n)) for n in range(0, BIG, step)]
    assert rows[-1]["raw"] == big_raw(BIG - 1)


@pytest.mark.parametrize(("options", "downloads"), [
    ((), 1), ((), DEFAULT_READERS), (("--readers", "1"), 1),
], ids=["default readers, one download", "default readers, a download per reader",
        "one reader, one download"])
def test_downloads_in_progress_never_stop_other_answers(
        big_quarantine: Path, options: tuple[str, ...], downloads: int) -> None:
    """Clients that start a large download and stop reading it (a slow network, a paused
    browser) do not keep the server from answering everyone else; each still gets its
    whole file when it reads on."""
    path = "/api/quarantine/export?format=csv"
    with serving(big_quarantine, *options, cwd=big_quarantine.parent) as base, \
            contextlib.ExitStack() as stack:
        stalled = [stack.enter_context(download(base, path)) for _ in range(downloads)]
        answers_while(base, f"while {downloads} download(s) were left unread")
        for response, first in stalled:
            assert_whole_csv(first + response.read())
        answers_while(base, "after the downloads")


@pytest.mark.parametrize(("options", "clients"), [
    ((), DEFAULT_READERS + 2), (("--readers", "1"), 10),
], ids=["default readers", "one reader"])
def test_clients_that_leave_mid_download_leave_the_server_healthy(
        big_quarantine: Path, options: tuple[str, ...], clients: int) -> None:
    """Each client that walks away gives its reader back at once: the next request,
    right after, is answered (more clients leave than the server has readers)."""
    with serving(big_quarantine, *options, cwd=big_quarantine.parent) as base:
        for n in range(1, clients + 1):
            form = ("csv", "jsonl")[n % 2]
            with download(base, f"/api/quarantine/export?format={form}") as (leaving, _):
                leaving.read(200_000)
            answers_while(base, f"after {n} client(s) left in mid-download")
        whole = get(base, "/api/quarantine/export?format=csv")
        assert whole.status == 200, whole
        assert_whole_csv(whole.body)


# --- `sluice serve` started wrongly -------------------------------------------------------


def serve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`sluice serve` that must refuse to start (a server that starts fails the test)."""
    try:
        return subprocess.run([sys.executable, MAIN, "serve", *args], cwd=cwd,
                              env=environment(), capture_output=True, text=True,
                              timeout=WAIT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"sluice serve {' '.join(args)} started instead of refusing")


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_a_port_in_use_is_one_line_naming_it(tmp_path: Path) -> None:
    ingest = write_lines(tmp_path / "v.jsonl", [vote(1)])
    sluice("votes", "ingest", str(ingest), cwd=tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve("--port", str(port), "--warehouse", "warehouse.db", cwd=tmp_path)
    line = one_line_error(result)
    assert result.returncode == 2 and f"--port {port}" in line and "in use" in line, line


@pytest.mark.parametrize(("option", "value"), [
    ("--port", "70000"), ("--port", "-1"), ("--port", "http"),
    ("--readers", "0"), ("--readers", "-3"), ("--readers", "100000"),
])
def test_an_option_out_of_range_is_refused_by_the_parser_naming_it(
        tmp_path: Path, option: str, value: str) -> None:
    ingest = write_lines(tmp_path / "v.jsonl", [vote(1)])
    sluice("votes", "ingest", str(ingest), cwd=tmp_path)
    args = {"--port": str(free_port()), "--warehouse": "warehouse.db", option: value}
    result = serve(*(part for pair in args.items() for part in pair), cwd=tmp_path)
    assert result.returncode == 2, result
    assert option in result.stderr and "Traceback" not in result.stderr, result.stderr


WRONG_WAREHOUSES = ("a file that does not exist", "a folder", "a text file", "an empty file",
                    "a PostgreSQL database that does not exist")


def wrong_warehouse(case: str, work: Path) -> str:
    """The --warehouse of a case, made in `work`."""
    if case == "a folder":
        (work / "a folder").mkdir()
        return "a folder"
    if case == "a text file":
        (work / "text.db").write_text("hello\n")
        return "text.db"
    if case == "an empty file":
        (work / "empty.db").write_bytes(b"")
        return "empty.db"
    if case == "a PostgreSQL database that does not exist":
        return f"{SERVER}/sluice_no_such_{uuid.uuid4().hex[:12]}"
    return "nothere.db"


@pytest.mark.parametrize("case", WRONG_WAREHOUSES)
def test_a_wrong_warehouse_is_refused_as_every_command_refuses_it(
        tmp_path: Path, case: str) -> None:
    """One line, the same line and exit code `sluice runs` gives for that warehouse."""
    warehouse = wrong_warehouse(case, tmp_path)
    result = serve("--port", str(free_port()), "--warehouse", warehouse, cwd=tmp_path)
    line = one_line_error(result)
    runs = sluice("runs", "--warehouse", warehouse, cwd=tmp_path, expect=None)
    assert runs.returncode != 0, runs

    def plain(text: str) -> str:  # the warehouse named as given, or as a full path
        return text.strip().replace(str(tmp_path / warehouse), warehouse)

    assert (result.returncode, plain(line)) == (runs.returncode, plain(runs.stderr))


@pytest.mark.parametrize("case", [c for c in WRONG_WAREHOUSES if "PostgreSQL" not in c])
def test_a_server_that_cannot_start_leaves_the_folder_as_it_was(tmp_path: Path,
                                                                case: str) -> None:
    warehouse = wrong_warehouse(case, tmp_path)
    before = _tree(tmp_path)
    result = serve("--port", str(free_port()), "--warehouse", warehouse, cwd=tmp_path)
    assert result.returncode != 0
    assert _tree(tmp_path) == before


def test_a_server_that_starts_and_stops_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    ingest = write_lines(tmp_path / "v.jsonl", [vote(1), "bad"])
    sluice("votes", "ingest", str(ingest), cwd=tmp_path)
    before = _tree(tmp_path)
    with serving(tmp_path / "warehouse.db", cwd=tmp_path) as base:
        assert get(base, "/api/quarantine").json()["total"] == 1
    assert _tree(tmp_path) == before
    assert os.path.exists(tmp_path / "warehouse.db")
