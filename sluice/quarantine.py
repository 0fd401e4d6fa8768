"""Quarantine: every rejected record with its source, line and reasons, and a folder for
files that cannot be read at all, each beside a note of why."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sluice.warehouse import Warehouse

QUARANTINE_DDL = """
CREATE SCHEMA IF NOT EXISTS sluice;
CREATE TABLE IF NOT EXISTS sluice.quarantine (
    run_id      BIGINT NOT NULL,
    pipeline    VARCHAR NOT NULL,
    file_id     BIGINT,
    source_file VARCHAR NOT NULL,
    line_number BIGINT,
    raw         VARCHAR,
    reasons     VARCHAR[] NOT NULL,
    superseded_by BIGINT,   -- the run that read a newer version of its file, or replayed it
    record_key  VARCHAR     -- a conflict's key: the loaded row it lost to has the same
);
ALTER TABLE sluice.quarantine ADD COLUMN IF NOT EXISTS superseded_by BIGINT;
ALTER TABLE sluice.quarantine ADD COLUMN IF NOT EXISTS record_key VARCHAR;
"""

PARTIAL = ".partial"
# A file name's longest form on common file systems, less room for ".why.txt" and "N-".
NAME_BYTES = 255 - len(".why.txt") - 8
QUARANTINE_COLUMNS = ("run_id", "pipeline", "file_id", "source_file", "line_number", "raw",
                      "reasons")


def ensure_quarantine(warehouse: Warehouse) -> None:
    warehouse.destination.execute(QUARANTINE_DDL)


ADDED_COLUMNS = {"superseded_by": "BIGINT", "record_key": "VARCHAR"}


def readable_quarantine(warehouse: Warehouse) -> str:
    """`sluice.quarantine` for a reader, as a table expression with every column: a
    warehouse written before a column was added (and opened read-only, so not migrated)
    has it as NULL."""
    present = {str(name) for (name,) in warehouse.destination.query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'sluice' "
        "AND table_name = 'quarantine'").rows}
    missing = [f"CAST(NULL AS {kind}) AS {name}" for name, kind in ADDED_COLUMNS.items()
               if name not in present]
    if not missing:
        return "sluice.quarantine"
    return f"(SELECT *, {', '.join(missing)} FROM sluice.quarantine)"


def supersede_earlier(warehouse: Warehouse, run_id: int, pipeline: str) -> None:
    """The run read new versions of some sources (a path read before, with new content:
    its files in the ledger that are loaded or rejected): their earlier runs' rejected
    records are superseded by it (kept, marked with its run id) rather than left beside
    the new version's. Call inside the run's transaction, after its ledger rows."""
    ensure_quarantine(warehouse)
    warehouse.destination.execute(
        "UPDATE sluice.quarantine SET superseded_by = ? WHERE pipeline = ? AND run_id < ? "
        "AND superseded_by IS NULL AND source_file IN (SELECT path FROM sluice.files "
        "WHERE run_id = ? AND status IN ('loaded', 'rejected'))",
        [run_id, pipeline, run_id, run_id])


def run_folder(warehouse: Warehouse, run_id: int) -> Path:
    """Where a committed run's copies are kept."""
    return warehouse.quarantine_dir / f"run-{run_id}"


def partial_folder(warehouse: Warehouse, run_id: int) -> Path:
    """Where a run writes its copies until its transaction commits."""
    return warehouse.quarantine_dir / f"run-{run_id}{PARTIAL}"


def keep_unreadable_file(warehouse: Warehouse, run_id: int, path: Path, reason: str,
                         kept_as: str | None = None) -> str:
    """Copy a file that cannot be read into the run's quarantine folder with a note of why.

    `kept_as` is the copy's path inside the run's folder (a path relative to the input
    folder keeps same-named files of different subfolders apart); by default the name.
    The copy goes into the run's partial folder, which becomes `run-N/` only when the
    run commits (`publish_copies`). The original stays where it is: sluice never deletes
    input. Returns a note for the ledger naming where the copy will be kept.
    """
    relative = _fitted(Path(kept_as or path.name))
    kept = partial_folder(warehouse, run_id) / relative
    copy = 1
    while kept.exists() or kept.is_symlink():  # two offered files with one relative path
        copy += 1
        relative = relative.with_name(f"{copy}-{relative.name}")
        kept = partial_folder(warehouse, run_id) / relative
    final = run_folder(warehouse, run_id) / relative
    kept.parent.mkdir(parents=True, exist_ok=True)
    note_path = kept.with_name(f"{kept.name}.why.txt")
    try:
        shutil.copyfile(path, kept)
        where = f"copy kept at {final}"
    except OSError as error:
        where = f"could not be copied ({error.strerror})"
    note_path.write_text(
        f"file: {path}\nrun: {run_id}\nwhen: {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n"
        f"why: {reason}\n{where}\n",
        encoding="utf-8", errors="backslashreplace",
    )
    return f"{reason}; {where}"


def _fitted(relative: Path) -> Path:
    """The path with each part short enough for the file system (255 bytes) once the
    note's `.why.txt` is added: a long name keeps its start and its end."""
    return Path(*(_fitted_name(part) for part in relative.parts if part not in ("/", "..")))


def _fitted_name(name: str, limit: int = NAME_BYTES) -> str:
    raw = os.fsencode(name)
    if len(raw) <= limit:
        return name
    return os.fsdecode(raw[: limit - 41] + b"..." + raw[-38:])


def publish_copies(warehouse: Warehouse, run_id: int) -> None:
    """The run committed: its partial folder becomes `run-N/`."""
    partial = partial_folder(warehouse, run_id)
    if partial.exists():
        partial.rename(run_folder(warehouse, run_id))


def discard_copies(warehouse: Warehouse, run_id: int) -> None:
    """The run was rolled back: its copies go, as its rows did."""
    shutil.rmtree(partial_folder(warehouse, run_id), ignore_errors=True)


def settle_partial_folders(warehouse: Warehouse, committed: Callable[[int], bool]) -> None:
    """Finish what a killed run left: a partial folder of a run that committed is
    published, one of a run that did not is removed. Call holding the write lock."""
    folder = warehouse.quarantine_dir
    if not folder.is_dir():
        return
    for partial in folder.glob(f"run-*{PARTIAL}"):
        number = partial.name[len("run-"):-len(PARTIAL)]
        if not number.isdigit():
            continue
        if committed(int(number)):
            publish_copies(warehouse, int(number))
        else:
            discard_copies(warehouse, int(number))
