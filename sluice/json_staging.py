"""JSON Lines staged by the engine's JSON reader, its rows proven to be the file's lines.

The engine's JSON reader parses a file and extracts its fields in one parallel pass,
about twice as fast as reading lines and parsing each with the JSON functions
(`staging.stage_lines`). But it says nothing about lines: it skips a blank line, gives a
row of NULLs for a line it cannot parse, and keeps the first of a repeated field
without a word. So its rows are kept only when the file's scan (`lines.scan_lines`,
which also counts the double quotes and notes where lines start) proves them right:

- One row a line. A plain file with no CR, NUL, byte order mark or over-long line,
  where the reader gave exactly as many rows as the scan counted lines: the reader
  gives at most one row a line, so none was skipped, and row k is line k.
- Broken rows. A row that the reader could not parse, or whose values break the
  contract, is read again from the file by its position and checked by the line
  reader's own SQL (`Contract.records_sql`), which gives its reasons and raw text
  (kept in `staged_broken`; the row keeps an empty list of reasons). It must come out
  broken there too; the first and the last line are checked against
  their rows as well. Any disagreement means the rows are not the lines.
- No repeated fields. A good line holding only the contract's fields, written
  compactly, has a length less its double quotes that its values account for exactly
  (`accounted_bytes`); anything else in it (a repeated or another field, whitespace,
  an escape, a null) only adds to that. So when the file's bytes less its LFs and
  double quotes, less those of its broken lines, equal the good rows' sum, no good line
  holds anything but its fields: none repeats one.

A file that fails any test is staged again by the line reader, as before; its rows
from here are discarded unread. The tests cost one aggregate and reading the broken
lines again.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sluice.compression import is_gzip_name
from sluice.contracts import INVALID_UTF8, Contract
from sluice.lines import MAX_LINE_BYTES, LineScan, escaped
from sluice.paths import engine_pattern
from sluice.staging import STAGED, STAGED_BROKEN, StagedFile, file_span
from sluice.warehouse import Warehouse

if TYPE_CHECKING:
    from sluice.staging import RecordReader

READ_AGAIN = "json_lines_read_again"
READ_AGAIN_RECORDS = "json_records_read_again"
# Beyond this many broken lines, reading them one by one costs more than the line reader.
MAX_LINES_READ_AGAIN = 200_000


def reads(reader: RecordReader, path: Path) -> bool:
    """Whether this file's records may be staged by the JSON reader (then tried first)."""
    return (isinstance(reader, Contract) and reader.fits_json_reader
            and not is_gzip_name(path))


def stage_json(warehouse: Warehouse, contract: Contract, path: Path, file_id: int
               ) -> StagedFile:
    """Append the file's rows, as the JSON reader reads them, to `staged`: typed and
    checked, broken ones marked for `prove` to read again. Raises duckdb.Error when the
    reader cannot read the file."""
    columns = ", ".join(f'"{n}"' for n in contract.names)
    source = contract.json_reader(engine_pattern(path))
    warehouse.execute(f"""
        INSERT INTO {STAGED} (file_id, blank, {columns}, reasons, raw, accounted_bytes)
        SELECT ?, blank, {columns}, reasons, raw, accounted_bytes
        FROM ({contract.json_records_sql(source)})
    """, [file_id])
    first_rowid, rows = file_span(warehouse, file_id)
    return StagedFile(file_id, path, source, first_rowid, rows, 0, 0)


def prove(warehouse: Warehouse, contract: Contract, staged: StagedFile, scan: LineScan
          ) -> bool:
    """Whether the file's rows are its lines (see the module's docstring); if so, its
    broken rows get their reasons and raw text and are noted in `staged_broken`, and
    the file keeps where its lines start (to read conflicting lines again)."""
    starts = scan.line_starts
    if (starts is None or scan.nul or scan.bom or scan.lone_cr or scan.crlf
            or scan.longest_line > MAX_LINE_BYTES or staged.rows != scan.lines):
        return False
    broken = [int(row[0]) for row in warehouse.query(
        f"SELECT rowid - ? FROM {STAGED} WHERE file_id = ? AND reasons IS NOT NULL",
        [staged.first_rowid, staged.file_id]).rows]
    if len(broken) > MAX_LINES_READ_AGAIN:
        return False
    anchors = {0, staged.rows - 1} - set(broken) if staged.rows else set()
    lines = starts.read(staged.path, [*broken, *anchors])
    broken_bytes = sum(len(lines[p]) - lines[p].count(b'"') for p in broken)
    good_bytes = scan.bytes_read - scan.lf - scan.quotes - broken_bytes
    accounted = warehouse.scalar(
        f"SELECT coalesce(sum(accounted_bytes), 0) FROM {STAGED} "
        "WHERE file_id = ? AND reasons IS NULL", [staged.file_id])
    if int(accounted) != good_bytes:
        return False
    _read_again(warehouse, contract, lines)
    try:
        if not _agree(warehouse, contract, staged, broken, anchors):
            return False
        _note_broken(warehouse, staged, broken)
    finally:
        warehouse.execute(f"DROP TABLE {READ_AGAIN}; DROP TABLE {READ_AGAIN_RECORDS}")
    staged.line_starts = starts
    return True


def _read_again(warehouse: Warehouse, contract: Contract, lines: dict[int, bytes]) -> None:
    """Engine table of the lines read again, as the line reader reads them (one not
    UTF-8 as the line reader's scanner refuses it), by position."""
    text: dict[int, str] = {}
    refused: dict[int, str] = {}
    for position, raw in lines.items():
        try:
            text[position] = raw.decode("utf-8")
        except UnicodeDecodeError:
            refused[position] = escaped(raw)
    warehouse.execute(f"CREATE OR REPLACE TEMP TABLE {READ_AGAIN} (position BIGINT, line VARCHAR)")
    if text:
        warehouse.execute(f"INSERT INTO {READ_AGAIN} SELECT unnest(?), unnest(?)",
                          [list(text), list(text.values())])
    warehouse.execute(f"CREATE OR REPLACE TEMP TABLE {READ_AGAIN_RECORDS} AS "
                      f"{contract.records_sql(READ_AGAIN, keep='position')}")
    if refused:
        warehouse.execute(
            f"INSERT INTO {READ_AGAIN_RECORDS} (position, blank, reasons, raw) "
            "SELECT unnest(?), false, [?], unnest(?)",
            [list(refused), INVALID_UTF8, list(refused.values())])


def _agree(warehouse: Warehouse, contract: Contract, staged: StagedFile, broken: list[int],
           anchors: set[int]) -> bool:
    """Every line read again as its row says: a broken row's line is broken, and an
    anchor line's record has the row's values. The rows are looked up by rowid, never
    joined: a join would scan every staged row."""
    found = warehouse.scalar(
        f"SELECT count(*) FILTER (WHERE reasons IS NOT NULL) FROM {READ_AGAIN_RECORDS} "
        "WHERE position IN (SELECT unnest(?))", [broken])
    if int(found) != len(broken):
        return False
    names = ", ".join(f'"{n}"' for n in contract.names)
    for position in anchors:
        row = warehouse.query(f"SELECT {names} FROM {STAGED} WHERE rowid = ?",
                              [staged.first_rowid + position]).rows
        again = warehouse.query(f"SELECT {names} FROM {READ_AGAIN_RECORDS} "
                                "WHERE position = ? AND reasons IS NULL AND NOT blank",
                                [position]).rows
        if row != again:
            return False
    return True


def _note_broken(warehouse: Warehouse, staged: StagedFile, broken: list[int]) -> None:
    """The broken lines, as the line reader reads them, go to `staged_broken`; their
    rows stay as they are (an empty list of reasons keeps them out of the load). An
    UPDATE of `staged` would not do: the engine rewrites a row whose list changes at a
    new rowid, and a row's rowid is its line's position."""
    warehouse.execute(f"""
        INSERT INTO {STAGED_BROKEN}
        SELECT ?, position, raw, reasons FROM {READ_AGAIN_RECORDS}
        WHERE position IN (SELECT unnest(?)) ORDER BY position
    """, [staged.file_id, broken])
