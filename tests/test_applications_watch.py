"""`sluice applications watch`, as a real process: passes on files, on the schedule and
for files still being written; SIGTERM and SIGINT while idle and during a pass; SIGKILL
mid-pass; the inbox removed under it.

The watcher's stdout is read line by line by a thread; every wait has a deadline, so a
stuck watcher fails its test instead of hanging it, and every watcher is killed at the
end of its test whatever happened.
"""

from __future__ import annotations

import itertools
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pytest
from hostile import assert_promises, environment, is_open_by

from conftest import query, sluice, sluice_json

HEADER = "name,email,date_of_birth,mobile_no"
WAIT = 30.0  # seconds; only so that a stuck watcher fails the test instead of hanging it
BIG_ROWS = 400_000
PASS = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] pass \((\w+)\)$")
ARCHIVED = r"^archived \d+ files? to "
NOTHING = r"^nothing to process"


def application(n: int) -> str:
    """A successful application, different for every n."""
    return (f"Ann Lee{n},ann{n}@example.com,{1950 + n % 50}-{1 + n % 12:02d}-"
            f"{1 + n % 28:02d},{10_000_000 + n}")


def write(path: Path, rows: range) -> Path:
    """An application file written in one go (under another name, then renamed)."""
    part = path.with_name("." + path.name + ".part")
    part.write_text(HEADER + "\n" + "".join(application(n) + "\n" for n in rows))
    os.replace(part, path)
    return path


class Watcher:
    """A `sluice applications watch` process, its output read as it comes."""

    def __init__(self, work: Path, *options: str, inbox: str = "in") -> None:
        command = [sys.executable, "-m", "sluice", "applications", "watch", "--inbox", inbox,
                   "--out", "out", *options]
        self.process = subprocess.Popen(command, cwd=work, env=environment(),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        self.started = time.monotonic()
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[tuple[float, str]] = []  # (seconds since the start, line)
        self.stderr: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read_stdout, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self.process.stderr,), daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self, stream: IO[str]) -> None:
        for line in stream:
            line = line.rstrip("\n")
            self.stdout.append((time.monotonic() - self.started, line))
            self._lines.put(line)
        self._lines.put(None)

    def _read_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            self.stderr.append(line.rstrip("\n"))

    def output(self) -> str:
        return ("stdout:\n" + "\n".join(line for _, line in self.stdout)
                + "\nstderr:\n" + "\n".join(self.stderr))

    def wait_for(self, pattern: str, timeout: float = WAIT) -> str:
        """The next line of stdout that matches; fails if none comes in time or the
        watcher ends first."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no line matching {pattern!r} within {timeout} s\n{self.output()}")
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self._lines.put(None)
                self.process.wait(timeout=WAIT)
                pytest.fail(f"the watcher ended (exit {self.process.returncode}) before a "
                            f"line matching {pattern!r}\n{self.output()}")
            if re.search(pattern, line):
                return line

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        return self.finish()

    def finish(self, timeout: float = WAIT) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the watcher did not end within {timeout} s\n{self.output()}")
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def passes(self) -> list[tuple[float, str]]:
        """Every pass so far: (when, why)."""
        return [(at, match.group(1)) for at, line in self.stdout
                if (match := PASS.match(line))]

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=WAIT)


@pytest.fixture
def inbox(work: Path) -> Path:
    folder = work / "in"
    folder.mkdir()
    return folder.resolve()


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One application file of 400,000 rows, and what was planted in it."""
    folder = tmp_path_factory.mktemp("big")
    made = sluice_json("applications", "generate", "made", "--rows", str(BIG_ROWS),
                       "--files", "1", "--seed", "11", cwd=folder)
    [path] = (folder / "made").iterdir()
    return path, made


def ledger(db: Path) -> list[tuple[Any, ...]]:
    return query(db, "SELECT run_id, regexp_replace(path, '^.*/in/', ''), status, "
                     "records_read, loaded, duplicates, rejected FROM sluice.files "
                     "ORDER BY file_id")


def runs(db: Path) -> list[tuple[Any, ...]]:
    return query(db, "SELECT run_id, status FROM sluice.runs ORDER BY run_id")


# --- 1. files arrive -------------------------------------------------------------------------

def test_files_dropped_while_watching_are_processed_once_even_when_written_slowly(
        work: Path, inbox: Path) -> None:
    with Watcher(work, "--min-age", "2") as watcher:
        watcher.wait_for(r"^watching ")
        assert PASS.match(watcher.wait_for(r"\] pass \(start\)"))
        watcher.wait_for(NOTHING)

        write(inbox / "a.csv", range(0, 10))
        watcher.wait_for(ARCHIVED)
        write(inbox / "b.csv", range(10, 15))
        watcher.wait_for(ARCHIVED)

        # Written slowly: half, a pause, the rest.
        with (inbox / "slow.csv").open("w") as slow:
            slow.write(HEADER + "\n" + "".join(application(n) + "\n" for n in range(100, 150)))
            slow.flush()
            time.sleep(1)
            slow.write("".join(application(n) + "\n" for n in range(150, 200)))
        watcher.wait_for(ARCHIVED)
        assert watcher.stop() == 0
    assert watcher.stdout[-1][1] == "stopped (SIGTERM); no run was open", watcher.output()
    assert watcher.stderr == []
    assert any(why == "waiting" for _, why in watcher.passes()), watcher.output()

    db = work / "warehouse.db"
    assert [row[1:] for row in ledger(db)] == [
        ("a.csv", "loaded", 10, 10, 0, 0),
        ("b.csv", "loaded", 5, 5, 0, 0),
        ("slow.csv", "loaded", 100, 100, 0, 0)]
    assert len({row[0] for row in ledger(db)}) == 3, "one run for each file"
    assert {status for _, status in runs(db)} == {"succeeded"}
    assert query(db, "SELECT count(*), count(DISTINCT application_key) "
                     "FROM applications.successful") == [(115, 115)]
    assert sorted(str(p.relative_to(work / "out" / "archive"))
                  for p in (work / "out" / "archive").rglob("*.csv")) == [
        "run-1/a.csv", "run-2/b.csv", "run-3/slow.csv"]
    assert not list(inbox.rglob("*.csv"))
    assert len(list((work / "out" / "successful").iterdir())) == 3
    assert_promises(db)


def test_a_folder_of_files_moved_into_the_inbox_is_processed_at_once(
        work: Path, inbox: Path) -> None:
    """The inbox is read recursively, so a folder of files that arrives (moved in whole,
    as a transfer tool or `mv` delivers it) is input; the file system reports only the
    folder, not the files in it, and that is enough to start a pass without waiting for
    the hourly one."""
    arriving = work / "arriving" / "2022-01-03"
    arriving.mkdir(parents=True)
    write(arriving / "b.csv", range(0, 5))
    with Watcher(work, "--min-age", "0.5") as watcher:
        watcher.wait_for(NOTHING)
        os.rename(arriving, inbox / "2022-01-03")
        watcher.wait_for(ARCHIVED, timeout=6)
        assert watcher.stop() == 0
    db = work / "warehouse.db"
    assert [row[1:] for row in ledger(db)] == [("2022-01-03/b.csv", "loaded", 5, 5, 0, 0)]
    assert_promises(db)


# --- 2. the schedule ---------------------------------------------------------------------

def test_passes_come_on_schedule_without_file_events(work: Path, inbox: Path) -> None:
    with Watcher(work, "--every", "0.02", "--min-age", "0.5") as watcher:  # every 1.2 s
        watcher.wait_for(r"\] pass \(start\)")
        for _ in range(3):
            watcher.wait_for(r"\] pass \(schedule\)", timeout=10)
            watcher.wait_for(NOTHING)
        assert watcher.stop() == 0
    passes = watcher.passes()
    assert [why for _, why in passes][:4] == ["start", "schedule", "schedule", "schedule"], \
        watcher.output()
    assert {why for _, why in passes} <= {"start", "schedule"}, watcher.output()
    # At least every 1.2 s (a wake-up that comes during a pass may be served by the
    # next one right after it, so two passes can be closer than that, never further).
    times = [at for at, _ in passes]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert max(gaps) <= 2.5, (gaps, watcher.output())
    assert len([line for _, line in watcher.stdout if re.search(NOTHING, line)]) >= 4
    assert runs(work / "warehouse.db") == []


# --- 3. signals ----------------------------------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_idle_stops_the_watcher_cleanly(work: Path, inbox: Path,
                                                       signum: int) -> None:
    with Watcher(work, "--min-age", "0.5") as watcher:
        watcher.wait_for(NOTHING)
        assert watcher.stop(signum) == 0, watcher.output()
    name = signal.Signals(signum).name
    assert watcher.stdout[-1][1] == f"stopped ({name}); no run was open", watcher.output()
    assert watcher.stderr == []


def test_sigterm_during_a_pass_rolls_it_back_and_the_next_start_processes_the_file(
        work: Path, inbox: Path, big: tuple[Path, dict[str, Any]]) -> None:
    source, made = big
    path = inbox / "big.csv"
    os.link(source, path)
    with Watcher(work, "--min-age", "0.5") as watcher:
        deadline = time.monotonic() + WAIT
        while watcher.process.poll() is None and not is_open_by(watcher.process.pid, path):
            assert time.monotonic() < deadline, watcher.output()
            time.sleep(0.0005)
        assert watcher.process.poll() is None, watcher.output()
        code = watcher.stop(signal.SIGTERM)
    assert code == 143, watcher.output()
    assert watcher.stderr == [
        "interrupted (SIGTERM): run 1 was rolled back; nothing was committed"], watcher.output()
    assert "Traceback" not in watcher.output()
    assert path.exists() and path.stat().st_size == source.stat().st_size
    out = work / "out"
    published = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert published == [], published
    db = work / "warehouse.db"
    assert runs(db) == [(1, "interrupted")]
    assert query(db, "SELECT error FROM sluice.runs") == [("interrupted by SIGTERM",)]
    assert_promises(db)

    with Watcher(work, "--min-age", "0.5") as again:
        again.wait_for(ARCHIVED, timeout=60)
        assert again.stop() == 0
    assert runs(db) == [(1, "interrupted"), (2, "succeeded")]
    assert ledger(db) == [(2, "big.csv", "loaded", BIG_ROWS, made["successful"], 0,
                           made["unsuccessful"])]
    assert query(db, "SELECT count(*) FROM applications.successful") == [(made["successful"],)]
    assert not path.exists() and (out / "archive" / "run-2" / "big.csv").exists()
    assert [p.name.endswith("-run-2.csv") for p in (out / "successful").iterdir()] == [True]
    assert not (out / ".partial").exists()
    assert_promises(db)


# --- 4. SIGKILL --------------------------------------------------------------------------

def test_a_watcher_killed_mid_pass_loses_nothing(
        work: Path, inbox: Path, big: tuple[Path, dict[str, Any]]) -> None:
    source, made = big
    path = inbox / "big.csv"
    os.link(source, path)
    write(inbox / "a_small.csv", range(0, 5))
    with Watcher(work, "--min-age", "0.5") as watcher:
        deadline = time.monotonic() + WAIT
        while watcher.process.poll() is None and not is_open_by(watcher.process.pid, path):
            assert time.monotonic() < deadline, watcher.output()
            time.sleep(0.0005)
        watcher.process.kill()
        assert watcher.finish() == -signal.SIGKILL
    assert sorted(p.name for p in inbox.iterdir()) == ["a_small.csv", "big.csv"]

    sluice("applications", "run", "--inbox", "in", "--out", "out", "--min-age", "0", cwd=work)
    db = work / "warehouse.db"
    assert runs(db) == [(1, "interrupted"), (2, "succeeded")]
    assert ledger(db) == [
        (2, "a_small.csv", "loaded", 5, 5, 0, 0),
        (2, "big.csv", "loaded", BIG_ROWS, made["successful"], 0, made["unsuccessful"])]
    assert query(db, "SELECT count(*) FROM applications.successful") == [
        (made["successful"] + 5,)]
    assert list(inbox.iterdir()) == []
    out = work / "out"
    assert sorted(p.name for p in (out / "archive" / "run-2").iterdir()) == [
        "a_small.csv", "big.csv"]
    assert [p.name.endswith("-run-2.csv") for p in (out / "successful").iterdir()] == [True]
    assert not (out / ".partial").exists()
    assert_promises(db)


# --- 5. the inbox goes away ----------------------------------------------------------------

@pytest.mark.parametrize("every", ["60", "0.02"], ids=["hourly", "every-1.2s"])
def test_the_inbox_removed_while_watching_stops_the_watcher_with_one_line(
        work: Path, inbox: Path, every: str) -> None:
    """The file system tells the watcher at once that its folder is gone; it must not
    wait for the next scheduled pass (an hour by default) to notice."""
    with Watcher(work, "--min-age", "0.5", "--every", every) as watcher:
        watcher.wait_for(NOTHING)
        shutil.rmtree(inbox)
        code = watcher.finish(timeout=6)
    assert code not in (0, None), watcher.output()
    assert "Traceback" not in watcher.output()
    assert len(watcher.stderr) == 1, watcher.output()
    assert watcher.stderr[0].startswith("error: ") and str(inbox) in watcher.stderr[0], \
        watcher.output()
