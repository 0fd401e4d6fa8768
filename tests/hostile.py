"""Hostile-input harness: the cases we tried, and the promises checked after each.

Every hostile test registers what it tried with `tried(...)`; `docs/reliability.md`'s
table is generated from that registry (`python tests/hostile.py --write`), and
`test_reliability_doc.py` fails when the page and the tests disagree.

After a case, `assert_promises` checks the warehouse from outside, through SQL only:
- every finished run balances, per file and in total: read = loaded + duplicates + rejected;
- a file's `rejected` equals its quarantine rows, each with at least one reason;
- a file's `loaded` equals the rows in the pipeline's table that carry its id;
- a run that did not succeed left no file rows, no quarantine rows, no counts, and no
  quarantine folder of its own.
`assert_rerun_changes_nothing` runs the same command again and compares every table.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import query, sluice

CLASSES = ("bytes", "lines", "compression", "archives", "folders", "names", "identity",
           "numbers", "interrupts", "options")
# Where each pipeline's loaded records land, one row per record, with the file's id.
LOADED_ROWS = {  # pipeline: (table, its file id column)
    "votes": ("blog_analysis.votes", "_file_id"),
    "advocacy": ("advocacy.raw_records", "file_id"),
    "applications": ("applications.successful", "_file_id"),
}


@dataclass(frozen=True)
class Tried:
    kind: str     # one of CLASSES
    case: str     # what the hostile input was
    outcome: str  # what sluice does with it

    def __post_init__(self) -> None:
        assert self.kind in CLASSES, self.kind


TRIED: list[Tried] = []


def tried(kind: str, case: str, outcome: str) -> Tried:
    """Register a case for the reliability page; returns it (use as a pytest param id)."""
    entry = Tried(kind, case, outcome)
    TRIED.append(entry)
    return entry


def environment() -> dict[str, str]:
    """The environment of a CLI child process, as conftest.sluice gives it."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}


# A fresh parent for a run whose memory is measured: Linux carries a process's peak memory
# across fork and exec, so a child of the test process (which runs sluice in itself, and
# may have held a gigabyte) would report that process's peak instead of sluice's own.
_MEASURE = """
import os, subprocess, sys
out, *command = sys.argv[1:]
with open(out, "wb") as stdout:
    process = subprocess.Popen(command, stdout=stdout)
    _, status, usage = os.wait4(process.pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak_mb: float  # peak resident memory


def measured(*args: str, cwd: Path) -> Measured:
    """Run sluice in a process of its own, with its peak resident memory."""
    out = cwd / "measured.out"
    parent = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(out), sys.executable, "-m", "sluice", *args],
        cwd=cwd, env=environment(), capture_output=True, text=True, timeout=600)
    assert parent.stdout, parent.stderr
    peak_kb, code = map(int, parent.stdout.split())
    stdout = out.read_text()
    out.unlink()
    return Measured(code, stdout, parent.stderr, peak_kb / 1024)


def is_open_by(pid: int, path: Path) -> bool:
    """Whether the process has the file open (to send a signal at the right moment)."""
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for descriptor in descriptors:
        try:
            if os.readlink(descriptor) == str(path):
                return True
        except OSError:
            continue
    return False


def _tables(db: Path) -> list[str]:
    return [f"{schema}.{name}" for schema, name in query(
        db, "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE NOT temporary AND database_name = current_database() ORDER BY ALL")]


def assert_promises(db: Path) -> None:
    """The ledger balances, rejects are in quarantine, loads are where the ledger says."""
    tables = set(_tables(db))
    runs = query(db, "SELECT run_id, pipeline, status, records_read, loaded, duplicates, "
                     "rejected FROM sluice.runs ORDER BY run_id")
    files = query(db, "SELECT file_id, run_id, pipeline, status, records_read, loaded, "
                      "duplicates, rejected FROM sluice.files")
    quarantined = dict(query(db, "SELECT file_id, count(*) FROM sluice.quarantine "
                                 "GROUP BY 1")) if "sluice.quarantine" in tables else {}
    without_reason = query(db, "SELECT count(*) FROM sluice.quarantine WHERE len(reasons) = 0 "
                               "OR list_contains(reasons, '') OR list_contains(reasons, NULL)"
                           )[0][0] if "sluice.quarantine" in tables else 0
    assert without_reason == 0, "quarantine rows without a reason"
    loaded_rows: dict[int, int] = {}
    for table, file_id in LOADED_ROWS.values():
        if table in tables:
            loaded_rows.update({int(k): int(v) for k, v in query(
                db, f"SELECT {file_id}, count(*) FROM {table} GROUP BY 1")})
    by_run: dict[int, list[tuple[Any, ...]]] = {}
    for row in files:
        by_run.setdefault(row[1], []).append(row)
        file_id, _, pipeline, _, read, loaded, duplicates, rejected = row
        assert read == loaded + duplicates + rejected, f"file {file_id} does not balance: {row}"
        assert quarantined.get(file_id, 0) == rejected, (
            f"file {file_id}: ledger says {rejected} rejected, quarantine holds "
            f"{quarantined.get(file_id, 0)}")
        if pipeline in LOADED_ROWS:
            assert loaded_rows.get(file_id, 0) == loaded, (
                f"file {file_id}: ledger says {loaded} loaded, the table holds "
                f"{loaded_rows.get(file_id, 0)}")
    quarantine_folders = list(db.parent.glob(f"{db.name}.quarantine/run-*"))
    for run_id, _, status, read, loaded, duplicates, rejected in runs:
        if status == "succeeded":
            rows = by_run.get(run_id, [])
            assert read == sum(r[4] for r in rows) and loaded == sum(r[5] for r in rows)
            assert duplicates == sum(r[6] for r in rows)
            assert rejected == sum(r[7] for r in rows)
            assert read == loaded + duplicates + rejected
        else:
            assert status in ("failed", "interrupted"), (run_id, status)
            assert run_id not in by_run, f"run {run_id} ({status}) left file rows"
            assert (read, loaded, duplicates, rejected) == (None, None, None, None), (
                f"run {run_id} ({status}) shows counts for rolled-back work")
            assert not [f for f in quarantine_folders if f.name.startswith(f"run-{run_id}")], (
                f"run {run_id} ({status}) left a quarantine folder")
    if "sluice.quarantine" in tables:
        orphans = query(db, "SELECT count(*) FROM sluice.quarantine q WHERE NOT EXISTS ("
                            "SELECT 1 FROM sluice.runs r WHERE r.run_id = q.run_id "
                            "AND r.status = 'succeeded')")[0][0]
        assert orphans == 0, "quarantine rows of a run that did not succeed"


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table but the ledger's own run and file rows, sorted."""
    return {table: sorted(query(db, f"SELECT * FROM {table}"), key=repr)
            for table in _tables(db) if table not in ("sluice.runs", "sluice.files")}


def assert_rerun_changes_nothing(*args: str, cwd: Path, db: Path,
                                 env: dict[str, str] | None = None,
                                 expect: int | None = None) -> None:
    """Run the same command again: no table changes, and the run loads nothing."""
    before = snapshot(db)
    sluice(*args, cwd=cwd, env=env, expect=expect)
    assert snapshot(db) == before
    last = query(db, "SELECT status, loaded, rejected FROM sluice.runs "
                     "ORDER BY run_id DESC LIMIT 1")[0]
    assert last[1] in (0, None) and last[2] in (0, None), last
    assert_promises(db)


# --- docs/reliability.md -----------------------------------------------------------------

DOC = Path(__file__).parent.parent / "docs" / "reliability.md"
BEGIN, END = "<!-- tried: begin (generated by tests/hostile.py) -->", "<!-- tried: end -->"


def load_cases() -> list[Tried]:
    """Import every hostile test module so that its cases register."""
    import importlib

    here = Path(__file__).parent
    sys.path.insert(0, str(here))
    for module in sorted(here.glob("test_hostile_*.py")):
        importlib.import_module(module.stem)
    return sorted(set(TRIED), key=lambda t: (CLASSES.index(t.kind), t.case))


def render_table(cases: list[Tried]) -> str:
    lines = [BEGIN, "| class | what we tried | what sluice does |", "|---|---|---|"]
    lines += [f"| {t.kind} | {_cell(t.case)} | {_cell(t.outcome)} |" for t in cases]
    return "\n".join([*lines, END])


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rendered_doc() -> str:
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + render_table(load_cases()) + tail


if __name__ == "__main__":
    # Run as a script this file is `__main__`; the test modules register their cases
    # with the module `hostile`, so its registry is the one to read.
    sys.path.insert(0, str(Path(__file__).parent))
    import hostile

    if sys.argv[1:] == ["--write"]:
        DOC.write_text(hostile.rendered_doc(), encoding="utf-8")
    else:
        print(hostile.render_table(hostile.load_cases()))
