"""Where a loaded row came from: `sluice trace PIPELINE KEY` finds the rows a key names
in the pipeline's traced tables, each with its file, line and run from the ledger, and
the versions of that key that lost to it (conflicts), kept in the quarantine. Read-only."""

from __future__ import annotations

import re
from typing import Any

from sluice.quarantine import readable_quarantine
from sluice.registry import Pipeline, Traced
from sluice.warehouse import Warehouse

_CANONICAL_INTEGER = re.compile(r"0|-?[1-9][0-9]*", re.ASCII)


def trace(warehouse: Warehouse, pipeline: Pipeline, key: str) -> dict[str, Any]:
    """The rows `key` names (newest load first) and its conflicts (in file order)."""
    destination = warehouse.destination
    rows: list[dict[str, Any]] = []
    for traced in pipeline.traced:
        schema, table = traced.table.split(".", 1)
        if not destination.table_exists(schema, table):
            continue
        matching = _matching(warehouse, traced, key)
        if matching is None:
            continue
        condition, value = matching
        line = f"t.{traced.line_column}" if traced.line_column else "CAST(NULL AS BIGINT)"
        found = destination.query(
            f"SELECT t.{traced.file_column} AS file_id, {line} AS line_number, f.path, "
            "f.run_id, r.verb, r.started FROM "
            f"(SELECT * FROM {traced.table} WHERE {condition}) AS t "
            f"LEFT JOIN sluice.files AS f ON f.file_id = t.{traced.file_column} "
            "LEFT JOIN sluice.runs AS r ON r.run_id = f.run_id "
            f"ORDER BY t.{traced.file_column} DESC", [value])
        rows += [{"table": traced.table, **row} for row in found.dicts()]
    return {"pipeline": pipeline.name, "key": key, "rows": rows,
            "conflicts": _conflicts(warehouse, pipeline.name, key)}


_INTEGER_TYPES = {"tinyint", "smallint", "integer", "bigint", "hugeint", "int", "int2", "int4",
                  "int8"}
_BIGINT = 2**63


def _matching(warehouse: Warehouse, traced: Traced, key: str) -> tuple[str, Any] | None:
    """The test that finds the key's rows, and its parameter; None when no row can match.
    A key column is compared in its own type, so the engine can use the table's zone
    maps (or index) instead of turning every row's key into text: an integer key given
    as its canonical text is that integer, any other text matches no integer."""
    if traced.key_sql is not None:
        return f"{traced.key_sql} = ?", key
    schema, table = traced.table.split(".", 1)
    found = warehouse.destination.query(
        "SELECT lower(data_type) FROM information_schema.columns WHERE table_schema = ? "
        "AND table_name = ? AND column_name = ?", [schema, table, traced.key]).rows
    kind = str(found[0][0]) if found else ""
    if kind in _INTEGER_TYPES:
        if not _CANONICAL_INTEGER.fullmatch(key) or not -_BIGINT <= int(key) < _BIGINT:
            return None
        return f'"{traced.key}" = ?', int(key)
    if kind in ("varchar", "text", "character varying"):
        return f'"{traced.key}" = ?', key
    return f"{traced.key_expression} = ?", key


def _conflicts(warehouse: Warehouse, pipeline: str, key: str) -> list[dict[str, Any]]:
    destination = warehouse.destination
    if not destination.table_exists("sluice", "quarantine"):
        return []
    return destination.query(
        "SELECT q.file_id, q.line_number, q.source_file AS path, q.run_id, q.raw, q.reasons, "
        f"q.superseded_by FROM {readable_quarantine(warehouse)} AS q WHERE q.pipeline = ? AND "
        "q.record_key = ? AND q.superseded_by IS NULL ORDER BY q.file_id, q.line_number",
        [pipeline, key]).dicts()
