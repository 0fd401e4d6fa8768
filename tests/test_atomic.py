"""A run commits whole or not at all; a killed run leaves the warehouse as it was."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLE, query, sluice, sluice_json, vote, write_lines
from sluice import merge
from sluice.errors import LedgerMismatch
from sluice.pipelines import votes
from sluice.warehouse import Warehouse

CRASH = {"SLUICE_CRASH_AT": "before-commit"}  # inside the run's one transaction


def everything(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table and view of the warehouse, every column, every row (sorted)."""
    relations = query(db, """
        SELECT schema_name || '.' || table_name FROM duckdb_tables()
        WHERE database_name = current_database() AND NOT temporary
        UNION ALL
        SELECT schema_name || '.' || view_name FROM duckdb_views()
        WHERE database_name = current_database() AND NOT temporary AND NOT internal""")
    return {name: sorted(query(db, f"SELECT * FROM {name}"), key=repr)
            for (name,) in sorted(relations)}


def kill_before_commit(*args: str, cwd: Path) -> None:
    """Run sluice in a real process that SIGKILLs itself at the crash point inside the
    transaction (sluice/faults.py), after the run's writes and before its COMMIT."""
    killed = sluice(*args, cwd=cwd, env=CRASH, expect=None)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    assert killed.stderr.endswith("sluice: killed at crash point before-commit\n"), (
        killed.stderr)


def assert_as_before_but_a_running_run(db: Path, before: dict[str, list[tuple[object, ...]]],
                                       pipeline: str) -> None:
    """Every table and view exactly as before the killed run; the ledger's only trace of
    it is its run row, committed on its own at the start and still marked running."""
    after = everything(db)
    runs_before, runs_after = before["sluice.runs"], after.pop("sluice.runs")
    assert after == {name: rows for name, rows in before.items() if name != "sluice.runs"}
    assert len(runs_after) == len(runs_before) + 1
    assert [run for run in runs_after if run not in runs_before] == query(
        db, "SELECT * FROM sluice.runs WHERE run_id = (SELECT max(run_id) FROM sluice.runs)")
    assert query(db, "SELECT run_id, pipeline, verb, status, finished, records_read, loaded, "
                     "error FROM sluice.runs ORDER BY run_id DESC LIMIT 1") == [
        (len(runs_before) + 1, pipeline, "ingest", "running", None, None, None, None)]


def test_votes_run_killed_before_commit_leaves_warehouse_unchanged(work: Path) -> None:
    db = work / "warehouse.db"
    sluice("votes", "ingest", str(EXAMPLE), cwd=work)
    sluice("votes", "outliers", cwd=work)  # the view is part of the warehouse too
    before = everything(db)
    assert before["blog_analysis.votes"] and before["sluice.files"]
    # New votes, a duplicate, a conflict with a loaded vote, and a line to quarantine.
    more = write_lines(work / "more.jsonl", [vote(n) for n in range(100, 5_000)]
                       + [vote(100), vote(1, post=99), "{bad"])
    kill_before_commit("votes", "ingest", str(more), cwd=work)
    assert_as_before_but_a_running_run(db, before, "votes")
    # The next run succeeds, loads everything, and marks the dead run as interrupted.
    summary = sluice_json("votes", "ingest", str(more), cwd=work)
    assert (summary["loaded"], summary["duplicates"], summary["rejected"]) == (4_900, 1, 2)
    statuses = query(db, "SELECT status FROM sluice.runs ORDER BY run_id")
    assert statuses == [("succeeded",), ("interrupted",), ("succeeded",)]


def test_killed_at_any_moment_commits_all_or_nothing(work: Path) -> None:
    sluice("votes", "generate", "big.jsonl", "--votes", "1500000", cwd=work)
    process = subprocess.Popen([sys.executable, "-m", "sluice", "votes", "ingest", "big.jsonl"],
                               cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    # Killed before the run made the table (the ledger's first commit comes first), the
    # warehouse holds no votes: nothing committed.
    made = (work / "warehouse.db").exists() and query(
        work / "warehouse.db", "SELECT count(*) FROM duckdb_tables() WHERE schema_name = "
        "'blog_analysis' AND table_name = 'votes'") == [(1,)]
    rows = query(work / "warehouse.db", "SELECT count(*) FROM blog_analysis.votes") if (
        made) else [(0,)]
    assert rows[0][0] in (0, 1_500_000)
    sluice("votes", "ingest", "big.jsonl", cwd=work)
    assert query(work / "warehouse.db", "SELECT count(*) FROM blog_analysis.votes") == [
        (1_500_000,)]
    assert query(work / "warehouse.db",
                 "SELECT count(*) FROM sluice.files WHERE status = 'loaded'") == [(1,)]


def test_counts_that_do_not_balance_fail_the_run_and_roll_back(
        work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_counts = merge.count_outcomes

    def one_record_lost(*args: object, **kwargs: object) -> dict[int, merge.FileCounts]:
        counts = real_counts(*args, **kwargs)  # type: ignore[arg-type]
        for c in counts.values():
            c.loaded -= 1
        return counts

    monkeypatch.setattr(merge, "count_outcomes", one_record_lost)
    with Warehouse(work / "warehouse.db") as warehouse:
        with pytest.raises(LedgerMismatch, match="read 16 != loaded 15"):
            votes.ingest(warehouse, [str(EXAMPLE)])
        assert warehouse.scalar("SELECT count(*) FROM blog_analysis.votes") == 0
        assert warehouse.scalar("SELECT count(*) FROM sluice.files") == 0
        assert warehouse.query("SELECT status, error FROM sluice.runs").rows[0][0] == "failed"


def test_advocacy_run_killed_before_commit_leaves_warehouse_unchanged(work: Path) -> None:
    db = work / "warehouse.db"
    sluice("advocacy", "generate", "export", "--advocates", "200", cwd=work)
    files = sorted((work / "export").glob("user_*.json"))
    (work / "first").mkdir()
    for path in files[:100]:
        shutil.copy2(path, work / "first" / path.name)
    sluice("advocacy", "ingest", "first", cwd=work)
    # The killed run would add advocates and also change one already loaded.
    known = next(record for record in map(_record, files[:100])
                 if record and isinstance(record.get("user_id"), str))
    (work / "export" / "zz_update.json").write_text(
        json.dumps({**known, "tiktok_handle": "@a_new_handle"}))
    before = everything(db)
    assert before["advocacy.advocates"] and before["advocacy.dq_issues"]
    kill_before_commit("advocacy", "ingest", "export", "--batch-size", "50", cwd=work)
    assert_as_before_but_a_running_run(db, before, "advocacy")
    staging = "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'advocacy_staging'"
    assert query(db, staging) == [(0,)]
    assert not (work / "warehouse.db.quarantine" / "run-2").exists()
    # The next run commits what the killed one would have: new advocates and the change.
    summary = sluice_json("advocacy", "ingest", "export", "--batch-size", "50", cwd=work)
    assert summary["status"] == "succeeded" and summary["loaded"] > 0
    assert query(db, "SELECT field, new_value FROM advocacy.advocate_changes "
                     f"WHERE advocate_id = '{known['user_id']}'") == [
        ("tiktok_handle", "a_new_handle")]
    assert len(query(db, "SELECT * FROM advocacy.advocates")) > len(
        before["advocacy.advocates"])
    assert query(db, staging) == [(0,)]


def _record(path: Path) -> dict[str, object] | None:
    try:
        record = json.loads(path.read_bytes())
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
