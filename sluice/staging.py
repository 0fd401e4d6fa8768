"""Staging: JSON Lines files read by the engine, typed and checked against a contract.

Each file is read by DuckDB's CSV scanner as one text column per line (parallel, no
Python per line), parsed with its JSON functions, typed and checked in one pass. Only a
broken record keeps its raw text. Lines the scanner itself refuses (bytes that are not
UTF-8, a line too long) are collected from its rejects table, and their exact bytes are
read back from the file: the only per-line Python, and only for such lines. A file the
scanner cannot split exactly (see `lines.py`) is split by sluice into a quoted one-column
CSV first, and staged from that with the same SQL.

Rows land in the temporary table `staged` in file order, so a row's position in its file
is its rowid minus the file's first rowid; line numbers are worked out from that only for
the few rows that need one.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, ClassVar, Protocol, Self

from sluice.contracts import INVALID_UTF8
from sluice.lines import (
    MAX_LINE_BYTES,
    RAW_TEXT_LIMIT,
    LineStarts,
    RefusedLine,
    escaped,
    long_line_reason,
)
from sluice.paths import engine_pattern, shown
from sluice.warehouse import Warehouse

if TYPE_CHECKING:
    from sluice.contracts import Contract

STAGED = "staged"
STAGED_BROKEN = "staged_broken"
STAGED_REJECTS = "staged_rejects"
STAGED_LINES = "staged_lines"  # a deferred reader's lines, until `finish_staging`

_REJECTS_TABLE = "sluice_scan_rejects"
_REJECTS_SCAN = "sluice_scan_files"
_SCANNER_REASONS = {
    "INVALID ENCODING": INVALID_UTF8,
    "LINE SIZE OVER MAXIMUM": long_line_reason(),
}


@dataclass
class StagedFile:
    file_id: int
    path: Path
    # The table expression its lines were read from (to read some again), or for the JSON
    # reader's file that reader (its lines are read again at `line_starts`).
    source: str
    first_rowid: int
    rows: int
    blank_lines: int
    scanner_rejects: int
    identity: str | None = None  # what the ledger calls it, when not its path
    # Set when the engine's JSON reader staged it (`json_staging.py`): where its lines
    # start, to read any of them again by position.
    line_starts: LineStarts | None = None

    @property
    def shown(self) -> str:
        """The input as the ledger and quarantine name it."""
        return self.identity if self.identity is not None else shown(self.path)

    @property
    def records(self) -> int:
        """Records read: every line but blank ones, including those the scanner refused."""
        return self.rows - self.blank_lines + self.scanner_rejects

    @property
    def lines(self) -> int:
        """Every line the reader accounted for, blank or not."""
        return self.rows + self.scanner_rejects


class ContractLines:
    """What a `RecordReader` whose records are its `contract`'s, read file by file and
    the same way in every file, has in common; a subclass writes `records_sql`."""

    contract: ClassVar[Contract]

    @property
    def record_columns(self) -> list[str]:
        return self.contract.names

    def staging_columns(self) -> str:
        return self.contract.staging_columns()

    def for_file(self, path: Path) -> Self:
        return self

    @property
    def deferred(self) -> bool:
        return False

    def line_constants(self) -> str:
        return ""


class RecordReader(Protocol):
    """How a pipeline's lines become records: the columns they have in `staged`, and the
    query that reads a source of lines (a table expression with the column `line`) into
    `blank, <record_columns>, reasons, raw` (reasons NULL for a good record, raw only for
    a broken one). A `Contract` is the reader of JSON Lines records."""

    @property
    def record_columns(self) -> list[str]: ...

    def staging_columns(self) -> str:
        """The record columns' definitions (no constraints), in `record_columns` order."""
        ...

    def records_sql(self, source: str) -> str: ...

    def for_file(self, path: Path) -> RecordReader:
        """The reader for one file (a CSV reader reads its header here); raises
        DamagedInput when the file cannot hold such records at all."""
        ...

    @property
    def deferred(self) -> bool:
        """Whether the records are read once for the whole run (`finish_staging`) from
        the lines each file left in `staged_lines`, rather than file by file: one
        parallel query instead of one small query a file, for runs of many files.
        A deferred reader's `records_sql` also passes `file_id` through, and reads the
        columns of `line_constants` beside each line."""
        ...

    def line_constants(self) -> str:
        """For a deferred reader: the file's own values kept beside each of its lines
        (a select list of constants, such as where each field is), or ''."""
        ...


def create_staging(warehouse: Warehouse, reader: RecordReader) -> None:
    constants = f", {reader.line_constants()}" if reader.deferred else ""
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE {STAGED} (
            file_id BIGINT,
            blank BOOLEAN,
            {reader.staging_columns()},
            reasons VARCHAR[],
            raw VARCHAR,
            accounted_bytes BIGINT  -- rows read by the JSON reader (`json_staging.py`)
        );
        CREATE OR REPLACE TEMP TABLE {STAGED_BROKEN} (
            file_id BIGINT, position BIGINT, raw VARCHAR, reasons VARCHAR[]
        );
        CREATE OR REPLACE TEMP TABLE {STAGED_REJECTS} (
            file_id BIGINT, line_number BIGINT, rank BIGINT, raw VARCHAR, reasons VARCHAR[]
        );
        CREATE OR REPLACE TEMP TABLE {STAGED_LINES} AS
        SELECT CAST(NULL AS BIGINT) AS file_id, CAST(NULL AS VARCHAR) AS line{constants}
        LIMIT 0;
    """)


def discard_staged_file(warehouse: Warehouse, file_id: int) -> None:
    for table in (STAGED, STAGED_BROKEN, STAGED_REJECTS, STAGED_LINES):
        warehouse.execute(f"DELETE FROM {table} WHERE file_id = ?", [file_id])


def drop_staged_rows(warehouse: Warehouse) -> None:
    warehouse.execute(f"DROP TABLE {STAGED}")


def drop_scan_rejects(warehouse: Warehouse) -> None:
    warehouse.execute(f"DROP TABLE IF EXISTS {_REJECTS_TABLE}; DROP TABLE IF EXISTS {_REJECTS_SCAN}")


def lines_source(path: Path) -> str:
    """A DuckDB table expression yielding the file's lines as the column `line`. The
    delimiter is the NUL byte, which no file read this way holds (`LineScan.engine_safe`),
    so a line is one field. (Written `chr(0)`: the text '\\0' is a delimiter of two
    characters, backslash and zero, which cut every line holding them.)"""
    return (
        f"read_csv({sql_string(engine_pattern(path))}, columns={{'line': 'VARCHAR'}}, "
        "delim=chr(0), "
        "quote='', escape='', header=false, auto_detect=false, strict_mode=false, "
        f"max_line_size={MAX_LINE_BYTES}, store_rejects=true, "
        f"rejects_table='{_REJECTS_TABLE}', rejects_scan='{_REJECTS_SCAN}')"
    )


def split_lines_source(csv_path: Path) -> str:
    """The lines sluice split itself (`lines.split_exactly`): one quoted field a line."""
    return (
        f"read_csv({sql_string(str(csv_path))}, columns={{'line': 'VARCHAR'}}, delim=',', "
        "quote='\"', escape='\"', new_line='\\n', header=false, auto_detect=false, "
        f"strict_mode=true, max_line_size={2 * MAX_LINE_BYTES + 3})"
    )


def stage_lines(
    warehouse: Warehouse, reader: RecordReader, path: Path, file_id: int
) -> StagedFile:
    """Append one file's lines to `staged`, typed and checked, as the engine's scanner
    reads them; raises duckdb.Error if the file cannot be read at all."""
    drop_scan_rejects(warehouse)
    staged = _stage_lines(warehouse, reader, path, lines_source(path), file_id)
    staged.scanner_rejects = _collect_scanner_rejects(warehouse, path, file_id)
    return staged


def stage_split_lines(
    warehouse: Warehouse, reader: RecordReader, path: Path, file_id: int, csv_path: Path,
    refused: list[RefusedLine],
) -> StagedFile:
    """Append the lines sluice split itself to `staged`; `refused` are the lines it kept
    out of the engine (not UTF-8, too long), quarantined like the scanner's rejects."""
    staged = _stage_lines(warehouse, reader, path, split_lines_source(csv_path), file_id)
    _insert_rejects(warehouse, file_id, [(r.number, r.raw, r.reason) for r in refused])
    staged.scanner_rejects = len(refused)
    return staged


def _stage_lines(warehouse: Warehouse, reader: RecordReader, path: Path, source: str,
                 file_id: int) -> StagedFile:
    if reader.deferred:
        return _keep_lines(warehouse, reader, path, source, file_id)
    columns = ", ".join(f'"{n}"' for n in reader.record_columns)
    warehouse.execute(f"""
        INSERT INTO {STAGED} (file_id, blank, {columns}, reasons, raw)
        SELECT ? AS file_id, blank, {columns}, reasons, raw
        FROM ({reader.records_sql(source)})
    """, [file_id])
    first_rowid, rows = file_span(warehouse, file_id)
    blank = int(warehouse.scalar(
        f"SELECT count(*) FROM {STAGED} WHERE rowid >= ? AND blank", [first_rowid]))
    warehouse.execute(
        f"INSERT INTO {STAGED_BROKEN} SELECT file_id, rowid - ?, raw, reasons FROM {STAGED} "
        "WHERE rowid >= ? AND reasons IS NOT NULL", [first_rowid, first_rowid])
    return StagedFile(file_id, path, source, first_rowid, rows, blank, 0)


def file_span(warehouse: Warehouse, file_id: int) -> tuple[int, int]:
    """A staged file's first rowid and its rows (its rows follow each other in `staged`)."""
    first, rows = warehouse.query(
        f"SELECT min(rowid), count(*) FROM {STAGED} WHERE file_id = ?", [file_id]).rows[0]
    return int(first or 0), int(rows)


def _keep_lines(warehouse: Warehouse, reader: RecordReader, path: Path, source: str,
                file_id: int) -> StagedFile:
    """A deferred reader's file: its lines kept, in order, after those of the files
    before it; its rows are counted now, its records read later."""
    rows = warehouse.scalar(f"INSERT INTO {STAGED_LINES} SELECT ?, line, "
                            f"{reader.line_constants()} FROM {source}", [file_id])
    return StagedFile(file_id, path, source, -1, int(rows), 0, 0)


def finish_staging(warehouse: Warehouse, reader: RecordReader, files: list[StagedFile]
                   ) -> None:
    """For a deferred reader: every staged file's records, read in one query (in
    parallel: one table of all the run's lines), in file order; then each file's first
    row and blank lines, and its broken records."""
    if not reader.deferred or not files:
        return
    columns = ", ".join(f'"{n}"' for n in reader.record_columns)
    # Projections keep their input's order, so each file's rows stay together and in
    # order in `staged`: a row's position is still its rowid less the file's first.
    warehouse.execute(f"""
        INSERT INTO {STAGED} (file_id, blank, {columns}, reasons, raw)
        SELECT file_id, blank, {columns}, reasons, raw
        FROM ({reader.records_sql(STAGED_LINES)})
    """)
    warehouse.execute(f"DELETE FROM {STAGED_LINES}")
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE staged_firsts AS
        SELECT file_id, min(rowid) AS first_rowid, count(*) AS rows,
               count(*) FILTER (WHERE blank) AS blank
        FROM {STAGED} GROUP BY file_id
    """)
    found = {int(file_id): (int(first), int(rows), int(blank)) for file_id, first, rows, blank
             in warehouse.query("SELECT file_id, first_rowid, rows, blank "
                                "FROM staged_firsts").rows}
    for f in files:
        f.first_rowid, rows, f.blank_lines = found.get(f.file_id, (0, 0, 0))
        if rows != f.rows:
            raise RuntimeError(f"staging lost lines of {f.path}: {f.rows} kept, {rows} read")
    warehouse.execute(f"""
        INSERT INTO {STAGED_BROKEN}
        SELECT s.file_id, s.rowid - f.first_rowid, s.raw, s.reasons
        FROM {STAGED} s JOIN staged_firsts f USING (file_id)
        WHERE s.reasons IS NOT NULL;
        DROP TABLE staged_firsts;
    """)


STAGED_FILES = "staged_files"


def note_staged_files(warehouse: Warehouse, files: list[StagedFile]) -> None:
    """Engine table `staged_files` (file_id, path, first_rowid): what SQL over the
    staged rows joins to name a row's file and work out its position in it."""
    warehouse.execute(f"CREATE OR REPLACE TEMP TABLE {STAGED_FILES} "
                      "(file_id BIGINT, path VARCHAR, first_rowid BIGINT)")
    if files:
        warehouse.con.executemany(f"INSERT INTO {STAGED_FILES} VALUES (?, ?, ?)",
                                  [[f.file_id, f.shown, f.first_rowid] for f in files])


def scanner_rejects(warehouse: Warehouse, path: Path) -> list[tuple[int, str, str]]:
    """The lines the scanner refused in its last scan of `path`, in order: line number,
    exact raw text, reason."""
    found = warehouse.query(
        f"SELECT line, min(byte_position), min(error_type) FROM {_REJECTS_TABLE} "
        "GROUP BY line ORDER BY line"
    ).rows
    if not found:
        return []
    raw = raw_lines_near(path, {int(line): int(position) for line, position, _ in found})
    return [(int(line), raw[line], _SCANNER_REASONS.get(error, error.lower()))
            for line, _, error in found]


def _collect_scanner_rejects(warehouse: Warehouse, path: Path, file_id: int) -> int:
    found = scanner_rejects(warehouse, path)
    _insert_rejects(warehouse, file_id, found)
    return len(found)


def _insert_rejects(warehouse: Warehouse, file_id: int, found: list[tuple[int, str, str]]
                    ) -> None:
    """Lines with no staged row, in order: (line number, raw text, reason)."""
    if found:
        warehouse.con.executemany(
            f"INSERT INTO {STAGED_REJECTS} VALUES (?, ?, ?, ?, ?)",
            [[file_id, line, rank, raw, [reason]]
             for rank, (line, raw, reason) in enumerate(found, 1)],
        )


def line_number_sql(file_id: str, position: str) -> str:
    """SQL for the line number of a file's staged row at 0-based `position`: the lines
    before it, plus the lines the scanner refused before it (they have no staged row).
    A count for each row: for a few rows (the quarantined ones); over many rows,
    `line_numbers`."""
    return (
        f"({position} + 1 + (SELECT count(*) FROM {STAGED_REJECTS} r "
        f"WHERE r.file_id = {file_id} AND r.line_number - r.rank <= {position}))"
    )


REFUSED_BEFORE = "refused_before"


def line_numbers(warehouse: Warehouse, file_id: str, position: str) -> tuple[str, str]:
    """A join to add to a query over many staged rows, and the SQL for each row's line
    number (as `line_number_sql`). With refused lines, an ASOF join finds for each row
    how many of its file's refused lines came before it: a sort, where a count per row
    (a correlated count) made the engine hold a group per staged row and run out of
    memory on ten million rows."""
    if not any_refused(warehouse):
        return "", f"({position} + 1)"
    # Refused line k (1-based, in file order) at line L precedes every staged row at a
    # position >= L - k; equal thresholds (refused lines in a row) keep the largest k.
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE {REFUSED_BEFORE} AS
        SELECT file_id, line_number - rank AS threshold, max(rank) AS refused
        FROM {STAGED_REJECTS} GROUP BY file_id, line_number - rank
    """)
    return (f"ASOF LEFT JOIN {REFUSED_BEFORE} refused ON {file_id} = refused.file_id "
            f"AND {position} >= refused.threshold",
            f"({position} + 1 + coalesce(refused.refused, 0))")


def any_refused(warehouse: Warehouse) -> bool:
    """Whether the scanner (or sluice's splitter) refused any line of this run."""
    return bool(warehouse.scalar(f"SELECT count(*) FROM {STAGED_REJECTS}"))


def raw_lines_near(path: Path, positions: dict[int, int]) -> dict[int, str]:
    """The exact bytes of lines the scanner refused, found from the byte position it
    reports (which may point at the line's first byte or the one after it); bad bytes
    are shown as \\xNN escapes. Falls back to counting lines if a position looks wrong."""
    found: dict[int, str] = {}
    with _open_bytes(path) as stream:
        for number, position in positions.items():
            start = max(0, position - RAW_TEXT_LIMIT)
            stream.seek(start)
            before = stream.read(position - start)
            line_start = start + before.rfind(b"\n") + 1
            stream.seek(line_start)
            raw, length = _line_from(stream)
            if _is_utf8(raw):  # not the line the scanner refused: the position was off
                return raw_lines_by_number(path, set(positions))
            found[number] = escaped(raw, length)
    return found


def _line_from(stream: BinaryIO) -> tuple[bytes, int]:
    """The head (up to RAW_TEXT_LIMIT + 1 bytes) of the line at the stream's position,
    without its line end, and the whole line's length, read on in chunks if need be."""
    head = stream.readline(RAW_TEXT_LIMIT + 1)
    length = len(head)
    if not head.endswith(b"\n"):
        while chunk := stream.read(1 << 20):
            end = chunk.find(b"\n")
            length += len(chunk) if end < 0 else end
            if end >= 0:
                break
    else:
        length -= 1
    line = head.removesuffix(b"\n")
    if line.endswith(b"\r") and length == len(line):
        line, length = line[:-1], length - 1
    return line, length


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return len(raw) <= RAW_TEXT_LIMIT


def raw_lines_by_number(path: Path, numbers: set[int]) -> dict[int, str]:
    """The exact bytes of the given (1-based) lines, bad bytes shown as \\xNN escapes;
    lines end at LF, as JSON Lines defines them (a CR before the LF is dropped)."""
    found: dict[int, str] = {}
    last = max(numbers, default=0)
    with _open_bytes(path) as binary:
        for number, line in enumerate(binary, 1):
            if number in numbers:
                found[number] = escaped(line.removesuffix(b"\n").removesuffix(b"\r"))
            if number >= last:
                break
    return found


def _open_bytes(path: Path) -> BinaryIO:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")



def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
