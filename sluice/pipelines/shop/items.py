"""The catalogue: items.csv into shop.manufacturers and shop.items.

The engine's CSV reader parses the file (RFC 4180: comma, double quotes); rows it cannot
split into the header's columns are kept apart by the reader itself (its rejects table)
and quarantined with their exact bytes. Every other row is checked in one SQL pass: a
name, a manufacturer, a cost (at least 0, at most 2 decimals) and a weight in kg (at
least 0, at most 3 decimals); nothing is rounded. An item is known by its name: the first
version of a name wins, a later identical row is a duplicate, a later different one a
conflict, quarantined. Manufacturers are made from the new items' manufacturer names.
New ids come from the warehouse's sequences, in file order.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sluice.errors import SluiceError
from sluice.ledger import InputFile, RunSummary
from sluice.lines import MAX_LINE_BYTES
from sluice.paths import engine_can_open, engine_pattern, shown
from sluice.pipelines.shop import inputs
from sluice.pipelines.shop.contracts import (
    COST_DECIMALS,
    COST_LIMIT,
    ITEM_COLUMNS,
    WEIGHT_DECIMALS,
    WEIGHT_LIMIT,
    decimal_check,
)
from sluice.staging import raw_lines_by_number, sql_string
from sluice.warehouse import Warehouse

RAW, REFUSED, ROWS, VERDICTS = "shop_items_raw", "shop_items_refused", "shop_item_rows", "shop_item_verdicts"
LINES = "shop_item_lines"
KNOWN, MAKERS = "shop_items_known", "shop_manufacturer_ids"
_READER_REJECTS, _READER_SCANS = "shop_csv_rejects", "shop_csv_scans"
_HEADER_BYTES = 1 << 20
# The reader's names for a row it refused, in the words of a reason.
_REFUSALS = {
    "TOO MANY COLUMNS": "more fields than the header",
    "MISSING COLUMNS": "fewer fields than the header",
    "UNQUOTED VALUE": "a quote out of place (a quoted field never closed, or a quote "
                      "inside an unquoted field)",
    "INVALID ENCODING": "invalid UTF-8",
    "LINE SIZE OVER MAXIMUM": f"line longer than {MAX_LINE_BYTES:,} bytes",
    "INVALID STATE": "unterminated quoted field",
}


# Refusals whose row the reader cannot copy faithfully (bytes that are not UTF-8, a row cut
# at the line limit).
_INEXACT = ("INVALID ENCODING", "LINE SIZE OVER MAXIMUM")


@dataclass
class StagedItems:
    rows: int      # rows the reader returned
    refused: int   # rows it could not split into the header's columns

    @property
    def records(self) -> int:
        return self.rows + self.refused


def header_columns(path: Path) -> list[int]:
    """The 0-based positions of name, manufacturer, cost and weight_kg in the header, and
    the header's length last; a run-failing error when the header does not name them."""
    try:
        with path.open("rb") as stream:
            first = stream.readline(_HEADER_BYTES)
    except OSError as error:
        raise inputs.unreadable(path, error) from None
    where = shown(path)
    if not first.strip():
        raise SluiceError(f"{where} has no header line; expected "
                          f"{','.join(ITEM_COLUMNS)}; nothing was loaded")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SluiceError(f"{where}: the header line is not UTF-8 text; not a CSV file of "
                          "items; nothing was loaded") from None
    names = [name.strip().lower() for name in next(csv.reader([text.rstrip("\r\n")]), [])]
    missing = [column for column in ITEM_COLUMNS if column not in names]
    if missing:
        found = ",".join(names)[:120]
        raise SluiceError(f"{where}: not an items file: its header must name "
                          f"{', '.join(ITEM_COLUMNS)} (missing {', '.join(missing)}; found "
                          f"'{found}'); nothing was loaded")
    return [names.index(column) for column in ITEM_COLUMNS] + [len(names)]


def stage(warehouse: Warehouse, offered: InputFile) -> StagedItems:
    """Read the file's rows into the engine; the rows the reader refused, with their exact
    bytes, into `shop_items_refused` (line, rank, raw, reason)."""
    positions = header_columns(offered.path)
    path, copied = offered.path, None
    if not engine_can_open(path):  # a name the engine cannot be given: read a copy
        copied = warehouse.spill_dir / f"shop-items-{offered.file_id}.csv"
        warehouse.spill_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copied)
        path = copied
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(positions[-1]))
    try:
        warehouse.execute(f"""
            CREATE OR REPLACE TEMP TABLE {RAW} AS
            SELECT * FROM read_csv({sql_string(engine_pattern(path))}, header = true,
                auto_detect = false, delim = ',', quote = '"', escape = '"',
                columns = {{{columns}}}, max_line_size = {MAX_LINE_BYTES},
                store_rejects = true, rejects_table = '{_READER_REJECTS}',
                rejects_scan = '{_READER_SCANS}')
        """)
        refused = warehouse.query(
            f"SELECT line, min(error_type), min(csv_line) FROM {_READER_REJECTS} "
            "GROUP BY line ORDER BY line").rows
    except duckdb.Error as error:
        raise SluiceError(f"{shown(offered.path)} cannot be read as CSV "
                          f"({str(error).splitlines()[0][:160]}); nothing was loaded") from None
    finally:
        warehouse.execute(f"DROP TABLE IF EXISTS {_READER_REJECTS}; "
                          f"DROP TABLE IF EXISTS {_READER_SCANS}")
        if copied is not None:
            copied.unlink(missing_ok=True)
    # The reader's own copy of a refused row (all of it, when a quote runs on over several
    # lines), except where it cannot be trusted: those rows' exact bytes, read again.
    exact = {int(line) for line, kind, _ in refused if kind in _INEXACT}
    raw = raw_lines_by_number(offered.path, exact) if exact else {}
    warehouse.execute(f"CREATE OR REPLACE TEMP TABLE {REFUSED} "
                      "(line BIGINT, rank BIGINT, raw VARCHAR, reason VARCHAR)")
    if refused:
        warehouse.con.executemany(
            f"INSERT INTO {REFUSED} VALUES (?, ?, ?, ?)",
            [[int(line), rank, raw[int(line)] if int(line) in raw else str(text).rstrip("\r\n"),
              _REFUSALS.get(kind, str(kind).lower())]
             for rank, (line, kind, text) in enumerate(refused, 1)])
    rows = int(warehouse.scalar(f"SELECT count(*) FROM {RAW}"))
    _number_rows(warehouse, path if copied is None else offered.path, rows)
    _check_rows(warehouse, positions)
    return StagedItems(rows, len(refused))


def _number_rows(warehouse: Warehouse, path: Path, rows: int) -> None:
    """`shop_item_lines`: the line of each row read (by its 0-based position). The CSV
    reader skips empty lines without a word, so a row's line is the n-th line after the
    header that is neither empty nor refused. When that cannot be worked out exactly (a
    quoted value over several lines, a line too long to read), the table stays empty and
    rows are numbered as the reader counts them."""
    warehouse.execute(f"CREATE OR REPLACE TEMP TABLE {LINES} "
                      "(position BIGINT, line BIGINT)")
    if not engine_can_open(path):
        return
    try:
        warehouse.execute(f"""
            INSERT INTO {LINES}
            SELECT row_number() OVER (ORDER BY n) - 1, n FROM (
                SELECT row_number() OVER () AS n, line AS text
                FROM read_csv({sql_string(engine_pattern(path))}, columns = {{'line': 'VARCHAR'}},
                              delim = '\0', quote = '', escape = '', header = false,
                              auto_detect = false, strict_mode = false,
                              max_line_size = {MAX_LINE_BYTES})
            ) AS all_lines
            WHERE n >= 2 AND text IS NOT NULL AND n NOT IN (SELECT line FROM {REFUSED})
        """)
    except duckdb.Error:
        warehouse.execute(f"DELETE FROM {LINES}")
        return
    if int(warehouse.scalar(f"SELECT count(*) FROM {LINES}")) != rows:
        warehouse.execute(f"DELETE FROM {LINES}")


def _csv_field(column: str) -> str:
    """SQL writing a field back as CSV (quoted when it must be)."""
    return (f"CASE WHEN {column} IS NULL THEN '' "
            f"WHEN regexp_matches({column}, '[\",\\r\\n]') OR {column} <> trim({column}) "
            f"THEN '\"' || replace({column}, '\"', '\"\"') || '\"' ELSE {column} END")


def _check_rows(warehouse: Warehouse, positions: list[int]) -> None:
    """`shop_item_rows`: every row read, its line number, its values, and every reason
    it breaks the rules (an empty list when it breaks none)."""
    name, maker, cost, weight = (f"c{p}" for p in positions[:4])
    cost_value, cost_problem = decimal_check("cost", "cost_text", COST_DECIMALS, COST_LIMIT)
    weight_value, weight_problem = decimal_check("weight_kg", "weight_text", WEIGHT_DECIMALS,
                                                 WEIGHT_LIMIT)
    raw = " || ',' || ".join(_csv_field(f"c{i}") for i in range(positions[-1]))
    # A row's line: the header, the rows before it, and the refused lines before it
    # (a refused line L of rank r has L - r - 1 rows read before it).
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE {ROWS} AS
        SELECT position, line_number, name, manufacturer,
               CAST({cost_value} AS DECIMAL(12, 2)) AS cost,
               CAST({weight_value} AS DECIMAL(10, 3)) AS weight_kg, raw,
               list_filter([
                   CASE WHEN name IS NULL THEN 'missing name' END,
                   CASE WHEN manufacturer IS NULL THEN 'missing manufacturer' END,
                   {cost_problem}, {weight_problem}], lambda r: r IS NOT NULL) AS reasons
        FROM (
            SELECT rowid AS position,
                   coalesce((SELECT l.line FROM {LINES} l WHERE l.position = raw_rows.rowid),
                            rowid + 2 + (SELECT count(*) FROM {REFUSED} f
                                         WHERE f.line - f.rank - 1 <= raw_rows.rowid))
                       AS line_number,
                   nullif(trim({name}), '') AS name, nullif(trim({maker}), '') AS manufacturer,
                   nullif(trim({cost}), '') AS cost_text, nullif(trim({weight}), '') AS weight_text,
                   {raw} AS raw
            FROM {RAW} AS raw_rows
        ) AS fields
    """)


def load(warehouse: Warehouse, run: RunSummary, offered: InputFile, staged: StagedItems) -> None:
    """Classify the checked rows against the warehouse and each other, load the new
    manufacturers and items, quarantine the rest; the file's counts. Inside the run's
    transaction."""
    valid = f"SELECT * FROM {ROWS} WHERE len(reasons) = 0"
    warehouse.pull_for_keys(
        f"SELECT DISTINCT name FROM ({valid}) AS v", "name VARCHAR",
        "SELECT i.item_id, i.name, m.name AS manufacturer, i.cost, i.weight_kg "
        "FROM shop.items i JOIN shop.manufacturers m ON m.manufacturer_id = i.manufacturer_id "
        "JOIN sluice_keys k ON k.name = i.name", KNOWN)
    same = ("{a}.manufacturer = {b}.manufacturer AND {a}.cost = {b}.cost "
            "AND {a}.weight_kg = {b}.weight_kg")
    inputs.first_version_verdicts(warehouse, VERDICTS, valid, "name", KNOWN, same)
    new_items = (f"SELECT r.* FROM {ROWS} r JOIN {VERDICTS} v USING (position) "
                 "WHERE v.verdict = 'new'")
    _load_manufacturers(warehouse, new_items)
    count = int(warehouse.scalar(f"SELECT count(*) FROM ({new_items}) AS n"))
    first = warehouse.destination.reserve_ids("shop.item_ids", count) if count else 0
    offered.loaded = warehouse.destination.push(
        "shop.items", ["item_id", "name", "manufacturer_id", "cost", "weight_kg", "file_id",
                       "source_line"],
        f"SELECT CAST(? + row_number() OVER (ORDER BY n.position) - 1 AS INTEGER) AS item_id, "
        f"n.name, m.manufacturer_id, n.cost, n.weight_kg, CAST(? AS BIGINT) AS file_id, "
        f"CAST(n.line_number AS BIGINT) AS source_line "
        f"FROM ({new_items}) AS n JOIN {MAKERS} m ON m.name = n.manufacturer "
        "ORDER BY n.position", [first, offered.file_id])
    conflict = ("'conflict: item ' || " + inputs.quoted("r.name")
                + " || ' was loaded first with a different manufacturer, cost or weight'")
    inputs.quarantine(warehouse, run, offered, f"""
        SELECT line AS line_number, raw, [reason] AS reasons FROM {REFUSED}
        UNION ALL
        SELECT line_number, raw, reasons FROM {ROWS} WHERE len(reasons) > 0
        UNION ALL
        SELECT r.line_number, r.raw, [{conflict}] FROM {ROWS} r
        JOIN {VERDICTS} v USING (position) WHERE v.verdict = 'conflict'
        ORDER BY line_number
    """)
    offered.records_read = staged.records
    offered.duplicates = int(warehouse.scalar(
        f"SELECT count(*) FROM {VERDICTS} WHERE verdict = 'duplicate'"))
    offered.rejected = inputs.rejected_count(warehouse, offered)


def _load_manufacturers(warehouse: Warehouse, new_items: str) -> None:
    """`shop_manufacturer_ids`: the id of every new item's manufacturer, the new ones
    loaded (ids in name order)."""
    names = f"SELECT DISTINCT manufacturer AS name FROM ({new_items}) AS n"
    warehouse.pull_for_keys(
        names, "name VARCHAR",
        "SELECT m.manufacturer_id, m.name FROM shop.manufacturers m "
        "JOIN sluice_keys k ON k.name = m.name", MAKERS)
    missing = f"SELECT name FROM ({names}) AS w WHERE name NOT IN (SELECT name FROM {MAKERS})"
    count = int(warehouse.scalar(f"SELECT count(*) FROM ({missing}) AS w"))
    if not count:
        return
    first = warehouse.destination.reserve_ids("shop.manufacturer_ids", count)
    warehouse.execute(f"""
        INSERT INTO {MAKERS}
        SELECT CAST(? + row_number() OVER (ORDER BY name) - 1 AS INTEGER), name
        FROM ({missing}) AS w
    """, [first])
    warehouse.destination.push(
        "shop.manufacturers", ["manufacturer_id", "name"],
        f"SELECT manufacturer_id, name FROM {MAKERS} WHERE manufacturer_id >= ? "
        "ORDER BY manufacturer_id", [first])
