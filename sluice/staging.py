"""Staging: JSON Lines files read by the engine, typed and checked against a contract.

Each file is read by DuckDB's CSV scanner as one text column per line (parallel, no
Python per line), parsed with its JSON functions, typed and checked in one pass. Only a
broken record keeps its raw text. Lines the scanner itself refuses (bytes that are not
UTF-8, a line too long) are collected from its rejects table, and their exact bytes are
read back from the file: the only per-line Python, and only for such lines.

Rows land in the temporary table `staged` in file order, so a row's position in its file
is its rowid minus the file's first rowid; line numbers are worked out from that only for
the few rows that need one.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sluice.contracts import INVALID_UTF8, Contract
from sluice.warehouse import Warehouse

STAGED = "staged"
STAGED_REJECTS = "staged_rejects"
MAX_LINE_BYTES = 2_097_152
RAW_TEXT_LIMIT = 65_536

_REJECTS_TABLE = "sluice_scan_rejects"
_REJECTS_SCAN = "sluice_scan_files"
_SCANNER_REASONS = {
    "INVALID ENCODING": INVALID_UTF8,
    "LINE SIZE OVER MAXIMUM": f"line longer than {MAX_LINE_BYTES} bytes",
}


@dataclass
class StagedFile:
    file_id: int
    path: Path
    first_rowid: int
    rows: int
    blank_lines: int
    scanner_rejects: int

    @property
    def records(self) -> int:
        """Records read: every line but blank ones, including those the scanner refused."""
        return self.rows - self.blank_lines + self.scanner_rejects


def create_staging(warehouse: Warehouse, contract: Contract) -> None:
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE {STAGED} (
            file_id BIGINT,
            blank BOOLEAN,
            {contract.columns_ddl().replace(" NOT NULL", "")},
            reasons VARCHAR[],
            raw VARCHAR
        );
        CREATE OR REPLACE TEMP TABLE {STAGED_REJECTS} (
            file_id BIGINT, line_number BIGINT, rank BIGINT, raw VARCHAR, reasons VARCHAR[]
        );
    """)


def lines_source(path: Path) -> str:
    """A DuckDB table expression yielding the file's lines as the column `line`."""
    return (
        f"read_csv({sql_string(str(path))}, columns={{'line': 'VARCHAR'}}, delim='\\0', "
        "quote='', escape='', header=false, auto_detect=false, strict_mode=false, "
        f"max_line_size={MAX_LINE_BYTES}, store_rejects=true, "
        f"rejects_table='{_REJECTS_TABLE}', rejects_scan='{_REJECTS_SCAN}')"
    )


def stage_json_lines(
    warehouse: Warehouse, contract: Contract, path: Path, file_id: int
) -> StagedFile:
    """Append one file's lines to `staged`, typed and checked; raises duckdb.Error if the
    file cannot be read at all (nothing is staged then)."""
    first_rowid = int(warehouse.scalar(f"SELECT count(*) FROM {STAGED}"))
    warehouse.execute(f"DROP TABLE IF EXISTS {_REJECTS_TABLE}; DROP TABLE IF EXISTS {_REJECTS_SCAN}")
    broken = f"(NOT blank AND ({contract.broken('v')}))"
    warehouse.execute(f"""
        INSERT INTO {STAGED}
        SELECT ? AS file_id, blank, {", ".join(f'"{n}"' for n in contract.names)},
               CASE WHEN {broken} THEN {contract.reasons("v", "line")} END,
               CASE WHEN {broken} THEN line END
        FROM (
            SELECT line, blank, v, {contract.typed_columns("v")}
            FROM (
                SELECT line,
                       line IS NULL OR trim(line) = '' AS blank,
                       try(json_extract_string(line, {contract.json_paths()})) AS v
                FROM {lines_source(path)}
            )
        )
    """, [file_id])
    rows = int(warehouse.scalar(f"SELECT count(*) FROM {STAGED}")) - first_rowid
    blank = int(warehouse.scalar(
        f"SELECT count(*) FROM {STAGED} WHERE rowid >= ? AND blank", [first_rowid]))
    rejects = _collect_scanner_rejects(warehouse, path, file_id)
    return StagedFile(file_id, path, first_rowid, rows, blank, rejects)


def _collect_scanner_rejects(warehouse: Warehouse, path: Path, file_id: int) -> int:
    found = warehouse.query(
        f"SELECT DISTINCT line, error_type FROM {_REJECTS_TABLE} ORDER BY line"
    ).rows
    if not found:
        return 0
    raw = raw_lines_by_number(path, {int(line) for line, _ in found})
    for rank, (line_number, error_type) in enumerate(found, 1):
        reason = _SCANNER_REASONS.get(error_type, error_type.lower())
        warehouse.execute(
            f"INSERT INTO {STAGED_REJECTS} VALUES (?, ?, ?, ?, ?)",
            [file_id, line_number, rank, raw.get(line_number), [reason]],
        )
    return len(found)


def line_number_sql(staged_alias: str, first_rowid: str) -> str:
    """SQL for a staged row's line number in its file: its position, plus the lines the
    scanner refused before it (they have no row in `staged`)."""
    position = f"({staged_alias}.rowid - {first_rowid})"
    return (
        f"({position} + 1 + (SELECT count(*) FROM {STAGED_REJECTS} r "
        f"WHERE r.file_id = {staged_alias}.file_id AND r.line_number - r.rank <= {position}))"
    )


def raw_lines_at(warehouse: Warehouse, path: Path, positions: list[int]) -> dict[int, str]:
    """The raw text of a file's lines at the given 0-based staged positions."""
    if not positions:
        return {}
    rows = warehouse.query(
        f"SELECT position, line FROM (SELECT row_number() OVER () - 1 AS position, line "
        f"FROM {lines_source(path)}) WHERE position IN (SELECT unnest(?))",
        [positions],
    ).rows
    warehouse.execute(f"DROP TABLE IF EXISTS {_REJECTS_TABLE}; DROP TABLE IF EXISTS {_REJECTS_SCAN}")
    return {int(position): str(line) for position, line in rows}


def raw_lines_by_number(path: Path, numbers: set[int]) -> dict[int, str]:
    """The exact bytes of the given (1-based) lines, bad bytes shown as \\xNN escapes.

    The file is read as Latin-1, which maps every byte to one character, so the bytes
    come back unchanged whatever they are; line ends are those of the scanner (LF, CRLF,
    or a lone CR).
    """
    found: dict[int, str] = {}
    last = max(numbers, default=0)
    with _open_bytes(path) as binary, io.TextIOWrapper(binary, "latin-1", newline=None) as text:
        for number, line in enumerate(text, 1):
            if number in numbers:
                found[number] = _escaped(line.rstrip("\n").encode("latin-1"))
            if number >= last:
                break
    return found


def _open_bytes(path: Path) -> BinaryIO:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _escaped(raw: bytes) -> str:
    text = raw[:RAW_TEXT_LIMIT].decode("utf-8", errors="backslashreplace")
    return text + (f" [truncated, {len(raw)} bytes]" if len(raw) > RAW_TEXT_LIMIT else "")


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
