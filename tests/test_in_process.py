"""conftest.sluice runs the command in the test process: it must print what a process of
its own prints, and leave the test process as it found it."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE, sluice
from sluice import interrupts

COMMANDS = [
    ("--help",),
    ("votes", "ingest", "--help"),
    ("votes", "ingest", "--no-such-option"),  # the library's usage error
    ("votes", "ingest", "nowhere.jsonl", "--json"),
    ("votes", "ingest", str(EXAMPLE)),  # a table, at a piped process's width
    ("votes", "outliers", "--json"),
    ("runs", "--limit", "0"),
]


def test_a_call_prints_what_a_process_prints(tmp_path: Path) -> None:
    here, there = tmp_path / "in-process", tmp_path / "process"
    here.mkdir()
    there.mkdir()
    for command in COMMANDS:
        ours = sluice(*command, cwd=here, expect=None)
        theirs = sluice(*command, cwd=there, expect=None, process=True)
        assert (ours.returncode, ours.stdout, ours.stderr.replace(str(here), "<cwd>")) == (
            theirs.returncode, theirs.stdout, theirs.stderr.replace(str(there), "<cwd>")
        ), command


def test_a_call_leaves_the_test_process_as_it_was(
        work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLUICE_WAREHOUSE", str(work / "inherited.db"))
    handlers = {signum: signal.getsignal(signum) for signum in interrupts.HANDLED}
    cwd, argv, stdout = os.getcwd(), list(sys.argv), sys.stdout
    sluice("votes", "ingest", str(EXAMPLE), cwd=work)
    sluice("votes", "ingest", "nowhere.jsonl", cwd=work, expect=2)
    # An inherited SLUICE_* variable is hidden from the command, as from a child process.
    assert (work / "warehouse.db").exists() and not (work / "inherited.db").exists()
    assert os.environ["SLUICE_WAREHOUSE"] == str(work / "inherited.db")
    assert {s: signal.getsignal(s) for s in interrupts.HANDLED} == handlers
    assert (os.getcwd(), sys.argv, sys.stdout) == (cwd, argv, stdout)
    assert interrupts.received() is None


def test_a_crash_point_runs_in_a_process_of_its_own(work: Path) -> None:
    killed = sluice("votes", "ingest", str(EXAMPLE), cwd=work,
                    env={"SLUICE_CRASH_AT": "before-commit"}, expect=None)
    assert killed.returncode == -signal.SIGKILL
