"""A real PostgreSQL server for tests: each test gets a database of its own, created for
it and dropped after it (127.0.0.1:5432, user postgres, trust auth; `.ci/run` starts the
server when it is not running). Also: every table and view of a warehouse, read from
DuckDB or PostgreSQL into plain, comparable Python values."""

from __future__ import annotations

import decimal
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

SERVER = os.environ.get("SLUICE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
# Columns that differ between any two runs: when a run started and finished.
VOLATILE = {("sluice", "runs", "started"), ("sluice", "runs", "finished")}


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a new, empty database; dropped after the test."""
    name = f"sluice_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {SERVER} ({error}); start it as "
                    ".ci/run does")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _plain(value: Any, is_json: bool) -> Any:
    """One form for a value, whichever engine returned it: numbers as int or a float
    rounded to 9 places, JSON parsed, lists as tuples."""
    if is_json and isinstance(value, str):
        value = json.loads(value)
    if is_json:
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, decimal.Decimal | float | int):
        number = decimal.Decimal(value) if isinstance(value, float) else value
        if isinstance(number, decimal.Decimal) and number == number.to_integral_value():
            return int(number)
        return round(float(value), 9)
    if isinstance(value, list | tuple):
        return tuple(_plain(v, False) for v in value)
    return value


def _relations(columns: list[tuple[str, str, str, str]], schemas: tuple[str, ...]
               ) -> dict[tuple[str, str], list[tuple[str, bool]]]:
    out: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for schema, table, column, data_type in columns:
        if schema in schemas:
            out.setdefault((schema, table), []).append((column, data_type.lower() == "json"))
    return out


def _rows(fetch: Any, schema: str, table: str, columns: list[tuple[str, bool]],
          rewrite: dict[str, str]) -> list[tuple[Any, ...]]:
    kept = [(c, j) for c, j in columns if (schema, table, c) not in VOLATILE]
    names = ", ".join(f'"{c}"' for c, _ in kept)
    rows = []
    for row in fetch(f'SELECT {names} FROM "{schema}"."{table}"'):
        plain = []
        for value, (_, is_json) in zip(row, kept, strict=True):
            if isinstance(value, str):
                for old, new in rewrite.items():
                    value = value.replace(old, new)
            plain.append(_plain(value, is_json))
        rows.append(tuple(plain))
    return sorted(rows, key=repr)


def duckdb_contents(path: Path, schemas: tuple[str, ...], rewrite: dict[str, str]
                    ) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    con = duckdb.connect(":memory:")
    con.execute("ATTACH ? AS w (READ_ONLY)", [str(path)])
    con.execute("USE w")
    try:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM "
            "information_schema.columns WHERE table_catalog = 'w' "
            "ORDER BY table_schema, table_name, ordinal_position").fetchall()
        return {key: _rows(lambda sql: con.execute(sql).fetchall(), *key, cols, rewrite)
                for key, cols in _relations(columns, schemas).items()}
    finally:
        con.close()


def postgres_contents(url: str, schemas: tuple[str, ...], rewrite: dict[str, str]
                      ) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    with psycopg.connect(url) as con:
        columns = [tuple(row) for row in con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM "
            "information_schema.columns ORDER BY table_schema, table_name, "
            "ordinal_position").fetchall()]
        return {key: _rows(lambda sql: con.execute(sql).fetchall(), *key, cols, rewrite)
                for key, cols in _relations(columns, schemas).items()}  # type: ignore[arg-type]
