"""The applications, shop, covid, cars and events parts of `sluice serve`, over real HTTP:
each route's figures against the input the test wrote or a direct query of the warehouse
(never the server's own code), bad parameters as 4xx with a message, a warehouse without
a pipeline's tables as 404 "no data", the events dashboard following the event service's
loads while both run, and the same answers on PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from covid_api import day, response
from postgres_server import postgres_url
from web_server import free_port, get, get_json, serving, until

from conftest import sluice, sluice_json
from sluice.pipelines.events.log import EventLog

__all__ = ["postgres_url"]

API = "/api/pipelines"


def read(warehouse: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """A direct read-only query of a warehouse file (the server reads its own copy)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def q(path: str, **params: str) -> str:
    return f"{path}?{urllib.parse.urlencode(params)}" if params else path


# --- inputs of the tests' own, with what they must give ------------------------------------

HEADER = "name,email,date_of_birth,mobile_no"
FIRST_DELIVERY = [
    "John Dixon,john.dixon@gmail.com,1986/01/10,12345678",
    "Mary Ann Smith,mary.smith@example.net,1990-05-20,87654321",
    "Dr. Ravi Kumar,ravi.kumar@gmail.com,03/07/1971,1234 5678",
    "Madonna,madonna@gmail.com,1958/08/16,12345678",
    "Anna Young,anna.young@school.org,2010/01/01,1234567",
]
SECOND_DELIVERY = [
    "John Dixon,john.dixon@gmail.com,1986-01-10,12345678",  # the same application again
    "Lee Chan,lee.chan@gmail.com,1999/12/31,11112222",
    "Cher,cher@gmail.com,1946/05/20,12345678",
    "Tom Baker,tom.baker@gmail.com,2015/06/01,123456",
    "Sam Green,sam.green@gmail.org,1980/02/20,12345678",
]
# Per run: applications, successful, unsuccessful, duplicates (from the rules in
# docs/applications.md applied to the lines above).
RUNS = [(5, 3, 2, 0), (5, 1, 3, 1)]
REASONS = Counter({"name has no last name": 2, "email does not end in .com or .net": 2,
                   "not over 18 on 2022-01-01": 2, "mobile_no has 7 digits, not 8": 1,
                   "mobile_no has 6 digits, not 8": 1})
UNSUCCESSFUL = 5


def fill_applications(folder: Path, warehouse: str) -> None:
    """Two runs of the inbox, one delivery each."""
    for n, lines in enumerate((FIRST_DELIVERY, SECOND_DELIVERY)):
        inbox = folder / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        (inbox / f"applications-{n}.csv").write_text("\n".join([HEADER, *lines]) + "\n",
                                                      encoding="utf-8")
        sluice("applications", "run", "--inbox", str(inbox), "--out", str(folder / "out"),
               "--min-age", "0", "--warehouse", warehouse, cwd=folder)


def check_applications(base: str, run_ids: list[int]) -> None:
    runs = get_json(base, f"{API}/applications/runs")
    assert runs["total"] == 2 and runs["offset"] == 0
    assert [(r["run_id"], r["applications"], r["successful"], r["unsuccessful"],
             r["duplicates"]) for r in runs["items"]] == [
        (run_id, *figures) for run_id, figures in zip(run_ids, RUNS, strict=True)]
    assert [r["success_rate"] for r in runs["items"]] == [3 / 5, 1 / 4]
    assert runs["overall_success_rate"] == 4 / 9
    assert all(r["finished"].endswith("Z") for r in runs["items"])
    second = get_json(base, f"{API}/applications/runs?limit=1&offset=1")
    assert second["items"] == runs["items"][1:] and second["total"] == 2
    summary = get_json(base, f"{API}/applications/summary")
    assert {k: v for k, v in summary.items() if k != "last_run_finished"} == {
        "runs": 2, "applications": 10, "successful": 4, "unsuccessful": 5, "duplicates": 1,
        "success_rate": 4 / 9}
    assert summary["last_run_finished"] == runs["items"][-1]["finished"]
    reasons = get_json(base, f"{API}/applications/reasons")
    assert reasons["total"] == len(REASONS)
    assert [(r["reason"], r["applications"]) for r in reasons["items"]] == sorted(
        REASONS.items(), key=lambda item: (-item[1], item[0]))
    assert [r["share"] for r in reasons["items"]] == [
        count / UNSUCCESSFUL for _, count in sorted(REASONS.items(),
                                                   key=lambda item: (-item[1], item[0]))]
    page = get_json(base, f"{API}/applications/reasons?limit=2&offset=3")
    assert page["items"] == reasons["items"][3:5] and page["total"] == len(REASONS)


# Cumulative counts a day (day n after 2020-03-01): Singapore with two missing days and a
# decrease, Malaysia whole (squares: new cases 1, 3, 5, ...).
SINGAPORE = {0: 10, 1: 12, 2: 15, 5: 30, 6: 31, 7: 40, 8: 38, 9: 41}
MALAYSIA = {n: n * n for n in range(10)}


def fill_covid(folder: Path, warehouse: str) -> None:
    days = [day(n, c) for n, c in SINGAPORE.items()]
    days += [day(n, c, Country="Malaysia", CountryCode="MY") for n, c in MALAYSIA.items()]
    sluice("covid", "ingest", response(folder / "response.json", days), "--warehouse",
           warehouse, cwd=folder)


def expected_days(counts: dict[int, int]) -> list[tuple[str, int | None, int | None, float | None,
                                                        bool, bool]]:
    """Day, cumulative, new cases, 7-day average, missing, decrease, by the documented
    rules: new cases only between two consecutive days with figures and never negative;
    the average only over 7 days that all have new cases."""
    rows: list[tuple[str, int | None, int | None, float | None, bool, bool]] = []
    new: list[int | None] = []
    for n in range(min(counts), max(counts) + 1):
        today, before = counts.get(n), counts.get(n - 1)
        change = (today - before if today is not None and before is not None
                  and n > min(counts) and today >= before else None)
        new.append(change)
        window = new[-7:]
        average = (sum(v for v in window if v is not None) / 7
                   if len(window) == 7 and all(v is not None for v in window) else None)
        decrease = today is not None and before is not None and today < before
        rows.append((f"2020-03-{n + 1:02d}", today, change, average, today is None,
                     decrease))
    return rows


def check_covid(base: str) -> None:
    assert get_json(base, f"{API}/covid/countries") == {"options": ["Malaysia", "Singapore"]}
    for country, counts in (("Singapore", SINGAPORE), ("Malaysia", MALAYSIA)):
        found = get_json(base, q(f"{API}/covid/daily", country=country))
        assert found["country"] == country and found["total"] == len(found["items"]) == 10
        got = [(d["day"], d["cumulative"], d["new_cases"], d["average_7d"], d["missing"],
                d["decrease"]) for d in found["items"]]
        wanted = expected_days(counts)
        assert [g[:3] + g[4:] for g in got] == [w[:3] + w[4:] for w in wanted]
        assert [g[3] for g in got] == pytest.approx([w[3] for w in wanted])
        assert found["missing_days"] == sum(1 for w in wanted if w[4])
        assert found["decreases"] == sum(1 for w in wanted if w[5])
    singapore = get_json(base, q(f"{API}/covid/daily", country="Singapore"))
    assert (singapore["missing_days"], singapore["decreases"]) == (2, 1)
    assert singapore["items"][8]["note"] == "decrease from 40"
    # No country asked: the first by name, as the page's country list shows first.
    assert get_json(base, f"{API}/covid/daily")["country"] == "Malaysia"
    page = get_json(base, q(f"{API}/covid/daily", country="Malaysia", limit="3", offset="7"))
    assert [d["average_7d"] for d in page["items"]] == pytest.approx([7.0, 9.0, 11.0])
    assert (page["total"], page["limit"], page["offset"]) == (10, 3, 7)


# Events as the service logs them. u1 opens with a and later with b (its 2 followups
# count for both); u2 opens with a twice, the earlier time is its first; u4's followup
# has no initial (counted nowhere); u5 opens at midnight, an upper bound's instant.
EVENTS = [
    ("initial", "u1", "a", "2026-01-01 10:00:00.000001"),
    ("followup", "u1", None, "2026-01-01 10:00:01.000000"),
    ("followup", "u1", None, "2026-01-01 10:00:02.000000"),
    ("initial", "u2", "a", "2026-01-01 11:00:00.500000"),
    ("initial", "u3", "b", "2026-01-02 09:00:00.000000"),
    ("followup", "u3", None, "2026-01-02 09:00:01.000000"),
    ("followup", "u4", None, "2026-01-02 09:30:00.000000"),
    ("initial", "u1", "b", "2026-01-03 00:00:00.000000"),
    ("initial", "u5", "a", "2026-01-02 00:00:00.000000"),
    ("initial", "u2", "a", "2026-01-01 09:00:00.000000"),
    ("followup", "u2", None, "2026-01-03 12:00:00.000000"),
]
# symbol: requests, earliest, latest, followups
EVERY_SYMBOL = {
    "a": (4, "2026-01-01 09:00:00.000000", "2026-01-02 00:00:00.000000", 3),
    "b": (2, "2026-01-02 09:00:00.000000", "2026-01-03 00:00:00.000000", 3),
}
RANGES = {
    ("2026-01-01", "2026-01-02"): {
        "a": (3, "2026-01-01 09:00:00.000000", "2026-01-01 11:00:00.500000", 3)},
    ("2026-01-01 10:30:00", "2026-01-02 12:00:00"): {
        "a": (2, "2026-01-01 11:00:00.500000", "2026-01-02 00:00:00.000000", 0),
        "b": (1, "2026-01-02 09:00:00.000000", "2026-01-02 09:00:00.000000", 1)},
    ("2026-01-02", "2026-01-02"): {},
    ("2026-01-02 00:00:00.000001", "2030-01-01"): {
        "b": (2, "2026-01-02 09:00:00.000000", "2026-01-03 00:00:00.000000", 3)},
}


def fill_events(folder: Path, warehouse: str) -> None:
    log = EventLog(folder / "log")
    for kind, uuid, symbol, at in EVENTS:
        log.write({"kind": kind, "uuid": uuid, "symbol": symbol,
                   "guess": True if kind == "initial" else None, "at": at})
    log.close()
    sluice("events", "ingest", "--log", str(folder / "log"), "--warehouse", warehouse,
           cwd=folder)


def as_rows(found: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {r["symbol"]: (r["requests"], r["earliest"], r["latest"], r["followups"])
            for r in found["items"]}


def check_events(base: str) -> None:
    found = get_json(base, f"{API}/events/symbols")
    assert found["columns"] == ["symbol", "requests", "earliest", "latest", "followups"]
    assert as_rows(found) == EVERY_SYMBOL and found["total"] == 2
    for (lower, upper), wanted in RANGES.items():
        ranged = get_json(base, q(f"{API}/events/range", lower=lower, upper=upper))
        assert as_rows(ranged) == wanted, (lower, upper)
        assert [r["symbol"] for r in ranged["items"]] == sorted(wanted)
    second = get_json(base, q(f"{API}/events/symbols", limit="1", offset="1"))
    assert as_rows(second) == {"b": EVERY_SYMBOL["b"]} and second["total"] == 2


# --- over the demo's warehouse -------------------------------------------------------------

def test_applications_runs_summary_and_reasons_match_the_ledger_and_quarantine(
        demo_server: str, demo_warehouse: Path) -> None:
    ledger = read(demo_warehouse, "SELECT run_id, records_read, loaded, rejected, duplicates "
                                  "FROM sluice.runs WHERE pipeline = 'applications' AND "
                                  "status = 'succeeded' ORDER BY run_id")
    runs = get_json(demo_server, f"{API}/applications/runs")
    assert [(r["run_id"], r["applications"], r["successful"], r["unsuccessful"],
             r["duplicates"]) for r in runs["items"]] == [tuple(row) for row in ledger]
    assert [r["success_rate"] for r in runs["items"]] == [
        loaded / (loaded + rejected) for _, _, loaded, rejected, _ in ledger]
    loaded, rejected = sum(r[2] for r in ledger), sum(r[3] for r in ledger)
    summary = get_json(demo_server, f"{API}/applications/summary")
    assert (summary["runs"], summary["successful"], summary["unsuccessful"]) == (
        len(ledger), loaded, rejected)
    assert summary["success_rate"] == loaded / (loaded + rejected)
    # Each reason on its own, counted here from the quarantine's rows.
    lists = read(demo_warehouse, "SELECT reasons FROM sluice.quarantine WHERE pipeline = "
                                 "'applications' AND superseded_by IS NULL")
    counted = Counter(reason for (reasons,) in lists for reason in reasons)
    wanted = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    whole = get_json(demo_server, f"{API}/applications/reasons?limit=1000")
    assert [(r["reason"], r["applications"]) for r in whole["items"]] == wanted
    assert whole["total"] == len(counted) > 3
    assert [r["share"] for r in whole["items"]] == [n / len(lists) for _, n in wanted]
    pages = [get_json(demo_server, f"{API}/applications/reasons?limit=3&offset={offset}")
             for offset in range(0, len(wanted), 3)]
    assert [item for p in pages for item in p["items"]] == whole["items"]
    headline = get_json(demo_server, f"{API}/applications")["headline"]
    assert headline.startswith(f"{loaded:,} of {loaded + rejected:,} applications successful")
    assert f"the most common reason: {wanted[0][0]} ({wanted[0][1]:,})" in headline


def test_the_applications_page_shows_the_shops_top_members_and_items(
        demo_server: str, demo_warehouse: Path) -> None:
    page = get_json(demo_server, "/api/pages/applications")
    by_source = {p["source"]: p for p in page["panels"]}
    members = by_source[f"{API}/shop/views/top_members_by_spending"]
    items = by_source[f"{API}/shop/views/top_items_by_quantity"]
    assert (members["page_size"], items["page_size"]) == (10, 3)
    shown = get_json(demo_server, f"{members['source']}?limit={members['page_size']}")
    top = read(demo_warehouse, "SELECT rank, membership_id, spending FROM "
                               "shop.member_spending ORDER BY rank, membership_id LIMIT 10")
    assert [(r["rank"], r["membership_id"], r["spending"]) for r in shown["items"]] == [
        (rank, member, float(spending)) for rank, member, spending in top]
    shown = get_json(demo_server, f"{items['source']}?limit={items['page_size']}")
    top = read(demo_warehouse, "SELECT quantity_rank, item, quantity FROM shop.item_popularity "
                               "WHERE quantity_rank <= 3 ORDER BY quantity_rank, item LIMIT 3")
    assert [(r["rank"], r["item"], r["quantity"]) for r in shown["items"]] == top
    kinds = [p["kind"] for p in page["panels"]]
    assert kinds[:4] == ["chart", "chart", "stats", "table"]
    for panel in page["panels"]:  # every panel's route answers
        get_json(demo_server, f"{panel['source']}?limit={panel['page_size']}"
                 if panel["kind"] == "table" else panel["source"])


def test_the_shop_page_shows_its_views_and_a_headline(demo_server: str,
                                                      demo_warehouse: Path) -> None:
    page = get_json(demo_server, "/api/pages/shop")
    assert [p["source"] for p in page["panels"]] == [
        f"{API}/shop/views/{name}" for name in
        ("top_members_by_spending", "top_items_by_quantity", "top_items_by_transactions")]
    ((member, spending),) = read(demo_warehouse, "SELECT membership_id, spending FROM "
                                                 "shop.member_spending WHERE rank = 1")
    ((item, quantity),) = read(demo_warehouse, "SELECT item, quantity FROM "
                                               "shop.item_popularity WHERE quantity_rank = 1")
    assert get_json(demo_server, f"{API}/shop")["headline"] == (
        f"top spender {member} ({spending:,}); most bought item {item} ({quantity:,} units)")


def test_covid_daily_is_the_warehouse_series_and_the_headline_the_reports(
        demo_server: str, demo_warehouse: Path, tmp_path: Path) -> None:
    assert get_json(demo_server, f"{API}/covid/countries") == {"options": ["Singapore"]}
    rows = read(demo_warehouse, 'SELECT "day", new_cases, average_7d, note FROM covid.daily '
                                "WHERE country = 'Singapore' ORDER BY \"day\"")
    found = get_json(demo_server, q(f"{API}/covid/daily", country="Singapore"))
    assert [(d["day"], d["new_cases"], d["average_7d"], d["note"]) for d in found["items"]] == [
        (str(when), new, average, note) for when, new, average, note in rows]
    assert found["total"] == len(rows) == 160
    page = get_json(demo_server, "/api/pages/covid")
    chart = page["panels"][0]
    assert chart["kind"] == "chart" and chart["source"] == f"{API}/covid/daily"
    assert chart["controls"][0]["options_from"] == f"{API}/covid/countries"
    assert [s["kind"] for s in chart["series"]] == ["bar", "line"]
    # The report recreates the models: on a copy (the demo's warehouse is only read).
    copy = tmp_path / "copy.db"
    shutil.copyfile(demo_warehouse, copy)
    report = sluice("covid", "report", "--country", "Singapore", "--chart",
                    str(tmp_path / "chart.png"), "--warehouse", str(copy), cwd=tmp_path).stdout
    headline = get_json(demo_server, f"{API}/covid")["headline"]
    assert headline.startswith("Singapore: 43,907 cases from 2020-01-23 to 2020-06-30")
    assert headline in " ".join(report.split())


def test_events_dashboards_match_the_warehouse_model(demo_server: str,
                                                     demo_warehouse: Path) -> None:
    """The routes compute from the raw events; the model `events.symbol_totals` is the
    pipeline's own SQL for the same rules."""
    model = read(demo_warehouse, "SELECT symbol, requests, strftime(earliest, "
                                 "'%Y-%m-%d %H:%M:%S.%f'), strftime(latest, "
                                 "'%Y-%m-%d %H:%M:%S.%f'), followups FROM "
                                 "events.symbol_totals ORDER BY symbol")
    found = get_json(demo_server, f"{API}/events/symbols?limit=1000")
    assert [tuple(r.values()) for r in found["items"]] == model and found["total"] == len(model)
    # A range cut at the median initial request's time, against the rules applied here
    # to the raw events.
    raw = read(demo_warehouse, "SELECT kind, uuid, symbol, strftime(\"at\", "
                               "'%Y-%m-%d %H:%M:%S.%f') FROM events.raw_events")
    initials = sorted(at for kind, _, _, at in raw if kind == "initial")
    lower, upper = initials[len(initials) // 4], initials[len(initials) // 2]
    wanted: dict[str, list[Any]] = {}
    first: dict[tuple[str, str], str] = {}
    sent = Counter(uuid for kind, uuid, _, _ in raw if kind == "followup")
    for kind, uuid, symbol, at in raw:
        if kind == "initial":
            first[(uuid, symbol)] = min(at, first.get((uuid, symbol), at))
            if lower <= at < upper:
                row = wanted.setdefault(symbol, [0, at, at, 0])
                row[0] += 1
                row[1], row[2] = min(row[1], at), max(row[2], at)
    for (uuid, symbol), at in first.items():
        if lower <= at < upper:
            wanted[symbol][3] += sent[uuid]
    ranged = get_json(demo_server, q(f"{API}/events/range", lower=lower, upper=upper,
                                     limit="1000"))
    assert as_rows(ranged) == {s: tuple(r) for s, r in wanted.items()}
    assert sum(r["requests"] for r in ranged["items"]) == len(initials) // 2 - len(initials) // 4
    page = get_json(demo_server, "/api/pages/events")
    assert page["refresh_seconds"] == 2
    assert [p["source"] for p in page["panels"]][:2] == [f"{API}/events/symbols",
                                                         f"{API}/events/range"]


def test_cars_predict_answers_what_the_command_answers(demo_server: str, demo_warehouse: Path,
                                                       tmp_path: Path) -> None:
    model = tmp_path / "saved.joblib"
    questions = [
        {"maint": "high", "doors": "4", "lug_boot": "big", "safety": "high", "class": "good"},
        {"maint": "low", "doors": "5more", "lug_boot": "small", "safety": "low",
         "class": "unacc"},
    ]

    def command(answers: dict[str, str]) -> Any:
        return sluice_json("cars", "predict", "--maint", answers["maint"], "--doors",
                           answers["doors"], "--lug-boot", answers["lug_boot"], "--safety",
                           answers["safety"], "--class", answers["class"], "--model",
                           str(model), cwd=tmp_path)

    said = [command(answers) for answers in questions]  # the first trains and saves
    assert said[0]["model"]["trained_now"] and not said[1]["model"]["trained_now"]
    # The demo's server has no saved model in its folder: it trained one in memory.
    for answers, expected in zip(questions, said, strict=True):
        found = get_json(demo_server, q(f"{API}/cars/predict", **answers))
        assert found["model"]["path"] is None and found["model"]["trained_now"] is True
        strip = {"path", "trained_now"}
        assert {**found, "model": {k: v for k, v in found["model"].items() if k not in strip}} \
            == {**expected, "model": {k: v for k, v in expected["model"].items()
                                      if k not in strip}}
    # Told where the saved model is, a server answers with it, exactly as the command.
    with serving(demo_warehouse, cwd=tmp_path,
                 env={"SLUICE_CARS_MODEL": str(model)}) as base:
        for answers, expected in zip(questions, said, strict=True):
            found = get_json(base, q(f"{API}/cars/predict", **answers))
            assert found == {**expected, "model": {**expected["model"], "trained_now": False}}
        headline = get_json(base, f"{API}/cars")["headline"]
        accuracy = said[0]["model"]
        assert headline == (f"the model ({accuracy['chosen']}) is right "
                            f"{accuracy['test_accuracy']:.0%} of the time on held-out cars; "
                            f"always guessing one price, "
                            f"{accuracy['baseline_test_accuracy']:.0%}")
    form = get_json(demo_server, "/api/pages/cars")["panels"][0]
    assert form["kind"] == "form" and form["source"] == f"{API}/cars/predict"
    assert {c["param"]: c["options"] for c in form["controls"]} == {
        "maint": ["low", "med", "high", "vhigh"], "doors": ["2", "3", "4", "5more"],
        "lug_boot": ["small", "med", "big"], "safety": ["low", "med", "high"],
        "class": ["unacc", "acc", "good", "vgood"]}


@pytest.mark.parametrize(("path", "status", "words"), [
    (q(f"{API}/cars/predict", maint="huge", doors="4", lug_boot="big", safety="high",
       **{"class": "good"}), 422, "maint: Input should be 'low', 'med', 'high' or 'vhigh'"),
    (q(f"{API}/cars/predict", maint="high", doors="4", lug_boot="big", safety="high"),
     422, "class: Field required"),
    (q(f"{API}/cars/predict", maint="high", doors="6", lug_boot="big", safety="high",
       **{"class": "good"}), 422, "doors: Input should be"),
    (q(f"{API}/covid/daily", country="Atlantis"), 404,
     "no figures for country 'Atlantis' (countries in the warehouse: Singapore)"),
    (q(f"{API}/covid/daily", country="Singapore", limit="0"), 422, "limit"),
    (q(f"{API}/covid/daily", country="Sing\x00apore"), 422, "NUL"),
    (q(f"{API}/events/range", lower="2026-01-02", upper="2026-01-01"), 400,
     "lower is after upper"),
    (q(f"{API}/events/range", lower="yesterday", upper="2026-01-01"), 422,
     "lower must be a date (YYYY-MM-DD) or a timestamp"),
    (q(f"{API}/events/range", lower="2026-02-30", upper="2026-03-01"), 422,
     "lower '2026-02-30' is not a real date"),
    (q(f"{API}/events/range", lower="2026-01-01", upper="2026-01-01 25:00:00"), 422,
     "upper '2026-01-01 25:00:00' is not a real date"),
    (q(f"{API}/events/range", lower="2026-01-01"), 422, "upper: Field required"),
    (q(f"{API}/events/symbols", limit="0"), 422, "limit"),
    (q(f"{API}/events/symbols", offset="-1"), 422, "offset"),
    (q(f"{API}/events/range", lower="2026-01-01", upper="2026-01-02", limit="1001"), 422,
     "limit"),
    (q(f"{API}/applications/runs", limit="0"), 422, "limit"),
    (q(f"{API}/applications/reasons", limit="0"), 422, "limit"),
    (f"{API}/events/live/symbols", 404, "set SLUICE_EVENTS_URL"),
])
def test_bad_parameters_are_a_4xx_with_a_message(demo_server: str, path: str, status: int,
                                                 words: str) -> None:
    code, headers, body = get(demo_server, path)
    assert code == status, body
    assert headers["content-type"].startswith("application/json")
    message = json.loads(body)["error"]
    assert words in message and "Traceback" not in message


# --- warehouses of the tests' own ----------------------------------------------------------

def test_the_routes_answer_from_inputs_of_known_outcome(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.db"
    fill_applications(tmp_path, str(warehouse))
    fill_covid(tmp_path, str(warehouse))
    fill_events(tmp_path, str(warehouse))
    run_ids = [row[0] for row in read(warehouse, "SELECT run_id FROM sluice.runs WHERE "
                                                 "pipeline = 'applications' ORDER BY run_id")]
    with serving(warehouse, cwd=tmp_path) as base:
        check_applications(base, run_ids)
        check_covid(base)
        check_events(base)
        assert get_json(base, f"{API}/applications")["headline"] == (
            "4 of 9 applications successful (44.4%) over 2 runs; the most common reason: "
            "email does not end in .com or .net (2)")
        assert get_json(base, f"{API}/events")["headline"] == (
            "6 initial requests for 2 symbols in the warehouse, 6 followups counted; the "
            "most requested: a (4)")


def test_the_same_answers_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    fill_applications(tmp_path, postgres_url)
    fill_covid(tmp_path, postgres_url)
    fill_events(tmp_path, postgres_url)
    with psycopg.connect(postgres_url) as con:
        run_ids = [row[0] for row in con.execute(
            "SELECT run_id FROM sluice.runs WHERE pipeline = 'applications' ORDER BY run_id")]
        daily = con.execute("SELECT \"day\", new_cases FROM covid.daily WHERE country = "
                            "'Singapore' ORDER BY \"day\"").fetchall()
    with serving(postgres_url, cwd=tmp_path) as base:
        check_applications(base, run_ids)
        check_covid(base)
        check_events(base)
        found = get_json(base, q(f"{API}/covid/daily", country="Singapore"))["items"]
        assert [(d["day"], d["new_cases"]) for d in found] == [(str(d), n) for d, n in daily]


def test_a_warehouse_without_a_pipelines_tables_answers_no_data(tmp_path: Path) -> None:
    (tmp_path / "log").mkdir()
    sluice("events", "ingest", "--log", str(tmp_path / "log"), "--warehouse",
           str(tmp_path / "w.db"), cwd=tmp_path)  # nothing to load: an empty warehouse
    assert (tmp_path / "w.db").is_file()
    with serving(tmp_path / "w.db", cwd=tmp_path) as base:
        for path, what in (
                (f"{API}/applications/runs", "applications"),
                (f"{API}/applications/summary", "applications"),
                (f"{API}/applications/reasons", "applications"),
                (f"{API}/covid/countries", "covid"),
                (q(f"{API}/covid/daily", country="Singapore"), "covid"),
                (f"{API}/events/symbols", "events"),
                (q(f"{API}/events/range", lower="2026-01-01", upper="2026-01-02"), "events")):
            found = get_json(base, path, status=404)
            assert list(found) == ["error"], path
            assert found["error"].startswith(f"no data for {what} in this warehouse yet"), path
        overview = get_json(base, API)
        assert {item["pipeline"]: item["headline"] for item in overview["items"]
                if item["pipeline"] in ("applications", "shop", "covid", "events", "cars")
                } == dict.fromkeys(("applications", "shop", "events", "covid", "cars"))


# --- the events dashboard while the event service runs -------------------------------------

class EventService:
    """`sluice events serve` in a process of its own, loading its log into `warehouse`
    every half second."""

    def __init__(self, folder: Path, warehouse: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = folder / "events-serve.log"
        with self.output.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sluice", "events", "serve", "--port", str(self.port),
                 "--log", str(folder / "log"), "--warehouse", str(warehouse),
                 "--load-every", "0.5", "--seal-after", "0.5"],
                cwd=folder, stdout=output, stderr=subprocess.STDOUT,
                # A load waits for the dashboard server's moment with the file.
                env={**os.environ, "SLUICE_LOCK_WAIT": "60"})
        until(self._up, "the event service to answer")

    def _up(self) -> bool:
        assert self.process.poll() is None, self.output.read_text(errors="replace")
        try:
            self.get("/dashboard/symbol/a")
            return True
        except OSError:
            return False

    def post(self, path: str) -> str:
        request = urllib.request.Request(self.url + path, method="POST")
        with urllib.request.urlopen(request, timeout=60) as answer:
            return str(answer.read().decode())

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=60) as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=120)


@pytest.fixture
def event_service(tmp_path: Path) -> Iterator[EventService]:
    service = EventService(tmp_path, tmp_path / "w.db")
    try:
        yield service
    finally:
        service.stop()


def _send(service: EventService, initials: dict[str, int], followups: dict[str, int],
          tag: str) -> None:
    """Initial requests per symbol (uuid `<tag><symbol><n>`), then followups of the first
    uuid of some symbols."""
    for symbol, count in initials.items():
        for n in range(count):
            assert service.post(f"/initial?uuid={tag}{symbol}{n}&symbol={symbol}") in (
                "True", "False")
    for symbol, count in followups.items():
        for _ in range(count):
            assert service.post(f"/followup?uuid={tag}{symbol}0") == "hooray"


def _service_rows(found: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {d["symbol"]: (d["count"], d["earliest"], d["latest"], d["followups"])
            for d in found}


def test_the_events_dashboard_follows_the_services_loads(tmp_path: Path,
                                                         event_service: EventService) -> None:
    warehouse = tmp_path / "w.db"
    until(warehouse.is_file, "the event service to create the warehouse")
    with serving(warehouse, cwd=tmp_path, env={"SLUICE_EVENTS_URL": event_service.url}) as base:
        assert get_json(base, f"{API}/events/symbols", status=404)["error"].startswith(
            "no data for events in this warehouse yet")
        _send(event_service, {"a": 5, "e": 3}, {"a": 2, "e": 1}, "one-")
        cut = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # after every answer

        def shows(counts: dict[str, int]) -> Callable[[], bool]:
            def check() -> bool:
                status, _, body = get(base, f"{API}/events/symbols")
                return status == 200 and {r["symbol"]: r["requests"] for r in
                                          json.loads(body)["items"]} == counts
            return check

        until(shows({"a": 5, "e": 3}), "the first events on the dashboard")
        symbols = get_json(base, f"{API}/events/symbols")
        assert {r["symbol"]: r["followups"] for r in symbols["items"]} == {"a": 2, "e": 1}
        _send(event_service, {"a": 2, "z": 4}, {"z": 3}, "two-")
        until(shows({"a": 7, "e": 3, "z": 4}), "the second events on the dashboard")
        # Everything is loaded: the warehouse's dashboards are the service's own, to the
        # microsecond, for every symbol and for a range cut between the two batches.
        everything = _service_rows(event_service.get("/dashboard/range/2000-01-01/2100-01-01"))
        assert as_rows(get_json(base, f"{API}/events/symbols")) == everything
        assert as_rows(get_json(base, f"{API}/events/live/symbols")) == everything
        path = "/".join(urllib.parse.quote(b) for b in ("2000-01-01", cut))
        before = _service_rows(event_service.get(f"/dashboard/range/{path}"))
        assert {s: (r[0], r[3]) for s, r in before.items()} == {"a": (5, 2), "e": (3, 1)}
        assert as_rows(get_json(base, q(f"{API}/events/range", lower="2000-01-01",
                                        upper=cut))) == before
        assert as_rows(get_json(base, q(f"{API}/events/live/range", lower="2000-01-01",
                                        upper=cut))) == before
        assert get_json(base, q(f"{API}/events/live/range", lower="2001-01-01",
                                upper="2000-01-01"), status=400) == {
            "error": "lower is after upper"}
        page = get_json(base, "/api/pages/events")
        assert f"{API}/events/live/symbols" in [p["source"] for p in page["panels"]]
        event_service.stop()
        down = get_json(base, f"{API}/events/live/symbols", status=503)
        assert down == {"error": f"the event service at {event_service.url} cannot be "
                                 "reached now"}
        # The warehouse's dashboard stands: the service loaded the rest as it stopped.
        assert as_rows(get_json(base, f"{API}/events/symbols")) == everything
