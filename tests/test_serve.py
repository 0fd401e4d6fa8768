"""`sluice serve`: the JSON API and the pages over a warehouse, over real HTTP; the same
answers as the operators' commands; read-only; and an ingest beside the server, which
the server never blocks, whose data it serves once committed."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from postgres_server import postgres_url  # noqa: F401  (a fixture)
from web_server import get, get_json, serving, until

from conftest import MAIN, sluice, vote, write_lines

REPO = Path(__file__).resolve().parents[1]


def _votes(first: int, count: int) -> list[str]:
    return [vote(i, post=i % 7, date=f"2022-01-{(i % 28) + 1:02d}T10:00:00.000")
            for i in range(first, first + count)]


def _loaded(base: str) -> int:
    return int(get_json(base, "/api/pipelines/votes")["loaded"])


@contextmanager
def _held(warehouse: Path, read_only: bool, seconds: float) -> Iterator[None]:
    """Another process holding the warehouse file for `seconds` (read-write: as an
    ingest does; read-only: as the server does while it copies it)."""
    mode = "True" if read_only else "False"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(warehouse)!r}, read_only={mode})
        print("held", flush=True)
        time.sleep({seconds})
        con.close()
    """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        yield
    finally:
        holder.wait(timeout=60)


# --- the API over the demo's warehouse -------------------------------------------------

def test_the_overview_lists_every_pipeline_with_its_last_run_and_headline(
        demo_server: str) -> None:
    overview = get_json(demo_server, "/api/pipelines")
    by_name = {item["pipeline"]: item for item in overview["items"]}
    assert list(by_name) == ["votes", "advocacy", "applications", "shop", "events", "covid",
                             "cars"]
    votes = by_name["votes"]
    assert (votes["received"], votes["loaded"], votes["duplicates"], votes["quarantined"]) == (
        301_843, 300_000, 1_541, 302)
    assert votes["last_status"] == "succeeded"
    assert votes["headline"].startswith("15 of 106 weeks are outliers")
    assert overview["total"] == len(overview["items"]) == 7


def test_the_ledger_and_the_quarantine_answer_as_the_commands_do(
        demo_server: str, demo_warehouse: Path) -> None:
    folder, where = demo_warehouse.parent, ("--warehouse", str(demo_warehouse))

    def command(*args: str) -> Any:
        return json.loads(sluice(*args, *where, "--json", cwd=folder).stdout)

    assert get_json(demo_server, "/api/runs?limit=50")["items"] == command("runs",
                                                                           "--limit", "50")
    assert get_json(demo_server, "/api/balance")["items"] == command("runs", "--balance")
    listed = command("quarantine", "--pipeline", "votes", "--limit", "1000")
    page = get_json(demo_server, "/api/quarantine?pipeline=votes&limit=1000")
    assert page["items"] == listed["records"] and page["total"] == listed["total"] == 302
    record = page["items"][7]["id"]
    shown = get_json(demo_server, f"/api/quarantine/records/{record}")
    assert {k: v for k, v in shown.items() if k != "run"} == command("quarantine", "show",
                                                                     record)
    assert shown["run"]["run_id"] == shown["run_id"]
    key = get_json(demo_server, "/api/pipelines/votes/views/outlier_weeks?limit=1")
    assert key["total"] == 15
    traced = get_json(demo_server, "/api/trace/votes?key=1542")
    assert traced == command("trace", "votes", "1542")


def test_pages_of_a_list_concatenate_to_the_whole_list(demo_server: str) -> None:
    whole = get_json(demo_server, "/api/quarantine?pipeline=votes&limit=1000")["items"]
    assert len(whole) == 302
    pages = [get_json(demo_server, f"/api/quarantine?pipeline=votes&limit=97&offset={offset}")
             for offset in range(0, len(whole), 97)]
    assert [item for p in pages for item in p["items"]] == whole
    assert {p["total"] for p in pages} == {302}
    past = get_json(demo_server,
                    "/api/quarantine?pipeline=votes&limit=5&offset=4611686018427387904")
    assert past["items"] == [] and past["total"] == pages[0]["total"]


def test_the_export_downloads_what_the_export_command_writes(
        demo_server: str, demo_warehouse: Path, work: Path) -> None:
    where = ("--warehouse", str(demo_warehouse))
    for form in ("csv", "jsonl"):
        status, headers, body = get(demo_server,
                                    f"/api/quarantine/export?format={form}&pipeline=votes")
        assert status == 200 and "attachment" in headers["content-disposition"]
        output = work / f"export.{form}"
        sluice("quarantine", "export", "--format", form, "--pipeline", "votes", *where,
               "--output", str(output), cwd=work)
        assert body == output.read_bytes()
    rows = list(csv.reader(io.StringIO((work / "export.csv").read_text(
        encoding="utf-8", errors="surrogateescape"), newline="")))
    assert len(rows) == 1 + 302 and rows[0][0] == "id"


def test_errors_are_json_with_a_message_and_the_right_status(demo_server: str) -> None:
    for path, status, words in (
            ("/api/runs/999999", 404, "no run 999999"),
            ("/api/quarantine/records/999999:1", 404, "no record 999999:1"),
            ("/api/quarantine?limit=0", 422, "limit"),
            ("/api/quarantine?pipeline=nope", 422, "pipeline"),
            ("/api/pipelines/votes/views/nope", 422, "view"),
            ("/api/nowhere", 404, "no such page or route"),
            ("/pipelines/nope", 404, "no pipeline 'nope'")):
        code, headers, body = get(demo_server, path)
        assert code == status, (path, code, body)
        assert headers["content-type"] == "application/json"
        assert words in json.loads(body)["error"], (path, body)


def test_the_api_is_read_only(demo_server: str) -> None:
    schema = get_json(demo_server, "/api/openapi.json")
    methods = {method for operations in schema["paths"].values() for method in operations}
    assert methods == {"get"}
    request = urllib.request.Request(demo_server + "/api/pipelines", method="POST", data=b"{}")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 405
    assert json.loads(refused.value.read())["error"] == "method not allowed"


def test_a_page_is_html_that_loads_its_script_and_charts_from_this_server(
        demo_server: str) -> None:
    status, headers, body = get(demo_server, "/pipelines/votes")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'src="/static/sluice.js"' in body and b"http" not in body
    assert "default-src 'self'" in headers["content-security-policy"]
    status, _, ours = get(demo_server, "/static/sluice.js")
    assert status == 200 and b'"/static/plotly.min.js"' in ours  # fetched for a chart
    status, headers, script = get(demo_server, "/static/plotly.min.js")
    assert status == 200 and script.startswith(b"/**\n* plotly.js")
    page = get_json(demo_server, "/api/pages/votes")
    assert [panel["source"] for panel in page["panels"]] == [
        "/api/pipelines/votes/weekly", "/api/pipelines/votes/views/outlier_weeks"]


def test_docs_api_md_is_what_the_schema_says() -> None:
    from sluice.web.apidoc import markdown, schema

    assert (REPO / "docs" / "api.md").read_text(encoding="utf-8") == markdown(schema()), (
        "docs/api.md is out of date: python -m sluice.web.apidoc > docs/api.md")


# --- an ingest beside the server ---------------------------------------------------------

def test_an_ingest_beside_the_server_is_never_waited_for_and_its_data_is_served(
        work: Path) -> None:
    warehouse = work / "warehouse.db"
    sluice("votes", "ingest", str(write_lines(work / "in" / "a.jsonl", _votes(1, 500))),
           cwd=work)
    with serving(warehouse, cwd=work) as base:
        assert _loaded(base) == 500
        # A writer holds the file (as an ingest does for its whole run): the server goes
        # on answering from its snapshot, every request.
        with _held(warehouse, read_only=False, seconds=3.0):
            answers = [get(base, "/api/pipelines/votes/weekly")[0] for _ in range(20)]
            assert set(answers) == {200} and _loaded(base) == 500
        # A real ingest while the server runs (waiting, if it must, for a snapshot copy):
        # committed, and then served.
        sluice("votes", "ingest", str(write_lines(work / "in" / "b.jsonl", _votes(501, 250))),
               cwd=work, env={"SLUICE_LOCK_WAIT": "30"})
        until(lambda: _loaded(base) == 750, "the served figures showing the new run")
        weekly = get_json(base, "/api/pipelines/votes/weekly")
        assert sum(week["vote_count"] for week in weekly["items"]) == 750


def test_a_command_waits_a_moment_for_a_warehouse_another_process_holds(work: Path) -> None:
    warehouse = work / "warehouse.db"
    first = write_lines(work / "in" / "a.jsonl", _votes(1, 10))
    sluice("votes", "ingest", str(first), cwd=work)
    second = write_lines(work / "in" / "b.jsonl", _votes(11, 10))
    with _held(warehouse, read_only=True, seconds=2.0):
        refused = sluice("votes", "ingest", str(second), cwd=work,
                         env={"SLUICE_LOCK_WAIT": "0"}, expect=3)
        assert "in use by another process" in refused.stderr
        sluice("votes", "ingest", str(second), cwd=work, env={"SLUICE_LOCK_WAIT": "30"})
    assert json.loads(sluice("runs", "--json", cwd=work).stdout)[0]["loaded"] == 10
    wrong = sluice("votes", "ingest", str(second), cwd=work, env={"SLUICE_LOCK_WAIT": "soon"},
                   expect=2)
    assert "SLUICE_LOCK_WAIT='soon' is not a number" in wrong.stderr


def test_serving_a_warehouse_that_is_not_there_is_a_clear_error(work: Path) -> None:
    missing = sluice("serve", "--port", "0", "--warehouse", str(work / "none.db"), cwd=work,
                     expect=2)
    assert "warehouse" in missing.stderr and "does not exist" in missing.stderr
    assert not (work / "none.db").exists()


def test_postgres_serves_what_is_committed_while_an_ingest_runs_beside_it(
        work: Path, postgres_url: str) -> None:  # noqa: F811
    env = {"SLUICE_WAREHOUSE": postgres_url}
    sluice("votes", "ingest", str(write_lines(work / "a.jsonl", _votes(1, 300))), cwd=work,
           env=env)
    with serving(postgres_url, cwd=work) as base:
        assert _loaded(base) == 300
        duck = work / "same.db"
        sluice("votes", "ingest", str(work / "a.jsonl"), "--warehouse", str(duck), cwd=work)
        for warehouse in (str(duck), postgres_url):
            sluice("votes", "outliers", "--warehouse", warehouse, cwd=work)
        with serving(duck, cwd=work) as duck_base:
            for path in ("/api/pipelines/votes/weekly",
                         "/api/pipelines/votes/views/outlier_weeks"):
                assert get_json(base, path) == get_json(duck_base, path)
        sluice("votes", "ingest", str(write_lines(work / "b.jsonl", _votes(301, 50))),
               cwd=work, env=env)
        until(lambda: _loaded(base) == 350, "the PostgreSQL server showing the new run")
        runs = get_json(base, "/api/runs")
        assert [run["loaded"] for run in runs["items"]] == [50, 300]


def test_serve_prints_its_address(work: Path) -> None:
    sluice("votes", "ingest", str(write_lines(work / "a.jsonl", _votes(1, 5))), cwd=work)
    process = subprocess.Popen([sys.executable, MAIN, "serve", "--port", "0"], cwd=work,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ})
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(f"serving {work / 'warehouse.db'} on http://127.0.0.1:")
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        assert get_json(f"http://127.0.0.1:{port}", "/api/pipelines/votes")["loaded"] == 5
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0 and "Traceback" not in errors, errors
