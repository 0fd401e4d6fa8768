"""The terminal: clear one-line errors, --json, the warehouse option, the progress bar."""

from __future__ import annotations

import hashlib
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from conftest import EXAMPLE, query, sluice, sluice_json, vote, write_lines


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_path_is_a_one_line_error_and_nothing_is_written(work: Path) -> None:
    result = sluice("votes", "ingest", "nowhere.jsonl", cwd=work, expect=2)
    assert_one_line_error(result.stderr, "no such file or folder: nowhere.jsonl")
    result = sluice("votes", "ingest", "in/*.jsonl", cwd=work, expect=2)
    assert_one_line_error(result.stderr, "no files match in/*.jsonl")


def test_locked_warehouse_is_a_one_line_error(work: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         "con = duckdb.connect('warehouse.db'); print('locked', flush=True); time.sleep(60)"],
        cwd=work, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        result = sluice("votes", "ingest", str(EXAMPLE), cwd=work, expect=3)
        assert_one_line_error(result.stderr, "in use by another process", f"PID {holder.pid}")
    finally:
        holder.kill()
        holder.wait()


def test_a_file_that_is_not_a_warehouse_is_a_one_line_error(work: Path) -> None:
    (work / "notes.db").write_text("just some text" * 100)
    result = sluice("votes", "outliers", "--warehouse", "notes.db", cwd=work, expect=1)
    assert_one_line_error(result.stderr, "notes.db is not a DuckDB warehouse file")


def test_warehouse_option_and_environment_variable(work: Path) -> None:
    sluice("votes", "ingest", str(EXAMPLE), "--warehouse", "a.db", cwd=work)
    sluice("votes", "ingest", str(EXAMPLE), cwd=work, env={"SLUICE_WAREHOUSE": "b.db"})
    assert (work / "a.db").exists() and (work / "b.db").exists()
    assert not (work / "warehouse.db").exists()
    weeks = sluice_json("votes", "outliers", cwd=work, env={"SLUICE_WAREHOUSE": "b.db"})
    assert len(weeks["outlier_weeks"]) == 6


def test_json_summary_is_machine_readable(work: Path) -> None:
    path = write_lines(work / "v.jsonl", [vote(1), vote(1), "nope"])
    summary = sluice_json("votes", "ingest", str(path), cwd=work)
    assert summary == {
        "run_id": 1, "pipeline": "votes", "status": "succeeded", "files": 1,
        "files_skipped": 0, "files_unreadable": 0, "read": 3, "loaded": 1, "duplicates": 1,
        "rejected": 1,
        "file_details": [{"path": str(path), "status": "loaded",
                          "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                          "read": 3, "loaded": 1, "duplicates": 1, "rejected": 1,
                          "note": None}],
        "file_details_omitted": 0}


def test_human_summary_and_no_progress_bar_when_not_a_terminal(work: Path) -> None:
    result = sluice("votes", "ingest", str(EXAMPLE), cwd=work)
    assert "votes_example.jsonl" in result.stdout and "succeeded" in result.stdout
    assert result.stderr == ""


def test_progress_bar_on_a_terminal(work: Path) -> None:
    sluice("votes", "generate", "big.jsonl", "--votes", "1000000", cwd=work)
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "sluice", "votes", "ingest", "big.jsonl"], cwd=work,
        stdout=subprocess.DEVNULL, stderr=secondary, env={**os.environ, "COLUMNS": "100"})
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    process.wait()
    os.close(main)
    assert process.returncode == 0
    assert b"reading big.jsonl" in seen or b"checking duplicates" in seen, seen[-500:]


def test_version(work: Path) -> None:
    from importlib.metadata import version

    assert sluice("--version", cwd=work).stdout.strip() == f"sluice {version('sluice')}"


def test_help_lists_the_commands(work: Path) -> None:
    top = sluice("--help", cwd=work).stdout
    assert "votes" in top and "demo" in top and "runs" in top
    assert "ingest" in sluice("votes", "--help", cwd=work).stdout


def test_piped_tables_are_not_cut_to_the_terminal_width(work: Path) -> None:
    sluice("votes", "ingest", str(EXAMPLE), cwd=work)
    printed = sluice("runs", cwd=work).stdout
    header = next(line for line in printed.splitlines() if "pipeline" in line)
    for column in ("run_id", "pipeline", "verb", "status", "started", "seconds", "files",
                   "skipped", "unreadable", "read", "loaded", "duplicates", "rejected",
                   "error"):
        assert f" {column} " in header, header
    assert "…" not in printed


def test_runs_shows_the_ledger(work: Path) -> None:
    sluice("votes", "ingest", str(EXAMPLE), cwd=work)
    more = write_lines(work / "v.jsonl", [vote(100), vote(100), "nope"])
    sluice("votes", "ingest", str(more), cwd=work)
    runs = sluice_json("runs", cwd=work)
    counts = {"files": 1, "files_skipped": 0, "files_unreadable": 0}
    expected = [  # newest first
        {"run_id": 2, "pipeline": "votes", "verb": "ingest", "status": "succeeded", **counts,
         "read": 3, "loaded": 1, "duplicates": 1, "rejected": 1, "error": None},
        {"run_id": 1, "pipeline": "votes", "verb": "ingest", "status": "succeeded", **counts,
         "read": 16, "loaded": 16, "duplicates": 0, "rejected": 0, "error": None}]
    # Times as the ledger holds them (UTC), to the second; seconds from the exact times.
    times = {run_id: (started, finished) for run_id, started, finished in query(
        work / "warehouse.db", "SELECT run_id, started, finished FROM sluice.runs")}
    for run in runs:
        started, finished = times[run["run_id"]]
        run_times = {key: run.pop(key) for key in ("started", "finished", "seconds")}
        assert run_times == {
            "started": started.replace(microsecond=0).isoformat() + "Z",
            "finished": finished.replace(microsecond=0).isoformat() + "Z",
            "seconds": round((finished - started).total_seconds(), 2)}
    assert runs == expected
