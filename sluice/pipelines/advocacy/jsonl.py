"""Advocacy records from one JSON Lines file: a line per advocate, the file one entry in
the ledger. Lines are read as `sluice.lines` defines them, by the engine where it splits
the file exactly, by sluice's own splitter otherwise."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from sluice import ledger
from sluice.contracts import BLANK_CHARACTERS, INVALID_UTF8
from sluice.ledger import SKIPPED, UNREADABLE, InputFile, RunSummary
from sluice.lines import LineScan, file_stat, scan_lines, split_exactly
from sluice.paths import engine_can_open, shown
from sluice.pipelines.advocacy.sources import (
    CHANGED,
    PIPELINE,
    STAGED,
    Documents,
    lines_ledger_rows,
    parsed,
)
from sluice.quarantine import keep_unreadable_file
from sluice.staging import (
    drop_scan_rejects,
    lines_source,
    scanner_rejects,
    split_lines_source,
    sql_string,
)
from sluice.warehouse import Warehouse


def stage_json_lines(warehouse: Warehouse, run: RunSummary, path: Path) -> Documents:
    """Each line one advocate, named `file:line`; the file is one ledger entry, under its
    full path. A file whose checksum was loaded before, under any name, is skipped
    unread; otherwise every line is a document of its own (its identity: the checksum
    of the line and its occurrence in the file), and lines loaded before count as
    duplicates. Lines are JSON Lines lines (`sluice.lines`): refused ones (not UTF-8,
    too long) are rejected records with their line numbers. A compressed file is
    verified completely first."""
    before = file_stat(path)
    entry = InputFile(Path(shown(str(path.resolve()))), *before, "",
                      file_id=ledger.next_file_id(warehouse))
    run.files.append(entry)
    documents = Documents(lambda _ord: entry, None)
    try:
        scan = scan_lines(path)
    except OSError as error:
        entry.status, entry.note = UNREADABLE, f"cannot read file: {error.strerror}"
        lines_ledger_rows(warehouse, entry)
        return documents
    entry.sha256 = scan.sha256
    if scan.damage:
        entry.status = UNREADABLE
        entry.note = keep_unreadable_file(warehouse, run.run_id, path, scan.damage,
                                          kept_as=shown(path.name))
    if entry.status == UNREADABLE or _loaded_before(warehouse, entry):
        lines_ledger_rows(warehouse, entry)
        return documents
    _stage_lines(warehouse, path, scan)
    if file_stat(path) != before or scan.bytes_read != before[0]:
        warehouse.execute(f"DELETE FROM {STAGED}")
        entry.status, entry.note, entry.sha256 = UNREADABLE, CHANGED, ""
    lines_ledger_rows(warehouse, entry)
    return documents


def _loaded_before(warehouse: Warehouse, entry: InputFile) -> bool:
    if ledger.already_loaded(warehouse, PIPELINE, entry.sha256) is None:
        return False
    entry.status, entry.note = SKIPPED, "skipped: loaded before, unchanged"
    return True


def _stage_lines(warehouse: Warehouse, path: Path, scan: LineScan) -> None:
    """Stage every line, ord = its line number: the lines read (numbered counting the
    refused lines before them) and the refused ones, as rejected records. The engine
    reads the file when it splits it exactly as JSON Lines does, and its rows account
    for every line; otherwise sluice splits it."""
    label = sql_string(shown(path.name) + ":")
    refused = _engine_lines(warehouse, path) if (
        scan.engine_safe and engine_can_open(path)) else None
    if refused is None or _rows_read(warehouse) + len(refused) != scan.lines:
        with tempfile.TemporaryDirectory(prefix="sluice-lines-",
                                         dir=_spill_folder(warehouse)) as folder:
            csv_path = Path(folder, "lines.csv")
            refused = [(r.number, r.raw, r.reason)
                       for r in split_exactly(path, csv_path, INVALID_UTF8)]
            _read_into_adv_read(warehouse, split_lines_source(csv_path))
    warehouse.execute(
        "CREATE OR REPLACE TEMP TABLE adv_refused AS SELECT unnest(?) AS line_number, "
        "unnest(?) AS raw, unnest(?) AS reason, unnest(generate_series(1, ?)) AS rank",
        [[r[0] for r in refused], [r[1] for r in refused], [r[2] for r in refused],
         len(refused)])
    # A line's number counts the refused lines before it (none, mostly: then it is ord).
    line_number = ("ord + (SELECT count(*) FROM adv_refused r "
                   "WHERE r.line_number - r.rank < ord)") if refused else "ord"
    numbered = (f"SELECT {line_number} AS ord, text, sha256(text) AS sha256, "
                f"CASE WHEN text IS NULL OR NOT regexp_matches(text, '{_NOT_BLANK}') "
                "THEN 'blank line' END AS skip_reason FROM adv_read")
    warehouse.execute(f"""
        INSERT INTO {STAGED} BY NAME
        SELECT ord, {label} || ord AS name, sha256, text, document, valid, is_json,
               skip_reason
        FROM ({parsed(numbered)});
        INSERT INTO {STAGED} BY NAME
        SELECT line_number AS ord, {label} || line_number AS name, sha256(raw) AS sha256,
               raw AS text, reason AS reject_reason, false AS valid, false AS is_json
        FROM adv_refused;
        DROP TABLE adv_read;
        DROP TABLE adv_refused;
    """)


# A character that is not blank (blank: one of BLANK_CHARACTERS): a line with none is
# blank. The engine finds the first such character, where trimming copies every line.
_NOT_BLANK = "[^" + BLANK_CHARACTERS.replace("\t", "\\t").replace("\r", "\\r") + "]"


def _engine_lines(warehouse: Warehouse, path: Path) -> list[tuple[int, str, str]] | None:
    """Temp table adv_read: the lines as the engine's scanner reads them; returns the
    lines it refused, or None if it could not read the file at all."""
    drop_scan_rejects(warehouse)
    try:
        _read_into_adv_read(warehouse, lines_source(path))
    except (duckdb.IOException, duckdb.InvalidInputException):
        return None
    return scanner_rejects(warehouse, path)


def _read_into_adv_read(warehouse: Warehouse, source: str) -> None:
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_read AS
        SELECT row_number() OVER () AS ord, line AS text FROM {source}
    """)


def _rows_read(warehouse: Warehouse) -> int:
    return int(warehouse.scalar("SELECT count(*) FROM adv_read"))


def _spill_folder(warehouse: Warehouse) -> Path:
    warehouse.spill_dir.mkdir(exist_ok=True)
    return warehouse.spill_dir
