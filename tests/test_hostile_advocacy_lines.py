"""Advocacy JSON Lines files read line by line exactly as votes are: LF ends a line, a
lone CR is part of it, a line past the engine's buffer is quarantined, not lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile import assert_promises, assert_rerun_changes_nothing, tried
from test_advocacy_ingest import ANN, BO, advocate

from conftest import query, sluice

A = json.dumps(advocate(ANN)).encode()
B = json.dumps(advocate(BO, name="Bo Chen")).encode()
C = json.dumps(advocate(None, name="Cy")).encode()
LONG = b'{"user_id":null,"name":"' + b"x" * (40 << 20) + b'"}'

CASES = [
    (A + b"\n" + LONG + b"\n" + B + b"\n{broken\n", 4, 2, {2: "line longer than 2097152 bytes",
                                                          4: "invalid JSON"},
     tried("lines", "advocacy JSON Lines: an advocate, a 40 MB line, an advocate, a broken line",
           "the long line quarantined (line 2), the broken one at line 4; both advocates load")),
    (A + b"\r" + B + b"\n" + C + b"\n", 2, 1, {1: "invalid JSON"},
     tried("lines", "advocacy JSON Lines: two advocates joined by a lone CR, then a third",
           "one invalid line (line 1) quarantined whole, never loaded; the third loads")),
    (A + b"\n" + B + b"\r\n" + C + b"\n", 3, 3, {},
     tried("lines", "advocacy JSON Lines mixing LF and CRLF line ends",
           "three advocates, no phantom blank line, no shifted line number")),
    (A + b"\n \t\r\n" + B + b"\n", 2, 2, {},
     tried("lines", "advocacy JSON Lines with a line of spaces, a tab and a CR",
           "a blank line: not a record; both advocates load")),
]


@pytest.mark.parametrize(("content", "read", "loaded", "rejected"),
                         [pytest.param(c, r, n, q, id=t.case) for c, r, n, q, t in CASES])
def test_advocacy_json_lines_are_read_exactly(work: Path, content: bytes, read: int,
                                              loaded: int, rejected: dict[int, str]) -> None:
    (work / "export.jsonl").write_bytes(content)
    summary = json.loads(sluice("advocacy", "ingest", "export.jsonl", "--json", cwd=work).stdout)
    db = work / "warehouse.db"
    assert_promises(db)
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (
        read, loaded, len(rejected))
    found = {line: reasons[0].split(",")[0] for line, reasons in query(
        db, "SELECT line_number, reasons FROM sluice.quarantine")}
    assert found == rejected
    assert query(db, "SELECT count(*) FROM advocacy.advocates") == [(loaded,)]
    assert_rerun_changes_nothing("advocacy", "ingest", "export.jsonl", cwd=work, db=db, expect=0)
