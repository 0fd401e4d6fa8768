"""The shop pipeline through its CLI: the schema and its constraints, every kind of bad
item and transaction quarantined with its reasons (the ledger balancing), a re-run that
changes nothing, ties ranked as stated, shared membership ids flagged, the CSV export,
the ER diagram of docs/shop.md against the real schema, and errors in one line.

Members come from the applications pipeline, through `sluice applications run`."""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import hostile
import pytest

from conftest import query, sluice, sluice_json, write_lines
from sluice.pipelines.shop.report import csv_value

ROOT = Path(__file__).parent.parent
SCHEMA_SQL = ROOT / "sluice" / "pipelines" / "shop" / "schema.sql"
MODELS = ROOT / "sluice" / "pipelines" / "shop" / "models"
DOC = ROOT / "docs" / "shop.md"
HEADER = "name,email,date_of_birth,mobile_no"
NO_MEMBERS = "no members yet: run sluice applications run first"

# Two inbox files, processed in name order: Bob Tan (a.csv) applies before Alice Tan
# (b.csv), who has his last name and birthday, so they share a membership id.
APPLICANTS = {
    "a.csv": ["Bob Tan,bob@tan.com,1980-01-02,23456789", "Ann Lee,ann@lee.com,1981-02-03,11111111",
              "Cal Ng,cal@ng.com,1982-03-04,22222222", "Dee Ong,dee@ong.net,1983-04-05,33333333",
              "Eli Goh,eli@goh.com,1984-05-06,44444444", "Fay Lim,fay@lim.com,1985-06-07,55555555",
              "Gus Koh,gus@koh.com,1986-07-08,66666666"],
    "b.csv": ["Alice Tan,alice@tan.com,1980-01-02,12345678",
              "Hal Teo,hal@teo.com,1987-08-09,77777777", "Ivy Yeo,ivy@yeo.com,1988-09-10,88888888",
              "Jon Chua,jon@chua.com,1989-10-11,99999999",
              "Kim Foo,kim@foo.com,1990-11-12,12121212", "Lou Sim,lou@sim.com,1991-12-13,13131313",
              "Max Poh,max@poh.com,1992-01-14,14141414"],
}


@pytest.fixture(scope="module")
def members_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse whose applications.successful holds the 14 applicants (13 ids)."""
    work = tmp_path_factory.mktemp("members")
    for name, lines in APPLICANTS.items():
        write_lines(work / "inbox" / name, [HEADER, *lines])
    sluice("applications", "run", "--inbox", "inbox", "--out", "out", "--warehouse", "w.db",
           "--min-age", "0", cwd=work)
    return work / "w.db"


@pytest.fixture
def work(tmp_path: Path, members_warehouse: Path) -> Path:
    """A working folder with a copy of the members' warehouse as w.db."""
    shutil.copyfile(members_warehouse, tmp_path / "w.db")
    return tmp_path


def ids(work: Path) -> dict[str, str]:
    """Membership id by last name."""
    return dict(query(work / "w.db", "SELECT DISTINCT last_name, membership_id "
                                     "FROM applications.successful"))


def shop(*args: str, cwd: Path, expect: int | None = 0) -> Any:
    return sluice("shop", *args, "--warehouse", "w.db", cwd=cwd, expect=expect)


def shop_json(*args: str, cwd: Path, expect: int | None = 0) -> Any:
    return sluice_json("shop", *args, "--warehouse", "w.db", cwd=cwd, expect=expect)


def write_items(folder: Path, rows: Sequence[str], header: str = "name,manufacturer,cost,weight_kg"
                ) -> None:
    write_lines(folder / "items.csv", [header, *rows])


def tx(transaction_id: str | None, member: str, lines: Any, bought_at: str = "2024-05-01T10:00:00",
       **extra: Any) -> str:
    record: dict[str, Any] = {} if transaction_id is None else {"transaction_id": transaction_id}
    record |= {"membership_id": member, "bought_at": bought_at}
    record["lines"] = ([{"item": item, "quantity": quantity} for item, quantity in lines]
                       if isinstance(lines, list) and lines and isinstance(lines[0], tuple)
                       else lines)
    record |= extra
    return json.dumps(record)


def quarantined(work: Path, file_name: str) -> list[tuple[int, list[str]]]:
    return [(int(line), list(reasons)) for line, reasons in query(
        work / "w.db", "SELECT line_number, reasons FROM sluice.quarantine q "
                       "JOIN sluice.files f USING (file_id) "
                       f"WHERE q.pipeline = 'shop' AND f.path LIKE '%/{file_name}' "
                       "ORDER BY q.run_id, line_number")]


def counts(summary: dict[str, Any], name: str) -> tuple[int, int, int, int]:
    detail = next(f for f in summary["file_details"] if f["path"].endswith(f"/{name}"))
    return detail["read"], detail["loaded"], detail["duplicates"], detail["rejected"]


CATALOGUE = ["Widget,Acme,2.50,0.200", "Gadget,Acme,10,1.5", "Gizmo,Globex,0,0"]


# --- the schema --------------------------------------------------------------------------


def test_load_creates_the_schema_with_keys_constraints_and_indexes(work: Path) -> None:
    member = ids(work)["Lee"]
    write_items(work / "d", CATALOGUE)
    write_lines(work / "d" / "transactions.jsonl", [tx("T1", member, [("Widget", 2)])])
    shop("load", "d", cwd=work)
    con = duckdb.connect(str(work / "w.db"))
    try:
        keys = {(table, kind, tuple(columns), referenced) for table, kind, columns, referenced
                in con.execute("SELECT table_name, constraint_type, constraint_column_names, "
                               "referenced_table FROM duckdb_constraints() WHERE schema_name = "
                               "'shop' AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY', "
                               "'UNIQUE')").fetchall()}
        assert keys == {
            ("members", "PRIMARY KEY", ("membership_id",), None),
            ("manufacturers", "PRIMARY KEY", ("manufacturer_id",), None),
            ("manufacturers", "UNIQUE", ("name",), None),
            ("items", "PRIMARY KEY", ("item_id",), None),
            ("items", "UNIQUE", ("name",), None),
            ("items", "FOREIGN KEY", ("manufacturer_id",), "manufacturers"),
            ("transactions", "PRIMARY KEY", ("transaction_id",), None),
            ("transactions", "FOREIGN KEY", ("membership_id",), "members"),
            ("transaction_lines", "PRIMARY KEY", ("transaction_id", "line_number"), None),
            ("transaction_lines", "FOREIGN KEY", ("transaction_id",), "transactions"),
            ("transaction_lines", "FOREIGN KEY", ("item_id",), "items"),
        }
        indexes = {name for (name,) in con.execute(
            "SELECT index_name FROM duckdb_indexes() WHERE schema_name = 'shop'").fetchall()}
        assert indexes >= {"transaction_lines_item", "transactions_member",
                           "transactions_bought_at", "items_manufacturer"}
        for refused in (
            "INSERT INTO shop.transaction_lines VALUES ('T1', 2, 1, 0)",        # quantity > 0
            "INSERT INTO shop.transaction_lines VALUES ('T1', 2, 99, 1)",       # no item 99
            "INSERT INTO shop.transaction_lines VALUES ('T9', 1, 1, 1)",        # no transaction
            "INSERT INTO shop.transaction_lines VALUES ('T1', 1, 1, 1)",        # key taken
            "INSERT INTO shop.items VALUES (50, 'X', 1, -0.01, 1, 1, NULL)",          # cost >= 0
            "INSERT INTO shop.items VALUES (51, 'Y', 1, 1, -1, 1, NULL)",             # weight >= 0
            "INSERT INTO shop.items VALUES (52, 'Widget', 1, 1, 1, 1, NULL)",         # name unique
            "INSERT INTO shop.transactions VALUES ('T2', 'nobody', TIMESTAMP '2024-01-01', 1, NULL)",
            "INSERT INTO shop.members VALUES ('M', 'a', 'b', 'c', NULL, 0)",     # applicants >= 1
        ):
            with pytest.raises(duckdb.ConstraintException):
                con.execute(refused)
        types = dict(con.execute(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'shop' AND column_name IN ('cost', 'weight_kg')").fetchall())
        assert types == {"items.cost": "DECIMAL(12,2)", "items.weight_kg": "DECIMAL(10,3)"}
    finally:
        con.close()
    hostile.assert_promises(work / "w.db")


def test_members_are_one_per_membership_id_with_the_first_application(work: Path) -> None:
    lee = ids(work)["Lee"]
    write_items(work / "d", CATALOGUE)
    write_lines(work / "d" / "transactions.jsonl", [tx("T1", lee, [("Widget", 2)])])
    summary = shop_json("load", "d", cwd=work)
    assert summary["members"] == {"membership_ids": 13, "shared": 1, "new": 13}
    members = query(work / "w.db", "SELECT last_name, first_name, email, applicants "
                                   "FROM shop.members ORDER BY last_name")
    assert len(members) == 13
    # Bob's file was processed first: his application is the first of the shared id.
    assert ("Tan", "Bob", "bob@tan.com", 2) in members
    assert all(applicants == 1 for last, _, _, applicants in members if last != "Tan")
    # Refreshed again: nothing new, nothing rewritten.
    write_items(work / "e", ["Sprocket,Acme,1,1"])
    again = shop_json("load", "e", cwd=work)
    assert again["members"] == {"membership_ids": 13, "shared": 1, "new": 0}
    # A later applicant shares Ann Lee's id, which has a transaction already: the member
    # keeps Ann's name and counts two applicants; a new applicant is a new member.
    write_lines(work / "inbox" / "c.csv", [HEADER, "Zed Lee,zed@lee.com,1981-02-03,10101010",
                                           "Nia Wu,nia@wu.com,1993-03-03,20202020"])
    sluice("applications", "run", "--inbox", "inbox", "--out", "out", "--warehouse", "w.db",
           "--min-age", "0", cwd=work)
    write_items(work / "f", ["Cog,Acme,1,1"])
    later = shop_json("load", "f", cwd=work)
    assert later["members"] == {"membership_ids": 14, "shared": 2, "new": 1}
    assert query(work / "w.db", f"SELECT first_name, applicants FROM shop.members "
                                f"WHERE membership_id = '{lee}'") == [("Ann", 2)]
    assert query(work / "w.db", "SELECT membership_id FROM shop.transactions") == [(lee,)]


# --- what is rejected, and why -----------------------------------------------------------


def test_every_kind_of_bad_item_is_quarantined_with_its_reasons(work: Path) -> None:
    write_items(work / "d", [
        *CATALOGUE,                            # lines 2-4: loaded
        ",Acme,1,1",                           # 5
        "Thing,,1,1",                          # 6
        "Bad Cost,Acme,-1,1",                  # 7
        "Fine Cost,Acme,1.005,1",              # 8
        "Heavy,Acme,1,abc",                    # 9
        "Both,Acme,x,-2",                      # 10
        "Widget,Acme,2.5,0.2",                 # 11: the same as line 2: a duplicate
        "Widget,Acme,3.00,0.2",                # 12: another Widget: a conflict
        "Extra,Acme,1,1,surplus",              # 13: refused by the CSV reader
        '"Quoted, Name",Acme,"1,000.00",1',    # 14
        "Huge,Acme,10000000000,1",             # 15
        "Feather,Acme,0.99,0.0001",            # 16
        '"Unclosed,Acme,1,1',                  # 17: a quote never closed
    ])
    summary = shop_json("load", "d", cwd=work)
    assert counts(summary, "items.csv") == (16, 3, 1, 12)
    assert quarantined(work, "items.csv") == [
        (5, ["missing name"]),
        (6, ["missing manufacturer"]),
        (7, ["cost -1 is negative"]),
        (8, ["cost 1.005 has more than 2 decimals"]),
        (9, ["weight_kg 'abc' is not a number"]),
        (10, ["cost 'x' is not a number", "weight_kg -2 is negative"]),
        (12, ["conflict: item 'Widget' was loaded first with a different manufacturer, "
              "cost or weight"]),
        (13, ["more fields than the header"]),
        (14, ["cost '1,000.00' is not a number"]),
        (15, ["cost 10000000000 is too large"]),
        (16, ["weight_kg 0.0001 has more than 3 decimals"]),
        (17, ["a quote out of place (a quoted field never closed, or a quote inside an "
              "unquoted field)"]),
    ]
    raw = dict(query(work / "w.db", "SELECT line_number, raw FROM sluice.quarantine"))
    assert raw[13] == "Extra,Acme,1,1,surplus" and raw[14] == '"Quoted, Name",Acme,"1,000.00",1'
    assert query(work / "w.db", "SELECT i.name, m.name, i.cost, i.weight_kg FROM shop.items i "
                                "JOIN shop.manufacturers m USING (manufacturer_id) "
                                "ORDER BY item_id") == [
        ("Widget", "Acme", Decimal("2.50"), Decimal("0.200")),
        ("Gadget", "Acme", Decimal("10.00"), Decimal("1.500")),
        ("Gizmo", "Globex", Decimal("0.00"), Decimal("0.000"))]
    # A later catalogue: a known item again (a duplicate), changed (a conflict), a new one.
    write_items(work / "e", ["Gizmo,Globex,0.00,0.000", "Gadget,Globex,10,1.5",
                             "Sprocket,Initech,4.25,0.05"])
    later = shop_json("load", "e", cwd=work)
    assert counts(later, "items.csv") == (3, 1, 1, 1)
    assert query(work / "w.db", "SELECT name FROM shop.manufacturers ORDER BY manufacturer_id"
                 ) == [("Acme",), ("Globex",), ("Initech",)]
    hostile.assert_promises(work / "w.db")


def test_every_kind_of_bad_transaction_is_quarantined_with_its_reasons(work: Path) -> None:
    member = ids(work)
    tan, lee, poh = member["Tan"], member["Lee"], member["Poh"]
    write_items(work / "d", CATALOGUE)
    good = tx("T1", tan, [("Widget", 2), ("Gadget", 1)], total_price=15.0, total_weight=1.9)
    write_lines(work / "d" / "transactions.jsonl", [
        good,                                                                          # 1
        tx("T2", "nobody", [("Widget", 1)]),                                           # 2
        tx("T3", lee, [("Sprocket", 1)]),                                              # 3
        tx("T4", lee, [("Widget", 0), ("Gadget", -2)]),                                # 4
        tx("T5", lee, [{"item": "Widget", "quantity": 1.5}, {"item": "Widget"}, 7,
                       {"quantity": 1}]),                                              # 5
        tx("T6", lee, []),                                                             # 6
        tx("T7", lee, "Widget"),                                                       # 7
        tx(None, lee, [("Widget", 1)], bought_at="yesterday"),                         # 8
        tx("T9", lee, [("Widget", 1)], total_price=99.99),                             # 9
        tx("T10", lee, [("Widget", 1)], total_weight=1),                               # 10
        '{"transaction_id": "T11", "lines": [',                                        # 11
        "",                                                                            # 12
        json.dumps({"lines": [{"quantity": 2, "item": "Widget"}, {"item": "Gadget",
                   "quantity": 1}], "bought_at": "2024-05-01T10:00:00",
                    "membership_id": tan, "transaction_id": "T1"}),                    # 13
        tx("T1", tan, [("Widget", 2), ("Gadget", 2)]),                                 # 14
        tx("T15", "ghost", [("Nope", 1)], total_price=1),                              # 15
        tx("T16", poh, [("Gizmo", 3)], total_price=0, total_weight=0),                 # 16
        tx("T2", lee, [("Widget", 1)], total_price="2.50"),                            # 17
    ])
    summary = shop_json("load", "d", cwd=work)
    assert counts(summary, "transactions.jsonl") == (16, 3, 1, 12)
    assert quarantined(work, "transactions.jsonl") == [
        (2, ["unknown membership id 'nobody'"]),
        (3, ["line 1: unknown item 'Sprocket'"]),
        (4, ["line 1: quantity '0' is not a positive integer",
             "line 2: quantity '-2' is not a positive integer"]),
        (5, ["line 1: quantity '1.5' is not a positive integer", "line 2: missing quantity",
             "line 3 is not an object", "line 4: missing item"]),
        (6, ["lines is an empty list"]),
        (7, ["lines is not a list"]),
        (8, ["missing transaction_id", "bought_at is not a timestamp (YYYY-MM-DDTHH:MM:SS.fff)"]),
        (9, ["total_price 99.99 disagrees with the lines' sum 2.50"]),
        (10, ["total_weight 1 disagrees with the lines' sum 0.200"]),
        (11, ["invalid JSON"]),
        (14, ["conflict: transaction 'T1' was loaded first with different content"]),
        (15, ["unknown membership id 'ghost'", "line 1: unknown item 'Nope'"]),
    ]
    raw = dict(query(work / "w.db", "SELECT line_number, raw FROM sluice.quarantine"))
    assert raw[2] == tx("T2", "nobody", [("Widget", 1)]) and raw[11].startswith('{"transaction_id"')
    # The first valid version of T2 (line 17) loads: line 2's was rejected.
    assert query(work / "w.db", "SELECT transaction_id, membership_id, bought_at FROM "
                                "shop.transactions ORDER BY transaction_id") == [
        ("T1", tan, _time("2024-05-01 10:00:00")), ("T16", poh, _time("2024-05-01 10:00:00")),
        ("T2", lee, _time("2024-05-01 10:00:00"))]
    assert query(work / "w.db", "SELECT transaction_id, line_number, item_id, quantity FROM "
                                "shop.transaction_lines ORDER BY 1, 2") == [
        ("T1", 1, 1, 2), ("T1", 2, 2, 1), ("T16", 1, 3, 3), ("T2", 1, 1, 1)]
    assert query(work / "w.db", "SELECT transaction_id, lines, quantity, total_price, "
                                "total_weight FROM shop.transaction_totals ORDER BY 1") == [
        ("T1", 2, 3, Decimal("15.00"), Decimal("1.900")),
        ("T16", 1, 3, Decimal("0.00"), Decimal("0.000")),
        ("T2", 1, 1, Decimal("2.50"), Decimal("0.200"))]
    hostile.assert_promises(work / "w.db")


def _time(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


def test_transactions_alone_use_the_items_loaded_before(work: Path) -> None:
    lee = ids(work)["Lee"]
    write_items(work / "d", CATALOGUE)
    shop("load", "d", cwd=work)
    write_lines(work / "e" / "transactions.jsonl", [
        tx("T1", lee, [("Gadget", 3)], total_price=30), tx("T2", lee, [("Unheard Of", 1)])])
    summary = shop_json("load", "e", cwd=work)
    assert counts(summary, "transactions.jsonl") == (2, 1, 0, 1)
    assert [f["path"].rsplit("/", 1)[1] for f in summary["file_details"]] == [
        "transactions.jsonl"]


# --- re-runs -------------------------------------------------------------------------------


def test_generated_delivery_loads_as_generated_and_a_rerun_changes_nothing(work: Path) -> None:
    made = sluice_json("shop", "generate", "d", "--items", "40", "--transactions", "1500",
                       "--seed", "3", "--warehouse", "w.db", cwd=work)
    assert made["members"] == 13 and made["items"] == 40
    summary = shop_json("load", "d", cwd=work)
    assert counts(summary, "items.csv") == (40, 40, 0, 0)
    assert counts(summary, "transactions.jsonl") == (
        made["lines"], made["transactions"] - made["rejected"] + made["conflicts"],
        made["duplicates"], made["rejected"])
    loaded = query(work / "w.db", "SELECT count(*) FROM shop.transactions")[0][0]
    assert loaded == made["transactions"] - made["rejected"] + made["conflicts"]
    hostile.assert_rerun_changes_nothing("shop", "load", "d", "--warehouse", "w.db", cwd=work,
                                         db=work / "w.db", expect=0)
    # The same content under another name is skipped too.
    shutil.copytree(work / "d", work / "again")
    again = shop_json("load", "again", cwd=work)
    assert [f["status"] for f in again["file_details"]] == ["skipped", "skipped"]
    assert (again["loaded"], again["rejected"]) == (0, 0)
    hostile.assert_promises(work / "w.db")


def test_generate_is_deterministic_skewed_and_atomic(work: Path) -> None:
    for folder, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        sluice("shop", "generate", folder, "--items", "60", "--transactions", "3000", "--seed",
               seed, "--clean", "--warehouse", "w.db", cwd=work)
    files = ("items.csv", "transactions.jsonl")
    assert all((work / "a" / f).read_bytes() == (work / "b" / f).read_bytes() for f in files)
    assert (work / "a" / "transactions.jsonl").read_bytes() != (
        work / "c" / "transactions.jsonl").read_bytes()
    assert sorted(p.name for p in (work / "a").iterdir()) == list(files)  # no partial file
    records = [json.loads(line) for line in
               (work / "a" / "transactions.jsonl").read_text().splitlines()]
    assert len(records) == 3000
    by_member: dict[str, int] = {}
    by_item: dict[str, int] = {}
    for record in records:
        by_member[record["membership_id"]] = by_member.get(record["membership_id"], 0) + 1
        for line in record["lines"]:
            by_item[line["item"]] = by_item.get(line["item"], 0) + 1
    busiest = sorted(by_member.values(), reverse=True)
    assert sum(busiest[:3]) > 0.4 * len(records)           # 3 of 13 members: most sales
    popular = sorted(by_item.values(), reverse=True)
    assert sum(popular[:6]) > 0.3 * sum(popular)            # 10% of items: a third of lines
    times = [record["bought_at"] for record in records]
    assert times == sorted(times)


# --- the answers ---------------------------------------------------------------------------

# Spending (in units of a 10.00 item): ties at rank 2 (the shared Tan id among them)
# and at rank 10, so the top 10 lists 11 members; Poh buys only free items.
SPENDING = {"Lee": 10, "Tan": 9, "Ng": 9, "Ong": 8, "Goh": 7, "Lim": 6, "Koh": 5, "Teo": 4,
            "Yeo": 3, "Chua": 2, "Foo": 2, "Sim": 1}


def _ranked_delivery(work: Path) -> dict[str, str]:
    member = ids(work)
    write_items(work / "d", ["Item Z,Acme,10.00,1", *(f"Item {n},Acme,0,0.5" for n in "PQRSTU")])
    lines = [tx(f"S{last}", member[last], [("Item Z", units)])
             for last, units in SPENDING.items()]
    # By quantity: Z 66, P 50, then Q, T and U 5 each (all three rank 3).
    # By transactions: Z 12, Q 5, then R and S 4 each (both rank 3).
    lines.append(tx("P1", member["Poh"], [("Item P", 50), ("Item T", 5), ("Item U", 5)]))
    lines += [tx(f"P{n}", member["Poh"], [("Item Q", 1), ("Item R", 1), ("Item S", 1)])
              for n in range(2, 6)]
    lines.append(tx("P6", member["Poh"], [("Item Q", 1)]))
    write_lines(work / "d" / "transactions.jsonl", lines)
    shop("load", "d", cwd=work)
    return member


def test_ties_share_a_rank_and_the_top_lists_hold_every_tie(work: Path) -> None:
    member = _ranked_delivery(work)
    report = shop_json("report", cwd=work)
    top = [(row["rank"], row["membership_id"], row["spending"], row["shared"])
           for row in report["top_members_by_spending"]]
    expected_order = sorted(((rank, member[last]) for last, rank in (
        ("Lee", 1), ("Tan", 2), ("Ng", 2), ("Ong", 4), ("Goh", 5), ("Lim", 6), ("Koh", 7),
        ("Teo", 8), ("Yeo", 9), ("Chua", 10), ("Foo", 10))))
    assert [(rank, membership_id) for rank, membership_id, _, _ in top] == expected_order
    spending = {membership_id: amount for _, membership_id, amount, _ in top}
    assert {last: spending[member[last]] for last in SPENDING if last != "Sim"} == {
        last: units * 10 for last, units in SPENDING.items() if last != "Sim"}
    assert report["top_items_by_quantity"] == [
        {"rank": 1, "item": "Item Z", "manufacturer": "Acme", "quantity": 66, "transactions": 12},
        {"rank": 2, "item": "Item P", "manufacturer": "Acme", "quantity": 50, "transactions": 1},
        {"rank": 3, "item": "Item Q", "manufacturer": "Acme", "quantity": 5, "transactions": 5},
        {"rank": 3, "item": "Item T", "manufacturer": "Acme", "quantity": 5, "transactions": 1},
        {"rank": 3, "item": "Item U", "manufacturer": "Acme", "quantity": 5, "transactions": 1}]
    assert report["top_items_by_transactions"] == [
        {"rank": 1, "item": "Item Z", "manufacturer": "Acme", "transactions": 12, "quantity": 66},
        {"rank": 2, "item": "Item Q", "manufacturer": "Acme", "transactions": 5, "quantity": 5},
        {"rank": 3, "item": "Item R", "manufacturer": "Acme", "transactions": 4, "quantity": 4},
        {"rank": 3, "item": "Item S", "manufacturer": "Acme", "transactions": 4, "quantity": 4}]
    findings = " ".join(report["findings"])
    assert "11 members ranked 10 or better" in findings
    assert "rank 2 is shared by 2 members (90.00 each)" in findings
    assert "rank 10 is shared by 2 members (20.00 each)" in findings
    assert "Ties by quantity: rank 3 is shared by 3 items (5 each)" in findings
    assert "Ties by transactions: rank 3 is shared by 2 items (4 each)" in findings
    assert ("The two differ: by quantity Item Z, Item P, Item Q, Item T, Item U; by number of "
            "transactions Item Z, Item Q, Item R, Item S.") in findings


def test_a_shared_membership_id_is_flagged(work: Path) -> None:
    member = _ranked_delivery(work)
    rows = shop_json("report", cwd=work)["top_members_by_spending"]
    shared = [row for row in rows if row["shared"]]
    assert shared == [{"rank": 2, "membership_id": member["Tan"], "name": "Bob Tan",
                       "applicants": 2, "shared": True, "spending": 90, "transactions": 1}]
    assert all(row["applicants"] == 1 for row in rows if not row["shared"])
    findings = shop_json("report", cwd=work)["findings"]
    assert (f"1 of them is a membership id shared by more than one applicant (shared = true: "
            f"{member['Tan']})") in " ".join(findings)


def test_csv_export_holds_the_printed_rows(work: Path) -> None:
    _ranked_delivery(work)
    report = json.loads(shop("report", "--json", "--csv", "out", cwd=work).stdout,
                        parse_float=Decimal)
    printed = shop("report", cwd=work).stdout
    names = [k for k in report if k != "findings"]
    assert sorted(p.name for p in (work / "out").iterdir()) == sorted(f"{n}.csv" for n in names)
    for name in names:
        with (work / "out" / f"{name}.csv").open(encoding="utf-8", newline="") as stream:
            exported = list(csv.reader(stream))
        rows = report[name]
        assert exported[0] == list(rows[0])
        assert exported[1:] == [[csv_value(v) for v in row.values()] for row in rows]
        assert exported[1:] == _table_rows(printed, name)
    # Written again: the files are replaced whole.
    shop("report", "--csv", "out", cwd=work)
    assert sorted(p.name for p in (work / "out").iterdir()) == sorted(f"{n}.csv" for n in names)


def _table_rows(printed: str, name: str) -> list[list[str]]:
    """The rows of the printed table under the view's title, as the CSV writes them (no
    thousands separators, true/false)."""
    from sluice.pipelines import shop as shop_pipeline

    title = next(v.title for v in shop_pipeline.VIEWS if v.name == name)
    lines = printed.splitlines()
    start = lines.index(title)
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("└"):
            break
        if line.startswith("│"):
            cells = [cell.strip().replace(",", "") for cell in line.strip("│").split("│")]
            rows.append([{"True": "true", "False": "false"}.get(c, c) for c in cells])
    return rows


def test_report_before_any_transaction_says_so(work: Path) -> None:
    write_items(work / "d", CATALOGUE)
    shop("load", "d", cwd=work)
    report = shop_json("report", cwd=work)
    assert report["top_members_by_spending"] == [] and report["top_items_by_quantity"] == []
    assert report["findings"] == ["No transactions loaded yet: load a delivery with "
                                  "`sluice shop load FOLDER`."]


# --- docs/shop.md keeps in step with the schema --------------------------------------------


def _mermaid(doc: str) -> tuple[dict[str, dict[str, tuple[str, set[str]]]], set[tuple[str, str, str]]]:
    """The ER diagram: entities with their attributes (column: type, keys) and the
    relationships (parent, child, parent's cardinality)."""
    block = re.search(r"```mermaid\n(erDiagram\n.*?)```", doc, re.S)
    assert block, "docs/shop.md has no mermaid erDiagram"
    body = block[1]
    entities: dict[str, dict[str, tuple[str, set[str]]]] = {}
    for name, attributes in re.findall(r"^\s*(\w+) \{\n(.*?)^\s*\}", body, re.S | re.M):
        columns = {}
        for line in attributes.strip().splitlines():
            found = re.fullmatch(r'\s*(\w+) (\w+)((?: (?:PK|FK|UK),?)*)(?: "[^"]*")?\s*', line)
            assert found, f"attribute line not understood: {line!r}"
            columns[found[2]] = (found[1], set(re.findall(r"PK|FK|UK", found[3])))
        entities[name] = columns
    relationships = set()
    for parent, left, child in re.findall(r"^\s*(\w+) (\S\S)--\S\S (\w+) :", body, re.M):
        relationships.add((parent, child, left))
    return entities, relationships


def test_the_er_diagram_matches_the_schema(work: Path) -> None:
    write_items(work / "d", CATALOGUE)
    shop("load", "d", cwd=work)
    entities, relationships = _mermaid(DOC.read_text(encoding="utf-8"))
    columns: dict[str, dict[str, tuple[str, set[str]]]] = {}
    for table, column, data_type in query(
            work / "w.db", "SELECT table_name, column_name, data_type FROM "
                           "information_schema.columns WHERE table_schema = 'shop' AND "
                           "table_name IN (SELECT table_name FROM duckdb_tables() "
                           "WHERE schema_name = 'shop') ORDER BY table_name, ordinal_position"):
        columns.setdefault(table, {})[column] = (data_type.split("(")[0], set())
    foreign = set()
    for table, kind, names, referenced in query(
            work / "w.db", "SELECT table_name, constraint_type, constraint_column_names, "
                           "referenced_table FROM duckdb_constraints() WHERE schema_name = "
                           "'shop' AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY', "
                           "'UNIQUE')"):
        for name in names:
            columns[table][name][1].add({"PRIMARY KEY": "PK", "FOREIGN KEY": "FK",
                                         "UNIQUE": "UK"}[kind])
        if kind == "FOREIGN KEY":
            foreign.add((referenced, table, "||"))  # the key column is NOT NULL: exactly one
    assert entities == columns
    assert relationships == foreign


def test_the_docs_show_the_ddl_and_the_models_as_they_are() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert SCHEMA_SQL.read_text(encoding="utf-8").strip() in doc
    for model in sorted(MODELS.glob("*.sql")):
        assert model.read_text(encoding="utf-8").strip() in doc, model.name


# --- errors --------------------------------------------------------------------------------


def _one_line(result: Any, text: str) -> None:
    assert text in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_or_empty_folder_is_one_line(work: Path) -> None:
    _one_line(shop("load", "nowhere", cwd=work, expect=2), "error: no such folder: nowhere")
    (work / "empty").mkdir()
    _one_line(shop("load", "empty", cwd=work, expect=2),
              "error: empty holds neither items.csv nor transactions.jsonl")
    (work / "afile").write_text("x")
    _one_line(shop("load", "afile", cwd=work, expect=2), "afile is not a folder")
    failed = sluice("shop", "load", "nowhere", "--warehouse", "w.db", "--json", cwd=work,
                    expect=2)
    assert json.loads(failed.stderr) == {"error": "no such folder: nowhere", "exit_code": 2}
    _one_line(sluice("shop", "report", "--warehouse", "none.db", cwd=work, expect=2),
              "warehouse none.db does not exist")


def test_no_members_is_one_line(tmp_path: Path) -> None:
    write_items(tmp_path / "d", CATALOGUE)
    for args in (("generate", "g"), ("load", "d")):
        result = sluice("shop", *args, "--warehouse", "fresh.db", cwd=tmp_path, expect=2)
        _one_line(result, f"error: {NO_MEMBERS} (warehouse fresh.db does not exist)")
    assert not (tmp_path / "fresh.db").exists()
    duckdb.connect(str(tmp_path / "empty.db")).close()  # a warehouse without applications
    for args in (("generate", "g"), ("load", "d")):
        result = sluice("shop", *args, "--warehouse", "empty.db", "--json", cwd=tmp_path,
                        expect=2)
        assert json.loads(result.stderr) == {"error": NO_MEMBERS, "exit_code": 2}
    assert not (tmp_path / "g").exists()


@pytest.mark.parametrize(("content", "message"), [
    (b"title,maker,price\nWidget,Acme,1\n", "not an items file: its header must name name, "
     "manufacturer, cost, weight_kg (missing name, manufacturer, cost, weight_kg"),
    (b"\xff\xfe\x00\x01\x02garbage\n\x00\x00", "the header line is not UTF-8 text"),
    (b"", "has no header line"),
    (b"\n\nname,manufacturer,cost,weight_kg\n", "has no header line"),
])
def test_a_malformed_items_file_fails_the_run_in_one_line(work: Path, content: bytes,
                                                          message: str) -> None:
    (work / "d").mkdir()
    (work / "d" / "items.csv").write_bytes(content)
    write_lines(work / "d" / "transactions.jsonl", [tx("T1", ids(work)["Lee"], [("Widget", 1)])])
    result = shop("load", "d", cwd=work, expect=None)
    assert result.returncode == 1, result
    _one_line(result, message)
    assert "nothing was loaded" in result.stderr
    runs = query(work / "w.db", "SELECT status FROM sluice.runs WHERE pipeline = 'shop'")
    assert runs == [("failed",)]
    assert query(work / "w.db", "SELECT count(*) FROM sluice.files WHERE pipeline = 'shop'"
                 ) == [(0,)]
    hostile.assert_promises(work / "w.db")


def test_a_transactions_file_of_garbage_is_rejected_line_by_line(work: Path) -> None:
    write_items(work / "d", CATALOGUE)
    (work / "d" / "transactions.jsonl").write_bytes(
        b"\xff\xfebinary\nname,manufacturer\n{\"a\": 1}\n[1, 2]\n")
    summary = shop_json("load", "d", cwd=work)
    assert counts(summary, "transactions.jsonl") == (4, 0, 0, 4)
    assert [f["status"] for f in summary["file_details"]] == ["loaded", "rejected"]
    assert [reasons for _, reasons in quarantined(work, "transactions.jsonl")] == [
        ["invalid UTF-8"], ["invalid JSON"],
        ["missing transaction_id", "missing membership_id", "missing bought_at",
         "missing lines"],
        ["not a JSON object"]]
    hostile.assert_promises(work / "w.db")


def test_a_folder_in_place_of_a_file_fails_the_run_in_one_line(work: Path) -> None:
    (work / "d" / "items.csv").mkdir(parents=True)
    _one_line(shop("load", "d", cwd=work, expect=1), "items.csv is not a regular file")


def test_trace_names_the_line_of_an_item_and_of_a_transaction(work: Path) -> None:
    lee = ids(work)["Lee"]
    write_items(work / "d", CATALOGUE)
    write_lines(work / "d" / "transactions.jsonl", [
        "not json", tx("T1", lee, [("Gadget", 3)], total_price=30)])
    shop("load", "d", cwd=work)
    gadget = query(work / "w.db", "SELECT item_id FROM shop.items WHERE name = 'Gadget'")[0][0]
    line = 2 + next(n for n, row in enumerate(CATALOGUE) if row.startswith("Gadget"))
    traced = sluice_json("trace", "shop", str(gadget), "--warehouse", "w.db", cwd=work)
    assert [(r["table"], r["line_number"]) for r in traced["rows"]] == [("shop.items", line)]
    transaction = sluice_json("trace", "shop", "T1", "--warehouse", "w.db", cwd=work)
    assert [(r["table"], r["line_number"], r["path"].endswith("transactions.jsonl"))
            for r in transaction["rows"]] == [("shop.transactions", 2, True)]


def test_blank_lines_in_the_items_do_not_shift_the_line_numbers(work: Path) -> None:
    """The CSV reader skips empty lines without a word; the lines a row is named by
    (in quarantine, and by `sluice trace`) count them."""
    write_items(work / "d", ["", "Widget,Acme,2.50,0.200", "", "  ", "Broken,Acme,-1,1",
                             "Gadget,Acme,10,1.5"])
    shop("load", "d", cwd=work)
    assert quarantined(work, "items.csv") == [(5, ["fewer fields than the header"]),
                                              (6, ["cost -1 is negative"])]
    assert query(work / "w.db", "SELECT name, source_line FROM shop.items ORDER BY name") == [
        ("Gadget", 7), ("Widget", 3)]


def test_the_largest_quantities_and_costs_give_exact_totals(work: Path) -> None:
    """A line of 2^31 - 1 units at the largest cost and weight the columns hold: its
    price (past 10^19) and the member's spending are exact, where the totals view once
    failed every query on an overflow of DECIMAL(18)."""
    lee = ids(work)["Lee"]
    most = 2**31 - 1
    write_items(work / "d", ["Yacht,Acme,9999999999.99,9999999.999", "Pin,Acme,0.01,0.001"])
    write_lines(work / "d" / "transactions.jsonl", [
        tx("T1", lee, [("Yacht", most), ("Pin", most)]), tx("T2", lee, [("Yacht", most)])])
    shop("load", "d", cwd=work)
    price = most * Decimal("9999999999.99")
    assert query(work / "w.db", "SELECT transaction_id, total_price, total_weight "
                                "FROM shop.transaction_totals ORDER BY 1") == [
        ("T1", price + most * Decimal("0.01"), most * Decimal("9999999.999")
         + most * Decimal("0.001")),
        ("T2", price, most * Decimal("9999999.999"))]
    top = shop_json("report", cwd=work)["top_members_by_spending"]
    assert [(row["membership_id"], row["spending"]) for row in top] == [
        (lee, float(2 * price + most * Decimal("0.01")))]
