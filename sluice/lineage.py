"""Where a loaded row came from: `sluice trace PIPELINE KEY` finds the rows a key names
in the pipeline's traced tables, each with its file, line and run from the ledger, and
the versions of that key that lost to it (conflicts), kept in the quarantine. Read-only."""

from __future__ import annotations

from typing import Any

from sluice.quarantine import readable_quarantine
from sluice.registry import Pipeline
from sluice.warehouse import Warehouse


def trace(warehouse: Warehouse, pipeline: Pipeline, key: str) -> dict[str, Any]:
    """The rows `key` names (newest load first) and its conflicts (in file order)."""
    destination = warehouse.destination
    rows: list[dict[str, Any]] = []
    for traced in pipeline.traced:
        schema, table = traced.table.split(".", 1)
        if not destination.table_exists(schema, table):
            continue
        line = f"t.{traced.line_column}" if traced.line_column else "CAST(NULL AS BIGINT)"
        found = destination.query(
            f"SELECT t.{traced.file_column} AS file_id, {line} AS line_number, f.path, "
            "f.run_id, r.verb, r.started FROM "
            f"(SELECT * FROM {traced.table} WHERE {traced.key_expression} = ?) AS t "
            f"LEFT JOIN sluice.files AS f ON f.file_id = t.{traced.file_column} "
            "LEFT JOIN sluice.runs AS r ON r.run_id = f.run_id "
            f"ORDER BY t.{traced.file_column} DESC", [key])
        rows += [{"table": traced.table, **row} for row in found.dicts()]
    return {"pipeline": pipeline.name, "key": key, "rows": rows,
            "conflicts": _conflicts(warehouse, pipeline.name, key)}


def _conflicts(warehouse: Warehouse, pipeline: str, key: str) -> list[dict[str, Any]]:
    destination = warehouse.destination
    if not destination.table_exists("sluice", "quarantine"):
        return []
    return destination.query(
        "SELECT q.file_id, q.line_number, q.source_file AS path, q.run_id, q.raw, q.reasons, "
        f"q.superseded_by FROM {readable_quarantine(warehouse)} AS q WHERE q.pipeline = ? AND "
        "q.record_key = ? AND q.superseded_by IS NULL ORDER BY q.file_id, q.line_number",
        [pipeline, key]).dicts()
