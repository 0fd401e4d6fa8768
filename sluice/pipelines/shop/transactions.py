"""Transactions: transactions.jsonl into shop.transactions and shop.transaction_lines.

The core's staging reads the file (the engine's line reader, checked against sluice's own
count of the file's lines; a file the reader would split wrongly is split by sluice) and
checks each line against the transaction's contract (`contracts.TRANSACTION`). What the
contract cannot see is checked here, in SQL over all transactions at once, every reason
collected: each line must be an object naming an item the warehouse knows and a positive
integer quantity; the membership id must be a member's; a stated total price or weight
must equal the sum over the lines (it is only checked: the warehouse derives totals from
the lines and never stores them). A transaction id is known across files and runs: the
first valid version wins, the same content again is a duplicate, different content a
conflict, quarantined.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from sluice.contracts import INVALID_UTF8
from sluice.errors import LedgerMismatch
from sluice.ledger import InputFile, RunSummary
from sluice.lines import LineScan, scan_lines, split_exactly
from sluice.paths import engine_can_open
from sluice.pipelines.shop import inputs
from sluice.pipelines.shop.contracts import TRANSACTION
from sluice.staging import (
    STAGED,
    STAGED_BROKEN,
    STAGED_REJECTS,
    StagedFile,
    create_staging,
    discard_staged_file,
    drop_scan_rejects,
    line_number_sql,
    line_numbers,
    stage_lines,
    stage_split_lines,
)
from sluice.warehouse import Warehouse

TX, LINES, LINE_CHECKS = "shop_tx", "shop_tx_lines", "shop_tx_line_checks"
CHECKED, VERDICTS, REJECTED = "shop_tx_checked", "shop_tx_verdicts", "shop_tx_rejected"
KNOWN_ITEMS, KNOWN_MEMBERS = "shop_tx_known_items", "shop_tx_known_members"
KNOWN_LINES, KNOWN = "shop_tx_known_lines", "shop_tx_known"
# A transaction's lines as one value, to compare two versions of a transaction.
_SIGNATURE = ("string_agg(CAST(item_id AS VARCHAR) || 'x' || CAST(quantity AS VARCHAR), ',' "
              "ORDER BY line_number)")


def stage(warehouse: Warehouse, offered: InputFile, split_dir: Path
          ) -> tuple[LineScan, StagedFile]:
    """The file's lines in the core's `staged` table, checked against the contract, and
    sluice's own scan of the file (checksum, lines), made in a thread while the engine
    reads it. The engine's rows are kept only when they account for exactly the lines
    the scan counted; otherwise sluice splits the file itself."""
    create_staging(warehouse, TRANSACTION)
    staged: StagedFile | None = None
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        scanning = pool.submit(scan_lines, offered.path, stop)
        try:
            if engine_can_open(offered.path):
                staged = stage_lines(warehouse, TRANSACTION, offered.path, offered.file_id)
        except (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException):
            staged = None
        except BaseException:
            stop.set()
            raise
        scan = scanning.result()
    if staged is None or not scan.engine_safe or staged.lines != scan.lines:
        discard_staged_file(warehouse, offered.file_id)
        csv_path = split_dir / f"{offered.file_id}.csv"
        refused = split_exactly(offered.path, csv_path, INVALID_UTF8)
        staged = stage_split_lines(warehouse, TRANSACTION, offered.path, offered.file_id,
                                   csv_path, refused)
    return scan, staged


def load(warehouse: Warehouse, run: RunSummary, offered: InputFile, staged: StagedFile) -> None:
    """Check the staged transactions against the warehouse (members and items loaded
    this run included), load the new ones with their lines, quarantine the rest; the
    file's counts. Inside the run's transaction."""
    _explode(warehouse, staged)
    _check(warehouse)
    _classify(warehouse)
    new = (f"SELECT c.* FROM {CHECKED} c JOIN {VERDICTS} v USING (position) "
           "WHERE v.verdict = 'new'")
    destination = warehouse.destination
    refused, line = line_numbers(warehouse, f"{offered.file_id:d}", "n.position")
    offered.loaded = destination.push(
        "shop.transactions", ["transaction_id", "membership_id", "bought_at", "file_id",
                              "source_line"],
        f"SELECT transaction_id, membership_id, bought_at, CAST(? AS BIGINT) AS file_id, "
        f"CAST({line} AS BIGINT) AS source_line "
        f"FROM ({new}) AS n {refused} ORDER BY n.position", [offered.file_id])
    new_lines = (f"SELECT n.transaction_id, CAST(l.line_number AS INTEGER) AS line_number, "
                 f"l.item_id, l.quantity FROM ({new}) AS n JOIN {LINE_CHECKS} l USING (position) "
                 "ORDER BY n.position, l.line_number")
    sent = int(warehouse.scalar(f"SELECT count(*) FROM ({new_lines}) AS s"))
    stored = destination.push("shop.transaction_lines",
                              ["transaction_id", "line_number", "item_id", "quantity"], new_lines)
    if stored != sent:
        raise LedgerMismatch(f"shop.transaction_lines: {sent:,} rows sent, the warehouse "
                             f"stored {stored:,}; the run was rolled back")
    _quarantine(warehouse, run, offered, staged)
    offered.records_read = staged.records
    offered.duplicates = int(warehouse.scalar(
        f"SELECT count(*) FROM {VERDICTS} WHERE verdict = 'duplicate'"))
    offered.rejected = inputs.rejected_count(warehouse, offered)


def _explode(warehouse: Warehouse, staged: StagedFile) -> None:
    """`shop_tx`: the transactions that keep the contract, by position in the file;
    `shop_tx_lines`: each of their lines, numbered from 1, with its item and quantity."""
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE {TX} AS
        SELECT rowid - {staged.first_rowid:d} AS position, transaction_id, membership_id,
               bought_at, lines, total_price, total_weight
        FROM {STAGED} WHERE file_id = {staged.file_id:d} AND reasons IS NULL AND NOT blank;

        CREATE OR REPLACE TEMP TABLE {LINES} AS
        SELECT position, line_number, element_type, item, quantity_text,
               CASE WHEN regexp_full_match(quantity_text, '[0-9]+')
                    THEN TRY_CAST(quantity_text AS INTEGER) END AS quantity
        FROM (
            SELECT position, line_number, json_type(element) AS element_type,
                   CASE WHEN json_type(element) = 'OBJECT'
                        THEN nullif(trim(json_extract_string(element, '$.item')), '') END AS item,
                   CASE WHEN json_type(element) = 'OBJECT'
                        THEN json_extract_string(element, '$.quantity') END AS quantity_text
            FROM (
                SELECT position, unnest(elements) AS element,
                       generate_subscripts(elements, 1) AS line_number
                FROM (SELECT position, json_extract(lines, '$[*]') AS elements FROM {TX}) AS t
            ) AS e
        ) AS f;
    """)


def _check(warehouse: Warehouse) -> None:
    """`shop_tx_checked`: every transaction of `shop_tx` with every reason it cannot be
    loaded (an empty list when there is none) and its lines' signature."""
    warehouse.pull_for_keys(
        f"SELECT DISTINCT item AS name FROM {LINES} WHERE item IS NOT NULL", "name VARCHAR",
        "SELECT i.item_id, i.name, i.cost, i.weight_kg FROM shop.items i "
        "JOIN sluice_keys k ON k.name = i.name", KNOWN_ITEMS)
    warehouse.pull_for_keys(
        f"SELECT DISTINCT membership_id FROM {TX}", "membership_id VARCHAR",
        "SELECT m.membership_id FROM shop.members m "
        "JOIN sluice_keys k ON k.membership_id = m.membership_id", KNOWN_MEMBERS)
    line = "'line ' || CAST(l.line_number AS VARCHAR)"
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE {LINE_CHECKS} AS
        SELECT l.position, l.line_number, k.item_id, l.quantity, k.cost, k.weight_kg,
               list_filter([
                   CASE WHEN l.element_type IS DISTINCT FROM 'OBJECT'
                        THEN {line} || ' is not an object' END,
                   CASE WHEN l.element_type = 'OBJECT' AND l.item IS NULL
                        THEN {line} || ': missing item' END,
                   CASE WHEN l.item IS NOT NULL AND k.item_id IS NULL
                        THEN {line} || ': unknown item ' || {inputs.quoted("l.item")} END,
                   CASE WHEN l.element_type = 'OBJECT' AND l.quantity_text IS NULL
                        THEN {line} || ': missing quantity'
                        WHEN l.element_type = 'OBJECT' AND NOT coalesce(l.quantity > 0, false)
                        THEN {line} || ': quantity ' || {inputs.quoted("l.quantity_text")}
                             || ' is not a positive integer' END
               ], lambda r: r IS NOT NULL) AS reasons
        FROM {LINES} l LEFT JOIN {KNOWN_ITEMS} k ON k.name = l.item;

        CREATE OR REPLACE TEMP TABLE {CHECKED} AS
        SELECT t.position, t.transaction_id, t.membership_id, t.bought_at, a.signature,
               list_concat(
                   CASE WHEN m.membership_id IS NULL
                        THEN ['unknown membership id ' || {inputs.quoted("t.membership_id")}]
                        ELSE [] END,
                   coalesce(a.line_reasons, ['lines is an empty list']),
                   CASE WHEN a.lines_ok AND t.total_price IS NOT NULL
                             AND CAST(t.total_price AS DECIMAL(38, 6)) <> a.price
                        THEN ['total_price ' || t.total_price || ' disagrees with the lines'' '
                              || 'sum ' || CAST(a.price AS VARCHAR)] ELSE [] END,
                   CASE WHEN a.lines_ok AND t.total_weight IS NOT NULL
                             AND CAST(t.total_weight AS DECIMAL(38, 6)) <> a.weight
                        THEN ['total_weight ' || t.total_weight || ' disagrees with the lines'' '
                              || 'sum ' || CAST(a.weight AS VARCHAR)] ELSE [] END
               ) AS reasons
        FROM {TX} t
        LEFT JOIN (
            SELECT position, flatten(list(reasons ORDER BY line_number)) AS line_reasons,
                   bool_and(len(reasons) = 0) AS lines_ok,
                   -- DECIMAL(38, _): a quantity times a cost is DECIMAL(18, 2) to
                   -- the engine, which overflows past 10^16.
                   sum(CAST(quantity AS DECIMAL(38, 0)) * cost) AS price,
                   sum(CAST(quantity AS DECIMAL(38, 0)) * weight_kg) AS weight,
                   {_SIGNATURE} AS signature
            FROM {LINE_CHECKS} GROUP BY position
        ) AS a USING (position)
        LEFT JOIN {KNOWN_MEMBERS} m ON m.membership_id = t.membership_id;
    """)


def _classify(warehouse: Warehouse) -> None:
    """`shop_tx_verdicts`: each valid transaction is new, a duplicate (the same member,
    time and lines as the version loaded first) or a conflict."""
    valid = f"SELECT * FROM {CHECKED} WHERE len(reasons) = 0"
    warehouse.pull_for_keys(
        f"SELECT DISTINCT transaction_id FROM ({valid}) AS v", "transaction_id VARCHAR",
        "SELECT t.transaction_id, t.membership_id, t.bought_at, l.line_number, l.item_id, "
        "l.quantity FROM shop.transactions t "
        "JOIN sluice_keys k ON k.transaction_id = t.transaction_id "
        "JOIN shop.transaction_lines l ON l.transaction_id = t.transaction_id", KNOWN_LINES)
    same = ("{a}.membership_id = {b}.membership_id AND {a}.bought_at = {b}.bought_at "
            "AND {a}.signature = {b}.signature")
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE {KNOWN} AS
        SELECT transaction_id, min(membership_id) AS membership_id,
               min(bought_at) AS bought_at, {_SIGNATURE} AS signature
        FROM {KNOWN_LINES} GROUP BY transaction_id
    """)
    inputs.first_version_verdicts(warehouse, VERDICTS, valid, "transaction_id", KNOWN, same)


def _quarantine(warehouse: Warehouse, run: RunSummary, offered: InputFile,
                staged: StagedFile) -> None:
    """Lines that break the contract (kept with their text by staging), lines the reader
    refused, and transactions rejected here: their text is read again from the file, by
    position, only for those."""
    file_id = f"{offered.file_id:d}"
    inputs.quarantine(warehouse, run, offered, f"""
        SELECT {line_number_sql(file_id, "b.position")} AS line_number, b.raw, b.reasons
        FROM {STAGED_BROKEN} b WHERE b.file_id = {file_id}
        UNION ALL
        SELECT line_number, raw, reasons FROM {STAGED_REJECTS} WHERE file_id = {file_id}
    """)
    conflict = ("'conflict: transaction ' || " + inputs.quoted("c.transaction_id")
                + " || ' was loaded first with different content'")
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE {REJECTED} AS
        SELECT position, reasons FROM {CHECKED} WHERE len(reasons) > 0
        UNION ALL
        SELECT c.position, [{conflict}] FROM {CHECKED} c JOIN {VERDICTS} v USING (position)
        WHERE v.verdict = 'conflict'
    """)
    positions = [int(row[0]) for row in warehouse.query(
        f"SELECT position FROM {REJECTED} ORDER BY position").rows]
    if not positions:
        return
    # A constant list keeps the scan's filter simple (as the core's merge does).
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE shop_tx_raw AS
        SELECT * FROM (SELECT row_number() OVER () - 1 AS position, line FROM {staged.source})
        WHERE position IN (SELECT unnest(?))
    """, [positions])
    drop_scan_rejects(warehouse)
    inputs.quarantine(warehouse, run, offered, f"""
        SELECT {line_number_sql(file_id, "r.position")} AS line_number, w.line AS raw, r.reasons
        FROM {REJECTED} r JOIN shop_tx_raw w USING (position) ORDER BY r.position
    """)
