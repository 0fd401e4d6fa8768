"""Merge staged records into a keyed warehouse table: the first version of a key wins.

A record whose key the warehouse (or an earlier line of the same run) already holds is a
duplicate if its content is the same, and a conflict, quarantined, if it differs. All of
it is set-based SQL; the only per-row work is on the few rows that repeat a key.
"""

from __future__ import annotations

from dataclasses import dataclass

from sluice.contracts import Contract
from sluice.errors import LedgerMismatch
from sluice.quarantine import QUARANTINE_COLUMNS
from sluice.staging import (
    STAGED,
    STAGED_BROKEN,
    STAGED_FILES,
    STAGED_REJECTS,
    StagedFile,
    drop_scan_rejects,
    line_number_sql,
    line_numbers,
    note_staged_files,
)
from sluice.warehouse import Warehouse

VERDICTS = "verdicts"
# The target's rows whose key a staged row carries: what classification compares with.
KNOWN = "known_rows"
LINEAGE_COLUMN = "_file_id"  # the ledger's file the row came from
LINE_COLUMN = "_line"  # its line in that file (NULL: loaded before sluice kept lines)
DUPLICATE, CONFLICT = "duplicate", "conflict"
VALID = "s.reasons IS NULL AND NOT s.blank"


@dataclass
class FileCounts:
    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0


def target_ddl(contract: Contract, target: str) -> str:
    schema = target.split(".")[0]
    return (
        f"CREATE SCHEMA IF NOT EXISTS {schema};\n"
        f"CREATE TABLE IF NOT EXISTS {target} (\n    {contract.columns_ddl()},\n"
        f"    {LINEAGE_COLUMN} BIGINT NOT NULL,\n    {LINE_COLUMN} BIGINT\n);\n"
        f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {LINE_COLUMN} BIGINT;"
    )


def classify(warehouse: Warehouse, contract: Contract, target: str) -> None:
    """Fill the temporary table `verdicts` with every valid staged row that must not be
    loaded: a duplicate or a conflict of a record that came first."""
    key = f'"{contract.key}"'
    _known_rows(warehouse, contract, target)
    _candidate_keys(warehouse, contract)
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE repeated_keys AS
        SELECT s.{key} AS key FROM {STAGED} s SEMI JOIN candidate_keys c ON s.{key} = c.key
        WHERE {VALID} GROUP BY s.{key} HAVING count(*) > 1;

        CREATE OR REPLACE TEMP TABLE repeats AS
        SELECT s.rowid AS row, s.*, row_number() OVER (PARTITION BY s.{key} ORDER BY s.rowid) AS rn
        FROM {STAGED} s SEMI JOIN repeated_keys k ON s.{key} = k.key
        WHERE {VALID};

        CREATE OR REPLACE TEMP TABLE {VERDICTS} AS
        SELECT s.rowid AS row, s.file_id, CAST(s.{key} AS VARCHAR) AS key,
               CASE WHEN {same_content(contract, "s", "t")} THEN '{DUPLICATE}' ELSE '{CONFLICT}' END AS verdict
        FROM {STAGED} s JOIN {KNOWN} t ON s.{key} = t.{key}
        WHERE {VALID}
        UNION ALL
        SELECT later.row, later.file_id, CAST(later.{key} AS VARCHAR),
               CASE WHEN {same_content(contract, "later", "first")} THEN '{DUPLICATE}' ELSE '{CONFLICT}' END
        FROM repeats later JOIN repeats first ON first.{key} = later.{key} AND first.rn = 1
        WHERE later.rn > 1 AND later.{key} NOT IN (
            -- the warehouse probed with the few repeated keys, never hashed whole
            SELECT t.{key} FROM {KNOWN} t SEMI JOIN repeated_keys k ON t.{key} = k.key);
    """)


# Keys whose running maximum numpy takes, a batch of rows at a time (16 bytes a row).
INTEGER_KEYS = ("BIGINT", "INTEGER", "SMALLINT")
CANDIDATE_BATCH_ROWS = 4_000_000
# Below this many staged rows the engine's window is as quick (and numpy's import, 0.07 s,
# is not paid).
NUMPY_KEY_ROWS = 1_000_000


def _candidate_keys(warehouse: Warehouse, contract: Contract) -> None:
    """Engine table `candidate_keys`: the keys a valid staged row might repeat.

    A key seen before in file order is never above the running maximum of the keys
    before it, so only such rows can repeat a key. Exports mostly come in key order, so
    this finds the few candidates without hashing every key. For an integer key numpy
    takes the running maximum over the keys fetched in row order (a window in the
    engine sorts every row first); for any other key, or a few rows, the engine's
    window does.
    """
    key = f'"{contract.key}"'
    first, last = warehouse.query(f"SELECT min(rowid), max(rowid) FROM {STAGED}").rows[0]
    staged_rows = 0 if first is None else int(last) - int(first) + 1
    if contract.key_field.sql_type not in INTEGER_KEYS or staged_rows < NUMPY_KEY_ROWS:
        warehouse.execute(f"""
            CREATE OR REPLACE TEMP TABLE candidate_keys AS
            SELECT DISTINCT key FROM (
                SELECT {key} AS key,
                       max({key}) OVER (ORDER BY rowid ROWS BETWEEN UNBOUNDED PRECEDING
                                                              AND 1 PRECEDING) AS earlier_max
                FROM {STAGED} s WHERE {VALID}
            ) WHERE key <= earlier_max
        """)
        return
    import numpy as np

    found, highest = [], None
    for start in range(int(first or 0), int(last or -1) + 1, CANDIDATE_BATCH_ROWS):
        batch = warehouse.con.execute(
            f"SELECT rowid AS row, {key} AS key FROM {STAGED} s "
            f"WHERE rowid BETWEEN ? AND ? AND {VALID}",
            [start, start + CANDIDATE_BATCH_ROWS - 1]).fetchnumpy()
        rows, keys = np.asarray(batch["row"]), np.asarray(batch["key"], dtype=np.int64)
        if len(keys) == 0:
            continue
        if np.any(rows[1:] < rows[:-1]):
            keys = keys[np.argsort(rows, kind="stable")]
        running = np.maximum.accumulate(keys)
        if highest is not None:
            np.maximum(running, highest, out=running)
        repeats = np.empty(len(keys), dtype=bool)
        repeats[0] = highest is not None and keys[0] <= highest
        np.less_equal(keys[1:], running[:-1], out=repeats[1:])
        found.append(keys[repeats])
        highest = int(running[-1])
    candidates = np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    warehouse.con.register("sluice_candidate_keys", {"key": candidates})
    try:
        warehouse.execute("CREATE OR REPLACE TEMP TABLE candidate_keys AS "
                          "SELECT key FROM sluice_candidate_keys")
    finally:
        warehouse.con.unregister("sluice_candidate_keys")


def _known_rows(warehouse: Warehouse, contract: Contract, target: str) -> None:
    """Engine table `known_rows`: the target's rows whose key a valid staged row has.

    On the engine's own file that is the target itself (a view; the join finds them).
    Elsewhere the staged keys go to the destination, which finds its matching rows, and
    only those come back; when no staged key falls within the target's range of keys,
    nothing needs to go at all.
    """
    destination, key = warehouse.destination, f'"{contract.key}"'
    if destination.shares_engine:
        warehouse.execute(f"CREATE OR REPLACE TEMP VIEW {KNOWN} AS SELECT * FROM {target}")
        return
    low, high = destination.query(f"SELECT min({key}), max({key}) FROM {target}").rows[0]
    key_type = next(f.sql_type for f in contract.fields if f.name == contract.key)
    in_range = (f"SELECT DISTINCT s.{key} FROM {STAGED} s WHERE {VALID} "
                f"AND s.{key} BETWEEN ? AND ?")
    if low is None or not warehouse.scalar(f"SELECT count(*) FROM ({in_range})", [low, high]):
        columns = ", ".join(f'CAST(NULL AS {f.sql_type}) AS "{f.name}"' for f in contract.fields)
        warehouse.execute(f"CREATE OR REPLACE TEMP TABLE {KNOWN} AS SELECT {columns} LIMIT 0")
        return
    with warehouse.keys_at_destination(in_range, f"{key} {key_type}", [low, high]) as keys:
        destination.pull(f"SELECT t.* FROM {target} t JOIN {keys} k USING ({key})", None,
                         KNOWN)


def load_new(warehouse: Warehouse, contract: Contract, target: str, files: list[StagedFile]
             ) -> dict[int, int] | None:
    """Insert every valid staged row that has no verdict against it, with its file and
    line. On a destination apart from the engine, returns the rows sent per file, checked
    against the number the destination says it stored (counting them there again would
    scan the target)."""
    file_ids = [f.file_id for f in files]
    columns = ", ".join(f's."{n}"' for n in contract.names)
    note_staged_files(warehouse, files)
    refused, line = line_numbers(warehouse, "s.file_id", "s.rowid - f.first_rowid")
    new_rows = (f"SELECT {columns}, s.file_id, {line} AS line "
                f"FROM {STAGED} s JOIN {STAGED_FILES} f USING (file_id) {refused} "
                f"ANTI JOIN {VERDICTS} v ON s.rowid = v.row WHERE {VALID}")
    destination = warehouse.destination
    stored = destination.push(target, [*(f'"{n}"' for n in contract.names), LINEAGE_COLUMN,
                                       LINE_COLUMN], new_rows)
    if destination.shares_engine:
        return None
    if len(file_ids) == 1:
        # One file: the rows the destination stored are its loaded rows, and the
        # ledger's balance (read = loaded + duplicates + rejected) checks them.
        return {file_ids[0]: stored}
    sent = {int(file_id): int(n) for file_id, n in warehouse.query(
        f"SELECT file_id, count(*) FROM ({new_rows}) GROUP BY 1").rows}
    if sum(sent.values()) != stored:
        raise LedgerMismatch(f"{target}: {sum(sent.values()):,} rows sent, the warehouse "
                             f"stored {stored:,}; the run was rolled back")
    return sent


def quarantine_rejects(
    warehouse: Warehouse, contract: Contract, run_id: int, pipeline: str,
    files: list[StagedFile],
) -> None:
    """Keep every rejected record: broken lines, lines the scanner refused, conflicts."""
    note_staged_files(warehouse, files)
    refused, line = line_numbers(warehouse, "b.file_id", "b.position")
    warehouse.destination.push("sluice.quarantine", QUARANTINE_COLUMNS, f"""
        SELECT ? AS run_id, ? AS pipeline, b.file_id, f.path, {line} AS line_number,
               b.raw, b.reasons
        FROM {STAGED_BROKEN} b JOIN staged_files f USING (file_id) {refused}
        UNION ALL
        SELECT ?, ?, r.file_id, f.path, r.line_number, r.raw, r.reasons
        FROM {STAGED_REJECTS} r JOIN staged_files f USING (file_id)
    """, [run_id, pipeline, run_id, pipeline])
    _quarantine_conflicts(warehouse, contract, run_id, pipeline, files)


def _quarantine_conflicts(
    warehouse: Warehouse, contract: Contract, run_id: int, pipeline: str,
    files: list[StagedFile],
) -> None:
    """Conflicting rows were valid, so staging kept no raw text for them: read their
    lines again from the file, only for files that have conflicts."""
    reason = conflict_reason(contract)
    for f in files:
        positions = [row[0] for row in warehouse.query(
            f"SELECT row - {f.first_rowid:d} FROM {VERDICTS} WHERE file_id = ? AND verdict = ?",
            [f.file_id, CONFLICT]).rows]
        if not positions:
            continue
        _read_conflicting_lines(warehouse, f, positions)
        warehouse.destination.push("sluice.quarantine", [*QUARANTINE_COLUMNS, "record_key"], f"""
            SELECT ? AS run_id, ? AS pipeline, ? AS file_id, ? AS source_file,
                   {line_number_sql("?", "c.position")} AS line_number, c.line AS raw,
                   [?] AS reasons, v.key AS record_key
            FROM conflict_lines c JOIN {VERDICTS} v
                 ON v.file_id = ? AND v.row - {f.first_rowid:d} = c.position
            ORDER BY c.position
        """, [run_id, pipeline, f.file_id, f.shown, f.file_id, reason, f.file_id])


def _read_conflicting_lines(warehouse: Warehouse, f: StagedFile, positions: list[int]
                            ) -> None:
    """Engine table `conflict_lines` (position, line): the lines at these positions, read
    where they lie when the file's line starts are known, else by scanning its lines."""
    if f.line_starts is not None:
        lines = f.line_starts.read(f.path, positions)
        warehouse.execute("CREATE OR REPLACE TEMP TABLE conflict_lines "
                          "(position BIGINT, line VARCHAR)")
        warehouse.execute("INSERT INTO conflict_lines SELECT unnest(?), unnest(?)",
                          [list(lines), [line.decode("utf-8") for line in lines.values()]])
        return
    # A constant list keeps the scan's filter simple; joining the scan to a table
    # instead makes DuckDB build a hash table over every line of the file.
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE conflict_lines AS
        SELECT * FROM (SELECT row_number() OVER () - 1 AS position, line
                       FROM {f.source})
        WHERE position IN (SELECT unnest(?))
    """, [positions])
    drop_scan_rejects(warehouse)


def conflict_reason(contract: Contract) -> str:
    return f"conflict: a record with this {contract.key} was loaded first with different content"


def count_outcomes(warehouse: Warehouse, target: str, files: list[StagedFile],
                   loaded: dict[int, int] | None = None) -> dict[int, FileCounts]:
    """Per file: rows in the target carrying its id (or `loaded`, the rows a separate
    destination confirmed storing), duplicates, and rejects, each counted from where it
    ended up, so that the ledger's balance is a real check."""
    counts = {f.file_id: FileCounts() for f in files}
    ids = [f.file_id for f in files]
    if not ids:
        return counts
    # The run's file ids are above every earlier run's, and only this run writes now.
    this_run = [min(ids), max(ids)]
    destination = warehouse.destination
    if loaded is None:
        loaded = {int(file_id): int(n) for file_id, n in destination.query(
            f"SELECT {LINEAGE_COLUMN}, count(*) FROM {target} "
            f"WHERE {LINEAGE_COLUMN} BETWEEN ? AND ? GROUP BY 1", this_run).rows}
    for file_id, n in loaded.items():
        if file_id in counts:
            counts[file_id].loaded = n
    for file_id, n in warehouse.query(
        f"SELECT file_id, count(*) FROM {VERDICTS} WHERE verdict = ? GROUP BY 1", [DUPLICATE]
    ).rows:
        counts[file_id].duplicates = n
    for file_id, n in destination.query(
        "SELECT file_id, count(*) FROM sluice.quarantine WHERE file_id BETWEEN ? AND ? "
        "GROUP BY 1", this_run
    ).rows:
        if file_id in counts:
            counts[file_id].rejected = n
    return counts


def same_content(contract: Contract, left: str, right: str) -> str:
    return " AND ".join(
        f'{left}."{n}" IS NOT DISTINCT FROM {right}."{n}"' for n in contract.names
    )
