"""Hostile interrupts: Ctrl-C and SIGTERM at several moments of a run, and SIGKILL while a
run holds quarantine copies (docs/reliability.md, "Interrupted runs", "The quarantine
folder", "Exit codes").

The input is a 2,000,000-vote file (generated once for the module) beside an unreadable
`.gz` that sorts first, so that by the time the big file is read the run already holds a
quarantine copy that an interrupted run must not leave behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hostile
import pytest
from hostile import environment, is_open_by, tried

from conftest import query, sluice, sluice_json, vote, write_lines

NOT_GZIP = b"\x1f\x8b\x08\x00 this is not gzip data at all" * 20
OWN = {"warehouse.db", "warehouse.db.wal", "warehouse.db.tmp", "warehouse.db.quarantine"}
WAIT = 120  # seconds; only so that a stuck process fails the test instead of hanging it


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("interrupts")
    made = sluice_json("votes", "generate", "big.jsonl", "--votes", "2000000", cwd=folder)
    return folder / "big.jsonl", made


def at_startup(process: subprocess.Popen[str], path: Path) -> None:
    """0.2 s after the start: Python is still importing the engine and the CLI."""
    time.sleep(0.2)


def while_staging(process: subprocess.Popen[str], path: Path) -> None:
    """As soon as the process has the big file open."""
    while process.poll() is None and not is_open_by(process.pid, path):
        time.sleep(0.0005)


def late(process: subprocess.Popen[str], path: Path) -> None:
    """After the big file was read and closed: checking duplicates, loading, committing."""
    while_staging(process, path)
    closed = 0
    while process.poll() is None and closed < 5:
        closed = 0 if is_open_by(process.pid, path) else closed + 1
        time.sleep(0.002)


MOMENTS: dict[str, Callable[[subprocess.Popen[str], Path], None]] = {
    "0.2 s after start (imports)": at_startup, "while the file is staged": while_staging,
    "after staging (duplicates, load, commit)": late}
SIGNALS = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}
CASES = [
    pytest.param(signum, moment, id=tried(
        "interrupts", f"{label} {moment}, a 2,000,000-vote run holding a quarantine copy",
        f"exit {128 + signum}, one line on stderr, no traceback; the run is interrupted with "
        "no counts, no file or quarantine rows, no quarantine folder; the next run loads "
        "everything").case)
    for signum, label in SIGNALS.items() for moment in MOMENTS]


def offer(work: Path, big: Path) -> Path:
    folder = work / "in"
    folder.mkdir()
    os.link(big, folder / "big.jsonl")
    (folder / "a_bad.jsonl.gz").write_bytes(NOT_GZIP)
    return folder


def tables(db: Path) -> set[str]:
    return {f"{s}.{t}" for s, t in query(db, "SELECT schema_name, table_name FROM "
                                             "duckdb_tables() WHERE NOT temporary")}


def assert_nothing_left(work: Path, db: Path) -> list[tuple[Any, ...]]:
    """After a rolled-back run: only sluice's own files beside the input, no quarantine
    folder of any run, no rows but the run's own. Returns the run rows."""
    assert {p.name for p in work.iterdir()} - {"in"} <= OWN, sorted(p.name for p in
                                                                      work.iterdir())
    quarantine = work / "warehouse.db.quarantine"
    assert not quarantine.exists() or not list(quarantine.iterdir()), list(
        quarantine.iterdir())
    if not db.exists() or "sluice.runs" not in tables(db):
        return []
    hostile.assert_promises(db)
    assert query(db, "SELECT count(*) FROM sluice.files") == [(0,)]
    if "sluice.quarantine" in tables(db):
        assert query(db, "SELECT count(*) FROM sluice.quarantine") == [(0,)]
    if "blog_analysis.votes" in tables(db):
        assert query(db, "SELECT count(*) FROM blog_analysis.votes") == [(0,)]
    return query(db, "SELECT run_id, status, records_read, loaded, duplicates, rejected "
                     "FROM sluice.runs ORDER BY run_id")


def copies(folder: Path) -> list[Path]:
    """The copies of the unreadable file under a run's quarantine folder."""
    return [p for p in folder.rglob("*") if p.is_file() and p.read_bytes() == NOT_GZIP]


def assert_next_run_loads_everything(work: Path, db: Path, made: dict[str, Any]) -> None:
    result = sluice("votes", "ingest", "in", "--json", cwd=work, expect=5)
    summary = json.loads(result.stdout)
    hostile.assert_promises(db)
    by_name = {Path(f["path"]).name: f for f in summary["file_details"]}
    assert by_name["a_bad.jsonl.gz"]["status"] == "unreadable"
    assert (by_name["big.jsonl"]["read"], by_name["big.jsonl"]["loaded"],
            by_name["big.jsonl"]["duplicates"], by_name["big.jsonl"]["rejected"]) == (
        made["lines"], made["votes"], made["duplicates"],
        made["conflicts"] + made["broken"] + made["invalid_utf8"])
    assert query(db, "SELECT count(*) FROM blog_analysis.votes") == [(made["votes"],)]
    run = summary["run_id"]
    kept = work / "warehouse.db.quarantine"
    assert sorted(p.name for p in kept.iterdir()) == [f"run-{run}"]
    assert len(copies(kept / f"run-{run}")) == 1
    earlier = query(db, f"SELECT status, records_read, loaded, duplicates, rejected "
                        f"FROM sluice.runs WHERE run_id < {run}")
    assert all(row == ("interrupted", None, None, None, None) for row in earlier), earlier


@pytest.mark.parametrize(("signum", "moment"), CASES)
def test_an_interrupted_run_rolls_back_cleanly(
        work: Path, big: tuple[Path, dict[str, Any]], signum: int, moment: str) -> None:
    path, made = big
    folder = offer(work, path)
    process = subprocess.Popen(
        [sys.executable, "-m", "sluice", "votes", "ingest", "in"], cwd=work,
        env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        MOMENTS[moment](process, (folder / "big.jsonl").resolve())
        finished_first = process.poll() is not None
        if not finished_first:
            process.send_signal(signum)
        _, stderr = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    db = work / "warehouse.db"
    committed = db.exists() and "sluice.runs" in tables(db) and query(
        db, "SELECT status FROM sluice.runs") == [("succeeded",)]
    if committed and moment.startswith("after staging"):
        # The run had committed before the signal arrived: it stays committed.
        assert process.returncode in (5, 128 + signum), (process.returncode, stderr)
        hostile.assert_promises(db)
        assert query(db, "SELECT count(*) FROM blog_analysis.votes") == [(made["votes"],)]
        return
    assert not finished_first, f"the run ended before the signal: {stderr}"
    assert process.returncode == 128 + signum, (process.returncode, stderr)
    assert "Traceback" not in stderr
    assert len([line for line in stderr.splitlines() if line.strip()]) == 1, stderr
    runs = assert_nothing_left(work, db)
    if moment.startswith("0.2 s"):
        assert runs in ([], [(1, "interrupted", None, None, None, None)]), runs
    else:
        assert runs == [(1, "interrupted", None, None, None, None)], runs
    assert_next_run_loads_everything(work, db, made)


KILLED = tried("interrupts", "SIGKILL just before the commit of a run that holds a "
                             "quarantine copy of an unreadable .gz",
               "the next run marks it interrupted and removes its partial quarantine folder; "
               "no run-N or run-N.partial of the dead run remains")


def test_a_killed_runs_partial_quarantine_folder_is_removed_by_the_next_run(
        work: Path) -> None:
    (work / "in").mkdir()
    (work / "in" / "a_bad.jsonl.gz").write_bytes(NOT_GZIP)
    write_lines(work / "in" / "good.jsonl", [vote(1), vote(2)])
    killed = sluice("votes", "ingest", "in", cwd=work, env={"SLUICE_CRASH_AT": "before-commit"},
                    expect=None)
    assert killed.returncode == -signal.SIGKILL
    kept = work / "warehouse.db.quarantine"
    assert not (kept / "run-1").exists(), "a run that did not commit published its copies"
    sluice("votes", "ingest", "in", cwd=work, expect=5)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    assert query(db, "SELECT run_id, status, records_read FROM sluice.runs ORDER BY run_id"
                 ) == [(1, "interrupted", None), (2, "succeeded", 2)]
    assert sorted(p.name for p in kept.iterdir()) == ["run-2"]
    assert len(copies(kept / "run-2")) == 1
    assert {p.name for p in work.iterdir()} - {"in"} <= OWN
    hostile.assert_rerun_changes_nothing("votes", "ingest", "in", cwd=work, db=db, expect=5)
