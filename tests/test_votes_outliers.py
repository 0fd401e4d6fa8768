"""`sluice votes outliers`: the view blog_analysis.outlier_weeks and what it prints."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from conftest import EXAMPLE, query, sluice, sluice_json, vote, write_lines

EXPECTED = [(2022, 0, 1), (2022, 1, 3), (2022, 2, 3), (2022, 5, 1), (2022, 6, 1), (2022, 8, 1)]


def test_issue_example_gives_exactly_the_expected_weeks(work: Path) -> None:
    sluice("votes", "ingest", str(EXAMPLE), cwd=work)
    rows = sluice_json("votes", "outliers", cwd=work)["outlier_weeks"]
    assert [(r["year"], r["week_number"], r["vote_count"]) for r in rows] == EXPECTED
    assert query(work / "warehouse.db", "SELECT * FROM blog_analysis.outlier_weeks") == EXPECTED


def test_printed_table_shows_the_view_rows(work: Path) -> None:
    sluice("votes", "ingest", str(EXAMPLE), cwd=work)
    printed = sluice("votes", "outliers", cwd=work).stdout
    assert "6 rows" in printed
    for year, week, count in EXPECTED:
        assert f"│ {year} │" in printed and f" {week} │" in printed and f" {count} │" in printed


def test_view_columns_are_integers(work: Path) -> None:
    (work / "none.jsonl").write_bytes(b"")
    sluice("votes", "ingest", "none.jsonl", cwd=work)
    sluice("votes", "outliers", cwd=work)
    described = query(work / "warehouse.db", "DESCRIBE blog_analysis.outlier_weeks")
    assert [(name, kind) for name, kind, *_ in described] == [
        ("Year", "INTEGER"), ("WeekNumber", "INTEGER"), ("VoteCount", "INTEGER")]


def test_no_votes_gives_no_rows_and_exit_zero(work: Path) -> None:
    (work / "none.jsonl").write_bytes(b"")
    sluice("votes", "ingest", "none.jsonl", cwd=work)
    assert sluice_json("votes", "outliers", cwd=work) == {"outlier_weeks": []}


def test_a_missing_warehouse_is_an_error_and_is_not_created(work: Path) -> None:
    result = sluice("votes", "outliers", cwd=work, expect=None)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: warehouse warehouse.db does not exist; run an ingest first, or name the "
        "warehouse with --warehouse or SLUICE_WAREHOUSE")
    assert not (work / "warehouse.db").exists()


def test_view_follows_new_data_when_recreated(work: Path) -> None:
    sluice("votes", "ingest", str(EXAMPLE), cwd=work)
    busy = [vote(100 + n, date="2022-02-27T10:00:00.000") for n in range(5)]
    sluice("votes", "ingest", str(write_lines(work / "more.jsonl", busy)), cwd=work)
    rows = sluice_json("votes", "outliers", cwd=work)["outlier_weeks"]
    # Week 8 now holds 6 votes; the mean becomes 21/9, so week 8 is far above it.
    assert {"year": 2022, "week_number": 8, "vote_count": 6} in rows


def test_week_numbers_match_strftime_W_around_every_new_year(work: Path) -> None:
    """Weeks start on Monday; days before a year's first Monday are week 0."""
    rng = random.Random(11)
    days: list[date] = []
    for year in range(1999, 2031):
        days += [date(year, 1, 1) + timedelta(d) for d in range(8)]  # every weekday of Jan 1
        days += [date(year, 12, 31) - timedelta(d) for d in range(3)]
        days.append(date(year, 1, 1) + timedelta(rng.randrange(365)))
    weeks = sorted({(d.year, int(d.strftime("%W"))) for d in days})
    # One vote in half of the weeks and five in the other: every week is 67% off the mean.
    first_day = {}
    for d in sorted(days):
        first_day.setdefault((d.year, int(d.strftime("%W"))), d)
    lines, next_id = [], 1
    for index, week in enumerate(weeks):
        for _ in range(1 if index % 2 else 5):
            lines.append(vote(next_id, date=first_day[week].strftime("%Y-%m-%dT08:30:00.000")))
            next_id += 1
    sluice("votes", "ingest", str(write_lines(work / "dates.jsonl", lines)), cwd=work)
    rows = sluice_json("votes", "outliers", cwd=work)["outlier_weeks"]
    assert [(r["year"], r["week_number"]) for r in rows] == weeks
