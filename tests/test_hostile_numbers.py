"""Hostile values in advocate files: numbers the columns cannot hold, non-finite numbers,
wrong types, huge and nested values. No value may fail the run: a value the rules cannot
hold becomes NULL with a row in advocacy.dq_issues, and the record (and every other one)
loads.

One ingest of a folder holding one advocate file per case (and a clean control file)
serves every case; each case then checks its own advocate.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hostile import Tried, assert_promises, assert_rerun_changes_nothing, tried
from test_advocacy_ingest import advocate

from conftest import query, sluice

BIG = "9" * 400
HUGE_TEXT = "x" * 3_000_000


@dataclass(frozen=True)
class Value:
    """A raw JSON value put in one field of one advocate file."""

    tried: Tried
    field: str
    raw: str                 # the JSON text of the value, as written in the file
    clean: Any               # the value the warehouse holds (None: NULL)
    rule: str | None         # the issue it raises (None: no issue)

    @property
    def case(self) -> str:
        return self.tried.case


def money(raw: str, clean: Any, rule: str | None, outcome: str) -> Value:
    shown = raw if len(raw) < 30 else f"a {len(raw)}-digit integer"
    return Value(tried("numbers", f"total_sales_attributed {shown}", outcome),
                 "total_sales_attributed", raw, clean, rule)


def count(field: str, raw: str, clean: Any, rule: str | None, outcome: str) -> Value:
    shown = raw if len(raw) < 30 else f"a {len(raw)}-digit integer"
    return Value(tried("numbers", f"{field} {shown}", outcome), field, raw, clean, rule)


def other(kind: str, field: str, raw: str, clean: Any, rule: str | None, case: str,
          outcome: str) -> Value:
    return Value(tried(kind, case, outcome), field, raw, clean, rule)


NULL_OOR = "NULL + dq issue 'out of range'; the record loads"
NULL_NAN = "NULL + dq issue 'not a number'; the record loads"
NULL_NEG = "NULL + dq issue 'negative'; the record loads"

VALUES = [
    money("1e12", None, "out of range", NULL_OOR + " (DECIMAL(14,2) holds < 10^12)"),
    money("1e400", None, "out of range",
          NULL_OOR + " (a finite JSON number, too large for any column)"),
    money("-1e400", None, "negative", NULL_NEG),
    money("NaN", None, "not a number",
          NULL_NAN + " (the engine's JSON parser accepts NaN and Infinity)"),
    money("-NaN", None, "not a number", NULL_NAN),
    money("Infinity", None, "not a number", NULL_NAN),
    money("-Infinity", None, "not a number", NULL_NAN),
    money(str(2 ** 70), None, "out of range", NULL_OOR),
    money("-0", 0.0, None, "0.00; no issue"),
    money("1e-400", 0.0, None, "0.00 (rounds to the cent like any amount); no issue"),
    money(BIG, None, "out of range", NULL_OOR),
    money("999999999999.99", 999999999999.99, None, "loads: the largest amount the column holds"),
    money("999999999999.995", None, "out of range", NULL_OOR + " (rounds past the largest)"),
    money("0.005", 0.01, None, "0.01: rounded half away from zero, from the decimal text"),
    money("true", None, "not a number", NULL_NAN),
    money('{"amount": 5}', None, "not a number", NULL_NAN),
    money("[120.5]", None, "not a number", NULL_NAN),
    count("likes", str(2 ** 63), None, "out of range", NULL_OOR + " (past BIGINT)"),
    count("likes", str(10 ** 12), 10 ** 12, None, "loads: the largest count (a trillion)"),
    count("likes", str(10 ** 12 + 1), None, "out of range",
          NULL_OOR + " (a count above a trillion: sums of squares must stay exact)"),
    count("reach", "1e12", 10 ** 12, None, "loads: the largest count, as a JSON double"),
    count("reach", "1.000000000001e12", None, "out of range", NULL_OOR),
    count("likes", str(2 ** 70), None, "out of range", NULL_OOR),
    count("likes", "1e400", None, "out of range", NULL_OOR),
    count("likes", "NaN", None, "not a number", NULL_NAN),
    count("likes", "-Infinity", None, "not a number", NULL_NAN),
    count("likes", "1.0", 1, None, "1: a JSON number with a whole value is that count"),
    count("likes", "1e3", 1000, None, "1000: a JSON number with a whole value is that count"),
    count("likes", "1.5", None, "not a whole number",
          "NULL + dq issue 'not a whole number' (never rounded); the record loads"),
    count("likes", "-0", 0, None, "0; no issue"),
    count("comments", "-1e400", None, "negative", NULL_NEG),
    count("comments", "1e-400", 0, None, "0 (the number is 0.0); no issue"),
    count("shares", BIG, None, "out of range", NULL_OOR),
    count("shares", "true", None, "not a number", NULL_NAN),
    count("reach", "9.3e18", None, "out of range", NULL_OOR),
    count("reach", "-9223372036854775809", None, "negative", NULL_NEG),
    count("reach", '{"n": 1}', None, "not a number", NULL_NAN),
    other("bytes", "name", json.dumps(HUGE_TEXT), HUGE_TEXT, None,
          "name of 3 MB", "loads as it is (text has no length rule)"),
    other("bytes", "name", '{"first": "Ann"}', None, "not text",
          "name is an object", "NULL + dq issue 'not text'; the record loads"),
    other("bytes", "name", '["Ann", "Lee"]', None, "not text",
          "name is an array", "NULL + dq issue 'not text'; the record loads"),
    other("bytes", "name", json.dumps("Zoë 🚀 \u202eAnn"), "Zoë 🚀 \u202eAnn", None,
          "name with emoji and a right-to-left override", "loads unchanged"),
    other("bytes", "user_id", '{"$oid": "5f1d"}', None, "not a uuid",
          "user_id is an object", "NULL + dq issue 'not a uuid'; keyed by its content"),
    other("bytes", "user_id", "12345", None, "not a uuid",
          "user_id is a number", "NULL + dq issue 'not a uuid'; keyed by its content"),
    other("bytes", "email", json.dumps("ännä@exämple.com"), "ännä@exämple.com", None,
          "email with non-ASCII letters", "loads (lower case, trimmed)"),
    other("bytes", "instagram_handle", json.dumps("@" + HUGE_TEXT), None, "invalid handle",
          "instagram_handle of 3 MB", "NULL + dq issue 'invalid handle'; the record loads"),
    other("bytes", "joined_at", '"0000-01-01T00:00:00Z"', None, "out of range",
          "joined_at in year 0", "NULL + dq issue 'out of range' (years 1 to 9999)"),
    other("bytes", "joined_at", '"99999-01-01T00:00:00Z"', None, "not a date",
          "joined_at in year 99999", "NULL + dq issue 'not a date'"),
    other("bytes", "joined_at", "1714692797", None, "not a date",
          "joined_at as epoch seconds (a number)", "NULL + dq issue 'not a date'"),
    other("bytes", "joined_at", '"2024-02-30T00:00:00Z"', None, "not a date",
          "joined_at on 30 February", "NULL + dq issue 'not a date'"),
    other("bytes", "brand", '{"name": "Acme"}', None, "not text",
          "brand is an object", "NULL + dq issue 'not text'"),
    other("bytes", "platform", '["TikTok"]', None, "not text",
          "platform is an array", "NULL + dq issue 'not text'"),
    other("bytes", "post_url", json.dumps("https://x.co/" + HUGE_TEXT),
          "https://x.co/" + HUGE_TEXT, None, "post_url of 3 MB", "loads as it is"),
    other("bytes", "task_id", "[]", None, "not a uuid",
          "task_id is an empty array", "NULL + dq issue 'not a uuid'"),
    other("bytes", "advocacy_programs", '{"program_id": "x"}', 0, "not a list",
          "advocacy_programs is an object, not a list",
          "no memberships + dq issue 'not a list' (not silence); the advocate loads"),
    other("bytes", "advocacy_programs", '"none"', 0, "not a list",
          "advocacy_programs is a string", "no memberships + dq issue 'not a list'"),
    other("bytes", "tasks_completed", "42", 0, "not a list",
          "tasks_completed is a number", "no tasks + dq issue 'not a list'; the membership "
                                         "loads"),
]

ADVOCATE_FIELDS = {"user_id", "name", "email", "instagram_handle", "tiktok_handle", "joined_at",
                   "advocacy_programs"}
PROGRAM_FIELDS = {"program_id", "brand", "total_sales_attributed", "tasks_completed"}
ENTITY = {**{f: "advocate" for f in ADVOCATE_FIELDS}, **{f: "membership" for f in PROGRAM_FIELDS}}
COLUMN = {"user_id": "CAST(user_id AS VARCHAR)", "program_id": "CAST(program_id AS VARCHAR)",
          "task_id": "CAST(task_id AS VARCHAR)",
          "total_sales_attributed": "CAST(total_sales_attributed AS DOUBLE)",
          "advocacy_programs": "(SELECT count(*) FROM advocacy.memberships m "
                               "WHERE m.advocate_id = advocacy.advocates.advocate_id)",
          "tasks_completed": "(SELECT count(*) FROM advocacy.tasks t "
                             "WHERE t.membership_id = advocacy.memberships.membership_id)"}
TABLE = {"advocate": "advocacy.advocates", "membership": "advocacy.memberships",
         "task": "advocacy.tasks"}


def user_of(index: int) -> str:
    return str(uuid.UUID(int=index + 1, version=4))


def document(index: int, value: Value) -> str:
    """An advocate whose `value.field` holds the raw JSON text (which json.dumps could
    not write: 1e400, NaN, a 400-digit integer)."""
    record = advocate(user_of(index), name=f"Case {index}")
    program = record["advocacy_programs"][0]
    target = (record if value.field in ADVOCATE_FIELDS else
              program if value.field in PROGRAM_FIELDS else program["tasks_completed"][0])
    target[value.field] = "@@VALUE@@"
    return json.dumps(record).replace('"@@VALUE@@"', value.raw)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("numbers")
    folder = work / "in"
    folder.mkdir()
    for index, value in enumerate(VALUES):
        (folder / f"case_{index:03}.json").write_text(document(index, value), encoding="utf-8")
    (folder / "zz_control.json").write_text(json.dumps(advocate(name="Control")))
    result = sluice("advocacy", "ingest", "in", "--json", cwd=work)
    summary = json.loads(result.stdout)
    assert (summary["status"], summary["loaded"], summary["rejected"]) == (
        "succeeded", len(VALUES) + 1, 0)
    return work


def _advocate_id(work: Path, index: int) -> str:
    """The advocate of case `index` (keyed by user_id, or by content when that is bad)."""
    rows = query(work / "warehouse.db", "SELECT a.advocate_id FROM advocacy.advocates a "
                 "JOIN advocacy.raw_records r USING (file_id) "
                 f"WHERE r.source_file = 'case_{index:03}.json'")
    assert len(rows) == 1, f"case {index} did not load"
    return str(rows[0][0])


@pytest.mark.parametrize("index", range(len(VALUES)), ids=[v.case for v in VALUES])
def test_a_value_the_rules_cannot_hold_is_null_with_an_issue(loaded: Path, index: int) -> None:
    value, db = VALUES[index], loaded / "warehouse.db"
    advocate_id = _advocate_id(loaded, index)
    entity = ENTITY.get(value.field, "task")
    column = COLUMN.get(value.field, value.field)
    held = query(db, f"SELECT {column} FROM {TABLE[entity]} WHERE advocate_id = "
                     f"'{advocate_id}'")
    assert held == [(value.clean,)]
    found = query(db, f"SELECT rule FROM advocacy.dq_issues WHERE field = '{value.field}' "
                      f"AND advocate_id = '{advocate_id}'")
    assert found == ([(value.rule,)] if value.rule else [])
    # Every other field of the record is as in a clean file: no stray issues.
    others = query(db, f"SELECT field, rule FROM advocacy.dq_issues WHERE advocate_id = "
                       f"'{advocate_id}' AND field <> '{value.field}'")
    assert others == []


def test_the_control_record_and_the_ledger(loaded: Path) -> None:
    db = loaded / "warehouse.db"
    assert query(db, "SELECT count(*) FROM advocacy.advocates WHERE name = 'Control'") == [(1,)]
    assert_promises(db)
    assert_rerun_changes_nothing("advocacy", "ingest", "in", cwd=loaded, db=db)


JSONL_CASE = tried("numbers", "JSON Lines: NaN, 1e400 and 2^70 in the lines of one file",
                   "each NULL with its issue; every line loads")


@pytest.mark.parametrize("case", [JSONL_CASE], ids=[JSONL_CASE.case])
def test_json_lines_with_values_out_of_range(work: Path, case: Tried) -> None:
    picked = [v for v in VALUES if v.raw in ("NaN", "1e400", str(2 ** 70))]
    (work / "export.jsonl").write_text(
        "".join(document(i, v) + "\n" for i, v in enumerate(picked)), encoding="utf-8")
    sluice("advocacy", "ingest", "export.jsonl", cwd=work)
    db = work / "warehouse.db"
    assert query(db, "SELECT count(*) FROM advocacy.raw_records") == [(len(picked),)]
    assert sorted(query(db, "SELECT field, rule FROM advocacy.dq_issues")) == sorted(
        (v.field, v.rule) for v in picked)
    assert_promises(db)
