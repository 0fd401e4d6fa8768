"""One pass over the inbox: take every file that is complete, process it as one run, then
publish the run's outputs and move its files to the archive.

Order matters for a crash at any moment: the run commits (warehouse rows, ledger,
quarantine) with its outputs written aside; then the outputs are published; then the
input files leave the inbox. A process killed after the commit leaves outputs that the
next pass publishes (`outputs.settle`) and input files whose content the ledger knows:
the next pass skips them as processed and archives them. Nothing is processed twice and
nothing is lost.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sluice import intake, ledger
from sluice.faults import crash_point
from sluice.ingest import KeyedLines, ingest_entries
from sluice.intake import Entry
from sluice.ledger import LOADED, REJECTED, SKIPPED, UNREADABLE, InputFile, RunSummary
from sluice.lines import file_stat
from sluice.pipelines.applications.contracts import AGE_ON, CONTRACT, ApplicationRecords
from sluice.pipelines.applications.outputs import TARGET, RunOutputs, settle
from sluice.pipelines.applications.settings import DEFAULT_MIN_AGE
from sluice.pipelines.applications.settings import PIPELINE as PIPELINE
from sluice.progress import Progress, no_progress
from sluice.warehouse import Warehouse

SUFFIXES = (".csv", ".csv.gz")


@dataclass(frozen=True)
class Inbox:
    """Where files arrive, where outputs go, where processed files are moved."""

    inbox: Path
    out: Path
    archive: Path
    output_format: str = "csv"
    min_age: float = DEFAULT_MIN_AGE
    age_on: date = AGE_ON

    def own_paths(self, warehouse: Warehouse) -> frozenset[Path]:
        """What is never input, even inside the inbox: the warehouse's files, the
        outputs and the archive."""
        return warehouse.own_paths() | {self.out, self.archive}


@dataclass
class InboxPass:
    """What one pass did."""

    run: RunSummary | None = None  # None: nothing was ready, no run was recorded
    waiting: list[tuple[Path, float]] = field(default_factory=list)  # (file, seconds left)
    outputs: dict[str, int] = field(default_factory=dict)  # rows written, by kind
    published: list[Path] = field(default_factory=list)
    archived: list[Path] = field(default_factory=list)
    archive_folder: Path | None = None  # where this pass's run moved its files
    left: list[InputFile] = field(default_factory=list)  # offered, but stay in the inbox


def spec(outputs: RunOutputs, age_on: date = AGE_ON) -> KeyedLines:
    return KeyedLines(pipeline=PIPELINE, contract=CONTRACT, target=TARGET,
                      records=ApplicationRecords(age_on=age_on), suffixes=SUFFIXES,
                      verb="run", before_commit=outputs.write_partial)


def process(warehouse: Warehouse, inbox: Inbox, progress: Progress = no_progress
            ) -> InboxPass:
    """Settle what an earlier pass left, then process what is ready."""
    ledger.ensure_ledger(warehouse)
    done = InboxPass(published=settle(warehouse, inbox.out))
    entries, done.waiting = _ready_entries(warehouse, inbox)
    if not any(entry.outcome != intake.SKIPPED for entry in entries):
        return done
    outputs = RunOutputs(inbox.out, inbox.output_format)
    try:
        done.run = ingest_entries(warehouse, spec(outputs, inbox.age_on), entries, progress)
        crash_point("after-commit")
    finally:
        done.published += settle(warehouse, inbox.out)
    done.outputs = outputs.written
    done.archived, done.left = _archive(done.run, inbox)
    done.archive_folder = run_archive(inbox, done.run.run_id)
    return done


def _ready_entries(warehouse: Warehouse, inbox: Inbox
                   ) -> tuple[list[Entry], list[tuple[Path, float]]]:
    """The inbox's entries, less the files still changing (with the seconds until they
    may be taken)."""
    found = intake.resolve_inputs([str(inbox.inbox)], SUFFIXES, inbox.own_paths(warehouse))
    now = time.time()
    ready, waiting = [], []
    for entry in found:
        if entry.outcome == intake.READ:
            try:
                age = now - entry.path.stat().st_mtime
            except OSError:
                age = inbox.min_age  # it is read, and what is wrong with it recorded
            if age < inbox.min_age:
                waiting.append((entry.path, inbox.min_age - age))
                continue
        ready.append(entry)
    return ready, waiting


def _archive(run: RunSummary, inbox: Inbox) -> tuple[list[Path], list[InputFile]]:
    """Move the run's files out of the inbox into `archive/run-N/`: those processed
    (loaded, or every record rejected), those skipped because their content was
    processed before, and those that cannot be read as applications (their copy and
    why are in quarantine). A file that changed since it was read stays, as do entries
    that are not input (another kind of file, hidden)."""
    archived, left = [], []
    root = inbox.inbox.resolve()
    for offered in run.files:
        if not _leaves_inbox(offered):
            left.append(offered)
            continue
        relative = offered.path.relative_to(root) if offered.path.is_relative_to(root) \
            else Path(offered.path.name)
        target = _free_name(run_archive(inbox, run.run_id) / relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            # A hard link never replaces an existing file (a rename would): an archive
            # kept from an earlier warehouse, whose run numbers were the same, stays.
            os.link(offered.path, target)
            os.unlink(offered.path)
        except OSError:
            shutil.move(offered.path, target)  # another file system: copied, then removed
        archived.append(target)
    return archived, left


def _free_name(target: Path) -> Path:
    """`target`, or `2-<name>`, `3-<name>`, ... if that is taken."""
    copy, free = 1, target
    while free.exists() or free.is_symlink():
        copy += 1
        free = target.with_name(f"{copy}-{target.name}")
    return free


def run_archive(inbox: Inbox, run_id: int) -> Path:
    return inbox.archive / f"run-{run_id}"


def _leaves_inbox(offered: InputFile) -> bool:
    processed = offered.status in (LOADED, REJECTED, UNREADABLE) or (
        offered.status == SKIPPED and offered.sha256 != "")
    if not processed:
        return False
    try:
        return file_stat(offered.path) == (offered.size, offered.modified_ns)
    except OSError:
        return False
