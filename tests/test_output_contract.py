"""One output contract for every verb (docs/architecture.md, "Output"): the same words for
the same counts in text and JSON, JSON numbers as numbers, times in UTC with a `Z`,
errors under `--json` as JSON, counts with thousands separators, `--help` without type
names."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import sluice, sluice_json, vote, write_lines
from sluice import console
from sluice.registry import View, pipelines

NOT_GZIP = b"\x1f\x8b\x08\x00 this is not gzip data at all" * 20
RUN_TOTALS = ["run_id", "pipeline", "status", "files", "files_skipped", "files_unreadable",
              "read", "loaded", "duplicates", "rejected"]
FILE_DETAIL = ["path", "status", "sha256", "read", "loaded", "duplicates", "rejected", "note"]
RUNS_ROW = ["run_id", "pipeline", "verb", "status", "started", "finished", "seconds", "files",
            "files_skipped", "files_unreadable", "read", "loaded", "duplicates", "rejected",
            "error"]
# The words of a run's counts in every text table (ingest, runs, demo).
TEXT_COUNTS = ["files", "skipped", "unreadable", "read", "loaded", "duplicates", "rejected"]
ADVOCACY_VIEWS = ["files", "top_advocates_by_sales", "top_advocates_by_engagement",
                  "top_advocates_by_reach", "sales_concentration", "engagement_by_platform",
                  "sales_by_brand", "engagement_by_brand", "sales_by_program",
                  "engagement_by_program", "engagement_and_sales",
                  "sales_by_engagement_quartile", "outliers", "data_quality_issues",
                  "data_quality_by_field", "data_quality_by_platform"]


def votes_file(work: Path) -> Path:
    """Six lines: three good votes, a duplicate, a conflict and a broken line."""
    return write_lines(work / "in" / "votes.jsonl", [
        vote(1), vote(2), vote(1), vote(2, post=9), "not json", vote(3)])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def header(printed: str) -> list[str]:
    """The column names of the first table in a text output."""
    line = next(line for line in printed.splitlines() if line.startswith("┃"))
    return [cell.strip() for cell in line.strip("┃").split("┃")]


def cells(printed: str, start: str) -> list[str]:
    """The cells of the first table row that starts with `start`."""
    row = next(line for line in printed.splitlines() if line.startswith(start))
    return [cell.strip() for cell in row.strip("│").split("│")]


def is_utc_time(text: object) -> bool:
    return (isinstance(text, str) and text.endswith("Z")
            and datetime.fromisoformat(text).tzinfo == UTC)


# --- ingest ------------------------------------------------------------------------------------


def test_ingest_json_is_exactly_the_runs_counts(work: Path) -> None:
    path = votes_file(work)
    assert sluice_json("votes", "ingest", str(path), cwd=work) == {
        "run_id": 1, "pipeline": "votes", "status": "succeeded", "files": 1,
        "files_skipped": 0, "files_unreadable": 0, "read": 6, "loaded": 3, "duplicates": 1,
        "rejected": 2,
        "file_details": [{"path": str(path), "status": "loaded", "sha256": sha256(path),
                          "read": 6, "loaded": 3, "duplicates": 1, "rejected": 2,
                          "note": None}],
        "file_details_omitted": 0}
    again = sluice_json("votes", "ingest", str(path), cwd=work)
    assert {k: again[k] for k in RUN_TOTALS} == {
        "run_id": 2, "pipeline": "votes", "status": "succeeded", "files": 1,
        "files_skipped": 1, "files_unreadable": 0, "read": 0, "loaded": 0, "duplicates": 0,
        "rejected": 0}
    assert list(again) == [*RUN_TOTALS, "file_details", "file_details_omitted"]
    assert list(again["file_details"][0]) == FILE_DETAIL


def test_ingest_that_commits_but_cannot_read_a_file(work: Path) -> None:
    """Exit 5: the summary on stdout, the error as JSON on stderr."""
    path = votes_file(work)
    (work / "in" / "bad.jsonl.gz").write_bytes(NOT_GZIP)
    result = sluice("votes", "ingest", str(path.parent), "--json", cwd=work, expect=5)
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in RUN_TOTALS} == {
        "run_id": 1, "pipeline": "votes", "status": "succeeded", "files": 2,
        "files_skipped": 0, "files_unreadable": 1, "read": 6, "loaded": 3, "duplicates": 1,
        "rejected": 2}
    error = json.loads(result.stderr)
    assert error == {"error": "1 of 2 files could not be read (status unreadable, with the "
                              "reason, in the ledger); the rest was committed in run 1",
                     "exit_code": 5}


def test_ingest_text_uses_the_same_words(work: Path) -> None:
    printed = sluice("votes", "ingest", str(votes_file(work)), cwd=work).stdout
    assert header(printed) == ["file", "status", "read", "loaded", "duplicates", "rejected"]
    assert "quarantined" not in printed


# --- runs --------------------------------------------------------------------------------------


def test_runs_json_uses_the_ingest_names_and_utc_times(work: Path) -> None:
    path = votes_file(work)
    ingest = sluice_json("votes", "ingest", str(path), cwd=work)
    (work / "in" / "bad.jsonl.gz").write_bytes(NOT_GZIP)
    sluice("votes", "ingest", str(path.parent), cwd=work, expect=5)
    runs = sluice_json("runs", cwd=work)
    assert [list(run) for run in runs] == [RUNS_ROW, RUNS_ROW]
    newest, first = runs
    assert {k: first[k] for k in RUN_TOTALS} == {k: ingest[k] for k in RUN_TOTALS}
    assert {k: newest[k] for k in RUN_TOTALS} == {
        "run_id": 2, "pipeline": "votes", "status": "succeeded", "files": 2,
        "files_skipped": 1, "files_unreadable": 1, "read": 0, "loaded": 0, "duplicates": 0,
        "rejected": 0}
    for run in runs:
        assert (run["verb"], run["error"]) == ("ingest", None)
        assert is_utc_time(run["started"]) and is_utc_time(run["finished"])
        assert isinstance(run["seconds"], float) and run["seconds"] >= 0


def test_runs_text_has_the_same_words_times_with_z_and_separators(work: Path) -> None:
    sluice("votes", "generate", "v.jsonl", "--votes", "1500", "--clean", cwd=work)
    ingest = sluice("votes", "ingest", "v.jsonl", cwd=work).stdout
    assert cells(ingest, "│ v.jsonl ") == ["v.jsonl", "loaded", "1,500", "1,500", "0", "0"]
    printed = sluice("runs", cwd=work).stdout
    assert header(printed) == ["run_id", "pipeline", "verb", "status", "started", "seconds",
                               *TEXT_COUNTS, "error"]
    row = cells(printed, "│ ")
    assert is_utc_time(row[4])
    assert row[6:13] == ["1", "0", "0", "1,500", "1,500", "0", "0"]


def test_runs_on_a_warehouse_without_a_ledger(work: Path) -> None:
    duckdb.connect(str(work / "empty.db")).close()
    assert sluice_json("runs", "--warehouse", "empty.db", cwd=work) == []
    assert header(sluice("runs", "--warehouse", "empty.db", cwd=work).stdout)[0] == "run_id"


# --- report and views --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def advocacy_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("contract")
    sluice("advocacy", "generate", "export", "--advocates", "300", cwd=work)
    sluice("advocacy", "ingest", "export", cwd=work)
    return work


def test_the_pipelines_declare_their_views() -> None:
    declared = {p.name: [v.name for v in p.views] for p in pipelines()}
    assert {name: declared[name] for name in ("votes", "advocacy", "applications")} == {
        "votes": ["outlier_weeks"], "advocacy": ADVOCACY_VIEWS,
        "applications": ["applications", "shared_membership_ids"]}
    with pytest.raises(ValueError, match="snake_case"):
        View("Top advocates", "top advocates", "SELECT 1")


@pytest.mark.parametrize("view", [v for p in pipelines() for v in p.views],
                         ids=lambda v: v.name)
def test_view_sql_is_portable(view: View) -> None:
    """Runs unchanged on DuckDB and PostgreSQL: none of DuckDB's own spellings."""
    for duckdb_only in (r"\bround\s*\(", r"\bgroup\s+by\s+all\b", r"\bstrftime\b", r"\bepoch\b",
                        r"\bany_value\b", r"\bquantile", r"::", r"\bdouble\b(?!\s+precision)"):
        assert not re.search(duckdb_only, view.sql, re.IGNORECASE), (view.name, duckdb_only)


def test_report_json_carries_the_views_by_name_with_numbers(advocacy_warehouse: Path) -> None:
    report = sluice_json("advocacy", "report", cwd=advocacy_warehouse)
    assert list(report) == [*ADVOCACY_VIEWS, "more", "settings", "totals", "findings"]
    assert set(report["more"]) == set(ADVOCACY_VIEWS)
    # The columns the report had before it grew come first, or are all there (advocacy's
    # group sections rank their rows: `rank` leads).
    assert {k: list(report[k][0])[:len(old)] for k, old in {
        "files": ["outcome", "files"],
        "top_advocates_by_sales": ["rank", "name", "advocate_id", "sales"],
        "top_advocates_by_engagement": ["rank", "name", "advocate_id", "engagement",
                                        "engagement_rate"],
        "top_advocates_by_reach": ["rank", "name", "advocate_id", "reach"],
        "outliers": ["metric", "advocates", "fence", "largest"],
        "data_quality_issues": ["entity", "field", "rule", "issues"]}.items()} == {
        "files": ["outcome", "files"],
        "top_advocates_by_sales": ["rank", "name", "advocate_id", "sales"],
        "top_advocates_by_engagement": ["rank", "name", "advocate_id", "engagement",
                                        "engagement_rate"],
        "top_advocates_by_reach": ["rank", "name", "advocate_id", "reach"],
        "outliers": ["metric", "advocates", "fence", "largest"],
        "data_quality_issues": ["entity", "field", "rule", "issues"]}
    assert {"platform", "tasks", "tasks_measured", "engagement", "reach",
            "engagement_rate"} <= set(report["engagement_by_platform"][0])
    assert {"brand", "memberships", "memberships_with_sales", "sales"} <= set(
        report["sales_by_brand"][0])
    numbers = [row[key] for rows, key in (
        (report["top_advocates_by_sales"], "sales"),
        (report["top_advocates_by_engagement"], "engagement_rate"),
        (report["sales_by_brand"], "sales"), (report["outliers"], "fence"),
        (report["files"], "files")) for row in rows]
    assert numbers and all(isinstance(n, int | float) and not isinstance(n, bool)
                           for n in numbers)
    assert len(report["top_advocates_by_sales"]) == 10
    assert all(isinstance(f, str) for f in report["findings"]) and len(report["findings"]) == 6


def test_report_text_prints_exactly_the_views_and_the_findings(
        advocacy_warehouse: Path) -> None:
    printed = sluice("advocacy", "report", cwd=advocacy_warehouse).stdout
    findings = sluice_json("advocacy", "report", cwd=advocacy_warehouse)["findings"]
    titles = [v.title for p in pipelines() if p.name == "advocacy" for v in p.views]
    # Outside the tables: a heading of two lines, the findings, then each view's title,
    # its notes (indented), and a line counting its rows or saying what it left out.
    outside_tables = [line for line in printed.splitlines()
                      if line and line[0] not in "┏┃┡│└" and not line.startswith("  ")
                      and not re.fullmatch(r"[0-9,]+ rows?|… [0-9,]+ more .*", line)]
    assert outside_tables[2:] == ["What the data says", *(f"- {f}" for f in findings),
                                  *titles]


def test_votes_outliers_json_and_text_are_the_view(work: Path) -> None:
    from conftest import EXAMPLE

    sluice("votes", "ingest", str(EXAMPLE), cwd=work)
    weeks = sluice_json("votes", "outliers", cwd=work)
    assert list(weeks) == ["outlier_weeks"]
    assert weeks["outlier_weeks"][0] == {"year": 2022, "week_number": 0, "vote_count": 1}
    printed = sluice("votes", "outliers", cwd=work).stdout
    assert printed.splitlines()[0] == "weeks whose vote count is more than 20% off the mean"
    assert header(printed) == ["year", "week_number", "vote_count"]
    assert "│ 2022 │" in printed  # a year is not a count: no separator


# --- demo --------------------------------------------------------------------------------------


def test_demo_json_and_text_use_the_same_words(work: Path) -> None:
    demo = sluice_json("demo", cwd=work)
    assert list(demo) == [p.name for p in pipelines() if p.demo is not None]
    assert list(demo["votes"]) == [*RUN_TOTALS, "outlier_weeks", "weeks", "headline"]
    assert list(demo["advocacy"]) == [*RUN_TOTALS, "headline"]
    assert {k: demo["votes"][k] for k in RUN_TOTALS[3:]} == {
        "files": 2, "files_skipped": 1, "files_unreadable": 0, "read": 301_843,
        "loaded": 300_000, "duplicates": 1_541, "rejected": 302}
    printed = sluice("demo", cwd=work).stdout
    assert header(printed) == ["pipeline", *TEXT_COUNTS]
    assert cells(printed, "│ votes")[1:] == ["2", "2", "0", "0", "0", "0", "0"]
    assert cells(printed, "│ advocacy")[1:3] == ["5,092", "5,092"]


# --- errors under --json -----------------------------------------------------------------------

JSON_ERRORS = [
    (("votes", "ingest", "nowhere.jsonl"), 2, "no such file or folder: nowhere.jsonl"),
    (("runs",), 2, "warehouse warehouse.db does not exist; run an ingest first, or name the "
                   "warehouse with --warehouse or SLUICE_WAREHOUSE"),
    (("advocacy", "report"), 2, "warehouse warehouse.db does not exist; run an ingest first, "
                                "or name the warehouse with --warehouse or SLUICE_WAREHOUSE"),
    (("runs", "--limit", "0"), 2, "Invalid value for '--limit': Input should be greater than "
                                  "or equal to 1"),
    (("votes", "ingest"), 2, "Missing argument 'paths'."),
    (("votes", "outliers", "--nope"), 2, "No such option: --nope"),
]


@pytest.mark.parametrize(("args", "code", "message"), JSON_ERRORS,
                         ids=[" ".join(args) for args, _, _ in JSON_ERRORS])
def test_an_error_under_json_is_json_on_stderr(work: Path, args: tuple[str, ...], code: int,
                                               message: str) -> None:
    result = sluice(*args, "--json", cwd=work, expect=code)
    assert result.stdout == ""
    assert json.loads(result.stderr) == {"error": message, "exit_code": code}
    assert len(result.stderr.splitlines()) == 1
    plain = sluice(*args, cwd=work, expect=code)
    assert not plain.stderr.startswith("{")


def test_help_and_version_under_json_still_work(work: Path) -> None:
    from importlib.metadata import version

    assert "Usage" in sluice("runs", "--help", "--json", cwd=work).stdout
    assert sluice("--version", cwd=work).stdout.strip() == f"sluice {version('sluice')}"


# --- --help ------------------------------------------------------------------------------------

TYPE_NAME = re.compile(r"<[a-z][\w\[\], |]*>|\blist\[|\b(bool|str|int|float)\b(?![-\w])")


def every_command() -> list[tuple[str, ...]]:
    commands: list[tuple[str, ...]] = [(), ("demo",), ("runs",)]
    for pipeline in pipelines():
        commands.append((pipeline.name,))
        app = pipeline.commands()
        commands += [(pipeline.name, c.name or "") for c in app.registered_commands]
    return commands


def test_every_verbs_help_names_no_python_types(work: Path) -> None:
    commands = every_command()
    assert ("votes", "ingest") in commands and ("advocacy", "report") in commands
    for command in commands:
        result = subprocess.run([sys.executable, "-m", "sluice", *command, "--help"], cwd=work,
                                capture_output=True, text=True, timeout=60,
                                env={**os.environ, "COLUMNS": "200"})
        assert result.returncode == 0, (command, result.stderr)
        assert "Usage" in result.stdout
        found = TYPE_NAME.findall(result.stdout)
        assert not found, (command, found, result.stdout)


# --- the JSON writer ---------------------------------------------------------------------------


def test_json_numbers_are_exact_and_times_are_utc() -> None:
    payload: dict[str, Any] = {
        "sales": Decimal("12345678901234567.89"), "rate": Decimal("0.0523"), "count": 2**70,
        "share": 0.25, "nan": float("nan"), "naive": datetime(2026, 11, 25, 14, 1, 33, 500),
        "aware": datetime.fromisoformat("2026-11-25T15:01:33+01:00"), "none": None,
        "flag": True, "empty": {}, "rows": [], "text": "Zoë"}
    text = console.to_json(payload)
    assert json.loads(text, parse_float=Decimal) == {
        "sales": Decimal("12345678901234567.89"), "rate": Decimal("0.0523"), "count": 2**70,
        "share": Decimal("0.25"), "nan": None, "naive": "2026-11-25T14:01:33Z",
        "aware": "2026-11-25T14:01:33Z", "none": None, "flag": True, "empty": {}, "rows": [],
        "text": "Zoë"}
    plain = {"a": [1, {"b": None, "c": [2.5, "x"]}], "d": {"e": False}}
    assert console.to_json(plain) == json.dumps(plain, indent=2)


# --- the docs show what the commands print -----------------------------------------------------

ROOT = Path(__file__).parent.parent


def test_the_readme_shows_the_output_as_printed() -> None:
    readme = (ROOT / "README.md").read_text()
    demo = readme[readme.index("sluice demo\n┏"):]
    assert header(demo) == ["pipeline", *TEXT_COUNTS]
    example = readme[readme.index("$ sluice runs --json"):]
    runs = json.loads(example[example.index("["):example.index("\n]\n") + 2])
    assert [list(run) for run in runs] == [RUNS_ROW]
    assert all(is_utc_time(run[key]) for run in runs for key in ("started", "finished"))
    weeks = readme[readme.index("weeks whose vote count is more than 20% off the mean\n┏"):]
    assert header(weeks) == ["year", "week_number", "vote_count"]
    for key in (*RUN_TOTALS, *FILE_DETAIL, *RUNS_ROW, "file_details_omitted", "findings"):
        assert f"`{key}`" in readme, key


def test_the_docs_name_every_view() -> None:
    docs = (ROOT / "README.md").read_text() + "".join(
        p.read_text() for p in (ROOT / "docs").glob("*.md"))
    for pipeline in pipelines():
        for view in pipeline.views:
            assert f"`{view.name}`" in docs and view.title in docs, view.name
