"""Quarantine: every rejected record with its source, line and reasons, and a folder for
files that cannot be read at all, each beside a note of why."""

from __future__ import annotations

import shutil
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
    reasons     VARCHAR[] NOT NULL
);
"""

QUARANTINE_COLUMNS = "run_id, pipeline, file_id, source_file, line_number, raw, reasons"


def ensure_quarantine(warehouse: Warehouse) -> None:
    warehouse.execute(QUARANTINE_DDL)


def keep_unreadable_file(warehouse: Warehouse, run_id: int, path: Path, reason: str,
                         kept_as: str | None = None) -> str:
    """Copy a file that cannot be read into the quarantine folder with a note of why.

    `kept_as` is the copy's path inside the run's folder (a path relative to the input
    folder keeps same-named files of different subfolders apart); by default the name.
    The original stays where it is: sluice never deletes input. Returns a note for the
    ledger naming where the copy (or, if even copying fails, the note) went.
    """
    kept = warehouse.quarantine_dir / f"run-{run_id}" / (kept_as or path.name)
    kept.parent.mkdir(parents=True, exist_ok=True)
    note_path = kept.with_name(f"{kept.name}.why.txt")
    try:
        shutil.copy2(path, kept)
        where = f"copy kept at {kept}"
    except OSError as error:
        where = f"could not be copied ({error.strerror})"
    note_path.write_text(
        f"file: {path}\nrun: {run_id}\nwhen: {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n"
        f"why: {reason}\n{where}\n",
        encoding="utf-8",
    )
    return f"{reason}; {where}"
