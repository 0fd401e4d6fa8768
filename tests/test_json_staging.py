"""JSON Lines staged by the engine's JSON reader give exactly what the line reader gives.

Each case is ingested twice: as it is, a file the JSON reader may stage, and with an
empty line added at its end, which no JSON reader's rows can be proven against, so the
line reader stages it. Both warehouses must then hold the same rows (with their lines),
the same quarantine (line numbers, raw text, reasons) and the same ledger counts. A spy
on `json_staging.prove` tells which files the JSON reader's rows were kept for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import query, sluice, vote, write_lines
from sluice import json_staging, merge
from sluice import lines as line_scan

GOOD = [vote(1, post=7), vote(2, post=8, UserId=5), vote(3, post=9, BountyAmount=50)]
DATE = "2022-01-03T00:00:00.000"

# Lines that break the contract, each kept by the JSON reader's path: the reader gives a
# row for each (of NULLs when it cannot parse it), which the contract finds broken.
BROKEN: list[str | bytes] = [
    "not json",
    "[1, 2]",
    '"a string"',
    "7",
    "null",
    "{}",
    '{"Other":"1"}',
    '{"Id":"4","PostId":"1", "VoteTypeId":',
    vote(4) + " trailing",
    vote(4) + vote(5),
    vote("abc"),
    vote("4.5"),
    vote("1e3"),
    vote(" 5"),
    vote("5 "),
    vote("0x5"),
    vote("5_0"),
    vote("99999999999999999999"),
    vote(4, vote_type=40000),
    vote(4, date="2022-01-03T00:00:00.12 "),
    vote(4, date=" 999-01-03T00:00:00.000"),
    vote(4, date="2022-01-03T00:00:00Z"),
    vote(4, date="2022-1-3T0:0:0.000"),
    vote(4, date="2022-02-30T00:00:00.000"),
    vote(4, date="2022-01-03T00:00:00+02:00"),
    '{"Id":4,"PostId":1,"VoteTypeId":2,"CreationDate":1641168000}',
    '{"Id":true,"PostId":1,"VoteTypeId":2,"CreationDate":"2022-01-03T00:00:00.000"}',
    '{"Id":[4],"PostId":1,"VoteTypeId":2,"CreationDate":"2022-01-03T00:00:00.000"}',
    '{"Id":{"v":4},"PostId":1,"VoteTypeId":2,"CreationDate":"2022-01-03T00:00:00.000"}',
    '{"Id":4,"PostId":1,"VoteTypeId":2}',
    b'{"Id":"4","PostId":"1","VoteTypeId":"2","CreationDate":"' + DATE.encode() + b'\xff"}',
    b'{"Id":"4","PostId":"1","VoteTypeId":"2","CreationDate":"' + DATE.encode()
    + b'","Note":"caf\xe9"}',
    b"\xef\xbb\xbf" + vote(4).encode(),
    '{"Id":"4",}',
]

# Lines the contract accepts in a form the reader's values cannot vouch for alone (a
# repeated field, whitespace, an escape, a null): the file goes the line reader's way.
NOT_PROVEN: list[str | bytes] = [
    '{"Id":"4","PostId":"1","VoteTypeId":"2","CreationDate":"' + DATE + '","Id":"5"}',
    '{"Id":"4","PostId":"1","VoteTypeId":"2","CreationDate":"' + DATE + '","PostId":"5"}',
    '{"Id":1,"PostId":2,"VoteTypeId":2,"UserId":4,"CreationDate":"' + DATE + '","Id":12}',
    '{"Id": "4", "PostId": "1", "VoteTypeId": "2", "CreationDate": "' + DATE + '"}',
    '{"Id":"4","PostId":"1","VoteTypeId":"2","CreationDate":"' + DATE + '","UserId":null}',
    '{"Id":"4","PostId":"1","VoteTypeId":"2","CreationDate":"' + DATE + '","Other":"x"}',
    '{"Id":"\\u0034","PostId":"1","VoteTypeId":"2","CreationDate":"' + DATE + '"}',
    '{"Id":-0,"PostId":"1","VoteTypeId":"2","CreationDate":"' + DATE + '"}',
    "",
    "   ",
]

# Good lines in forms the reader's values do vouch for: unquoted numbers, signs, zeros.
ODD_BUT_GOOD: list[str | bytes] = [
    '{"Id":4,"PostId":1,"VoteTypeId":2,"CreationDate":"' + DATE + '"}',
    vote("+4"),
    vote("004"),
    '{"CreationDate":"' + DATE + '","VoteTypeId":"2","PostId":"1","Id":"4"}',
    vote(4, date="2022-01-03 00:00:00"),
    vote(4, date="2022-01-03T00:00:00.123456"),
    '{"Id":"4","PostId":"1","VoteTypeId":"2","CreationDate":"2022-01-03T00:00:00.000",'
    '"UserId":"-7","BountyAmount":"0"}',
]


@pytest.fixture(params=["small", "large"])
def proofs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[list[bool]]:
    """What `json_staging.prove` found, call by call (it runs as it would). Run twice:
    as for small files (lines indexed and repeated keys found without numpy) and as for
    large ones (with numpy, the keys fetched a few rows at a time)."""
    yield recorded_proofs(monkeypatch, large=request.param == "large")


def recorded_proofs(monkeypatch: pytest.MonkeyPatch, large: bool) -> list[bool]:
    """The list `json_staging.prove` appends what it finds to, from now on (it runs as
    it would); `large`: as for large files (lines indexed with numpy, keys fetched a few
    rows at a time)."""
    if large:
        monkeypatch.setattr(line_scan, "NUMPY_INDEX_BYTES", 0)
        monkeypatch.setattr(merge, "NUMPY_KEY_ROWS", 0)
        monkeypatch.setattr(merge, "CANDIDATE_BATCH_ROWS", 3)
    found: list[bool] = []
    prove = json_staging.prove

    def recorded(*args: Any) -> bool:
        found.append(prove(*args))
        return found[-1]

    monkeypatch.setattr(json_staging, "prove", recorded)
    return found


def state(warehouse: Path) -> dict[str, Any]:
    """Everything a run leaves that the reader must not change."""
    return {
        "votes": query(warehouse, "SELECT * EXCLUDE (_file_id) FROM blog_analysis.votes "
                                  "ORDER BY _line"),
        "quarantine": query(warehouse, "SELECT line_number, raw, reasons, record_key "
                                       "FROM sluice.quarantine ORDER BY line_number"),
        "ledger": query(warehouse, "SELECT status, records_read, loaded, duplicates, rejected "
                                   "FROM sluice.files ORDER BY file_id"),
    }


def ingest_both_ways(tmp_path: Path, lines: list[str | bytes], final_newline: bool = True,
                     runs: int = 1) -> tuple[dict[str, Any], dict[str, Any]]:
    """The state after ingesting the lines as they are, and with an empty line added."""
    states = []
    for name, extra in (("as_is", []), ("with_empty_line", [""])):
        folder = tmp_path / name
        folder.mkdir()
        source = write_lines(folder / "votes.jsonl", [*lines, *extra],
                             final_newline=final_newline or bool(extra))
        for _ in range(runs):
            sluice("votes", "ingest", str(source), cwd=folder)
        states.append(state(folder / "warehouse.db"))
    return states[0], states[1]


def case_id(line: str | bytes) -> str:
    return repr(line)[:40]


@pytest.mark.parametrize("line", BROKEN, ids=case_id)
def test_a_broken_line_is_quarantined_as_the_line_reader_does(
        tmp_path: Path, proofs: list[bool], line: str | bytes) -> None:
    fast, lines = ingest_both_ways(tmp_path, [GOOD[0], line, *GOOD[1:]])
    assert proofs == [True, False]
    assert fast == lines
    assert [row[0] for row in fast["quarantine"]] == [2]
    assert fast["ledger"] == [("loaded", 4, 3, 0, 1)]


@pytest.mark.parametrize("line", NOT_PROVEN, ids=case_id)
def test_a_line_the_reader_cannot_vouch_for_sends_the_file_to_the_line_reader(
        tmp_path: Path, proofs: list[bool], line: str | bytes) -> None:
    fast, lines = ingest_both_ways(tmp_path, [GOOD[0], line, *GOOD[1:]])
    assert proofs == [False, False]
    assert fast == lines


@pytest.mark.parametrize("line", ODD_BUT_GOOD, ids=case_id)
def test_a_good_line_in_an_odd_form_is_loaded_with_the_same_values(
        tmp_path: Path, proofs: list[bool], line: str | bytes) -> None:
    fast, lines = ingest_both_ways(tmp_path, [GOOD[0], line, *GOOD[1:]])
    assert proofs == [True, False]
    assert fast == lines
    assert len(fast["votes"]) == 4 and fast["quarantine"] == []


def test_repeated_keys_conflicts_and_a_last_line_without_newline(
        tmp_path: Path, proofs: list[bool]) -> None:
    lines: list[str | bytes] = [
        *GOOD, vote(2, post=8, UserId=5), vote(3, post=10), "broken", vote(1, post=7),
        vote(9), vote(3, post=11)]
    fast, slow = ingest_both_ways(tmp_path, lines, final_newline=False)
    assert proofs == [True, False]
    assert fast == slow
    conflicts = [row for row in fast["quarantine"] if row[2][0].startswith("conflict")]
    assert [(row[0], row[1], row[3]) for row in conflicts] == [
        (5, vote(3, post=10), "3"), (9, vote(3, post=11), "3")]
    assert fast["ledger"] == [("loaded", 9, 4, 2, 3)]


def test_a_second_run_changes_nothing(tmp_path: Path, proofs: list[bool]) -> None:
    fast, slow = ingest_both_ways(tmp_path, [*GOOD, "broken", vote(2, post=99)], runs=2)
    assert fast == slow
    assert fast["ledger"][1][0] == "skipped"


@pytest.mark.parametrize("make", [
    lambda folder: write_lines(folder / "votes.jsonl", []),
    lambda folder: write_lines(folder / "votes.jsonl", ["broken"]),
    lambda folder: write_lines(folder / "votes.jsonl", [vote(1)], final_newline=False),
], ids=["empty", "one broken line", "one line, no newline"])
def test_small_files(tmp_path: Path, proofs: list[bool], make: Callable[[Path], Path]) -> None:
    source = make(tmp_path)
    sluice("votes", "ingest", str(source), cwd=tmp_path)
    found = state(tmp_path / "warehouse.db")
    read = len([line for line in source.read_bytes().split(b"\n") if line])
    assert found["ledger"][0][1] == read
    assert proofs == [True]


@pytest.mark.parametrize("blank_line", [False, True], ids=["JSON reader", "line reader"])
def test_a_repeated_field_hidden_by_unquoted_values_is_still_found(
        tmp_path: Path, blank_line: bool) -> None:
    # As long as the compact form with every value quoted: three unquoted values save
    # the six bytes the repeated field takes.
    crafted = ('{"Id":1,"PostId":2,"VoteTypeId":2,"UserId":4,"CreationDate":"' + DATE
               + '","Id":12}')
    source = write_lines(tmp_path / "votes.jsonl", [*GOOD, crafted, *([""] if blank_line else [])])
    sluice("votes", "ingest", str(source), cwd=tmp_path)
    found = state(tmp_path / "warehouse.db")
    assert [(row[0], row[2]) for row in found["quarantine"]] == [(4, ["duplicate field Id"])]
    assert [row[0] for row in found["votes"]] == [1, 2, 3]
