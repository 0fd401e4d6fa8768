"""The shop on a real PostgreSQL server, against the same runs on a DuckDB file: the same
generated deliveries give the same tables, views, quarantine and report (JSON and CSV);
PostgreSQL enforces the schema's keys and checks as DuckDB does."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from postgres_server import duckdb_contents, postgres_contents, postgres_url
from test_shop import tx, write_items

from conftest import query, sluice, sluice_json, write_lines

__all__ = ["postgres_url"]  # the fixture, used by name


def _both(tmp_path: Path, postgres_url: str) -> tuple[dict[str, str], dict[str, str]]:
    duck = {"SLUICE_WAREHOUSE": str(tmp_path / "w.db")}
    pg = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "pgq")}
    return duck, pg


def _members(tmp_path: Path, envs: tuple[dict[str, str], ...]) -> None:
    """The same applications (some sharing a membership id) into each warehouse."""
    sluice("applications", "generate", "applicants", "--rows", "4000", "--files", "2",
           "--seed", "11", cwd=tmp_path)
    for n, env in enumerate(envs):
        shutil.copytree(tmp_path / "applicants", tmp_path / f"inbox-{n}")
        sluice("applications", "run", "--inbox", f"inbox-{n}", "--out", f"out-{n}",
               "--min-age", "0", cwd=tmp_path, env=env)


def _later_delivery(folder: Path, first: Path, warehouse: Path) -> None:
    """A second delivery: the catalogue again with a change, a new item and two bad rows;
    transactions that repeat, contradict or break what the first delivery loaded."""
    (transaction_id, member, bought_at), = query(
        warehouse, "SELECT transaction_id, membership_id, bought_at FROM shop.transactions "
                   "ORDER BY transaction_id LIMIT 1")
    lines = [(str(item), int(quantity)) for item, quantity in query(
        warehouse, "SELECT i.name, l.quantity FROM shop.transaction_lines l JOIN shop.items i "
                   f"USING (item_id) WHERE transaction_id = '{transaction_id}' "
                   "ORDER BY line_number")]
    _, *items = (first / "items.csv").read_text(encoding="utf-8").splitlines()
    name, maker, cost, weight = items[0].split(",")
    write_items(folder, [items[1], f"{name},{maker},{Decimal(cost) + 1},{weight}",
                         "Brand New Item,Acme,3.10,0.25", ",Acme,1,1", "Bad,Acme,-1,1"])
    item = lines[0][0]
    write_lines(folder / "transactions.jsonl", [
        tx(transaction_id, member, lines, bought_at=bought_at.isoformat()),  # a duplicate
        tx(transaction_id, member, [(item, 99)]),                             # a conflict
        tx("L1", member, [("Brand New Item", 4)], total_price=12.40, total_weight=1),
        tx("L2", member, [("Brand New Item", 1)], total_price=3.1),
        tx("L3", "nobody", [(item, 1)]),
        tx("L4", member, [("Bad", 1), (item, 0)]),
        tx("L5", member, [(item, 2), (item, 3)], bought_at="2024-12-31 23:59:59"),
        "{broken",
    ])


def _shop_quarantine(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((int(r[0]), str(r[1]), int(r[2]), r[3], tuple(r[4])) for r in rows)


def test_shop_on_postgres_equals_shop_on_duckdb(tmp_path: Path, postgres_url: str) -> None:
    duck, pg = _both(tmp_path, postgres_url)
    _members(tmp_path, (duck, pg))
    made = sluice_json("shop", "generate", "delivery", "--items", "120", "--transactions",
                       "4000", "--seed", "5", cwd=tmp_path, env=duck)
    # The generator reads the members from either warehouse alike: the same files.
    sluice("shop", "generate", "from-pg", "--items", "120", "--transactions", "4000",
           "--seed", "5", cwd=tmp_path, env=pg)
    for name in ("items.csv", "transactions.jsonl"):
        assert (tmp_path / "delivery" / name).read_bytes() == (
            tmp_path / "from-pg" / name).read_bytes()
    summaries = []
    for env in (duck, pg):
        first = sluice_json("shop", "load", "delivery", cwd=tmp_path, env=env)
        if not (tmp_path / "later").exists():
            _later_delivery(tmp_path / "later", tmp_path / "delivery", tmp_path / "w.db")
        second = sluice_json("shop", "load", "later", cwd=tmp_path, env=env)
        assert [(f["read"], f["loaded"], f["duplicates"], f["rejected"])
                for f in second["file_details"]] == [(5, 1, 1, 3), (8, 3, 1, 4)]
        again = sluice_json("shop", "load", "delivery", cwd=tmp_path, env=env)
        assert (again["loaded"], again["rejected"], again["files_skipped"]) == (0, 0, 2)
        summaries.append([{k: v for k, v in s.items() if k != "file_details"}
                          for s in (first, second, again)])
    assert summaries[0] == summaries[1]
    first_totals = summaries[0][0]
    assert (first_totals["duplicates"], first_totals["rejected"]) == (
        made["duplicates"], made["rejected"])

    on_duckdb = duckdb_contents(tmp_path / "w.db", ("shop",), {})
    on_postgres = postgres_contents(postgres_url, ("shop",), {})
    assert sorted(on_postgres) == sorted(on_duckdb)
    for relation, rows in on_duckdb.items():
        assert on_postgres[relation] == rows, relation
    assert on_duckdb[("shop", "transactions")] and on_duckdb[("shop", "top_items")]

    quarantine_sql = ("SELECT run_id, file_id, line_number, source_file, reasons "
                      "FROM sluice.quarantine WHERE pipeline = 'shop'")
    with psycopg.connect(postgres_url) as con:
        pg_quarantine = con.execute(quarantine_sql).fetchall()
    duck_quarantine = query(tmp_path / "w.db", quarantine_sql)
    assert _shop_quarantine(pg_quarantine) == _shop_quarantine(duck_quarantine)
    assert len(duck_quarantine) == made["rejected"] + 7

    reports = [sluice("shop", "report", "--json", "--csv", f"csv-{n}", cwd=tmp_path,
                      env=env).stdout for n, env in enumerate((duck, pg))]
    assert reports[0] == reports[1]
    report = json.loads(reports[0])
    assert len(report["top_members_by_spending"]) >= 10
    assert report["top_items_by_quantity"] and report["top_items_by_transactions"]
    for name in report:
        if name != "findings":
            assert (tmp_path / "csv-0" / f"{name}.csv").read_bytes() == (
                tmp_path / "csv-1" / f"{name}.csv").read_bytes()


def test_postgres_enforces_the_schema(tmp_path: Path, postgres_url: str) -> None:
    _, pg = _both(tmp_path, postgres_url)
    _members(tmp_path, (pg,))
    member = sluice_json("shop", "generate", "d", "--items", "5", "--transactions", "0",
                         cwd=tmp_path, env=pg)
    assert member["items"] == 5
    with psycopg.connect(postgres_url) as con:
        some_member = con.execute("SELECT min(membership_id) FROM applications.successful"
                                  ).fetchone()
    assert some_member is not None
    write_lines(tmp_path / "d" / "transactions.jsonl", [
        tx("T1", some_member[0], [(_first_item(tmp_path / "d"), 2)])])
    sluice("shop", "load", "d", cwd=tmp_path, env=pg)
    refused = [
        ("INSERT INTO shop.transaction_lines VALUES ('T1', 2, 1, 0)", psycopg.errors.CheckViolation),
        ("INSERT INTO shop.transaction_lines VALUES ('T1', 2, 99, 1)",
         psycopg.errors.ForeignKeyViolation),
        ("INSERT INTO shop.transaction_lines VALUES ('T9', 1, 1, 1)",
         psycopg.errors.ForeignKeyViolation),
        ("INSERT INTO shop.transaction_lines VALUES ('T1', 1, 1, 1)", psycopg.errors.UniqueViolation),
        ("INSERT INTO shop.items VALUES (50, 'X', 1, -0.01, 1, 1, NULL)", psycopg.errors.CheckViolation),
        ("INSERT INTO shop.items VALUES (51, 'Y', 1, 1, -1, 1, NULL)", psycopg.errors.CheckViolation),
        ("INSERT INTO shop.transactions VALUES ('T2', 'nobody', '2024-01-01', 1, NULL)",
         psycopg.errors.ForeignKeyViolation),
        ("INSERT INTO shop.members VALUES ('M', 'a', 'b', 'c', NULL, 0)",
         psycopg.errors.CheckViolation),
    ]
    with psycopg.connect(postgres_url, autocommit=True) as con:
        for statement, error in refused:
            with pytest.raises(error):
                con.execute(statement)
        indexes = {row[0] for row in con.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'shop'").fetchall()}
        types = dict(con.execute(
            "SELECT column_name, format_type(atttypid, atttypmod) FROM information_schema.columns c "
            "JOIN pg_attribute a ON a.attrelid = 'shop.items'::regclass AND a.attname = c.column_name "
            "WHERE c.table_schema = 'shop' AND c.table_name = 'items' "
            "AND c.column_name IN ('cost', 'weight_kg')").fetchall())
    assert indexes >= {"transaction_lines_item", "transactions_member", "transactions_bought_at",
                       "items_manufacturer"}
    assert types == {"cost": "numeric(12,2)", "weight_kg": "numeric(10,3)"}


def _first_item(folder: Path) -> str:
    return (folder / "items.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[0]
