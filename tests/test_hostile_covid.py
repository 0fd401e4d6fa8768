"""Hostile use of `sluice covid ingest SOURCE` and `sluice covid report`, through the CLI
only: bodies that are not the API's (empty, the wrong JSON, other encodings, cut off, nested
a hundred thousand deep), a large response, hostile values in a day, hostile arguments and
URLs (a password in the URL must never be shown or stored), re-runs, and the report.

After every run: the exit code sluice promises (0 loaded, 2 usage, 5 a source not read),
its message in sluice's own words (no traceback, no engine text), and the ledger
(`sluice.files`) naming the source, as unreadable with the reason when it gave no usable
response, in which case nothing is in `covid.observations`.

The cases here are not registered with `hostile.tried`: that registry generates
docs/reliability.md, which this module leaves alone.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import hostile
import pytest
from covid_api import PATH, Answer, ScriptedServer, day, response, server

from conftest import query, sluice, sluice_json

ENGINE_TEXT = ("Traceback", "Error", "Exception", "duckdb", "DuckDB", "unexpected")
DATE_NOT_A_DAY = "Date is not a day (YYYY-MM-DD or YYYY-MM-DDT00:00:00Z)"
NOT_READ = "1 of 1 files could not be read (status unreadable, with the reason, in the ledger)"
BOM = b"\xef\xbb\xbf"
ONE_DAY = '[{"Country": "Singapore", "Cases": 1, "Date": "2020-03-01T00:00:00Z"}]'
SECRET = "pw-S3cr3t-9731"

__all__ = ["server"]  # the fixture, used by name


def db(work: Path) -> Path:
    return work / "warehouse.db"


def ledger(work: Path) -> list[tuple[Any, ...]]:
    return query(db(work), "SELECT path, status, note FROM sluice.files ORDER BY file_id")


def observations(work: Path) -> int:
    return int(query(db(work), "SELECT count(*) FROM covid.observations")[0][0])


def assert_no_engine_text(result: subprocess.CompletedProcess[str]) -> None:
    for text in ENGINE_TEXT:
        assert text not in result.stdout and text not in result.stderr, (
            text, result.stdout, result.stderr)


def assert_one_error_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """stderr is one line, `error: ...`, in sluice's words, holding every fragment."""
    assert_no_engine_text(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- 1. bodies that are not the API's ------------------------------------------------------


@dataclass(frozen=True)
class Body:
    content: bytes
    reason: str | None  # None: a usable response, loaded (exit 0)
    days: int = 0  # days loaded when usable


BODIES = {
    "empty (0 bytes)": Body(b"", "the body is empty"),
    "an empty array": Body(b"[]", None),
    "a JSON string": Body(b'"confirmed"', "expected a JSON array of days, got a string"),
    "a JSON number": Body(b"42", "expected a JSON array of days, got a number"),
    "JSON null": Body(b"null", "expected a JSON array of days, got null"),
    "JSON true": Body(b"true", "expected a JSON array of days, got true or false"),
    # JSON parsers may ignore a byte-order mark (RFC 8259, 8.1); the day is the same day.
    "a UTF-8 byte-order mark": Body(BOM + ONE_DAY.encode(), None, 1),
    "UTF-16 with its byte-order mark": Body(ONE_DAY.encode("utf-16"), None, 1),
    "invalid UTF-8 inside a string": Body(ONE_DAY.encode().replace(b"Singa", b"Sin\xffga"),
                                          "the body is not UTF-8 text"),
    "cut off in the middle": Body(ONE_DAY.encode()[:-20], "element 1 is not JSON"),
    "100000 unclosed [": Body(b"[" * 100_000, "element 1 nests too deeply"),
    "100000 nested arrays, closed": Body(b"[" * 100_000 + b"]" * 100_000,
                                         "element 1 nests too deeply"),
    "an array with a number after a day": Body(ONE_DAY.encode()[:-1] + b", 7]",
                                               "element 2 is not an object"),
    "an array of a string": Body(b'["2020-03-01"]', "element 1 is not an object"),
}


@pytest.mark.parametrize("over", ["file", "http"])
@pytest.mark.parametrize("name", list(BODIES))
def test_a_body_that_is_not_the_apis_is_unreadable_with_the_reason(
        tmp_path: Path, server: ScriptedServer, name: str, over: str) -> None:
    body = BODIES[name]
    if over == "file":
        (tmp_path / "body.json").write_bytes(body.content)
        source = "body.json"
    else:
        server.script = [Answer(body=body.content)]
        source = server.url
    result = sluice("covid", "ingest", source, cwd=tmp_path,
                    expect=0 if body.reason is None else 5)
    assert_no_engine_text(result)
    hostile.assert_promises(db(tmp_path))
    if body.reason is None:
        assert ledger(tmp_path) == [(source, "loaded", None)]
        assert observations(tmp_path) == body.days
        assert result.stderr == ""
        return
    assert f"{source}: {body.reason}" in result.stdout.splitlines()[-1]
    assert_one_error_line(result, NOT_READ)
    assert ledger(tmp_path) == [(source, "unreadable", body.reason)]
    assert observations(tmp_path) == 0
    if over == "http":
        assert len(server.requests) == 1, "a body that is not the API's is not asked again"


def test_a_deeply_nested_extra_field_is_not_an_unexpected_error(tmp_path: Path) -> None:
    nested = "[" * 400 + "]" * 400
    (tmp_path / "deep.json").write_text(
        f'[{{"Country": "Singapore", "Cases": 1, "Date": "2020-03-01", "X": {nested}}}]',
        encoding="utf-8")
    result = sluice("covid", "ingest", "deep.json", cwd=tmp_path, expect=None)
    assert result.returncode in (0, 5), (result.returncode, result.stderr)
    assert_no_engine_text(result)
    assert [row[:2] for row in ledger(tmp_path)] in (
        [("deep.json", "loaded")], [("deep.json", "unreadable")])


# --- 2. a large response -------------------------------------------------------------------

COUNTRIES = ("Singapore", "Malaysia", "Peru", "Chad")
DAYS = 1_000
ELEMENTS = 200_000
BAD_EVERY = 997  # every 997th element has a negative count: quarantined


def test_a_large_response_loads_whole_and_balances(tmp_path: Path) -> None:
    first = date(2020, 1, 1)
    elements = []
    for k in range(ELEMENTS):
        country, n = k % len(COUNTRIES), (k // len(COUNTRIES)) % DAYS
        elements.append({"Country": COUNTRIES[country], "Province": "", "City": "",
                         "Status": "confirmed",
                         "Cases": -1 if k % BAD_EVERY == 0 else 10 * n + country,
                         "Date": f"{first + timedelta(days=n)}T00:00:00Z"})
    (tmp_path / "large.json").write_text(json.dumps(elements), encoding="utf-8")
    run = sluice_json("covid", "ingest", "large.json", cwd=tmp_path)
    rejected = len(range(0, ELEMENTS, BAD_EVERY))
    assert run["read"] == ELEMENTS
    assert run["read"] == run["loaded"] + run["duplicates"] + run["rejected"]
    assert (run["loaded"], run["rejected"]) == (len(COUNTRIES) * DAYS, rejected)
    assert sorted(run["changes"]) == sorted(COUNTRIES)
    hostile.assert_promises(db(tmp_path))
    assert query(db(tmp_path), "SELECT count(*), count(DISTINCT (country, day)), "
                               "count(DISTINCT country) FROM covid.cases") == [
        (len(COUNTRIES) * DAYS, len(COUNTRIES) * DAYS, len(COUNTRIES))]
    wrong = query(db(tmp_path), "SELECT count(*) FROM covid.cases WHERE cumulative <> "
                                "10 * (day - DATE '2020-01-01') + CASE country "
                                "WHEN 'Singapore' THEN 0 WHEN 'Malaysia' THEN 1 "
                                "WHEN 'Peru' THEN 2 ELSE 3 END")
    assert wrong == [(0,)]
    reasons = query(db(tmp_path), "SELECT DISTINCT reasons FROM sluice.quarantine")
    assert reasons == [(["Cases is negative"],)]


# --- 3. hostile values in a day ------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    country: str  # JSON text
    cases: str  # JSON text
    when: str  # JSON text
    loaded: int | None  # the cumulative count loaded, or None: quarantined ...
    reasons: tuple[str, ...] = ()  # ... with these reasons

    @property
    def line(self) -> str:
        return f'{{"Country":{self.country},"Cases":{self.cases},"Date":{self.when}}}'


SG = '"Singapore"'
COTE_NAME = "C\u00f4te d\u2019Ivoire \U0001f9a0"  # a right single quote, an emoji
COTE = json.dumps(COTE_NAME)
OBRIEN = json.dumps("O'Brien")
VALUES = [
    Value(SG, "true", '"2020-03-01"', None, ("Cases is not a number",)),
    Value(SG, "false", '"2020-03-02"', None, ("Cases is not a number",)),
    Value(SG, str(10**30), '"2020-03-03"', None, ("Cases is out of range",)),
    Value(SG, "1e3", '"2020-03-04"', 1000),
    Value(SG, "-0", '"2020-03-05"', 0),
    Value(SG, '{"n":1}', '"2020-03-06"', None, ("Cases is not a number",)),
    Value(SG, "[1]", '"2020-03-07"', None, ("Cases is not a number",)),
    Value(SG, "1", "20200308", None, (DATE_NOT_A_DAY,)),
    Value(SG, "1", '"2020-3-9"', None, (DATE_NOT_A_DAY,)),
    Value(SG, "1", '"2020-03-10T00:00:00+08:00"', None, (DATE_NOT_A_DAY,)),
    Value(SG, "1", '"2020-03-11T00:00:00Z  "', None, (DATE_NOT_A_DAY,)),
    Value(SG, "1", '"2020-03-12  "', None, (DATE_NOT_A_DAY,)),
    Value(COTE, "3", '"2020-03-13"', 3),
    Value(OBRIEN, "4", '"2020-03-14"', 4),
    Value(COTE, "-1", '"2020-03-15"', None, ("Cases is negative",)),
    Value(OBRIEN, "5", '"March 16"', None, (DATE_NOT_A_DAY,)),
    Value(SG, str(2**63), '"2020-03-17"', None, ("Cases is out of range",)),
    Value(SG, "1.5e1", '"2020-03-18"', 15),
]


def test_hostile_values_are_loaded_exactly_or_quarantined_with_the_reason(
        tmp_path: Path) -> None:
    text = "[\n" + ",\n".join(v.line for v in VALUES) + "\n]\n"
    (tmp_path / "values.json").write_text(text, encoding="utf-8")
    run = sluice_json("covid", "ingest", "values.json", cwd=tmp_path)
    loaded = [v for v in VALUES if v.loaded is not None]
    assert (run["read"], run["loaded"], run["duplicates"], run["rejected"]) == (
        len(VALUES), len(loaded), 0, len(VALUES) - len(loaded))
    hostile.assert_promises(db(tmp_path))
    quarantined = {line: (raw, tuple(reasons)) for line, raw, reasons in query(
        db(tmp_path), "SELECT line_number, raw, reasons FROM sluice.quarantine")}
    assert quarantined == {n: (v.line, v.reasons) for n, v in enumerate(VALUES, 1)
                           if v.loaded is None}
    stored = query(db(tmp_path), "SELECT country, CAST(day AS VARCHAR), cumulative "
                                 "FROM covid.observations ORDER BY day")
    assert stored == [(json.loads(v.country), json.loads(v.when), v.loaded) for v in loaded]
    # The countries with a quote and with characters beyond ASCII are reported as named.
    assert sorted(run["changes"]) == sorted(["Singapore", COTE_NAME, "O'Brien"])
    for country in ("O'Brien", COTE_NAME):
        report = sluice_json("covid", "report", "--country", country, "--chart", "c.png",
                             cwd=tmp_path)
        assert report["country"] == country and (tmp_path / "c.png").is_file()
        (tmp_path / "c.png").unlink()


def test_the_raw_text_of_a_bare_nan_is_kept_as_it_arrived(tmp_path: Path) -> None:
    """NaN and Infinity are not JSON numbers (Python's parser and the engine's take
    them): the day is quarantined with its text exactly as it came."""
    (tmp_path / "nan.json").write_text(
        '[{"Country":"Singapore","Cases":NaN,"Date":"2020-03-01"},'
        '{"Country":"Singapore","Cases":-Infinity,"Date":"2020-03-02"}]', encoding="utf-8")
    sluice("covid", "ingest", "nan.json", cwd=tmp_path)
    assert query(db(tmp_path), "SELECT raw, reasons FROM sluice.quarantine "
                               "ORDER BY line_number") == [
        ('{"Country":"Singapore","Cases":NaN,"Date":"2020-03-01"}', ["Cases is not a number"]),
        ('{"Country":"Singapore","Cases":-Infinity,"Date":"2020-03-02"}',
         ["Cases is not a number"])]


def test_the_report_of_counts_the_ingest_accepted_does_not_fail(tmp_path: Path) -> None:
    top = 2**63 - 1  # loaded: the contract's BIGINT holds it
    days = [day(1, 0), day(2, top), day(3, 0), day(4, top)]  # one week, from Monday
    run = sluice_json("covid", "ingest", response(tmp_path / "big.json", days), cwd=tmp_path)
    assert run["loaded"] == 4
    result = sluice("covid", "report", "--chart", "c.png", cwd=tmp_path, expect=None)
    assert_no_engine_text(result)
    assert result.returncode == 0, result.stderr


# --- 4. hostile arguments ------------------------------------------------------------------

BAD_OPTIONS = [("--attempts", "0"), ("--attempts", "21"), ("--timeout", "0"),
               ("--timeout", "-1"), ("--timeout", "soon")]


@pytest.mark.parametrize(("option", "value"), BAD_OPTIONS)
def test_a_bad_fetch_option_is_a_usage_error_before_anything_is_asked(
        tmp_path: Path, server: ScriptedServer, option: str, value: str) -> None:
    result = sluice("covid", "ingest", server.url, option, value, cwd=tmp_path, expect=2)
    assert option in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert server.requests == [] and list(tmp_path.iterdir()) == []


def test_a_source_that_is_not_http_is_a_usage_error(tmp_path: Path) -> None:
    result = sluice("covid", "ingest", "ftp://x", cwd=tmp_path, expect=2)
    assert_one_error_line(result, "SOURCE ftp://x: only http:// and https:// URLs are fetched")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("source", ["http://", "https://", "HTTP://"])
def test_a_url_without_a_host_is_a_usage_error_not_asked_again(tmp_path: Path,
                                                               source: str) -> None:
    result = sluice("covid", "ingest", source, cwd=tmp_path, expect=2)
    assert_one_error_line(result, f"SOURCE {source}: the URL names no host")
    assert list(tmp_path.iterdir()) == []


def everything_written(work: Path) -> bytes:
    """Every byte of every file the runs left in the working folder."""
    return b"".join(p.read_bytes() for p in sorted(work.rglob("*")) if p.is_file())


def every_table(work: Path) -> str:
    tables = query(db(work), "SELECT schema_name, table_name FROM duckdb_tables() "
                             "WHERE database_name = current_database()")
    return repr({f"{s}.{t}": query(db(work), f'SELECT * FROM "{s}"."{t}"') for s, t in tables})


PASSWORD_CASES = {
    "a good answer with a bad day": ([Answer(body=json.dumps(
        [day(0, 5), day(1, -1)]).encode())], 0, "loaded", None),
    "404": ([Answer(status=404, body=SECRET.encode())], 5, "unreadable",
            "the server answered 404 Not Found"),
    "500 every time": ([Answer(status=500)], 5, "unreadable",
                       "the server answered 500 Internal Server Error (tried 2 times)"),
    "a body that is not JSON": ([Answer(body=b"<html>login</html>")], 5, "unreadable",
                                "the body is not JSON"),
    "a refused connection": ([], 5, "unreadable",
                             "cannot connect (Connection refused) (tried 2 times)"),
}


@pytest.mark.parametrize("case", list(PASSWORD_CASES))
def test_a_password_in_the_url_is_never_shown_or_stored(
        tmp_path: Path, server: ScriptedServer, case: str) -> None:
    script, code, status, note = PASSWORD_CASES[case]
    url = server.url if script else f"http://127.0.0.1:{closed_port()}{PATH}"
    server.script = script or server.script
    secret_url = url.replace("http://", f"http://reader:{SECRET}@")
    result = sluice("covid", "ingest", secret_url, "--attempts", "2", "--timeout", "2",
                    cwd=tmp_path, expect=code)
    shown_as = url.replace("http://", "http://reader:***@")
    assert SECRET not in result.stdout and SECRET not in result.stderr
    assert shown_as in result.stdout
    json_run = sluice_json("covid", "ingest", secret_url, "--attempts", "1", cwd=tmp_path,
                           expect=code)
    assert SECRET not in json.dumps(json_run)
    rows = ledger(tmp_path)
    assert [r[:2] for r in rows] == [(shown_as, status), (shown_as, "skipped" if
                                                          status == "loaded" else status)]
    assert rows[0][2] == note
    assert SECRET not in every_table(tmp_path)
    assert SECRET.encode() not in everything_written(tmp_path)
    if status == "loaded":
        assert query(db(tmp_path), "SELECT DISTINCT source FROM covid.observations") == [
            (shown_as,)]
        assert query(db(tmp_path), "SELECT source_file FROM sluice.quarantine") == [
            (shown_as,)]


def test_a_redirect_to_another_host_does_not_get_the_password(
        tmp_path: Path, server: ScriptedServer) -> None:
    other = ScriptedServer()
    try:
        elsewhere = f"http://localhost:{other.httpd.server_address[1]}{PATH}"
        server.script = [Answer(status=302, body=b"moved", headers=(("Location", elsewhere),))]
        secret_url = server.url.replace("http://", f"http://reader:{SECRET}@")
        sluice("covid", "ingest", secret_url, "--attempts", "1", cwd=tmp_path, expect=None)
        assert server.authorizations and server.authorizations[0] is not None
        assert other.authorizations == [None]
    finally:
        other.close()


MALFORMED_URLS = {
    "a port that is not a number": (f"http://reader:{SECRET}@127.0.0.1:notaport{PATH}",
                                    "not a valid URL (Port could not be cast"),
    "a port out of range": (f"http://reader:{SECRET}@127.0.0.1:99999{PATH}",
                            "not a valid URL (Port out of range"),
    "an unclosed IPv6 bracket": (f"http://reader:{SECRET}@[::1{PATH}",
                                 "not a valid URL (Invalid IPv6 URL)"),
    "a space in the path": (f"http://reader:{SECRET}@127.0.0.1:1/country/new zealand",
                            "a URL cannot hold spaces or control characters"),
}


@pytest.mark.parametrize("case", list(MALFORMED_URLS))
def test_a_malformed_url_is_a_usage_error_that_hides_the_password(tmp_path: Path,
                                                                  case: str) -> None:
    url, reason = MALFORMED_URLS[case]
    result = sluice("covid", "ingest", url, "--attempts", "1", cwd=tmp_path, expect=2)
    assert SECRET not in result.stdout + result.stderr
    assert_one_error_line(result, "SOURCE http://reader:***@", reason)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    """A working folder whose warehouse holds one country's figures."""
    sluice("covid", "ingest", response(tmp_path / "r.json", [day(n, n) for n in range(9)]),
           cwd=tmp_path)
    return tmp_path


def test_a_chart_that_is_a_folder_is_a_usage_error(loaded: Path) -> None:
    (loaded / "charts").mkdir()
    result = sluice("covid", "report", "--chart", "charts", cwd=loaded, expect=2)
    assert_one_error_line(result, "charts is a folder; name the file to write")
    assert list((loaded / "charts").iterdir()) == []


def test_a_chart_under_a_file_is_a_usage_error(loaded: Path) -> None:
    (loaded / "notes").write_text("keep me", encoding="utf-8")
    result = sluice("covid", "report", "--chart", "notes/c.png", cwd=loaded, expect=2)
    assert_one_error_line(result, "notes is a file, not a folder")
    assert (loaded / "notes").read_text(encoding="utf-8") == "keep me"


def test_a_chart_in_a_read_only_folder_is_a_usage_error(loaded: Path) -> None:
    folder = loaded / "locked"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("this user can write in a read-only folder (root)")
        result = sluice("covid", "report", "--chart", "locked/c.png", cwd=loaded, expect=2)
        assert_one_error_line(result, "cannot write in", "permission denied")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(stat.S_IRWXU)


def test_an_empty_country_is_a_usage_error(loaded: Path) -> None:
    result = sluice("covid", "report", "--country", "", cwd=loaded, expect=2)
    assert_one_error_line(result, "--country '': no figures for it",
                          "countries in the warehouse: Singapore")
    assert not (loaded / "covid-cases.png").exists()


# --- 5. re-runs ----------------------------------------------------------------------------

RESPONSE = json.dumps([day(n, 10 * n) for n in range(12)] + [day(12, "x")]).encode()


@pytest.mark.parametrize("order", ["file twice", "http twice", "http, then saved to a file"])
def test_the_same_response_again_changes_nothing(tmp_path: Path, server: ScriptedServer,
                                                 order: str) -> None:
    server.script = [Answer(body=RESPONSE)]
    (tmp_path / "saved.json").write_bytes(RESPONSE)
    first, second = {"file twice": ("saved.json", "saved.json"),
                     "http twice": (server.url, server.url),
                     "http, then saved to a file": (server.url, "saved.json")}[order]
    run = sluice_json("covid", "ingest", first, cwd=tmp_path)
    assert (run["loaded"], run["rejected"]) == (12, 1)
    before = hostile.snapshot(db(tmp_path))
    again = sluice_json("covid", "ingest", second, cwd=tmp_path)
    assert (again["files_skipped"], again["loaded"], again["rejected"]) == (1, 0, 0)
    assert again["changes"] == {} and again["headline"] == {}
    assert hostile.snapshot(db(tmp_path)) == before
    assert observations(tmp_path) == 12
    assert ledger(tmp_path)[1] == (second, "skipped",
                                   f"same content as {first}, already loaded")
    hostile.assert_promises(db(tmp_path))


# --- 6. the report -------------------------------------------------------------------------


@pytest.mark.parametrize("pipeline", ["covid", "cars"])
def test_a_report_of_a_warehouse_that_does_not_exist(tmp_path: Path, pipeline: str) -> None:
    """covid's report fails as cars' does: exit 2, one line; nothing is created."""
    result = sluice(pipeline, "report", cwd=tmp_path, expect=2)
    assert_one_error_line(result, "warehouse warehouse.db does not exist; run an ingest first")
    as_json = sluice(pipeline, "report", "--json", cwd=tmp_path, expect=2)
    assert json.loads(as_json.stderr)["exit_code"] == 2 and as_json.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_the_report_as_json(loaded: Path) -> None:
    report = json.loads(sluice("covid", "report", "--json", "--chart", "c.png",
                               cwd=loaded).stdout)
    assert set(report) == {"headline", "weekly", "revisions", "quality", "country", "chart"}
    assert report["country"] == "Singapore" and report["chart"] == "c.png"
    assert (loaded / "c.png").is_file()
    assert [h["total_cases"] for h in report["headline"]] == [8]
    assert sum(w["new_cases"] or 0 for w in report["weekly"]) == 8
    assert report["revisions"] == [] and report["quality"] == []
