"""`sluice sql` and `sluice tables`: the output formats, a warehouse that no SQL can
change, files the SQL cannot reach, one-line errors; on a DuckDB file and on PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from hostile import is_open_by
from postgres_server import postgres_contents, postgres_url

from conftest import query, sluice, sluice_json, vote, write_lines

__all__ = ["postgres_url"]  # the fixture, used by name

VOTES = [
    vote(1, post=10, date="2021-06-30T13:45:12.345", UserId=7, BountyAmount=50),
    vote(2, post=10, date="2021-07-01T00:00:00.000"),
    vote(3, post=11, date="2021-07-02T08:30:00.000", UserId=8),
    "{not json",
]
# The votes above as `sluice sql` gives them, times exact and in UTC.
VOTE_ROWS = [
    {"Id": 1, "PostId": 10, "CreationDate": "2021-06-30T13:45:12.345Z", "UserId": 7,
     "BountyAmount": 50},
    {"Id": 2, "PostId": 10, "CreationDate": "2021-07-01T00:00:00Z", "UserId": None,
     "BountyAmount": None},
    {"Id": 3, "PostId": 11, "CreationDate": "2021-07-02T08:30:00Z", "UserId": 8,
     "BountyAmount": None},
]
SELECT_VOTES = ('SELECT "Id", "PostId", "CreationDate", "UserId", "BountyAmount" '
                'FROM blog_analysis.votes ORDER BY "Id"')
SECRET = "SECRET-4f1c9e"
WAIT = 120  # seconds; only so that a stuck process fails the test instead of hanging it


def _ingested(work: Path, env: dict[str, str] | None = None) -> None:
    sluice("votes", "ingest", str(write_lines(work / "votes.jsonl", VOTES)), cwd=work,
           env=env)


def _one_line_error(result: Any) -> str:
    """stderr: one line in sluice's words, no traceback, no Python exception names."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and "Exception" not in result.stderr, result.stderr
    return str(lines[0])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _folder(work: Path) -> set[str]:
    return {str(p.relative_to(work)) for p in work.rglob("*")}


# --- output formats ----------------------------------------------------------------------


def test_csv_has_a_header_and_every_row_as_written(work: Path) -> None:
    _ingested(work)
    text = sluice("sql", SELECT_VOTES, "--csv", cwd=work).stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Id", "PostId", "CreationDate", "UserId", "BountyAmount"]
    assert rows[1:] == [["1", "10", "2021-06-30T13:45:12.345Z", "7", "50"],
                        ["2", "10", "2021-07-01T00:00:00Z", "", ""],
                        ["3", "11", "2021-07-02T08:30:00Z", "8", ""]]
    awkward = 'a,"b"\nc'
    quoted = sluice("sql", "SELECT 'a,\"b\"' || chr(10) || 'c' AS t, 1.50::DECIMAL(5, 2) AS d, "
                    "true AS b", "--csv", cwd=work).stdout
    assert list(csv.reader(io.StringIO(quoted))) == [["t", "d", "b"], [awkward, "1.50", "true"]]


def test_jsonl_is_one_object_per_line_with_exact_numbers(work: Path) -> None:
    _ingested(work)
    lines = sluice("sql", SELECT_VOTES, "--jsonl", cwd=work).stdout.splitlines()
    assert [json.loads(line) for line in lines] == VOTE_ROWS
    exact = sluice("sql", "SELECT 12345678901234567890.123456789::DECIMAL(38, 9) AS amount, "
                   "[1, 2] AS ids, {'k': 'v'} AS pair, NULL AS nothing", "--jsonl",
                   cwd=work).stdout.splitlines()
    assert len(exact) == 1
    assert json.loads(exact[0], parse_float=Decimal) == {
        "amount": Decimal("12345678901234567890.123456789"), "ids": [1, 2],
        "pair": {"k": "v"}, "nothing": None}


def test_json_is_an_array_of_objects(work: Path) -> None:
    _ingested(work)
    assert sluice_json("sql", SELECT_VOTES, cwd=work) == VOTE_ROWS
    assert sluice_json("sql", SELECT_VOTES + " LIMIT 0", cwd=work) == []
    # Times with a zone, in UTC; a repeated column name keeps both values.
    assert sluice_json("sql", "SELECT TIMESTAMPTZ '2024-03-01 10:00:00.5+02:00' AS t, "
                       "1 AS n, 2 AS n", cwd=work) == [
        {"t": "2024-03-01T08:00:00.500Z", "n": 1, "n_1": 2}]


def test_the_table_shows_rows_with_their_times_exact(work: Path) -> None:
    _ingested(work)
    text = sluice("sql", SELECT_VOTES, cwd=work).stdout
    assert "CreationDate" in text and "2021-06-30T13:45:12.345Z" in text
    assert text.rstrip().endswith("3 rows")


def test_the_table_stops_at_a_thousand_rows_and_says_how_many_more(work: Path) -> None:
    _ingested(work)
    text = sluice("sql", "SELECT range AS n FROM range(1500)", cwd=work).stdout
    assert "1,000 rows" in text and " 999 " in text and " 1,000 " not in text
    assert "500 more rows not shown; use --csv or --jsonl" in text
    limited = sluice("sql", "SELECT range AS n FROM range(1500)", "--limit", "1200",
                     cwd=work).stdout
    assert "1,200 rows" in limited and "more rows" not in limited
    exactly = sluice("sql", "SELECT range AS n FROM range(1000)", cwd=work).stdout
    assert "1,000 rows" in exactly and "more rows" not in exactly


def test_many_rows_arrive_whole_in_every_format(work: Path) -> None:
    """More rows than one batch of the engine's: none lost or repeated between batches."""
    _ingested(work)
    sql = "SELECT range AS n, 'row ' || range AS label FROM range(25001)"
    rows = list(csv.reader(io.StringIO(sluice("sql", sql, "--csv", cwd=work).stdout)))
    assert rows[0] == ["n", "label"] and len(rows) == 25002
    assert [int(row[0]) for row in rows[1:]] == list(range(25001))
    lines = sluice("sql", sql, "--jsonl", cwd=work).stdout.splitlines()
    assert [json.loads(line)["n"] for line in lines] == list(range(25001))
    assert [row["n"] for row in sluice_json("sql", sql, cwd=work)] == list(range(25001))
    assert len(sluice_json("sql", sql, "--limit", "12345", cwd=work)) == 12345


def test_limit_ends_an_endless_query_after_its_rows(work: Path) -> None:
    """A trillion rows: only streaming returns the first ones (a process of its own, so
    that a regression ends at conftest's timeout instead of hanging)."""
    _ingested(work)
    endless = "SELECT range AS n FROM range(1000000000000)"
    text = sluice("sql", endless, "--csv", "--limit", "3", cwd=work, process=True).stdout
    assert text.splitlines() == ["n", "0", "1", "2"]
    lines = sluice("sql", endless, "--jsonl", "--limit", "2", cwd=work,
                   process=True).stdout.splitlines()
    assert lines == ['{"n": 0}', '{"n": 1}']


# --- read-only ---------------------------------------------------------------------------

WRITES = [
    "DELETE FROM blog_analysis.votes",
    "UPDATE blog_analysis.votes SET \"PostId\" = 0",
    "INSERT INTO blog_analysis.votes SELECT * FROM blog_analysis.votes",
    "TRUNCATE blog_analysis.votes",
    "DROP TABLE blog_analysis.votes",
    "DROP SCHEMA sluice CASCADE",
    "ALTER TABLE blog_analysis.votes ADD COLUMN extra INTEGER",
    "CREATE TABLE blog_analysis.copied AS SELECT * FROM blog_analysis.votes",
    "CREATE TEMP TABLE scratch AS SELECT 1 AS x",
    "CREATE VIEW blog_analysis.mine AS SELECT 1 AS x",
    "CREATE SEQUENCE blog_analysis.numbers",
    "CREATE MACRO twice(x) AS x * 2",
    "COPY blog_analysis.votes TO 'copied.csv'",
    "COPY (SELECT * FROM blog_analysis.votes) TO 'copied.parquet' (FORMAT parquet)",
    "EXPORT DATABASE 'exported'",
    "ATTACH 'other.db' AS other",
    "DETACH sluice_warehouse",
    "USE memory",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET threads = 1",
    "SET enable_external_access = true",
    "RESET lock_configuration",
    "PRAGMA threads = 1",
    "CHECKPOINT",
    "VACUUM",
    "BEGIN TRANSACTION",
    "CALL pragma_version()",
    "SELECT 1; DELETE FROM blog_analysis.votes",
    "SELECT 1; SELECT 2",
    "SELECT * FROM blog_analysis.votes; -- one\nDROP TABLE sluice.runs",
    "WITH gone AS (DELETE FROM blog_analysis.votes RETURNING *) SELECT count(*) FROM gone",
    "SELECT nextval('sluice.run_ids')",
    "SELECT * FROM query('DELETE FROM blog_analysis.votes')",
]


def test_every_write_is_refused_and_the_warehouse_is_unchanged(work: Path) -> None:
    _ingested(work)
    warehouse = work / "warehouse.db"
    before = (_sha256(warehouse), _folder(work),
              query(warehouse, "SELECT count(*) FROM blog_analysis.votes"),
              query(warehouse, "SELECT count(*) FROM sluice.runs"))
    for sql in WRITES:
        result = sluice("sql", sql, cwd=work, expect=None)
        assert result.returncode == 2, (sql, result.returncode, result.stdout, result.stderr)
        assert result.stdout == "", sql
        _one_line_error(result)
        assert (_sha256(warehouse), _folder(work)) == before[:2], sql
    assert query(warehouse, "SELECT count(*) FROM blog_analysis.votes") == before[2]
    assert query(warehouse, "SELECT count(*) FROM sluice.runs") == before[3]
    # The ledger's sequences were not moved either: the next run is run 2.
    assert sluice_json("votes", "ingest", str(write_lines(work / "more.jsonl", [vote(9)])),
                       cwd=work)["run_id"] == 2


def test_refusals_say_why(work: Path) -> None:
    _ingested(work)
    delete = _one_line_error(sluice("sql", "DELETE FROM blog_analysis.votes", cwd=work,
                                    expect=2))
    assert "only reads" in delete and "DELETE" in delete
    two = _one_line_error(sluice("sql", "SELECT 1; SELECT 2", cwd=work, expect=2))
    assert "one statement at a time" in two
    hidden = _one_line_error(sluice(
        "sql", "WITH gone AS (DELETE FROM blog_analysis.votes RETURNING *) SELECT * FROM gone",
        cwd=work, expect=2))
    assert "read-only" in hidden and "sluice_warehouse" not in hidden


def test_no_file_can_be_read_or_written_from_sql(work: Path) -> None:
    _ingested(work)
    (work / "secret.csv").write_text(f"token\n{SECRET}\n")
    (work / "secret.json").write_text(json.dumps({"token": SECRET}))
    secret = str(work / "secret.csv")
    attempts = [
        "SELECT * FROM read_csv('secret.csv')",
        f"SELECT * FROM read_csv('{secret}')",
        "SELECT * FROM read_csv_auto('secret.csv')",
        "SELECT * FROM 'secret.csv'",
        "SELECT * FROM read_text('secret.csv')",
        "SELECT * FROM read_blob('secret.csv')",
        "SELECT * FROM read_json('secret.json')",
        "SELECT * FROM read_parquet('secret.parquet')",
        "SELECT * FROM sniff_csv('secret.csv')",
        "SELECT * FROM glob('*')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('https://example.com/data.csv')",
        "SELECT getenv('HOME')",
        "SELECT * FROM blog_analysis.votes, read_csv('secret.csv')",
    ]
    before = _folder(work)
    for sql in attempts:
        result = sluice("sql", sql, cwd=work, expect=None)
        assert result.returncode == 2, (sql, result.returncode, result.stdout, result.stderr)
        assert SECRET not in result.stdout + result.stderr, sql
        assert "root:" not in result.stdout, sql
        _one_line_error(result)
    for sql in ("COPY (SELECT 1 AS x) TO 'out.csv'", "EXPORT DATABASE 'out'"):
        sluice("sql", sql, cwd=work, expect=2)
    assert _folder(work) == before
    refused = _one_line_error(sluice("sql", "SELECT * FROM read_csv('secret.csv')", cwd=work,
                                     expect=2))
    assert "never files" in refused


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_ctrl_c_and_sigterm_stop_a_long_query_with_one_line(work: Path) -> None:
    """The engine does not notice a signal while it runs a query; sluice does. The signal
    is sent once the process has the warehouse open and has spent a second of CPU time
    since, which only the query does (the process ends at WAIT otherwise)."""
    _ingested(work)
    endless = ("SELECT count(*) FROM range(100000000) AS a, range(100000000) AS b "
               "WHERE a.range + b.range < 0")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    for signum in (signal.SIGINT, signal.SIGTERM):
        process = subprocess.Popen([sys.executable, "-m", "sluice", "sql", endless], cwd=work,
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        try:
            while process.poll() is None and not is_open_by(process.pid,
                                                            work / "warehouse.db"):
                time.sleep(0.001)
            opened = _cpu_seconds(process.pid)
            while process.poll() is None and _cpu_seconds(process.pid) < opened + 1:
                time.sleep(0.01)
            process.send_signal(signum)
            stdout, stderr = process.communicate(timeout=WAIT)
        finally:
            process.kill()
        assert process.returncode == 128 + signum, (stdout, stderr)
        assert stdout == ""
        assert stderr.splitlines() == [f"interrupted ({signal.Signals(signum).name}): "
                                       "nothing was committed"]


# --- errors ------------------------------------------------------------------------------


def test_errors_in_the_sql_are_one_clear_line(work: Path) -> None:
    _ingested(work)
    syntax = _one_line_error(sluice("sql", "SELEC * FROM sluice.runs", cwd=work, expect=2))
    assert syntax.startswith("error: the query is not valid SQL") and "SELEC" in syntax
    unknown = _one_line_error(sluice("sql", "SELECT * FROM votes", cwd=work, expect=2))
    assert unknown.startswith("error: the query failed") and "votes does not exist" in unknown
    assert "sluice_warehouse" not in unknown
    column = _one_line_error(sluice("sql", "SELECT nope FROM blog_analysis.votes", cwd=work,
                                    expect=2))
    assert "nope" in column
    failing = _one_line_error(sluice("sql", "SELECT error('the value is wrong')", cwd=work,
                                     expect=2))
    assert "the value is wrong" in failing
    failing_late = sluice("sql", "SELECT CAST(\"PostId\" AS VARCHAR)::DATE FROM "
                          "blog_analysis.votes", "--csv", cwd=work, expect=2)
    assert failing_late.stdout == ""  # the error comes before the header
    _one_line_error(failing_late)
    for empty in ("", "   ", "/* nothing but a comment */"):
        assert "no SQL statement" in _one_line_error(sluice("sql", empty, cwd=work, expect=2))
    # SQL that starts with a comment comes after `--`, as any argument that looks like an
    # option does.
    assert sluice("sql", "--csv", "--", "-- a comment\nSELECT 1 AS x", cwd=work
                  ).stdout == "x\n1\n"


def test_errors_under_json_are_json(work: Path) -> None:
    _ingested(work)
    result = sluice("sql", "SELEC 1", "--json", cwd=work, expect=2)
    error = json.loads(result.stderr)
    assert error["exit_code"] == 2 and "not valid SQL" in error["error"]
    assert result.stdout == ""
    both = sluice("sql", "SELECT 1", "--json", "--csv", cwd=work, expect=2)
    assert "one of --json, --csv and --jsonl" in json.loads(both.stderr)["error"]


def test_a_missing_warehouse_is_a_clear_error_and_is_not_created(work: Path) -> None:
    for args in (("sql", "SELECT 1"), ("tables",)):
        line = _one_line_error(sluice(*args, "--warehouse", "nowhere.db", cwd=work, expect=2))
        assert "nowhere.db does not exist" in line
    assert _folder(work) == set()


# --- tables ------------------------------------------------------------------------------


def test_tables_lists_tables_and_views_with_their_counts(work: Path) -> None:
    _ingested(work)
    warehouse = work / "warehouse.db"
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("CREATE VIEW blog_analysis.busy_posts AS SELECT \"PostId\", count(*) AS n "
                    "FROM blog_analysis.votes GROUP BY ALL")
        con.execute("CREATE TABLE blog_analysis.scratch (x INTEGER)")
        con.execute("CREATE VIEW blog_analysis.on_scratch AS SELECT * FROM blog_analysis.scratch")
        con.execute("DROP TABLE blog_analysis.scratch")  # the view cannot be read any more
        con.execute("CREATE VIEW blog_analysis.endless AS SELECT a.range FROM range(100000000) a, "
                    "range(100000000) b WHERE a.range + b.range < 0")
    finally:
        con.close()
    listed = sluice_json("tables", "--count-timeout", "0.5", cwd=work)
    assert [(t["schema"], t["name"], t["kind"]) for t in listed] == [
        ("blog_analysis", "busy_posts", "view"),
        ("blog_analysis", "endless", "view"),
        ("blog_analysis", "on_scratch", "view"),
        ("blog_analysis", "votes", "table"),
        ("sluice", "files", "table"),
        ("sluice", "quarantine", "table"),
        ("sluice", "runs", "table"),
    ]
    by_name = {t["name"]: t for t in listed}
    for name in ("votes", "files", "quarantine", "runs"):
        schema = by_name[name]["schema"]
        assert by_name[name]["rows"] == query(warehouse, f"SELECT count(*) FROM {schema}.{name}"
                                              )[0][0], name
        assert by_name[name]["note"] is None
    assert (by_name["votes"]["rows"], by_name["quarantine"]["rows"]) == (3, 1)
    assert (by_name["busy_posts"]["rows"], by_name["busy_posts"]["note"]) == (2, None)
    assert by_name["on_scratch"]["rows"] is None
    assert by_name["on_scratch"]["note"].startswith("cannot count: ")
    assert "scratch" in by_name["on_scratch"]["note"]
    assert by_name["endless"]["rows"] is None
    assert "longer than 0.5 s" in by_name["endless"]["note"]


def test_tables_in_every_format(work: Path) -> None:
    _ingested(work)
    expected = [["blog_analysis", "votes", "table", "3", ""], ["sluice", "files", "table", "1", ""],
                ["sluice", "quarantine", "table", "1", ""], ["sluice", "runs", "table", "1", ""]]
    rows = list(csv.reader(io.StringIO(sluice("tables", "--csv", cwd=work).stdout)))
    assert rows == [["schema", "name", "kind", "rows", "note"], *expected]
    lines = sluice("tables", "--jsonl", cwd=work).stdout.splitlines()
    assert [json.loads(line)["rows"] for line in lines] == [3, 1, 1, 1]
    text = sluice("tables", cwd=work).stdout
    assert "blog_analysis" in text and "quarantine" in text and "Traceback" not in text
    assert "information_schema" not in text and "pg_catalog" not in text


# --- PostgreSQL --------------------------------------------------------------------------

PG_WRITES = [
    "DELETE FROM blog_analysis.votes",
    "DELETE FROM ONLY blog_analysis.votes",  # PostgreSQL's own syntax: PostgreSQL refuses
    "TRUNCATE ONLY blog_analysis.votes",
    "UPDATE blog_analysis.votes SET \"PostId\" = 0",
    "INSERT INTO sluice.runs SELECT * FROM sluice.runs",
    "DROP TABLE blog_analysis.votes CASCADE",
    "CREATE TABLE public.copied AS SELECT * FROM blog_analysis.votes",
    "COPY blog_analysis.votes TO '/tmp/sluice-copied.csv'",
    "SET default_transaction_read_only = off",
    "SELECT 1; DELETE FROM blog_analysis.votes",
    "SELECT 1 FROM ONLY sluice.runs; DELETE FROM sluice.runs",
    "WITH gone AS (DELETE FROM blog_analysis.votes RETURNING *) SELECT count(*) FROM gone",
    "SELECT nextval('sluice.run_ids')",
    "SELECT * FROM sluice.runs FOR UPDATE",
    "SELECT * FROM ONLY sluice.runs FOR UPDATE",
]


def test_sql_on_postgres_reads_every_format_and_refuses_writes(tmp_path: Path,
                                                               postgres_url: str) -> None:
    env = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
    _ingested(tmp_path, env)
    assert sluice_json("sql", SELECT_VOTES, cwd=tmp_path, env=env) == VOTE_ROWS
    lines = sluice("sql", SELECT_VOTES, "--jsonl", cwd=tmp_path, env=env).stdout.splitlines()
    assert [json.loads(line) for line in lines] == VOTE_ROWS
    rows = list(csv.reader(io.StringIO(
        sluice("sql", SELECT_VOTES, "--csv", cwd=tmp_path, env=env).stdout)))
    assert rows[1] == ["1", "10", "2021-06-30T13:45:12.345Z", "7", "50"]
    exact = sluice("sql", "SELECT 12345678901234567890.123456789::numeric AS amount, "
                   "'100%' AS share, TIMESTAMPTZ '2024-03-01 10:00:00+02' AS t", "--jsonl",
                   cwd=tmp_path, env=env).stdout
    assert json.loads(exact, parse_float=Decimal) == {
        "amount": Decimal("12345678901234567890.123456789"), "share": "100%",
        "t": "2024-03-01T08:00:00Z"}
    many = sluice("sql", "SELECT g FROM generate_series(1, 1500) AS g", cwd=tmp_path,
                  env=env).stdout
    assert "1,000 rows" in many and "500 more rows not shown" in many
    assert len(sluice_json("sql", "SELECT g FROM generate_series(1, 25000) AS g", cwd=tmp_path,
                           env=env)) == 25000

    schemas = ("sluice", "blog_analysis", "public")
    before = postgres_contents(postgres_url, schemas, {})
    for sql in PG_WRITES:
        result = sluice("sql", sql, cwd=tmp_path, env=env, expect=None)
        assert result.returncode == 2, (sql, result.returncode, result.stdout, result.stderr)
        assert result.stdout == "", sql
        _one_line_error(result)
    assert postgres_contents(postgres_url, schemas, {}) == before
    assert not Path("/tmp/sluice-copied.csv").exists()
    with psycopg.connect(postgres_url) as con:
        assert con.execute("SELECT last_value FROM sluice.run_ids").fetchone() == (1,)
    errors = [_one_line_error(sluice("sql", sql, cwd=tmp_path, env=env, expect=2))
              for sql in ("SELEC 1", "SELECT * FROM nope", "SELECT 1 / 0",
                          "DELETE FROM ONLY sluice.runs")]
    assert "not valid SQL" in errors[0] and '"nope" does not exist' in errors[1]
    assert "division by zero" in errors[2] and "LINE" not in " ".join(errors)
    assert "DECLARE" not in " ".join(errors) and "sluice_sql" not in " ".join(errors)


def test_tables_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    env = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
    _ingested(tmp_path, env)
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute('CREATE VIEW blog_analysis.busy_posts AS SELECT "PostId", count(*) AS n '
                    'FROM blog_analysis.votes GROUP BY 1')
        con.execute('CREATE VIEW blog_analysis.broken AS SELECT "Id" FROM blog_analysis.votes '
                    'WHERE 1 / ("Id" - "Id") = 1')
        con.execute("CREATE VIEW blog_analysis.sleepy AS SELECT 1 AS x FROM pg_sleep(3600)")
        con.execute("CREATE TEMP TABLE not_listed (x integer)")
        listed = sluice_json("tables", "--count-timeout", "0.5", cwd=tmp_path, env=env)
    assert [(t["schema"], t["name"], t["kind"], t["rows"]) for t in listed] == [
        ("blog_analysis", "broken", "view", None),
        ("blog_analysis", "busy_posts", "view", 2),
        ("blog_analysis", "sleepy", "view", None),
        ("blog_analysis", "votes", "table", 3),
        ("sluice", "files", "table", 1),
        ("sluice", "quarantine", "table", 1),
        ("sluice", "runs", "table", 1),
    ]
    notes = {t["name"]: t["note"] for t in listed}
    assert notes["broken"] == "cannot count: division by zero"
    assert "longer than 0.5 s" in notes["sleepy"]
    assert notes["votes"] is None
