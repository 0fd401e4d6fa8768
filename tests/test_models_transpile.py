"""Every model of every registered pipeline is written once, in DuckDB's SQL, and must run
elsewhere: sqlglot writes it for PostgreSQL and Spark without giving anything up, and on a
real PostgreSQL server (tests/postgres_server.py) the models give exactly DuckDB's answers,
bit for bit, for the same rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
import sqlglot
from postgres_server import postgres_url
from sqlglot import exp

from sluice import ledger, merge
from sluice.destinations.postgres import replace_views
from sluice.pipelines import applications, covid, events, votes
from sluice.registry import pipelines

__all__ = ["postgres_url"]  # the fixture, used by name

DIALECTS = ("postgres", "spark")


MODELS = [(p.name, Path(str(model))) for p in pipelines() for model in p.model_files()]


def transpile(sql: str, dialect: str) -> list[str]:
    """As a destination does: anything sqlglot cannot express in the dialect raises."""
    return sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True,
                             unsupported_level=sqlglot.ErrorLevel.RAISE,
                             error_level=sqlglot.ErrorLevel.RAISE)


def test_every_pipeline_has_models() -> None:
    assert {"votes", "advocacy"} <= {name for name, _ in MODELS}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("pipeline", "model"), MODELS,
                         ids=[f"{name}/{model.name}" for name, model in MODELS])
def test_model_transpiles(pipeline: str, model: Path, dialect: str) -> None:
    statements = transpile(model.read_text(encoding="utf-8"), dialect)
    assert statements
    for statement in statements:  # what sqlglot wrote, it reads back in the same dialect
        sqlglot.parse_one(statement, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)


@pytest.mark.parametrize(("pipeline", "model"), MODELS,
                         ids=[f"{name}/{model.name}" for name, model in MODELS])
def test_model_avoids_what_sqlglot_passes_but_postgresql_15_refuses(
        pipeline: str, model: Path) -> None:
    """sqlglot writes these unchanged for PostgreSQL, which then refuses them."""
    for statement in sqlglot.parse(model.read_text(encoding="utf-8"), read="duckdb"):
        assert statement is not None
        for group in statement.find_all(exp.Group):
            assert not group.args.get("all"), f"{model.name}: GROUP BY ALL"
        for subquery in statement.find_all(exp.Subquery):
            if isinstance(subquery.parent, exp.From | exp.Join):
                assert subquery.alias, f"{model.name}: a subquery in FROM needs a name"


# --- the same rows on DuckDB and PostgreSQL ---------------------------------------------

ADVOCACY_SCHEMA = Path(__file__).parent.parent / "sluice" / "pipelines" / "advocacy" / (
    "schema.sql")

ANN, BO, CY, DI, EV = (str(uuid.UUID(int=n)) for n in (1, 2, 3, 4, 5))
NAMELESS = "doc:" + "ab" * 32 + "#1"
P1, P2, P3 = (uuid.UUID(int=100 + n) for n in (1, 2, 3))


def _files() -> list[tuple[Any, ...]]:
    """The ledger: one votes file, then advocacy files whose outcomes come 5, 1, 2, 3, 4
    and 6 times (no ties in file_summary's order)."""
    outcomes = ([("loaded", None)] + [("loaded", "repaired: appended }]}")]
                + [("loaded", None)] * 4 + [("rejected", "invalid JSON, cut inside a string")] * 2
                + [("skipped", "skipped: not a .json file")] * 3
                + [("skipped", "skipped: loaded before, unchanged")] * 4
                + [("unreadable", "cannot read: permission denied")] * 6)
    rows: list[tuple[Any, ...]] = [
        (1, 1, "votes", "votes.jsonl", 10, 1, "a" * 64, "loaded", 40, 40, 0, 0, None)]
    for file_id, (status, note) in enumerate(outcomes, start=2):
        loaded = int(status == "loaded")
        rows.append((file_id, 2, "advocacy", f"f{file_id}.json", 10, 1, f"{file_id:064}",
                     status, loaded + int(status == "rejected"), loaded, 0,
                     int(status == "rejected"), note))
    return rows


def _task(n: int, advocate: str, program: uuid.UUID | None, brand: str | None,
          platform: str | None, likes: int | None, comments: int | None, shares: int | None,
          reach: int | None) -> tuple[Any, ...]:
    membership = f"{advocate}#1"
    return (f"{membership}#{n}", uuid.UUID(int=1000 + n), membership, advocate, program, brand,
            platform, f"https://example.com/p/{n}", likes, comments, shares, reach, 2)


ROWS: dict[str, list[tuple[Any, ...]]] = {
    "sluice.files": _files(),
    "advocacy.advocates": [
        (ANN, ANN, "Ann Lee", "ann@example.com", "ann.lee", None,
         datetime(2023, 4, 5, 6, 7, 8), 2),
        (BO, BO, "Bo Chen", "bo@example.com", None, "bo", datetime(2024, 1, 1), 3),
        (CY, CY, "Cy Diaz", None, None, None, None, 4),
        (DI, DI, "Di Evans", "di@example.com", None, None, None, 5),
        (NAMELESS, None, None, None, None, None, None, 6),
        (EV, EV, "Ev Fox", "ev@example.com", "ev", "ev", datetime(2022, 2, 2), 7),
    ],
    # Six totals of each measure: the quartiles fall between two of them.
    "advocacy.memberships": [
        (f"{ANN}#1", ANN, P1, "Acme Outdoor", Decimal("1200.50"), 2),
        (f"{ANN}#2", ANN, P2, "Velo Cycles", Decimal("0.10"), 2),
        (f"{BO}#1", BO, P1, "Acme Outdoor", Decimal("13.33"), 3),
        (f"{CY}#1", CY, None, "Velo Cycles", Decimal("11.00"), 4),
        (f"{CY}#2", CY, None, "Acme Outdoor", None, 4),  # no program: min(brand)
        (f"{DI}#1", DI, P3, None, Decimal("12.25"), 5),
        (f"{NAMELESS}#1", NAMELESS, P2, "Velo Cycles", Decimal("99999.99"), 6),
        (f"{EV}#1", EV, P3, None, Decimal("250.75"), 7),
    ],
    "advocacy.tasks": [
        # 6 of 1,000: 0.006 in DuckDB, 0 if PostgreSQL divided the integers.
        _task(1, ANN, P1, "Acme Outdoor", "Instagram", 1, 2, 3, 1_000),
        _task(2, ANN, P2, "Velo Cycles", "TikTok", 500, 20, 7, 3),
        _task(3, BO, P1, "Acme Outdoor", "Instagram", 10, None, 1, 50),
        _task(4, BO, P1, "Acme Outdoor", "TikTok", 4_000_000_000, 3_000_000_000, 1, 7),
        _task(5, CY, None, "Velo Cycles", None, 1, 1, 1, 0),
        _task(6, CY, None, "Acme Outdoor", "X", 2, 2, 2, None),
        _task(7, DI, P3, None, "Instagram", 0, 0, 0, 10),
        _task(8, NAMELESS, P2, "Velo Cycles", "TikTok", 3, 1, 3, 9),
        _task(9, EV, P3, None, "X", 30, 7, 3, 900),
    ],
    "advocacy.dq_issues": [
        (2, "f2.json", "advocate", ANN, "tiktok_handle", None, "missing", ANN),
        (3, "f3.json", "advocate", BO, "instagram_handle", '""', "empty", BO),
        (4, "f4.json", "advocate", CY, "email", '"???"', "invalid email", CY),
        (4, "f4.json", "membership", f"{CY}#1", "program_id", None, "missing", CY),
        (4, "f4.json", "membership", f"{CY}#2", "program_id", None, "missing", CY),
        (4, "f4.json", "task", f"{CY}#1#1", "reach", "-5", "negative", CY),
        (5, "f5.json", "task", f"{DI}#1#1", "post_url", '"x"', "not a URL", DI),
        (5, "f5.json", "task", f"{DI}#1#2", "post_url", '"y"', "not a date", DI),
        (6, "f6.json", "membership", f"{NAMELESS}#1", "program_id", None, "missing",
         NAMELESS),
    ],
    "blog_analysis.votes": [],  # filled below
}


def _votes() -> list[tuple[Any, ...]]:
    """Votes in weeks around a new year, several weeks near the 20% line: 1, 3, 3, 2, 2,
    2, 6, 1, 2 votes a week (a mean of 22/9)."""
    first_days = [date(2021, 12, 31), date(2022, 1, 2), date(2022, 1, 3), date(2022, 1, 10),
                  date(2022, 1, 17), date(2022, 1, 24), date(2022, 2, 27), date(2022, 12, 26),
                  date(2023, 1, 1)]
    counts = [1, 3, 3, 2, 2, 2, 6, 1, 2]
    rows: list[tuple[Any, ...]] = []
    for first, count in zip(first_days, counts, strict=True):
        for n in range(count):
            moment = datetime.combine(first, datetime.min.time()) + timedelta(hours=3 * n)
            rows.append((len(rows) + 1, 7, 2, moment, None if n else 3, None, 1))
    return rows


ROWS["blog_analysis.votes"] = _votes()
# The documents behind the advocates: file 2 holds two versions of Ann (one replaced by
# the other), file 3's was repaired; files 8 and 9 were quarantined (file_summary). Issues
# on the tasks' own keys, and a program whose memberships name two brands.
ROWS["advocacy.raw_records"] = [
    (file_id, f"f{file_id}.json", file_id == 3, f'{{"n": {n}}}', f"{n:064}")
    for n, file_id in enumerate((2, 2, 3, 4, 5, 6, 7), start=1)]
ROWS["advocacy.rejected_documents"] = [(8, "f8.json", "8" * 64), (9, "f9.json", "9" * 64)]
ROWS["advocacy.dq_issues"] += [
    (3, "f3.json", "task", f"{BO}#1#3", "comments", None, "missing", BO),
    (4, "f4.json", "task", f"{CY}#1#5", "platform", "7", "number instead of text", CY),
    (4, "f4.json", "task", f"{CY}#1#6", "reach", None, "missing", CY),
]
ROWS["advocacy.memberships"].append((f"{DI}#2", DI, P2, "Acme Outdoor", Decimal("5.00"), 5))
# Two applicants share Lee_3864b (same last name, same birthday); one holds Tan_b8a7a.
ROWS["applications.successful"] = [
    ("Ann", "Lee", "ann@example.com", date(1986, 1, 10), "12345678", True, "Lee_3864b",
     "k1", 1),
    ("Bo", "Lee", "bo@example.net", date(1986, 1, 10), "87654321", True, "Lee_3864b",
     "k2", 2),
    ("Cy", "Tan", "cy@example.com", date(2004, 1, 1), "11112222", True, "Tan_b8a7a",
     "k3", 2),
]

# u1 opened with e twice and a once and followed up twice (counted for both symbols);
# u2 followed up before its initial; u3 followed up without ever opening.
ROWS["events.raw_events"] = [
    ("s:1", "initial", "u1", "e", True, datetime(2017, 6, 28, 19, 34, 14, 486693), 1),
    ("s:2", "initial", "u1", "e", False, datetime(2017, 6, 29, 13, 15, 1, 173535), 1),
    ("s:3", "initial", "u1", "a", True, datetime(2017, 6, 29, 14, 0), 1),
    ("s:4", "followup", "u1", None, None, datetime(2017, 6, 29, 14, 1), 1),
    ("s:5", "followup", "u1", None, None, datetime(2017, 6, 29, 14, 2), 1),
    ("s:6", "followup", "u2", None, None, datetime(2017, 6, 30, 9), 1),
    ("s:7", "initial", "u2", "x", False, datetime(2017, 6, 30, 9, 0, 1), 1),
    ("s:8", "followup", "u3", None, None, datetime(2017, 6, 30, 10), 1),
]



def _observation(country: str, day: int, cumulative: int, response: int) -> tuple[Any, ...]:
    """Day `day` of March 2020 as response 1 (fetched 1 April) or 2 (fetched 1 May)
    gave it."""
    when = date(2020, 3, day)
    return (f"{country}|{when}|r{response}", country, when, cumulative, f"r{response}",
            f"https://api.example/{response}", datetime(2020, 3 + response, 1), 10 + response)


# Singapore: days 1-12 from response 1, days 9-14 from response 2, which revises day 10;
# day 6 is missing and day 12 falls. Malaysia: days 1-3, once.
ROWS["covid.observations"] = [
    *(_observation("Singapore", d, 100 + 5 * d * d, 1) for d in range(1, 13) if d not in (6, 12)),
    _observation("Singapore", 12, 700, 1),
    *(_observation("Singapore", d, 100 + 5 * d * d + (7 if d == 10 else 0), 2)
      for d in range(13, 15)),
    _observation("Singapore", 10, 607, 2),
    _observation("Singapore", 11, 705, 2),
    *(_observation("Malaysia", d, 3 * d, 1) for d in range(1, 4)),
]

SHOP_SCHEMA = Path(__file__).parent.parent / "sluice" / "pipelines" / "shop" / "schema.sql"
ROWS["shop.members"] = [("Lee_3864b", "Ann", "Lee", "ann@example.com", date(1986, 1, 10), 2),
                        ("Tan_b8a7a", "Cy", "Tan", "cy@example.com", date(2004, 1, 1), 1),
                        ("Ng_0c0c0", "Di", "Ng", None, None, 1)]
ROWS["shop.manufacturers"] = [(1, "Acme"), (2, "Globex")]
ROWS["shop.items"] = [(1, "Widget", 1, Decimal("2.50"), Decimal("0.200"), 3),
                      (2, "Gadget", 2, Decimal("10.00"), Decimal("1.500"), 3),
                      (3, "Gizmo", 1, Decimal("0.00"), Decimal("0.000"), 3),
                      (4, "Unsold", 2, Decimal("1.00"), Decimal("1.000"), 3)]
ROWS["shop.transactions"] = [("T1", "Lee_3864b", datetime(2024, 5, 1, 10), 4),
                             ("T2", "Tan_b8a7a", datetime(2024, 5, 2, 11, 30), 4),
                             ("T3", "Ng_0c0c0", datetime(2024, 6, 1, 9), 4)]
ROWS["shop.transaction_lines"] = [("T1", 1, 1, 2), ("T1", 2, 2, 1), ("T2", 1, 2, 1),
                                  ("T2", 2, 1, 1), ("T2", 3, 1, 1), ("T3", 1, 3, 12)]


def _ddl() -> list[str]:
    """The warehouse's tables in DuckDB's dialect, as sluice creates them."""
    return [ledger.LEDGER_DDL, merge.target_ddl(votes.CONTRACT, votes.TARGET),
            ADVOCACY_SCHEMA.read_text(encoding="utf-8"),
            merge.target_ddl(applications.CONTRACT, applications.TARGET),
            SHOP_SCHEMA.read_text(encoding="utf-8"),
            merge.target_ddl(events.CONTRACT, events.TARGET),
            merge.target_ddl(covid.CONTRACT, covid.TARGET)]


def _model_sql() -> list[str]:
    return [model.read_text(encoding="utf-8") for _, model in MODELS]


def _views(sql: Sequence[str]) -> dict[str, bool]:
    """Every view the models create, and whether it orders its rows."""
    found = {}
    for script in sql:
        for statement in sqlglot.parse(script, read="duckdb"):
            if isinstance(statement, exp.Create) and statement.kind == "VIEW":
                assert isinstance(statement.expression, exp.Query)
                found[statement.this.sql()] = statement.expression.args.get("order") is not None
    return found


def _normal(value: Any) -> tuple[str, Any]:
    """A value with its kind: a whole NUMERIC (PostgreSQL's sum of BIGINTs) equals
    DuckDB's HUGEINT, but a float must be a float on both, bit for bit."""
    if isinstance(value, Decimal) and value.as_tuple().exponent == 0:
        return ("int", int(value))
    return (type(value).__name__, value)


Answers = dict[str, tuple[list[str], list[tuple[tuple[str, Any], ...]]]]


def _answers(cursor: Any, views: dict[str, bool]) -> Answers:
    answers = {}
    for view in views:
        cursor.execute(f"SELECT * FROM {view}")
        columns = [d[0] for d in cursor.description]
        answers[view] = (columns, [tuple(_normal(v) for v in row) for row in cursor.fetchall()])
    return answers


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Any]:
    """A connection to a new database of the test's own, dropped after it."""
    with psycopg.connect(postgres_url, autocommit=True) as con:
        yield con


def _load(run: Any, placeholder: str) -> None:
    """The rows, each into the table's first columns (a lineage column added since, such
    as `_line`, is left NULL)."""
    for table, rows in ROWS.items():
        if rows:
            schema, name = table.split(".")
            columns = [c for (c,) in run(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                f"{placeholder} AND table_name = {placeholder} ORDER BY ordinal_position",
                (schema, name)).fetchall()][:len(rows[0])]
            marks = ", ".join([placeholder] * len(rows[0]))
            named = ", ".join(f'"{c}"' for c in columns)
            for row in rows:
                run(f"INSERT INTO {table} ({named}) VALUES ({marks})", row)


def _build(run: Any, dialect: str, sql: Sequence[str]) -> None:
    """As sluice runs a model file: on PostgreSQL, a view whose columns change is
    dropped and created again (`replace_views`)."""
    for script in sql:
        if dialect == "duckdb":
            run(script)
        else:
            replace_views(run, transpile(script, dialect))


def test_models_give_the_same_answers_on_postgresql_and_duckdb(postgres: Any) -> None:
    sql = _model_sql()
    views = _views(sql)
    duck = duckdb.connect(":memory:")
    try:
        for statement in _ddl():
            duck.execute(statement)
            for pg_statement in transpile(statement, "postgres"):
                postgres.execute(pg_statement)
        _load(duck.execute, "?")
        _load(postgres.execute, "%s")
        for _ in range(2):  # the models are rebuilt after every ingest
            _build(duck.execute, "duckdb", sql)
            with postgres.transaction():
                _build(postgres.execute, "postgres", sql)
            expected = _answers(duck.cursor(), views)
            answers = _answers(postgres.cursor(), views)
            # Text sorts by byte as in DuckDB only under the C collation (the server's
            # default in CI); under another locale, rows tied on a number may come in
            # another order.
            bytewise = postgres.execute(
                "SELECT datcollate IN ('C', 'C.UTF-8', 'C.utf8', 'POSIX') FROM pg_database "
                "WHERE datname = current_database()").fetchone() == (True,)
            for view, ordered in views.items():
                (columns, rows), (pg_columns, pg_rows) = expected[view], answers[view]
                assert pg_columns == columns, view
                assert sorted(pg_rows, key=repr) == sorted(rows, key=repr), view
                if ordered and bytewise:  # the rows have no ties in any ORDER BY
                    assert pg_rows == rows, view
                assert rows, f"{view} is empty"
            # A table that gains a column changes `SELECT *` views, which CREATE OR
            # REPLACE refuses on PostgreSQL; then they are dropped and created again.
            for run in (duck.execute, postgres.execute):
                run("ALTER TABLE advocacy.tasks ADD COLUMN IF NOT EXISTS campaign VARCHAR")
    finally:
        duck.close()
    columns, rows = expected["advocacy.task_engagement"]
    rates = {row[0][1]: row[columns.index("engagement_rate")][1] for row in rows}
    assert rates[f"{ANN}#1#1"] == 0.006
    truncated = postgres.execute("SELECT (likes + comments + shares) / reach FROM advocacy.tasks "
                                 "WHERE task_key = %s", [f"{ANN}#1#1"]).fetchone()
    assert truncated == (0,)  # what PostgreSQL's `/` on the integers themselves gives
    weeks = expected["blog_analysis.outlier_weeks"][1]
    assert 0 < len(weeks) < 9
