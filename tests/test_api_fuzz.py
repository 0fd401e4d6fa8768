"""`sluice serve`'s JSON API fuzzed from its own OpenAPI schema (schemathesis), over real
HTTP against a real server over the demo's warehouse.

Every operation the schema at `/api/openapi.json` names is fuzzed, with valid and invalid
parameters (schemathesis's examples, coverage and fuzzing phases): the operations are
read from the schema the server serves, never listed here, so a route added later is
fuzzed too. For every answer:
- never a 500, and only the status codes and content types the schema declares;
- an error is JSON, `{"error": "a message"}`;
- no Python traceback, no exception class name in an error, no engine text (DuckDB's or
  PostgreSQL's words, SQL) unless the request itself held that text;
- a download (CSV, JSON Lines) parses.
A second, smaller fuzz checks each body against the schema the operation declares; a
third runs every check on a server over a warehouse that holds one votes ingest and no
data of any other pipeline (so most routes answer "no data yet").

Bounded and repeatable: a few dozen examples per operation, derandomized.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from web_server import get_json, serving

from conftest import sluice, vote, write_lines

EXAMPLES = 50  # fuzzing examples per operation, beside the examples and coverage phases
SCHEMA_EXAMPLES = 8  # for the response-schema fuzz
FRESH_EXAMPLES = 15  # for the fuzz of a warehouse that has no data for most routes
WAIT = 120  # seconds; only so that a stuck server fails the test instead of hanging it
# Text that is the engine's or Python's, never sluice's words to a user.
ENGINE_TEXT = ("Traceback", "duckdb", "DuckDB", "psycopg", "Binder Error", "Catalog Error",
               "Parser Error", "Conversion Error", "SELECT ", "sqlstate", "File \"/")
# A Python exception's name (`TypeError`, `ConversionException`) in an error message.
PYTHON_NAME = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b")
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                         database=None, print_blob=False,
                         suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.filter_too_much,
                                                HealthCheck.data_too_large])


@pytest.fixture(autouse=True)
def _pytest_9_node_id(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32's fixture-loaded schema reads `node._nodeid`, which pytest 9.2's
    nodes no longer have (the id is a property now): give it the id it expects. Only the
    names of the per-operation subtests in the report depend on it."""
    setattr(request.node, "_nodeid", request.node.nodeid)  # noqa: B010


@pytest.fixture(scope="module")
def api_schema(demo_server: str) -> BaseSchema:
    """The schema the running server serves: what is fuzzed is what it says it is."""
    return schemathesis.openapi.from_url(f"{demo_server}/api/openapi.json", timeout=WAIT)


schema = schemathesis.pytest.from_fixture("api_schema")


def sent(case: Case[Any], response: Response) -> str:
    """Everything the request held, decoded, so text it echoes is not taken for a leak."""
    url = response.request.url or ""
    parts = [unquote_plus(url), json.dumps(case.query or {}, ensure_ascii=False),
             json.dumps(case.path_parameters or {}, ensure_ascii=False)]
    return "\n".join(parts)


def assert_clean(case: Case[Any], response: Response) -> None:
    """Errors are JSON with a message; nothing of Python or the engine shows; downloads
    parse."""
    status = response.status_code
    body = response.content.decode("utf-8", errors="replace")
    asked = sent(case, response)
    leaked = [text for text in ENGINE_TEXT if text in body and text not in asked]
    assert not leaked, (f"{case.method} {response.request.url} -> {status}: "
                        f"{leaked} in {body[:800]!r}")
    content_type = response.headers.get("content-type", [""])[0]
    if status >= 400:
        assert content_type.startswith("application/json"), (status, content_type, body[:300])
        answer = json.loads(body)
        assert isinstance(answer, dict) and list(answer) == ["error"], (status, body[:300])
        message = answer["error"]
        assert isinstance(message, str) and message.strip(), (status, body[:300])
        names = [name for name in PYTHON_NAME.findall(message) if name not in asked]
        assert not names, (f"{case.method} {response.request.url} -> {status}: {message!r}")
        return
    if len(response.content) < response.content_size:
        return  # schemathesis kept only the head of a long download
    if content_type.startswith("application/json"):
        json.loads(body)
    elif content_type.startswith("application/x-ndjson"):
        for line in body.splitlines():
            assert isinstance(json.loads(line), dict), line[:300]
    elif content_type.startswith("text/csv"):
        rows = list(csv.reader(io.StringIO(body, newline="")))
        assert rows and rows[0][0] == "id", body[:300]
        assert all(len(row) == len(rows[0]) for row in rows), body[:300]


def call(case: Case[Any], base: str) -> Response:
    return case.call(base_url=base, timeout=WAIT)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_answers_every_input_within_its_schema(case: Case[Any],
                                                                demo_server: str) -> None:
    response = call(case, demo_server)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                             content_type_conformance])
    assert_clean(case, response)


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server over a warehouse holding one ingest of votes (a record loaded, one
    rejected) and nothing of any other pipeline: every other route has no data yet."""
    work = tmp_path_factory.mktemp("fresh-warehouse")
    votes = write_lines(work / "votes.jsonl", [vote(1), "not json"])
    sluice("votes", "ingest", str(votes), cwd=work)
    with serving(work / "warehouse.db", cwd=work) as base:
        yield base


@pytest.fixture(scope="module")
def fresh_schema(fresh_server: str) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{fresh_server}/api/openapi.json", timeout=WAIT)


fresh = schemathesis.pytest.from_fixture("fresh_schema")


@fresh.parametrize()
@settings(FUZZ_SETTINGS, max_examples=FRESH_EXAMPLES)
def test_a_warehouse_without_most_pipelines_data_answers_every_input(
        case: Case[Any], fresh_server: str) -> None:
    response = call(case, fresh_server)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                             content_type_conformance,
                                             response_schema_conformance])
    assert_clean(case, response)


@schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=SCHEMA_EXAMPLES)
def test_every_answer_has_the_shape_its_schema_declares(case: Case[Any], demo_server: str) -> None:
    response = call(case, demo_server)
    case.validate_response(response, checks=[response_schema_conformance])


def test_every_route_of_the_api_is_in_the_schema_it_serves(
        demo_server: str, api_schema: BaseSchema) -> None:
    """What the fuzz covers: the operations of the schema, which hold every pipeline's
    generic routes and the operators' routes (so a route missing from the schema, which
    the fuzz would never reach, fails here)."""
    described: dict[str, Any] = get_json(demo_server, "/api/openapi.json")["paths"]
    operations = {(method.upper(), path) for path, methods in described.items()
                  for method in methods}
    fuzzed = set()
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result
        fuzzed.add((result.ok().method.upper(), result.ok().path))
    assert fuzzed == operations
    names = [item["pipeline"] for item in get_json(demo_server, "/api/pipelines")["items"]]
    for name in names:
        assert ("GET", f"/api/pipelines/{name}") in operations, name
    for path in ("/api/runs", "/api/runs/{run_id}", "/api/balance", "/api/quarantine",
                 "/api/quarantine/export", "/api/quarantine/records/{record_id}",
                 "/api/trace/{pipeline}", "/api/options/pipelines", "/api/pages/{page}"):
        assert ("GET", path) in operations, path
