"""The quarantine for operators: find rejected records by pipeline, run, file and reason,
show one whole, and stream them out as CSV or JSON Lines. Read-only.

A record is named by its id, `FILE_ID:LINE` (the ledger's file id and its line in that
file), or `FILE_ID` alone for a rejected whole document (it has no line).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from sluice.console import to_json
from sluice.destinations import Result
from sluice.errors import UsageError
from sluice.quarantine import readable_quarantine
from sluice.warehouse import Warehouse

COLUMNS = ("id", "run_id", "pipeline", "file_id", "source_file", "line_number", "reasons",
           "raw", "superseded_by")
_COLUMNS = ("SELECT run_id, pipeline, file_id, source_file, line_number, reasons, raw, "
            "superseded_by FROM ")
_ORDER = " ORDER BY file_id, coalesce(line_number, -1)"
BATCH = 10_000


@dataclass(frozen=True)
class Filters:
    """Which rejected records: all by default, superseded ones only when asked."""

    pipeline: str | None = None
    run_id: int | None = None
    source: str | None = None  # a part of the file's name or path
    reason: str | None = None  # a part of a reason, any case
    superseded: bool = False  # also the records a newer version or a replay superseded

    def where(self) -> tuple[str, list[Any]]:
        tests, params = ["1 = 1"], list[Any]()
        if self.pipeline is not None:
            tests.append("pipeline = ?")
            params.append(self.pipeline)
        if self.run_id is not None:
            tests.append("run_id = ?")
            params.append(self.run_id)
        if self.source is not None:
            tests.append("strpos(source_file, ?) > 0")
            params.append(self.source)
        if self.reason is not None:
            # Each reason on its own (the list's text form would match across two, and
            # quote some characters): portable on both engines.
            tests.append("EXISTS (SELECT 1 FROM (SELECT unnest(q.reasons) AS r) AS u "
                         "WHERE strpos(lower(u.r), ?) > 0)")
            params.append(self.reason.lower())
        if not self.superseded:
            tests.append("superseded_by IS NULL")
        return " AND ".join(tests), params


def record_id(file_id: int, line_number: int | None) -> str:
    return str(file_id) if line_number is None else f"{file_id}:{line_number}"


_ID = re.compile(r"([0-9]+)(?::([0-9]+))?", re.ASCII)
_LARGEST = 2**63 - 1  # ids and lines are 64-bit


def parse_id(text: str) -> tuple[int, int | None]:
    """`FILE_ID:LINE` or `FILE_ID` as numbers; a UsageError says what an id looks like."""
    found = _ID.fullmatch(text.strip())
    if found is None:
        raise UsageError(f"ID {printable(text)!r}: a record's id is FILE_ID:LINE (as `sluice "
                         "quarantine` lists them), or FILE_ID for a whole document")
    return int(found[1]), int(found[2]) if found[2] is not None else None


def printable(text: str) -> str:
    """Text safe to print on a terminal: control characters (an escape sequence could
    clear the screen or hide a row) and text that is not Unicode shown as \\xNN."""
    return "".join(character if character.isprintable() or character == " "
                   else f"\\x{ord(character):02x}" if ord(character) < 256
                   else f"\\u{ord(character):04x}" for character in text)


def check_text(option: str, value: str | None) -> None:
    """An argument the shell passed as bytes that are not UTF-8 is refused, clearly."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"{option}: not UTF-8 text ({printable(value)!r})") from None


def count(warehouse: Warehouse, filters: Filters) -> int:
    if not _exists(warehouse):
        return 0
    where, params = filters.where()
    return int(warehouse.destination.scalar(
        f"SELECT count(*) FROM {readable_quarantine(warehouse)} AS q WHERE {where}", params))


def find(warehouse: Warehouse, filters: Filters, limit: int | None) -> Result:
    """The matching records in file and line order, as `COLUMNS`."""
    rows = list(_rows(warehouse, filters, limit))
    return Result(list(COLUMNS), rows)


def page(warehouse: Warehouse, filters: Filters, limit: int, offset: int) -> Result:
    """One page of the matching records in file and line order, as `COLUMNS`."""
    if not _exists(warehouse):
        return Result(list(COLUMNS), [])
    where, params = filters.where()
    rows = warehouse.destination.query(
        f"{_COLUMNS}{readable_quarantine(warehouse)} AS q WHERE {where}{_ORDER} "
        "LIMIT ? OFFSET ?", [*params, limit, offset]).rows
    return Result(list(COLUMNS), [_with_id(row) for row in rows])


def show(warehouse: Warehouse, text: str) -> dict[str, Any]:
    """One record, whole, superseded or not."""
    file_id, line = parse_id(text)
    if max(file_id, line or 0) > _LARGEST:
        raise UsageError(f"ID {text}: no such record in the quarantine")
    found = warehouse.destination.query(
        f"{_COLUMNS}{readable_quarantine(warehouse)} AS q WHERE file_id = ? AND "
        + ("line_number IS NULL" if line is None else "line_number = ?"),
        [file_id] if line is None else [file_id, line]).rows if _exists(warehouse) else []
    if not found:
        raise UsageError(f"ID {text}: no such record in the quarantine")
    return dict(zip(COLUMNS, _with_id(found[0]), strict=True))


def csv_text(warehouse: Warehouse, filters: Filters) -> Iterator[str]:
    """The records as CSV, a header first, then one piece of text a record; the reasons
    joined by ` | `."""
    buffer = io.StringIO()
    # CRLF as RFC 4180 has it: then a value holding a lone CR is quoted too.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield _taken(buffer)
    for row in _rows(warehouse, filters, None):
        values = list(row)
        values[COLUMNS.index("reasons")] = " | ".join(row[COLUMNS.index("reasons")])
        writer.writerow(["" if v is None else v for v in values])
        yield _taken(buffer)


def json_lines_text(warehouse: Warehouse, filters: Filters) -> Iterator[str]:
    """The records as JSON Lines, one object a record, the reasons a list."""
    for row in _rows(warehouse, filters, None):
        yield to_json(dict(zip(COLUMNS, row, strict=True)), indent=None) + "\n"


def write_csv(warehouse: Warehouse, filters: Filters, stream: TextIO) -> int:
    """The records as CSV (`csv_text`); how many were written."""
    written = -1  # the header is not a record
    for text in csv_text(warehouse, filters):
        stream.write(text)
        written += 1
    return written


def write_json_lines(warehouse: Warehouse, filters: Filters, stream: TextIO) -> int:
    """The records as JSON Lines (`json_lines_text`); how many were written."""
    written = 0
    for text in json_lines_text(warehouse, filters):
        stream.write(text)
        written += 1
    return written


def _taken(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _rows(warehouse: Warehouse, filters: Filters, limit: int | None
          ) -> Iterator[tuple[Any, ...]]:
    """The matching records in batches (keyset paging by file and line), so that an
    export of millions holds one batch at a time."""
    if not _exists(warehouse):
        return
    where, params = filters.where()
    relation = readable_quarantine(warehouse)
    after: tuple[int, int] | None = None
    left = limit
    while left is None or left > 0:
        size = BATCH if left is None else min(BATCH, left)
        page = where + ("" if after is None else
                        " AND (file_id > ? OR (file_id = ? AND coalesce(line_number, -1) > ?))")
        extra = [] if after is None else [after[0], after[0], after[1]]
        rows = warehouse.destination.query(
            f"{_COLUMNS}{relation} AS q WHERE {page}{_ORDER} LIMIT {size:d}",
            [*params, *extra]).rows
        for row in rows:
            yield _with_id(row)
        if len(rows) < size:
            return
        last = rows[-1]
        after = (int(last[2]), -1 if last[4] is None else int(last[4]))
        if left is not None:
            left -= len(rows)


def _with_id(row: tuple[Any, ...]) -> tuple[Any, ...]:
    run_id, pipeline, file_id, source, line, reasons, raw, superseded = row
    return (record_id(file_id, line), run_id, pipeline, file_id, source, line, list(reasons),
            raw, superseded)


def _exists(warehouse: Warehouse) -> bool:
    return warehouse.destination.table_exists("sluice", "quarantine")


def as_text(value: str, width: int = 60) -> str:
    """A raw line shortened for a table cell: its start, and how much was left out;
    control characters shown as \\xNN."""
    shown = printable(value)
    return shown if len(shown) <= width else f"{shown[:width - 1]}… ({len(value):,} chars)"
