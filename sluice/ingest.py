"""One ingest run of a keyed JSON Lines pipeline: intake, stage, classify, commit.

Reading and checking happen in temporary tables; the warehouse changes only in the
final transaction, so a run commits whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sluice import ledger, merge
from sluice.contracts import Contract
from sluice.errors import first_line
from sluice.faults import crash_point
from sluice.intake import resolve_inputs
from sluice.ledger import SKIPPED, UNREADABLE, InputFile, RunSummary
from sluice.lifecycle import recorded_run
from sluice.quarantine import ensure_quarantine, keep_unreadable_file
from sluice.staging import (
    StagedFile,
    create_staging,
    discard_staged_file,
    drop_staged_rows,
    stage_json_lines,
)
from sluice.warehouse import Warehouse

# (what is happening, steps done, steps in all)
Progress = Callable[[str, int, int], None]
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz")


def no_progress(description: str, done: int, total: int) -> None:
    """The default progress reporter: silent."""


@dataclass(frozen=True)
class KeyedJsonLines:
    """What a pipeline that loads keyed JSON Lines records declares about itself."""

    pipeline: str
    contract: Contract
    target: str

    def ensure_target(self, warehouse: Warehouse) -> None:
        warehouse.execute(merge.target_ddl(self.contract, self.target))


def ingest(
    warehouse: Warehouse, spec: KeyedJsonLines, arguments: Sequence[str],
    progress: Progress = no_progress,
) -> RunSummary:
    paths = resolve_inputs(arguments, JSON_LINES_SUFFIXES)
    with recorded_run(warehouse, spec.pipeline, "ingest") as run:
        ensure_quarantine(warehouse)
        spec.ensure_target(warehouse)
        staged = _stage_all(warehouse, spec, run, paths, progress)
        steps = len(paths)
        progress("checking duplicates", steps, steps + 2)
        merge.classify(warehouse, spec.contract, spec.target)
        progress("committing", steps + 1, steps + 2)
        with warehouse.transaction():
            merge.load_new(warehouse, spec.contract, spec.target)
            drop_staged_rows(warehouse)  # frees memory for re-reading conflicting lines
            merge.quarantine_rejects(warehouse, spec.contract, run.run_id, spec.pipeline, staged)
            _record_counts(warehouse, spec, run, staged)
            ledger.record_files(warehouse, run)
            crash_point("before-commit")
        progress("done", steps + 2, steps + 2)
    return run


def _stage_all(
    warehouse: Warehouse, spec: KeyedJsonLines, run: RunSummary, paths: list[Path],
    progress: Progress,
) -> list[StagedFile]:
    """Stage every new file; note the ones skipped (content seen before) or unreadable."""
    create_staging(warehouse, spec.contract)
    staged: list[StagedFile] = []
    seen: dict[str, str] = {}
    for index, path in enumerate(paths):
        progress(f"reading {path.name}", index, len(paths) + 2)
        offered = InputFile(path, 0, 0, "", file_id=ledger.next_file_id(warehouse))
        run.files.append(offered)
        try:
            staged_file = _stage_new_content(warehouse, spec, offered, seen)
        except OSError as error:
            _set_unreadable(warehouse, run, offered, f"cannot read file: {error.strerror}")
        except (duckdb.IOException, duckdb.InvalidInputException) as error:
            _set_unreadable(warehouse, run, offered, first_line(error))
        else:
            if staged_file is not None:
                staged.append(staged_file)
    return staged


def _stage_new_content(
    warehouse: Warehouse, spec: KeyedJsonLines, offered: InputFile, seen: dict[str, str]
) -> StagedFile | None:
    """Stage the file unless its content was loaded before (then mark it skipped).

    A checksum not known from the ledger is computed in a thread while the engine
    stages the file (both read the file; hashlib and DuckDB release the GIL), and the
    staged rows are dropped again in the rare case that the content was seen before.
    """
    stat = offered.path.stat()
    offered.size, offered.modified_ns = stat.st_size, stat.st_mtime_ns
    known = ledger.known_sha256(warehouse, spec.pipeline, offered)
    staged_file = None
    if known is None:
        with ThreadPoolExecutor(max_workers=1) as pool:
            hashing = pool.submit(ledger.sha256_of, offered.path)
            try:
                staged_file = stage_json_lines(
                    warehouse, spec.contract, offered.path, offered.file_id)
            finally:
                offered.sha256 = hashing.result()
    else:
        offered.sha256 = known
    earlier = seen.get(offered.sha256) or ledger.already_loaded(
        warehouse, spec.pipeline, offered.sha256)
    if earlier:
        offered.status, offered.note = SKIPPED, f"same content as {earlier}, already loaded"
        if staged_file is not None:
            discard_staged_file(warehouse, offered.file_id)
        return None
    seen[offered.sha256] = str(offered.path)
    if staged_file is None:
        staged_file = stage_json_lines(warehouse, spec.contract, offered.path, offered.file_id)
    return staged_file


def _set_unreadable(
    warehouse: Warehouse, run: RunSummary, offered: InputFile, reason: str
) -> None:
    offered.status = UNREADABLE
    offered.note = keep_unreadable_file(warehouse, run.run_id, offered.path, reason)


def _record_counts(
    warehouse: Warehouse, spec: KeyedJsonLines, run: RunSummary, staged: list[StagedFile]
) -> None:
    counts = merge.count_outcomes(warehouse, spec.target, staged)
    by_id = {f.file_id: f for f in run.files}
    for s in staged:
        entry, outcome = by_id[s.file_id], counts[s.file_id]
        entry.records_read = s.records
        entry.loaded, entry.duplicates, entry.rejected = (
            outcome.loaded, outcome.duplicates, outcome.rejected)
