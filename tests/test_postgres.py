"""Both pipelines on a real PostgreSQL server, against the same runs on a DuckDB file:
every table and view (models included), the ledger and the quarantine must be the same.
And what is PostgreSQL's own: the write lock, a run killed inside its transaction, a URL
that cannot work."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from postgres_server import duckdb_contents, postgres_contents, postgres_url

from conftest import sluice, sluice_json, vote, write_lines
from sluice.registry import pipelines

__all__ = ["postgres_url"]  # the fixture, used by name

VOTES_SCHEMAS = ("sluice", "blog_analysis")
ADVOCACY_SCHEMAS = ("sluice", "advocacy")
APPLICATIONS_SCHEMAS = ("sluice", "applications")


def _both(tmp_path: Path, postgres_url: str) -> tuple[dict[str, str], dict[str, str]]:
    """The environments of a run on DuckDB and of the same run on PostgreSQL."""
    duck = {"SLUICE_WAREHOUSE": str(tmp_path / "w.db")}
    pg = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "pgq")}
    return duck, pg


def _rewrite(tmp_path: Path) -> dict[str, str]:
    return {str(tmp_path / "w.db.quarantine"): "<quarantine>",
            str(tmp_path / "pgq"): "<quarantine>"}


def _assert_same(tmp_path: Path, postgres_url: str, schemas: tuple[str, ...]) -> None:
    on_duckdb = duckdb_contents(tmp_path / "w.db", schemas, _rewrite(tmp_path))
    on_postgres = postgres_contents(postgres_url, schemas, _rewrite(tmp_path))
    assert sorted(on_postgres) == sorted(on_duckdb)
    for relation, rows in on_duckdb.items():
        assert on_postgres[relation] == rows, relation
    # Tables that an empty comparison would prove nothing about.
    assert all(on_duckdb.get((schema, table)) for schema, table in _MUST_HAVE_ROWS
               if schema in schemas)


_MUST_HAVE_ROWS = {("sluice", "runs"), ("sluice", "files"), ("sluice", "quarantine"),
                   ("blog_analysis", "votes"), ("blog_analysis", "outlier_weeks"),
                   ("advocacy", "advocates"), ("advocacy", "tasks"),
                   ("advocacy", "advocate_changes"), ("advocacy", "dq_issues"),
                   ("advocacy", "engagement_by_platform"), ("applications", "successful"),
                   ("applications", "shared_membership_ids")}


def test_votes_on_postgres_equal_votes_on_duckdb(tmp_path: Path, postgres_url: str) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    sluice("votes", "generate", str(inputs / "a.jsonl"), "--votes", "3000", "--seed", "1",
           cwd=tmp_path)
    sluice("votes", "generate", str(inputs / "b.jsonl"), "--votes", "3000", "--seed", "2",
           "--first-id", "2000", cwd=tmp_path)
    write_lines(inputs / "c.jsonl", [
        vote(1_000_000), vote(1_000_000), vote(1_000_000, post=9),  # duplicate, conflict
        '{"Id": "x"}', "not json", "", vote(1_000_001, date="2022-01-03T00:00:00Z"),
        vote(1_000_002, BountyAmount="50", UserId="7"),
    ])
    for env in _both(tmp_path, postgres_url):
        sluice("votes", "ingest", str(inputs / "a.jsonl"), cwd=tmp_path, env=env)
        sluice("votes", "ingest", str(inputs / "b.jsonl"), str(inputs / "c.jsonl"),
               cwd=tmp_path, env=env)
        sluice("votes", "ingest", str(inputs), cwd=tmp_path, env=env)  # nothing new
        sluice("votes", "outliers", cwd=tmp_path, env=env)
    _assert_same(tmp_path, postgres_url, VOTES_SCHEMAS)
    duck, pg = _both(tmp_path, postgres_url)
    assert (sluice_json("votes", "outliers", cwd=tmp_path, env=pg)
            == sluice_json("votes", "outliers", cwd=tmp_path, env=duck))


def test_votes_counts_on_postgres_are_exact(tmp_path: Path, postgres_url: str) -> None:
    """The counts checked against what the input holds, not only against DuckDB."""
    write_lines(tmp_path / "v.jsonl", [vote(1), vote(2), vote(2), vote(3), vote(3, post=5),
                                       "{", vote(4, date="yesterday")])
    write_lines(tmp_path / "w.jsonl", [vote(1), vote(2, post=8), vote(5)])
    env = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
    first = sluice_json("votes", "ingest", "v.jsonl", cwd=tmp_path, env=env)
    second = sluice_json("votes", "ingest", "w.jsonl", cwd=tmp_path, env=env)
    counts = [(s["read"], s["loaded"], s["duplicates"], s["rejected"]) for s in (first, second)]
    assert counts == [(7, 3, 1, 3), (3, 1, 1, 1)]
    with psycopg.connect(postgres_url) as con:
        ids = [row[0] for row in con.execute(
            'SELECT "Id" FROM blog_analysis.votes ORDER BY 1').fetchall()]
        reasons = con.execute(
            "SELECT line_number, reasons FROM sluice.quarantine ORDER BY run_id, line_number"
        ).fetchall()
    assert ids == [1, 2, 3, 5]
    assert reasons == [
        (5, ["conflict: a record with this Id was loaded first with different content"]),
        (6, ["invalid JSON"]),
        (7, ["CreationDate is not a timestamp (YYYY-MM-DDTHH:MM:SS.fff)"]),
        (2, ["conflict: a record with this Id was loaded first with different content"]),
    ]


def test_advocacy_on_postgres_equals_advocacy_on_duckdb(tmp_path: Path,
                                                       postgres_url: str) -> None:
    folder = tmp_path / "export"
    sluice("advocacy", "generate", str(folder), "--advocates", "400", cwd=tmp_path)
    # A later delivery as JSON Lines: known advocates with a changed email, and a broken line.
    changed = []
    for path in sorted(folder.glob("*.json"))[:25]:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(record, dict):
            record["email"] = "new.address@example.com"
            changed.append(json.dumps(record))
    assert len(changed) > 10
    write_lines(tmp_path / "later.jsonl", [*changed, '{"user_id": "cut short'])
    for env in _both(tmp_path, postgres_url):
        sluice("advocacy", "ingest", str(folder), cwd=tmp_path, env=env)
        sluice("advocacy", "ingest", str(tmp_path / "later.jsonl"), cwd=tmp_path, env=env)
        sluice("advocacy", "ingest", str(folder), cwd=tmp_path, env=env)  # nothing new
    _assert_same(tmp_path, postgres_url, ADVOCACY_SCHEMAS)
    duck, pg = _both(tmp_path, postgres_url)
    assert (sluice_json("advocacy", "report", cwd=tmp_path, env=pg)
            == sluice_json("advocacy", "report", cwd=tmp_path, env=duck))


def test_applications_on_postgres_equal_applications_on_duckdb(tmp_path: Path,
                                                               postgres_url: str) -> None:
    source, inbox = tmp_path / "source", tmp_path / "in"
    sluice("applications", "generate", str(source), "--rows", "3000", "--files", "3",
           cwd=tmp_path)
    later = tmp_path / "later"
    later.mkdir()
    first = (source / "applications_000000.csv").read_text(encoding="utf-8").splitlines()
    # A later hour: some applications sent again (duplicates), a bad row, a bad header file.
    (later / "late.csv").write_text("\n".join([*first[:40], "a,b,c", "Ann Lee,x@y.com,"
                                               "1990-02-30,1234"]) + "\n", encoding="utf-8")
    (later / "wrong.csv").write_text("who,what\n1,2\n", encoding="utf-8")
    outputs = {}
    for env in _both(tmp_path, postgres_url):
        name = "pg" if "://" in env["SLUICE_WAREHOUSE"] else "duck"
        shutil.copytree(source, inbox)
        run = ("applications", "run", "--inbox", str(inbox), "--out", str(tmp_path / name),
               "--min-age", "0")
        sluice(*run, cwd=tmp_path, env=env)
        shutil.copytree(later, inbox, dirs_exist_ok=True)
        shutil.copy2(source / "applications_000001.csv", inbox / "again.csv")
        sluice(*run, cwd=tmp_path, env=env, expect=5)  # wrong.csv cannot be read
        assert not any(inbox.iterdir())
        inbox.rmdir()
        sluice("applications", "report", cwd=tmp_path, env=env)
        outputs[name] = sorted(  # (kind, run number, content)
            (path.parent.name, path.name.split("-run-")[1], path.read_text(encoding="utf-8"))
            for path in (tmp_path / name).glob("*successful/*.csv"))
    assert outputs["pg"] == outputs["duck"] and len(outputs["duck"]) == 4
    _assert_same(tmp_path, postgres_url, APPLICATIONS_SCHEMAS)
    duck, pg = _both(tmp_path, postgres_url)
    report = sluice_json("applications", "report", cwd=tmp_path, env=duck)
    assert sluice_json("applications", "report", cwd=tmp_path, env=pg) == report
    # The 39 applications sent again: those that were successful are duplicates now.
    first_run = next(text for kind, run, text in outputs["duck"]
                     if (kind, run) == ("successful", "1.csv"))
    resent = [row for row in csv.DictReader(io.StringIO(first_run))
              if row["source_file"].endswith("applications_000000.csv")
              and int(row["line_number"]) <= 40]
    assert {row["outcome"]: row["applications"] for row in report["applications"]}[
        "duplicates"] == len(resent) > 10


def test_second_writer_waits_for_none_and_exits_3(tmp_path: Path, postgres_url: str) -> None:
    write_lines(tmp_path / "v.jsonl", [vote(1)])
    env = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
    sluice("votes", "ingest", "v.jsonl", cwd=tmp_path, env=env)
    with psycopg.connect(postgres_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [0x736C75696365])
        result = sluice("votes", "ingest", "v.jsonl", cwd=tmp_path, env=env, expect=3)
        # Reading needs no lock.
        runs = sluice_json("runs", cwd=tmp_path, env=env)
    assert "in use by another sluice process" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(runs) == 1


def test_run_killed_inside_its_transaction_leaves_postgres_as_it_was(
        tmp_path: Path, postgres_url: str) -> None:
    write_lines(tmp_path / "v.jsonl", [vote(1), vote(2), "{"])
    write_lines(tmp_path / "w.jsonl", [vote(3), "{", vote(1, post=4)])
    env = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
    sluice("votes", "ingest", "v.jsonl", cwd=tmp_path, env=env)
    before = postgres_contents(postgres_url, VOTES_SCHEMAS, {})
    killed = sluice("votes", "ingest", "w.jsonl", cwd=tmp_path,
                    env={**env, "SLUICE_CRASH_AT": "before-commit"}, expect=None)
    assert killed.returncode == -signal.SIGKILL
    after = postgres_contents(postgres_url, VOTES_SCHEMAS, {})
    runs_before, runs_after = before.pop(("sluice", "runs")), after.pop(("sluice", "runs"))
    assert after == before
    # The killed run is left marked running: the next run marks it interrupted.
    assert [r for r in runs_after if r not in runs_before] == [
        (2, "votes", "ingest", "running", None, None, None, None, None, None, None)]
    sluice("votes", "ingest", "w.jsonl", cwd=tmp_path, env=env)
    runs = sluice_json("runs", cwd=tmp_path, env=env)
    assert [r["status"] for r in runs] == ["succeeded", "interrupted", "succeeded"]


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://postgres@127.0.0.1:1/nowhere", "cannot connect to the server"),
    ("postgresql://postgres@127.0.0.1:5432/sluice_no_such_database", "does not exist"),
    ("postgresql://sluice_no_such_role@127.0.0.1:5432/postgres", "no such user"),
    ("postgresql://postgres:secret@127.0.0.1:1/x", "postgresql://postgres@127.0.0.1:1/x"),
    ("postgresql://postgres@127.0.0.1:5432/x?sslmode=nonsense", "not a valid PostgreSQL URL"),
    ("mysql://root@127.0.0.1/db", "scheme 'mysql' is not supported"),
])
def test_a_warehouse_url_that_cannot_work_is_one_clear_line(
        tmp_path: Path, url: str, expected: str) -> None:
    write_lines(tmp_path / "v.jsonl", [vote(1)])
    result = sluice("votes", "ingest", "v.jsonl", "--warehouse", url, cwd=tmp_path,
                    expect=None)
    assert result.returncode in (1, 2)
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr and "psycopg" not in result.stderr
    assert "secret" not in result.stderr



def test_text_postgres_cannot_hold_is_kept_visibly(tmp_path: Path, postgres_url: str) -> None:
    """PostgreSQL's text has no NUL: a quarantined line with one keeps it as \\u0000,
    and the run commits."""
    (tmp_path / "v.jsonl").write_bytes(b'{"Id": "1", "PostId": "a\x00b"}\n' + vote(2).encode()
                                       + b"\n")
    env = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
    summary = sluice_json("votes", "ingest", "v.jsonl", cwd=tmp_path, env=env)
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (2, 1, 1)
    with psycopg.connect(postgres_url) as con:
        raw = con.execute("SELECT raw FROM sluice.quarantine").fetchall()
    assert raw == [('{"Id": "1", "PostId": "a\\u0000b"}',)]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_while_rows_stream_into_postgres_rolls_back(
        tmp_path: Path, postgres_url: str, signum: int) -> None:
    """Ctrl-C or SIGTERM while the COPY into the target runs: exit 130/143 with one
    line, the run interrupted, nothing of it in the database; the next run loads all."""
    made = sluice_json("votes", "generate", "big.jsonl", "--votes", "1000000", "--clean",
                       cwd=tmp_path)
    env = {**os.environ, "SLUICE_WAREHOUSE": postgres_url,
           "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
    env = {k: v for k, v in env.items() if k != "SLUICE_CRASH_AT"}
    process = subprocess.Popen([sys.executable, "-m", "sluice", "votes", "ingest", "big.jsonl"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    with psycopg.connect(postgres_url, autocommit=True) as watcher:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            copying = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sluice' "
                "AND state = 'active' AND query LIKE 'COPY blog_analysis.votes%'").fetchone()
            if copying and copying[0]:
                break
            time.sleep(0.005)
        assert process.poll() is None, "the run ended before its COPY was seen"
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, stderr
    assert len(stderr.strip().splitlines()) == 1 and "interrupted" in stderr, stderr
    with psycopg.connect(postgres_url) as con:
        assert con.execute("SELECT count(*) FROM blog_analysis.votes").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM sluice.files").fetchone() == (0,)
        assert con.execute("SELECT status FROM sluice.runs").fetchall() == [("interrupted",)]
    again = sluice_json("votes", "ingest", "big.jsonl", cwd=tmp_path,
                        env={k: env[k] for k in ("SLUICE_WAREHOUSE", "SLUICE_QUARANTINE_DIR")})
    assert again["loaded"] == made["votes"]


def test_demo_on_postgres_says_what_it_says_on_duckdb(tmp_path: Path, postgres_url: str) -> None:
    """Every pipeline's demo step (generate, ingest, models, views) on both warehouses."""
    duck, pg = _both(tmp_path, postgres_url)
    on_duckdb = sluice_json("demo", "--dir", "demo-duckdb", cwd=tmp_path, env=duck)
    on_postgres = sluice_json("demo", "--dir", "demo-postgres", cwd=tmp_path, env=pg)
    assert on_postgres == on_duckdb
    assert on_postgres["votes"]["loaded"] > 0 and on_postgres["advocacy"]["loaded"] > 0
    timeless = [[{k: v for k, v in run.items() if k not in ("started", "finished", "seconds")}
                 for run in sluice_json("runs", cwd=tmp_path, env=env)] for env in (duck, pg)]
    assert timeless[1] == timeless[0]
    demos = [p for p in pipelines() if p.demo is not None]
    assert {run["status"] for run in timeless[0]} == {"succeeded"}
    assert {run["pipeline"] for run in timeless[0]} == {p.name for p in demos}


def test_rows_the_database_silently_drops_fail_the_balance(tmp_path: Path,
                                                          postgres_url: str) -> None:
    """A trigger that drops some rows (a DBA's, say): PostgreSQL stores fewer rows than
    sluice sent, the ledger cannot balance, and the run is rolled back with exit 4."""
    write_lines(tmp_path / "v.jsonl", [vote(i) for i in range(1, 11)])
    env = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
    write_lines(tmp_path / "first.jsonl", [vote(100)])
    sluice("votes", "ingest", "first.jsonl", cwd=tmp_path, env=env)
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute("""
            CREATE FUNCTION drop_sevens() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW."Id" = 7 THEN RETURN NULL; END IF; RETURN NEW; END $$;
            CREATE TRIGGER drop_sevens BEFORE INSERT ON blog_analysis.votes
            FOR EACH ROW EXECUTE FUNCTION drop_sevens();""")
    write_lines(tmp_path / "w.jsonl", [vote(i) for i in range(11, 14)])
    # Several files: the rows sent per file must add up to what PostgreSQL stored.
    several = sluice("votes", "ingest", "v.jsonl", "w.jsonl", cwd=tmp_path, env=env, expect=4)
    assert "13 rows sent, the warehouse stored 12" in several.stderr
    # One file: what PostgreSQL stored is its `loaded`, and the file cannot balance.
    one = sluice("votes", "ingest", "v.jsonl", cwd=tmp_path, env=env, expect=4)
    assert "read 10 != loaded 9 + duplicates 0 + rejected 0" in one.stderr
    with psycopg.connect(postgres_url) as con:
        assert con.execute('SELECT "Id" FROM blog_analysis.votes').fetchall() == [(100,)]
        assert con.execute("SELECT status FROM sluice.runs ORDER BY run_id").fetchall() == [
            ("succeeded",), ("failed",), ("failed",)]


def test_quarantine_folder_of_a_postgres_warehouse(tmp_path: Path, postgres_url: str) -> None:
    """Files that cannot be read are copied to $SLUICE_QUARANTINE_DIR/run-N/, published
    on commit; a quarantine folder that is a file is a usage error, before any run."""
    (tmp_path / "bad.jsonl.gz").write_bytes(b"not gzip at all")
    write_lines(tmp_path / "ok.jsonl", [vote(1)])
    env = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
    result = sluice("votes", "ingest", "bad.jsonl.gz", "ok.jsonl", cwd=tmp_path, env=env,
                    expect=5)
    assert f"copy kept at {tmp_path / 'q' / 'run-1' / 'bad.jsonl.gz'}" in result.stdout
    assert (tmp_path / "q" / "run-1" / "bad.jsonl.gz").read_bytes() == b"not gzip at all"
    (tmp_path / "afile").write_text("")
    refused = sluice("votes", "ingest", "ok.jsonl", cwd=tmp_path,
                     env={**env, "SLUICE_QUARANTINE_DIR": str(tmp_path / "afile")}, expect=2)
    assert "is a file, not a folder" in refused.stderr
    assert len(sluice_json("runs", cwd=tmp_path, env=env)) == 1


def test_model_refresh_keeps_the_users_own_views(tmp_path: Path, postgres_url: str) -> None:
    """Each ingest rebuilds the models; on PostgreSQL a view of the user's own built on a
    model survives it. A table that gains a column (by hand) changes a `SELECT *` model,
    which is then dropped and created again: the run still succeeds."""
    folder = tmp_path / "export"
    sluice("advocacy", "generate", str(folder), "--advocates", "50", cwd=tmp_path)
    env = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
    sluice("advocacy", "ingest", str(folder), cwd=tmp_path, env=env)
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute("CREATE VIEW public.my_top AS SELECT name, sales "
                    "FROM advocacy.top_advocates_by_sales")
        before = con.execute("SELECT * FROM public.my_top ORDER BY 1, 2").fetchall()
    assert before
    sluice("advocacy", "ingest", str(folder), cwd=tmp_path, env=env)
    with psycopg.connect(postgres_url, autocommit=True) as con:
        assert con.execute("SELECT * FROM public.my_top ORDER BY 1, 2").fetchall() == before
        con.execute("ALTER TABLE advocacy.tasks ADD COLUMN campaign VARCHAR")
    sluice("advocacy", "ingest", str(folder), cwd=tmp_path, env=env)
    with psycopg.connect(postgres_url) as con:
        columns = [row[0] for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "'advocacy' AND table_name = 'task_engagement' ORDER BY ordinal_position")]
        assert "campaign" in columns
        assert con.execute("SELECT count(*) FROM advocacy.top_advocates_by_sales").fetchone()
