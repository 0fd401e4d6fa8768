"""A run's two output files: its successful and its unsuccessful applications.

They are written by the engine while the run's records are still staged, before its
transaction, under `OUT/.partial/run-N/`; they move into `OUT/successful/` and
`OUT/unsuccessful/` (a rename on one file system: a reader never sees half a file) only
once the run has committed. A run that is rolled back leaves no output; a process killed
in between leaves a partial folder that the next run settles first, by the ledger:
published if its run committed, removed if not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sluice import ledger
from sluice.ledger import RunSummary
from sluice.merge import CONFLICT, VALID, VERDICTS, conflict_reason
from sluice.pipelines.applications.contracts import CONTRACT
from sluice.pipelines.applications.settings import TARGET as TARGET
from sluice.staging import (
    STAGED,
    STAGED_REJECTS,
    StagedFile,
    line_numbers,
    note_staged_files,
    sql_string,
)
from sluice.warehouse import KEYS_TABLE, Warehouse

SUCCESSFUL, UNSUCCESSFUL = "successful", "unsuccessful"
KINDS = (SUCCESSFUL, UNSUCCESSFUL)
FORMATS = ("csv", "parquet")
PARTIAL = ".partial"
# CSV has no lists: a row's reasons are joined with this.
REASON_SEPARATOR = "; "

SUCCESSFUL_COLUMNS = ("first_name", "last_name", "email", "date_of_birth", "mobile_no",
                      "above_18", "membership_id", "shared_membership_id", "source_file",
                      "line_number")
UNSUCCESSFUL_COLUMNS = ("name", "email", "date_of_birth", "mobile_no", "first_name",
                        "last_name", "date_of_birth_yyyymmdd", "above_18", "reasons",
                        "source_file", "line_number", "raw_line")


@dataclass
class RunOutputs:
    """Where a run's outputs go, and what was written."""

    out: Path
    format: str = "csv"
    written: dict[str, int] = field(default_factory=dict)  # rows, by kind
    published: list[Path] = field(default_factory=list)

    def partial_folder(self, run_id: int) -> Path:
        return self.out / PARTIAL / f"run-{run_id}"

    def write_partial(self, warehouse: Warehouse, run: RunSummary, staged: list[StagedFile]
                      ) -> None:
        """Write both files of the run from its staged records (the ingest's
        `before_commit` step)."""
        folder = self.partial_folder(run.run_id)
        shutil.rmtree(folder, ignore_errors=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"applications-{stamp}-run-{run.run_id}.{self.format}"
        note_staged_files(warehouse, staged)
        _find_shared_ids(warehouse)
        # A line's number is its position in the file, plus the lines before it that the
        # scanner refused (no staged row).
        refused, line = line_numbers(warehouse, "s.file_id", "s.rowid - f.first_rowid")
        queries = {SUCCESSFUL: _successful_sql(refused, line),
                   UNSUCCESSFUL: _unsuccessful_sql(self.format, refused, line)}
        for kind, query in queries.items():
            path = folder / kind / name
            path.parent.mkdir(parents=True, exist_ok=True)
            options = "FORMAT csv, HEADER true" if self.format == "csv" else "FORMAT parquet"
            rows = warehouse.scalar(f"COPY ({query}) TO {sql_string(str(path))} ({options})")
            _flush_to_disk(path)
            self.written[kind] = int(rows)


def settle(warehouse: Warehouse, out: Path) -> list[Path]:
    """Publish the outputs of every committed run left under `OUT/.partial/`, and remove
    those of runs that did not commit; returns the files published. Call holding the
    warehouse's write lock (an open warehouse), after the ledger exists."""
    root = out / PARTIAL
    if not root.is_dir():
        return []
    published: list[Path] = []
    for folder in sorted(root.glob("run-*")):
        number = folder.name.removeprefix("run-")
        if not number.isdigit():
            continue
        if ledger.committed(warehouse, int(number)):
            published += _publish(folder, out)
        shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        root.rmdir()  # unless something else is in there: not ours to remove
    return published


def _publish(folder: Path, out: Path) -> list[Path]:
    published = []
    for kind in KINDS:
        for partial in sorted((folder / kind).glob("*")):
            final = out / kind / partial.name
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, final)
            published.append(final)
    return published


def _flush_to_disk(path: Path) -> None:
    with path.open("rb") as stream:
        os.fsync(stream.fileno())


# The run's new members: what `merge.load_new` will insert (`refused`: a join that
# `staging.line_numbers` gives, or nothing).
def _new(refused: str = "") -> str:
    return (f"{STAGED} s ANTI JOIN {VERDICTS} v ON s.rowid = v.row "
            f"JOIN staged_files f ON f.file_id = s.file_id {refused} WHERE {VALID}")


def _find_shared_ids(warehouse: Warehouse) -> None:
    """Engine table `shared_ids`: the membership ids of the run's new members that more
    than one application holds (in this run, or with members loaded before)."""
    warehouse.pull_for_keys(
        f"SELECT DISTINCT s.membership_id FROM {_new()}", "membership_id VARCHAR",
        f"SELECT t.membership_id, t.application_key FROM {TARGET} t "
        f"JOIN {KEYS_TABLE} k USING (membership_id)", "earlier_ids")
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE shared_ids AS
        SELECT membership_id FROM (
            SELECT s.membership_id, s.application_key FROM {_new()}
            UNION SELECT membership_id, application_key FROM earlier_ids)
        GROUP BY membership_id HAVING count(*) > 1
    """)


def _successful_sql(refused: str, line: str) -> str:
    return f"""
        SELECT s.first_name, s.last_name, s.email, strftime(s.date_of_birth, '%Y%m%d')
                   AS date_of_birth,
               s.mobile_no, s.above_18, s.membership_id,
               s.membership_id IN (SELECT membership_id FROM shared_ids) AS shared_membership_id,
               f.path AS source_file, {line} AS line_number
        FROM {_new(refused)}
        ORDER BY s.file_id, s.rowid"""


def _unsuccessful_sql(output_format: str, refused: str, line: str) -> str:
    reasons = ("reasons" if output_format == "parquet"
               else f"array_to_string(reasons, {sql_string(REASON_SEPARATOR)})")
    nothing_split = " AND ".join(f's."{c}" IS NULL' for c in
                                 ("name_text", "email_text", "date_of_birth_text",
                                  "mobile_no_text"))
    return f"""
        SELECT name, email, date_of_birth, mobile_no, first_name, last_name,
               date_of_birth_yyyymmdd, above_18, {reasons} AS reasons, source_file,
               line_number, raw_line
        FROM (
            SELECT s.name_text AS name, s.email_text AS email,
                   s.date_of_birth_text AS date_of_birth, s.mobile_no_text AS mobile_no,
                   s.first_name, s.last_name,
                   strftime(s.date_of_birth, '%Y%m%d') AS date_of_birth_yyyymmdd,
                   s.above_18, s.reasons, f.path AS source_file, {line} AS line_number,
                   CASE WHEN {nothing_split} THEN s.raw END AS raw_line, s.file_id
            FROM {STAGED} s JOIN staged_files f USING (file_id) {refused}
            WHERE s.reasons IS NOT NULL AND NOT s.blank
            UNION ALL
            SELECT s.name_text, s.email_text, s.date_of_birth_text, s.mobile_no_text,
                   s.first_name, s.last_name, strftime(s.date_of_birth, '%Y%m%d'), s.above_18,
                   [{sql_string(conflict_reason(CONTRACT))}], f.path, {line}, NULL, s.file_id
            FROM {STAGED} s JOIN {VERDICTS} v ON s.rowid = v.row
            JOIN staged_files f ON f.file_id = s.file_id {refused}
            WHERE v.verdict = '{CONFLICT}'
            UNION ALL
            SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, r.reasons, f.path,
                   r.line_number, r.raw, r.file_id
            FROM {STAGED_REJECTS} r JOIN staged_files f USING (file_id)
        )
        ORDER BY file_id, line_number"""

