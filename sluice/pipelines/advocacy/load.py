"""Advocacy ingest: a folder (or .tar.gz) of one-JSON-object-per-advocate files, or a
JSON Lines file of them.

The records are staged (`sources.py`: a folder's files are read and checksummed by
sluice, in batches, which bounds memory; a JSON Lines file by the engine), decoded and
validated in SQL; only the records the engine finds broken come back to Python for a
bracket repair. Advocates, memberships and tasks are extracted, cleaned and merged in
SQL (`records.py`). The whole run is one transaction, committed straight into the
warehouse file: a crash leaves the warehouse as it was.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from importlib import resources
from pathlib import Path

from sluice.ledger import InputFile, RunSummary
from sluice.lifecycle import committing, recorded_run
from sluice.pipelines.advocacy import records, sources
from sluice.pipelines.advocacy.repair import complete_brackets
from sluice.pipelines.advocacy.sources import PIPELINE, STAGED, Documents
from sluice.progress import Progress, no_progress
from sluice.quarantine import QUARANTINE_COLUMNS, ensure_quarantine, keep_unreadable_file
from sluice.warehouse import Warehouse

SCHEMA_SQL = resources.files("sluice.pipelines.advocacy") / "schema.sql"
MIGRATE_DUCKDB_SQL = resources.files("sluice.pipelines.advocacy") / "migrate_duckdb.sql"
RAW_TEXT_LIMIT = 65_536


def ingest(warehouse: Warehouse, source: str, progress: Progress = no_progress,
           batch_size: int = sources.BATCH_FILES) -> RunSummary:
    """Load a folder, a .tar.gz of one, or a JSON Lines file of advocates; a folder is
    read `batch_size` files per scan."""
    path = Path(source)
    with recorded_run(warehouse, PIPELINE, "ingest") as run:
        ensure_quarantine(warehouse)
        ensure_schema(warehouse)
        if sources.is_json_lines(path):
            # Imported here: it brings the line reader, which a folder does not use.
            from sluice.pipelines.advocacy import jsonl

            _load(warehouse, run, progress,
                  lambda: jsonl.stage_json_lines(warehouse, run, path))
        else:
            with sources.opened_folder(source) as root:
                _load(warehouse, run, progress, lambda: sources.stage_folder(
                    warehouse, run, root, batch_size, progress))
    return run


def ensure_schema(warehouse: Warehouse) -> None:
    """The advocacy tables; a DuckDB warehouse of an earlier sluice is upgraded. Once per
    open warehouse: a run ensures them before it starts, the models after it."""
    if warehouse in _SCHEMA_READY:
        return
    if warehouse.dialect == "duckdb":
        # The raw documents are most of a warehouse's bytes; zstd stores them in about
        # half the space of the engine's default for text, and writes them faster. A
        # DuckDB-only clause (no other engine has it), so it is added here. One
        # transaction for the tables and the upgrade.
        schema = SCHEMA_SQL.read_text(encoding="utf-8")
        if _DOCUMENT_COLUMN not in schema:
            raise ValueError(f"schema.sql no longer declares {_DOCUMENT_COLUMN!r}")
        schema = schema.replace(_DOCUMENT_COLUMN,
                                _DOCUMENT_COLUMN[:-1] + " USING COMPRESSION zstd,")
        with warehouse.transaction():
            warehouse.destination.run_script(
                [schema, MIGRATE_DUCKDB_SQL.read_text(encoding="utf-8")])
    else:
        warehouse.run_sql_file(SCHEMA_SQL)
    _SCHEMA_READY.add(warehouse)


_DOCUMENT_COLUMN = "document    JSON NOT NULL,"
_SCHEMA_READY: weakref.WeakSet[Warehouse] = weakref.WeakSet()


def _load(warehouse: Warehouse, run: RunSummary, progress: Progress,
          stage: Callable[[], Documents]) -> None:
    with _checkpoint_at_commit(warehouse), committing(warehouse, run):
        sources.create_staging(warehouse)
        progress("reading files", 0, 1)
        documents = stage()
        progress("repairing records cut short", 0, 1)
        copies = _repair_broken(warehouse, run, documents)
        # The rejected files are copied to the quarantine folder while the engine
        # cleans and merges (the copies touch no table).
        with _meanwhile(copies):
            progress("cleaning records", 0, 1)
            records.extract_records(warehouse)
            progress("merging", 0, 1)
            records.merge(warehouse)
        _quarantine_rejected(warehouse, run, lines=documents.path_of is None)
        if documents.path_of is not None:
            sources.record_clean_files(warehouse, run)
        sources.drop_staging(warehouse)
    progress("done", 1, 1)


@contextmanager
def _checkpoint_at_commit(warehouse: Warehouse) -> Iterator[None]:
    """The run's commit writes its rows straight into the warehouse file (a checkpoint)
    rather than first into the write-ahead log: a run's rows are checkpointed anyway,
    at the next commit or when the warehouse closes, so logging them first only writes
    them twice. Either way the commit is whole or nothing."""
    if warehouse.dialect != "duckdb":
        yield
        return
    before = warehouse.scalar("SELECT current_setting('checkpoint_threshold')")
    warehouse.execute("SET checkpoint_threshold = '0b'")
    try:
        yield
    finally:
        warehouse.execute("SET checkpoint_threshold = ?", [before])


@contextmanager
def _meanwhile(tasks: list[Callable[[], None]]) -> Iterator[None]:
    """Run `tasks` in order in a thread while the block runs; the block ends when they
    have (an error in one is raised here). If the block fails, the tasks not started are
    dropped, and the thread is waited for either way: nothing of it outlives the run."""
    if not tasks:
        yield
        return
    stop = threading.Event()
    failed: list[BaseException] = []

    def work() -> None:
        try:
            for task in tasks:
                if stop.is_set():
                    return
                task()
        except BaseException as error:  # raised in the run's thread
            failed.append(error)

    worker = threading.Thread(target=work, name="sluice-advocacy-quarantine", daemon=True)
    worker.start()
    try:
        yield
    except BaseException:
        stop.set()
        raise
    finally:
        worker.join()
    if failed:
        raise failed[0]


def _repair_broken(warehouse: Warehouse, run: RunSummary, documents: Documents
                   ) -> list[Callable[[], None]]:
    """Complete the brackets of records cut short; reject the ones that stay broken, and
    those refused unparsed (too large, a line the scanner refused) or that are JSON but
    not an object. Temp tables adv_repaired and adv_rejected (ord, and text or reason).
    Returns the copies to make of the rejected files, in order: each to the quarantine
    folder, its note to its ledger entry."""
    broken = warehouse.query(
        f"SELECT a.ord, a.name, a.text, a.reject_reason, a.is_json FROM {STAGED} a "
        "JOIN adv_ids i USING (ord) WHERE i.load AND NOT a.valid ORDER BY a.ord").rows
    outcomes = [(int(ord), str(name), *_repaired(text, refused, is_json))
                for ord, name, text, refused, is_json in broken]
    warehouse.execute(
        "CREATE OR REPLACE TEMP TABLE adv_repaired AS SELECT unnest(?) AS ord, unnest(?) AS text",
        [[o for o, _, t, _ in outcomes if t is not None],
         [t for _, _, t, _ in outcomes if t is not None]])
    refused_by_engine = _refused_by_the_engine(warehouse)
    rejected: list[tuple[int, str]] = []
    copies: list[Callable[[], None]] = []
    for ord, name, text, reason in outcomes:
        entry = documents.entry_of(ord)
        if ord in refused_by_engine:
            text, reason = None, "invalid JSON, closing brackets do not make valid JSON"
        if text is not None:
            if documents.path_of is not None:
                entry.note = reason
            continue
        entry.loaded, entry.rejected = entry.loaded - 1, entry.rejected + 1
        if documents.path_of is not None:
            copies.append(partial(_keep_copy, warehouse, run.run_id, documents.path_of(ord),
                                  str(reason), name, entry))
        rejected.append((ord, str(reason)))
    warehouse.execute(
        "CREATE OR REPLACE TEMP TABLE adv_rejected AS SELECT unnest(?) AS ord, unnest(?) AS reason",
        [[o for o, _ in rejected], [r for _, r in rejected]])
    return copies


def _keep_copy(warehouse: Warehouse, run_id: int, path: Path, reason: str, name: str,
               entry: InputFile) -> None:
    entry.note = keep_unreadable_file(warehouse, run_id, path, reason, kept_as=name)


def _repaired(text: str | None, refused: str | None, is_json: bool) -> tuple[str | None, str]:
    """The repaired text and its note, or None and the reason the record is rejected."""
    if refused:
        return None, refused
    if is_json:
        return None, "not a JSON object"
    repair = complete_brackets(str(text))
    return (repair.text, repair.note) if repair.text else (None, f"invalid JSON, {repair.note}")


def _refused_by_the_engine(warehouse: Warehouse) -> set[int]:
    """Repairs the engine's parser refuses (Python's accepts a lone surrogate escape,
    "\\udc00", the engine's does not): taken out of adv_repaired."""
    refused = {int(ord) for (ord,) in warehouse.query(
        "SELECT ord FROM adv_repaired "
        "WHERE NOT CASE WHEN json_valid(text) THEN json_type(text) = 'OBJECT' ELSE false END"
    ).rows}
    if refused:
        warehouse.execute("DELETE FROM adv_repaired WHERE ord IN (SELECT unnest(?))",
                          [sorted(refused)])
    return refused


def _quarantine_rejected(warehouse: Warehouse, run: RunSummary, lines: bool) -> None:
    """Records that could not be repaired, each with its reason (a line of a JSON Lines
    file keeps its line number); their checksums, so that the same bytes delivered again
    are known as quarantined before."""
    destination = warehouse.destination
    destination.push("sluice.quarantine", QUARANTINE_COLUMNS, f"""
        SELECT ? AS run_id, '{PIPELINE}' AS pipeline, i.file_id, f.name AS source_file,
               {"f.ord" if lines else "NULL::BIGINT"} AS line_number,
               left(f.text, {RAW_TEXT_LIMIT}) AS raw, [r.reason] AS reasons
        FROM adv_rejected r JOIN adv_ids i USING (ord) JOIN {STAGED} f USING (ord)
    """, [run.run_id])
    destination.push("advocacy.rejected_documents", ["file_id", "source_file", "sha256"], f"""
        SELECT i.file_id, f.name AS source_file, f.sha256
        FROM adv_rejected r JOIN adv_ids i USING (ord) JOIN {STAGED} f USING (ord)
    """)
