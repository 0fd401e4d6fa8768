"""Advocacy ingest: a folder (or .tar.gz) of one-JSON-object-per-advocate files, or a
JSON Lines file of them.

The engine stages the records (`sources.py`: a folder is read in batches of files, which
bounds memory), checksums, decodes and validates them in SQL; only the records it finds
broken come back to Python for a bracket repair. Advocates, memberships and tasks are
extracted, cleaned and merged in SQL (`records.py`). The whole run is one transaction:
a crash leaves the warehouse as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from sluice import ledger
from sluice.faults import crash_point
from sluice.ingest import Progress, no_progress
from sluice.ledger import RunSummary
from sluice.lifecycle import recorded_run
from sluice.pipelines.advocacy import records, sources
from sluice.pipelines.advocacy.repair import complete_brackets
from sluice.pipelines.advocacy.sources import PIPELINE, REJECTED, STAGED, Documents
from sluice.quarantine import QUARANTINE_COLUMNS, ensure_quarantine, keep_unreadable_file
from sluice.warehouse import Warehouse

SCHEMA_SQL = resources.files("sluice.pipelines.advocacy") / "schema.sql"
RAW_TEXT_LIMIT = 65_536


def ingest(warehouse: Warehouse, source: str, progress: Progress = no_progress,
           batch_size: int = sources.BATCH_FILES) -> RunSummary:
    """Load a folder, a .tar.gz of one, or a JSON Lines file of advocates; a folder is
    read `batch_size` files per scan."""
    path = Path(source)
    with recorded_run(warehouse, PIPELINE, "ingest") as run:
        ensure_quarantine(warehouse)
        warehouse.run_sql_file(SCHEMA_SQL)
        if sources.is_json_lines(path):
            _load(warehouse, run, progress,
                  lambda: sources.stage_json_lines(warehouse, run, path))
        else:
            with sources.opened_folder(source) as root:
                _load(warehouse, run, progress, lambda: sources.stage_folder(
                    warehouse, run, root, batch_size, progress))
    return run


def _load(warehouse: Warehouse, run: RunSummary, progress: Progress,
          stage: Callable[[], Documents]) -> None:
    with warehouse.transaction():
        sources.create_staging(warehouse)
        progress("reading files", 0, 1)
        documents = stage()
        progress("repairing records cut short", 0, 1)
        _repair_broken(warehouse, run, documents)
        progress("cleaning records", 0, 1)
        records.extract_records(warehouse)
        progress("merging", 0, 1)
        records.merge(warehouse)
        _quarantine_rejected(warehouse, run)
        if documents.root is not None:
            sources.record_clean_files(warehouse, run)
        ledger.record_files(warehouse, run)
        sources.drop_staging(warehouse)
        crash_point("before-commit")
    progress("done", 1, 1)


def _repair_broken(warehouse: Warehouse, run: RunSummary, documents: Documents) -> None:
    """Complete the brackets of records cut short; reject the ones that stay broken (a
    rejected file is also copied to the quarantine folder). Temp tables adv_repaired
    and adv_rejected."""
    broken = warehouse.query(
        f"SELECT a.name, a.text FROM {STAGED} a JOIN adv_ids i USING (name) "
        "WHERE i.load AND NOT a.valid ORDER BY a.ord").rows
    repaired: list[tuple[str, str]] = []
    rejected: list[tuple[str, str]] = []
    for name, text in broken:
        entry, repair = documents.entry_of(name), complete_brackets(text)
        if repair.text is None:
            reason = f"invalid JSON, {repair.note}"
            entry.loaded, entry.rejected = entry.loaded - 1, entry.rejected + 1
            if documents.root is not None:
                entry.status = REJECTED
                entry.note = keep_unreadable_file(warehouse, run.run_id, documents.root / name,
                                                  reason, kept_as=name)
            rejected.append((name, reason))
        else:
            repaired.append((name, repair.text))
            if documents.root is not None:
                entry.note = repair.note
    warehouse.execute(
        "CREATE OR REPLACE TEMP TABLE adv_repaired AS SELECT unnest(?) AS name, unnest(?) AS text",
        [[n for n, _ in repaired], [t for _, t in repaired]])
    warehouse.execute(
        "CREATE OR REPLACE TEMP TABLE adv_rejected AS SELECT unnest(?) AS name, unnest(?) AS reason",
        [[n for n, _ in rejected], [r for _, r in rejected]])


def _quarantine_rejected(warehouse: Warehouse, run: RunSummary) -> None:
    """Records that could not be repaired, each with its reason; a line of a JSON Lines
    file keeps its line number."""
    warehouse.execute(f"""
        INSERT INTO sluice.quarantine ({QUARANTINE_COLUMNS})
        SELECT ?, '{PIPELINE}', i.file_id, r.name,
               TRY_CAST(regexp_extract(r.name, ':([0-9]+)$', 1) AS BIGINT),
               left(f.text, {RAW_TEXT_LIMIT}), [r.reason]
        FROM adv_rejected r JOIN adv_ids i USING (name) JOIN {STAGED} f USING (name)
    """, [run.run_id])
