"""`sluice covid` as users run it: responses from files and over real HTTP into the
warehouse (every day loaded, duplicated or quarantined with its reasons; the ledger
names the response), overlapping responses upserted by day with every revision kept,
the series with its gaps and decreases explicit, and the report with its PNG chart."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from covid_api import ARCHIVE, Answer, ScriptedServer, day, response, server
from PIL import Image
from postgres_server import postgres_url

from conftest import query, sluice, sluice_json

__all__ = ["postgres_url", "server"]


def rows(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    return query(tmp_path / "warehouse.db", sql)


def test_the_archived_response_loads_whole_and_a_rerun_changes_nothing(tmp_path: Path) -> None:
    first = sluice_json("covid", "ingest", str(ARCHIVE), cwd=tmp_path)
    assert (first["read"], first["loaded"], first["rejected"]) == (1_142, 1_142, 0)
    assert first["changes"] == {"Singapore": {"new": 1_142, "revised": 0, "unchanged": 0,
                                                "older": 0}}
    figures = first["headline"]["Singapore"]
    archive = json.loads(ARCHIVE.read_text(encoding="utf-8"))
    counts = [d["Cases"] for d in archive]
    daily = [later - earlier for earlier, later in itertools.pairwise(counts)]
    peak = max(daily)
    assert figures["total_cases"] == counts[-1] == 2_235_294
    assert figures["peak_new_cases"] == peak
    assert figures["peak_day"] == archive[daily.index(peak) + 1]["Date"][:10]
    assert (figures["days"], figures["missing_days"], figures["revisions"]) == (1_142, 0, 0)
    # The 7-day average on the last day is the mean of the last seven differences.
    average = rows(tmp_path, "SELECT average_7d FROM covid.daily WHERE day = '2023-03-09'")
    assert average == [(sum(daily[-7:]) / 7,)]
    again = sluice_json("covid", "ingest", str(ARCHIVE), cwd=tmp_path)
    assert again["loaded"] == 0 and again["files_skipped"] == 1 and again["changes"] == {}
    assert rows(tmp_path, "SELECT count(*) FROM covid.observations") == [(1_142,)]
    ledger = rows(tmp_path, "SELECT path, sha256, status, records_read FROM sluice.files "
                            "ORDER BY file_id")
    assert ledger[0][0].endswith("singapore-confirmed.json") and len(ledger[0][1]) == 64
    assert [r[2:] for r in ledger] == [("loaded", 1_142), ("skipped", 0)]


def test_overlapping_responses_upsert_by_day_and_keep_every_revision(tmp_path: Path) -> None:
    older = response(tmp_path / "march.json", [day(n, 100 + 10 * n) for n in range(10)],
                     modified=1_600_000_000)
    # A month later: days 5 to 14, day 7 and day 8 corrected upwards.
    later = [day(n, 100 + 10 * n + (5 if n in (7, 8) else 0)) for n in range(5, 15)]
    newer = response(tmp_path / "april.json", later, modified=1_600_100_000)
    sluice_json("covid", "ingest", older, cwd=tmp_path)
    second = sluice_json("covid", "ingest", newer, cwd=tmp_path)
    assert second["changes"]["Singapore"] == {"new": 5, "revised": 2, "unchanged": 3,
                                                   "older": 0}
    assert rows(tmp_path, "SELECT count(*), count(DISTINCT day) FROM covid.cases") == [(15, 15)]
    assert rows(tmp_path, "SELECT cumulative FROM covid.cases WHERE day = '2020-03-08'") == [
        (175,)]
    revisions = rows(tmp_path, "SELECT day, old_cumulative, new_cumulative, old_source, "
                               "new_source FROM covid.revisions ORDER BY day")
    assert [(str(r[0]), r[1], r[2]) for r in revisions] == [
        ("2020-03-08", 170, 175), ("2020-03-09", 180, 185)]
    assert all(r[3].endswith("march.json") and r[4].endswith("april.json") for r in revisions)
    report = sluice_json("covid", "report", cwd=tmp_path)
    assert report["headline"][0]["revisions"] == 2
    assert [r["day"] for r in report["revisions"]] == ["2020-03-08", "2020-03-09"]


def test_the_later_response_wins_whatever_order_they_arrive_in(tmp_path: Path) -> None:
    """Responses are ordered by when they were fetched (a saved one: its file's time),
    so an old archive ingested late does not undo a newer correction."""
    newer = response(tmp_path / "new.json", [day(0, 5), day(1, 9)], modified=1_600_100_000)
    older = response(tmp_path / "old.json", [day(0, 5), day(1, 7)], modified=1_600_000_000)
    sluice_json("covid", "ingest", newer, cwd=tmp_path)
    late = sluice_json("covid", "ingest", older, cwd=tmp_path)
    assert late["changes"]["Singapore"] == {"new": 0, "revised": 0, "unchanged": 0,
                                                 "older": 2}
    assert rows(tmp_path, "SELECT cumulative FROM covid.cases WHERE day = '2020-03-02'") == [
        (9,)]
    assert rows(tmp_path, "SELECT old_cumulative, new_cumulative FROM covid.revisions") == [
        (7, 9)]


def test_gaps_and_decreases_are_explicit_never_filled_in(tmp_path: Path) -> None:
    # Days 0-9 with 3 and 4 missing, and a decrease on day 8.
    counts = {0: 10, 1: 12, 2: 15, 5: 30, 6: 31, 7: 40, 8: 38, 9: 41}
    sluice_json("covid", "ingest", response(tmp_path / "r.json",
                                            [day(n, c) for n, c in counts.items()]),
                cwd=tmp_path)
    daily = rows(tmp_path, "SELECT day, cumulative, new_cases, note FROM covid.daily ORDER BY day")
    assert [(r[1], r[2], r[3]) for r in daily] == [
        (10, None, "first day"), (12, 2, None), (15, 3, None), (None, None, "missing"),
        (None, None, "missing"), (30, None, "the day before is missing"), (31, 1, None),
        (40, 9, None), (38, None, "decrease from 40"), (41, 3, None)]
    quality = rows(tmp_path, "SELECT day, issue, detail FROM covid.quality ORDER BY day")
    assert [(str(r[0]), r[1]) for r in quality] == [
        ("2020-03-04", "missing day"), ("2020-03-05", "missing day"), ("2020-03-09", "decrease")]
    assert quality[2][2] == "the cumulative count fell from 40 to 38"
    # No 7-day window is whole, so there is no average; weeks say how many days count.
    assert rows(tmp_path, "SELECT count(average_7d) FROM covid.daily") == [(0,)]
    weekly = rows(tmp_path, "SELECT week_start, new_cases, days_counted, complete "
                            "FROM covid.weekly ORDER BY week_start")
    assert [(str(w[0]), w[1], w[2], w[3]) for w in weekly] == [
        ("2020-02-24", None, 0, False), ("2020-03-02", 15, 4, False),
        ("2020-03-09", 3, 1, False)]
    headline = sluice_json("covid", "report", "--chart", "c.png", cwd=tmp_path)["headline"][0]
    assert (headline["missing_days"], headline["decreases"], headline["total_cases"]) == (
        2, 1, 41)
    assert (headline["peak_day"], headline["peak_new_cases"]) == ("2020-03-08", 9)


def test_bad_days_are_quarantined_with_every_reason_and_the_rest_load(tmp_path: Path) -> None:
    lines = [
        '{"Country": "Singapore", "Cases": 5, "Date": "2020-03-01T00:00:00Z"}',
        '{"Country": "Singapore", "Cases": 5, "Date": "2020-03-01T00:00:00Z"}',  # duplicate
        '{"Country": "Singapore", "Cases": 6, "Date": "2020-03-01"}',  # conflict
        '{"Country": "Singapore", "Cases": -1, "Date": "2020-03-02"}',
        '{"Country": "Singapore", "Cases": 2.5, "Date": "2020-03-02"}',
        '{"Country": "Singapore", "Cases": "7", "Date": "2020-03-02"}',
        '{"Country": "Singapore", "Cases": NaN, "Date": "2020-03-02"}',
        '{"Country": "Singapore", "Cases": 7, "Cases": 8, "Date": "2020-03-02"}',
        '{"Country": "Singapore", "Cases": 7, "Date": "2020-02-30"}',
        '{"Country": "Singapore", "Cases": 7, "Date": "2020-03-02T12:00:00Z"}',
        '{"Country": "Singapore", "Cases": 7, "Date": "1999-03-02"}',
        '{"Country": "Singapore", "Cases": 7, "Date": "2999-03-02"}',
        '{"Country": "Singapore", "Province": "East", "Cases": 7, "Date": "2020-03-02"}',
        '{"Country": "Singapore", "Status": "deaths", "Cases": 7, "Date": "2020-03-02"}',
        '{"Country": "  ", "Cases": 7, "Date": "2020-03-02"}',
        '{"Cases": null, "Date": null}',
        '{"Country": "Singapore", "Cases": 9, "Date": "2020-03-03"}',
    ]
    path = tmp_path / "mixed.json"
    path.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
    run = sluice_json("covid", "ingest", str(path), cwd=tmp_path)
    assert (run["read"], run["loaded"], run["duplicates"], run["rejected"]) == (17, 2, 1, 14)
    reasons = {line: tuple(why) for line, why in rows(
        tmp_path, "SELECT line_number, reasons FROM sluice.quarantine ORDER BY line_number")}
    assert reasons == {
        3: ("conflict: a record with this observation_key was loaded first with different "
            "content",),
        4: ("Cases is negative",), 5: ("Cases is not a whole number",),
        6: ("Cases is not a number",), 7: ("Cases is not a number",),
        8: ("duplicate field Cases",),
        9: ("Date is not a day (YYYY-MM-DD or YYYY-MM-DDT00:00:00Z)",),
        10: ("Date is not a day (YYYY-MM-DD or YYYY-MM-DDT00:00:00Z)",),
        11: ("Date is before COVID-19 (2019-12-01)",),
        12: ("Date is after the response was fetched",),
        13: ("Province is 'East': a part of the country, not the country's own figure",),
        14: ("Status is 'deaths', not confirmed",),
        15: ("Country is blank",),
        16: ("missing Country", "missing Date", "missing Cases"),
    }
    kept = rows(tmp_path, "SELECT raw FROM sluice.quarantine WHERE line_number = 8")
    assert kept == [(lines[7],)]  # as it arrived
    named = rows(tmp_path, "SELECT DISTINCT q.source_file, f.path FROM sluice.quarantine q "
                           "JOIN sluice.files f USING (file_id)")
    assert len(named) == 1 and named[0][0] == named[0][1] and named[0][0].endswith("mixed.json")


def test_a_response_over_real_http_is_loaded_and_named_by_its_url(
        tmp_path: Path, server: ScriptedServer) -> None:
    body = json.dumps([day(n, 10 * n) for n in range(5)]).encode()
    server.script = [Answer(status=503), Answer(body=body)]
    secret_url = server.url.replace("http://", "http://reader:s3cret@")
    run = sluice_json("covid", "ingest", secret_url, "--timeout", "2", cwd=tmp_path)
    assert run["loaded"] == 5 and run["attempts"] == 2
    assert len(server.requests) == 2
    assert server.authorizations[-1] == "Basic cmVhZGVyOnMzY3JldA=="  # reader:s3cret
    ledger = rows(tmp_path, "SELECT path FROM sluice.files")
    assert ledger == [(secret_url.replace("s3cret", "***"),)]
    assert rows(tmp_path, "SELECT DISTINCT source FROM covid.observations") == ledger
    text = sluice("covid", "ingest", server.url, cwd=tmp_path).stdout
    assert "same content as" in text and "already loaded" in text


def test_a_source_that_gives_no_response_is_recorded_unreadable(
        tmp_path: Path, server: ScriptedServer) -> None:
    server.script = [Answer(status=404, body=b"no such country")]
    failed = sluice("covid", "ingest", server.url, cwd=tmp_path, expect=5)
    assert "the server answered 404 Not Found" in failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr
    assert rows(tmp_path, "SELECT path, status, note FROM sluice.files") == [
        (server.url, "unreadable", "the server answered 404 Not Found")]
    server.script = [Answer(body=b'{"message": "rate limited"}')]
    shape = sluice("covid", "ingest", server.url, cwd=tmp_path, expect=5)
    assert "expected a JSON array of days, got a JSON object" in shape.stdout
    assert rows(tmp_path, "SELECT count(*) FROM covid.observations") == [(0,)]


@pytest.mark.parametrize(("argument", "message"), [
    ("missing.json", "no such file"), (".", "a folder"),
])
def test_a_source_that_is_not_there_is_a_usage_error(tmp_path: Path, argument: str,
                                                      message: str) -> None:
    failed = sluice("covid", "ingest", argument, cwd=tmp_path, expect=2)
    assert message in failed.stderr and "Traceback" not in failed.stderr
    assert not (tmp_path / "warehouse.db").exists()


def test_the_report_draws_the_chart_and_needs_a_country_when_there_are_several(
        tmp_path: Path) -> None:
    sluice_json("covid", "ingest", str(ARCHIVE), cwd=tmp_path)
    text = sluice("covid", "report", "--chart", "charts/sg.png", cwd=tmp_path).stdout
    assert "Singapore: 2,235,294 cases from 2020-01-23 to 2023-03-09" in text
    assert "chart: charts/sg.png" in text
    with Image.open(tmp_path / "charts" / "sg.png") as chart:
        assert chart.format == "PNG" and chart.size == (1100, 500)
        colours = chart.convert("RGB").getcolors(maxcolors=1 << 16) or []
    assert len(colours) > 50  # bars, the line, text: not a blank image
    assert not list((tmp_path / "charts").glob("*.partial"))
    other = [day(n, n, Country="Malaysia") for n in range(3)]
    sluice_json("covid", "ingest", response(tmp_path / "my.json", other), cwd=tmp_path)
    several = sluice("covid", "report", cwd=tmp_path, expect=2)
    assert "2 countries (Malaysia, Singapore): name one with --country" in several.stderr
    unknown = sluice("covid", "report", "--country", "Atlantis", cwd=tmp_path, expect=2)
    assert "no figures for it" in unknown.stderr
    chosen = sluice_json("covid", "report", "--country", "Malaysia", cwd=tmp_path)
    assert chosen["country"] == "Malaysia" and (tmp_path / "covid-cases.png").is_file()
    assert [h["country"] for h in chosen["headline"]] == ["Malaysia", "Singapore"]


def test_the_report_of_an_empty_warehouse_says_so(tmp_path: Path) -> None:
    sluice_json("covid", "ingest", response(tmp_path / "none.json", []), cwd=tmp_path)
    text = sluice("covid", "report", cwd=tmp_path).stdout
    assert "no figures yet" in text and not (tmp_path / "covid-cases.png").exists()


def test_the_same_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    """Overlapping responses with a revision, a gap and a bad day, on PostgreSQL: the
    same counts, series and report as on DuckDB."""
    older = response(tmp_path / "march.json", [day(n, 10 * n) for n in (0, 1, 2, 4)],
                     modified=1_600_000_000)
    newer = response(tmp_path / "april.json",
                     [day(2, 25), day(4, 40), day(5, 55), day(6, "x")],
                     modified=1_600_100_000)
    env = {"SLUICE_WAREHOUSE": postgres_url}
    first = sluice_json("covid", "ingest", older, cwd=tmp_path, env=env)
    second = sluice_json("covid", "ingest", newer, cwd=tmp_path, env=env)
    assert (first["loaded"], second["loaded"], second["rejected"]) == (4, 3, 1)
    assert second["changes"]["Singapore"] == {"new": 1, "revised": 1, "unchanged": 1,
                                              "older": 0}
    report = sluice_json("covid", "report", "--chart", "pg.png", cwd=tmp_path, env=env)
    headline = report["headline"][0]
    assert (headline["days"], headline["missing_days"], headline["total_cases"],
            headline["revisions"]) == (6, 1, 55, 1)
    assert [(r["day"], r["old_cumulative"], r["new_cumulative"]) for r in report["revisions"]
            ] == [("2020-03-03", 20, 25)]
    assert [q["day"] for q in report["quality"]] == ["2020-03-04"]
    assert (tmp_path / "pg.png").is_file()
