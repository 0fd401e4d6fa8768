"""One ingest run of a keyed pipeline whose records are lines (JSON Lines, CSV): intake,
stage, classify, commit.

Reading and checking happen in temporary tables; the warehouse changes only in the
final transaction, so a run commits whole or not at all.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import duckdb

from sluice import intake, json_staging, ledger, merge
from sluice.compression import is_gzip_name
from sluice.contracts import INVALID_UTF8, Contract
from sluice.errors import DamagedInput
from sluice.intake import Entry, resolve_inputs
from sluice.ledger import SKIPPED, UNREADABLE, InputFile, RunSummary
from sluice.lifecycle import committing, recorded_run
from sluice.lines import LineScan, file_stat, scan_lines, split_exactly
from sluice.paths import engine_can_open, shown
from sluice.progress import Progress, no_progress
from sluice.quarantine import ensure_quarantine, keep_unreadable_file
from sluice.staging import (
    RecordReader,
    StagedFile,
    create_staging,
    discard_staged_file,
    drop_staged_rows,
    finish_staging,
    stage_lines,
    stage_split_lines,
)
from sluice.warehouse import Warehouse

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz")


# Called after the run's records are classified and before its transaction begins, with
# the engine's tables of the run (`staged`, `verdicts`, `staged_rejects`) still there.
BeforeCommit = Callable[[Warehouse, RunSummary, list[StagedFile]], None]


@dataclass(frozen=True)
class KeyedLines:
    """What a pipeline that loads keyed records, one a line, declares about itself: the
    contract of its target table, and how its lines are read (by default the contract
    reads JSON Lines; a CSV pipeline gives its own `records` reader)."""

    pipeline: str
    contract: Contract
    target: str
    records: RecordReader | None = None
    suffixes: tuple[str, ...] = JSON_LINES_SUFFIXES
    verb: str = "ingest"
    before_commit: BeforeCommit | None = None
    # Whether content loaded before is skipped by its checksum; a replay offers records
    # again on purpose, to a contract that may have changed.
    skip_seen_content: bool = True

    @property
    def reader(self) -> RecordReader:
        return self.records if self.records is not None else self.contract

    def ensure_target(self, warehouse: Warehouse) -> None:
        warehouse.destination.execute(merge.target_ddl(self.contract, self.target))


def ingest(
    warehouse: Warehouse, spec: KeyedLines, arguments: Sequence[str],
    progress: Progress = no_progress,
) -> RunSummary:
    """Load the files, folders or globs that `arguments` name."""
    entries = resolve_inputs(arguments, spec.suffixes, warehouse.own_paths())
    return ingest_entries(warehouse, spec, entries, progress)


def ingest_entries(
    warehouse: Warehouse, spec: KeyedLines, entries: list[Entry],
    progress: Progress = no_progress,
) -> RunSummary:
    """One run over entries that intake found."""
    with recorded_run(warehouse, spec.pipeline, spec.verb) as run, \
            split_folder(warehouse, run) as split_dir:
        ensure_quarantine(warehouse)
        spec.ensure_target(warehouse)
        staged = _stage_all(warehouse, spec, run, entries, split_dir, progress)
        steps = len(entries)
        progress("checking duplicates", steps, steps + 2)
        merge.classify(warehouse, spec.contract, spec.target)
        if spec.before_commit is not None:
            spec.before_commit(warehouse, run, staged)
        progress("committing", steps + 1, steps + 2)
        with committing(warehouse, run):
            loaded = merge.load_new(warehouse, spec.contract, spec.target, staged)
            drop_staged_rows(warehouse)  # frees memory for re-reading conflicting lines
            merge.quarantine_rejects(warehouse, spec.contract, run.run_id, spec.pipeline, staged)
            _record_counts(warehouse, spec, run, staged, loaded)
        progress("done", steps + 2, steps + 2)
    return run


def _stage_all(
    warehouse: Warehouse, spec: KeyedLines, run: RunSummary, entries: list[Entry],
    split_dir: Path, progress: Progress,
) -> list[StagedFile]:
    """Stage every new file; note the ones skipped (not input, or content seen before)
    or unreadable, each with its reason."""
    create_staging(warehouse, spec.reader)
    staged: list[StagedFile] = []
    seen: dict[str, str] = {}
    for index, entry in enumerate(entries):
        offered = InputFile(entry.path, 0, 0, "", file_id=ledger.next_file_id(warehouse),
                            identity=entry.identity)
        run.files.append(offered)
        if entry.outcome != intake.READ:
            offered.status = SKIPPED if entry.outcome == intake.SKIPPED else UNREADABLE
            offered.note = entry.reason
            continue
        progress(f"reading {shown(entry.path.name)}", index, len(entries) + 2)
        try:
            staged_file = _stage_new_content(warehouse, spec, offered, seen, split_dir)
        except OSError as error:
            _set_unreadable(warehouse, run, offered, entry.relative,
                            f"cannot read file: {error.strerror}")
        except DamagedInput as error:
            _set_unreadable(warehouse, run, offered, entry.relative, str(error))
        except FileChanged as error:
            # Its checksum is of bytes that are no longer the file: not recorded.
            offered.status, offered.note, offered.sha256 = UNREADABLE, str(error), ""
        else:
            if staged_file is not None:
                staged.append(staged_file)
    finish_staging(warehouse, spec.reader, staged)
    return staged


class FileChanged(Exception):
    """The file changed while it was read: nothing of it is loaded this run."""


def _stage_new_content(
    warehouse: Warehouse, spec: KeyedLines, offered: InputFile, seen: dict[str, str],
    split_dir: Path,
) -> StagedFile | None:
    """Stage the file unless its content was loaded before (then mark it skipped).

    The file is scanned (checksum and line count, `lines.scan_lines`) in a thread while
    the engine stages it; a compressed file is scanned first, so that the engine never
    reads a damaged stream or a bomb. The engine's rows are kept only if the file is
    unchanged and they account for every line: the JSON reader's only if the scan
    proves them (`json_staging.prove`), else the line reader stages the file again; if
    the line reader's rows do not account for every line, the file is split exactly.
    """
    before = file_stat(offered.path)
    offered.size, offered.modified_ns = before
    known = ledger.known_sha256(warehouse, spec.pipeline, offered)
    if known is not None and _skip_if_seen(warehouse, spec, offered, known, seen):
        return None
    reader = spec.reader.for_file(offered.path)
    by_json = json_staging.reads(reader, offered.path)
    scan, staged_file = _scan_and_stage(warehouse, reader, offered, by_json)
    offered.sha256 = scan.sha256
    try:
        _check_read_whole(offered, scan, before)
        seen_before = _skip_if_seen(warehouse, spec, offered, scan.sha256, seen)
    except BaseException:
        _discard(warehouse, offered, staged_file)
        raise
    if seen_before:
        _discard(warehouse, offered, staged_file)
        return None
    seen[offered.sha256] = offered.shown
    if by_json and staged_file is not None and not json_staging.prove(
            warehouse, cast(Contract, reader), staged_file, scan):
        _discard(warehouse, offered, staged_file)
        staged_file = _engine_stage(warehouse, reader, offered) if scan.engine_safe else None
    if staged_file is None or not scan.engine_safe or staged_file.lines != scan.lines:
        _discard(warehouse, offered, staged_file)
        staged_file = _stage_split(warehouse, reader, offered, split_dir)
    staged_file.identity = offered.identity
    return staged_file


def _check_read_whole(offered: InputFile, scan: LineScan, before: tuple[int, int]) -> None:
    """Raise if the bytes read cannot be trusted: a damaged compressed stream, or a file
    that changed while it was read."""
    if scan.damage:
        raise DamagedInput(scan.damage)
    after = file_stat(offered.path)
    if after != before or scan.bytes_read != before[0]:
        raise FileChanged(
            f"changed while being read ({before[0]:,} bytes, then {after[0]:,}); not "
            "loaded: offer it again when it is complete")


def _discard(warehouse: Warehouse, offered: InputFile, staged_file: StagedFile | None
             ) -> None:
    if staged_file is not None:
        discard_staged_file(warehouse, offered.file_id)


def _skip_if_seen(warehouse: Warehouse, spec: KeyedLines, offered: InputFile,
                  sha256: str, seen: dict[str, str]) -> bool:
    if not spec.skip_seen_content:
        return False
    earlier = seen.get(sha256) or ledger.already_loaded(warehouse, spec.pipeline, sha256)
    if not earlier:
        return False
    offered.sha256 = sha256
    offered.status, offered.note = SKIPPED, f"same content as {earlier}, already loaded"
    return True


def _scan_and_stage(warehouse: Warehouse, reader: RecordReader, offered: InputFile,
                    by_json: bool) -> tuple[LineScan, StagedFile | None]:
    """The file's scan, and its rows as the engine read them (None if the engine could
    not read it, or must not: a damaged compressed file): by its JSON reader (the scan
    then notes where lines start, for `json_staging.prove`), else by its line reader."""
    engine_may_read = engine_can_open(offered.path)
    if is_gzip_name(offered.path) or not engine_may_read:
        scan = scan_lines(offered.path)
        if scan.damage or not scan.engine_safe or not engine_may_read:
            return scan, None
        return scan, _engine_stage(warehouse, reader, offered)
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        scanning = pool.submit(scan_lines, offered.path, stop, by_json)
        try:
            staged_file = _engine_stage(warehouse, reader, offered, by_json)
        except BaseException:
            stop.set()
            raise
        return scanning.result(), staged_file


def _engine_stage(warehouse: Warehouse, reader: RecordReader, offered: InputFile,
                  by_json: bool = False) -> StagedFile | None:
    try:
        if by_json:
            return json_staging.stage_json(warehouse, cast(Contract, reader), offered.path,
                                           offered.file_id)
        return stage_lines(warehouse, reader, offered.path, offered.file_id)
    except (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException):
        discard_staged_file(warehouse, offered.file_id)
        return None  # the line reader, or sluice's own splitter, reads it


def _stage_split(warehouse: Warehouse, reader: RecordReader, offered: InputFile,
                 split_dir: Path) -> StagedFile:
    csv_path = split_dir / f"{offered.file_id}.csv"
    refused = split_exactly(offered.path, csv_path, INVALID_UTF8)
    return stage_split_lines(warehouse, reader, offered.path, offered.file_id, csv_path,
                             refused)


@contextmanager
def split_folder(warehouse: Warehouse, run: RunSummary, prefix: str = "split") -> Iterator[Path]:
    """Where files split by sluice are written for the engine; gone after the run."""
    folder = warehouse.spill_dir / f"{prefix}-run-{run.run_id}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _set_unreadable(
    warehouse: Warehouse, run: RunSummary, offered: InputFile, relative: str, reason: str
) -> None:
    offered.status = UNREADABLE
    offered.note = keep_unreadable_file(warehouse, run.run_id, offered.path, reason,
                                        kept_as=relative)


def _record_counts(
    warehouse: Warehouse, spec: KeyedLines, run: RunSummary, staged: list[StagedFile],
    loaded: dict[int, int] | None,
) -> None:
    counts = merge.count_outcomes(warehouse, spec.target, staged, loaded)
    by_id = {f.file_id: f for f in run.files}
    for s in staged:
        entry, outcome = by_id[s.file_id], counts[s.file_id]
        entry.records_read = s.records
        entry.loaded, entry.duplicates, entry.rejected = (
            outcome.loaded, outcome.duplicates, outcome.rejected)
