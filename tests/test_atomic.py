"""A run commits whole or not at all; a killed run leaves the warehouse as it was."""

from __future__ import annotations

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

STATE = {
    "votes": "SELECT * FROM blog_analysis.votes ORDER BY Id",
    "files": "SELECT file_id, path, status, loaded FROM sluice.files ORDER BY file_id",
    "quarantine": "SELECT * FROM sluice.quarantine ORDER BY file_id, line_number",
}


def snapshot(warehouse: Path) -> dict[str, list[tuple[object, ...]]]:
    return {name: query(warehouse, sql) for name, sql in STATE.items()}


def test_killed_just_before_commit_leaves_warehouse_unchanged(work: Path) -> None:
    sluice("votes", "ingest", str(EXAMPLE), cwd=work)
    before = snapshot(work / "warehouse.db")
    more = write_lines(work / "more.jsonl", [vote(n) for n in range(100, 5_000)] + ["{bad"])
    killed = sluice("votes", "ingest", str(more), cwd=work,
                    env={"SLUICE_CRASH_AT": "before-commit"}, expect=None)
    assert killed.returncode == -signal.SIGKILL
    assert snapshot(work / "warehouse.db") == before
    statuses = query(work / "warehouse.db", "SELECT status FROM sluice.runs ORDER BY run_id")
    assert statuses == [("succeeded",), ("running",)]
    # The next run succeeds, loads everything, and marks the dead run as interrupted.
    summary = sluice_json("votes", "ingest", str(more), cwd=work)
    assert (summary["loaded"], summary["rejected"]) == (4_900, 1)
    statuses = query(work / "warehouse.db", "SELECT status FROM sluice.runs ORDER BY run_id")
    assert statuses == [("succeeded",), ("interrupted",), ("succeeded",)]


def test_killed_at_any_moment_commits_all_or_nothing(work: Path) -> None:
    sluice("votes", "generate", "big.jsonl", "--votes", "1500000", cwd=work)
    process = subprocess.Popen([sys.executable, "-m", "sluice", "votes", "ingest", "big.jsonl"],
                               cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    rows = query(work / "warehouse.db", "SELECT count(*) FROM blog_analysis.votes") if (
        work / "warehouse.db").exists() else [(0,)]
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
    sluice("advocacy", "generate", "export", "--advocates", "200", cwd=work)
    (work / "empty").mkdir()
    sluice("advocacy", "ingest", "empty", cwd=work)  # creates the empty tables
    tables = ("advocates", "memberships", "tasks", "dq_issues", "raw_records")
    before = {t: query(work / "warehouse.db", f"SELECT count(*) FROM advocacy.{t}")
              for t in tables}
    killed = sluice("advocacy", "ingest", "export", "--batch-size", "50", cwd=work,
                    env={"SLUICE_CRASH_AT": "before-commit"}, expect=None)
    assert killed.returncode == -signal.SIGKILL
    after = {t: query(work / "warehouse.db", f"SELECT count(*) FROM advocacy.{t}")
             for t in tables}
    assert after == before == {t: [(0,)] for t in tables}
    ledger_and_quarantine = ("SELECT (SELECT count(*) FROM sluice.files), "
                             "(SELECT count(*) FROM sluice.quarantine)")
    assert query(work / "warehouse.db", ledger_and_quarantine) == [(0, 0)]
    staging = "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'advocacy_staging'"
    assert query(work / "warehouse.db", staging) == [(0,)]
    summary = sluice_json("advocacy", "ingest", "export", "--batch-size", "50", cwd=work)
    assert summary["status"] == "succeeded" and summary["loaded"] > 0
    assert query(work / "warehouse.db", staging) == [(0,)]
