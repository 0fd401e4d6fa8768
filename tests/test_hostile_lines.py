"""Hostile lines: runaway lengths, blank and empty input, strict timestamps and integers,
repeated keys, JSON numbers, huge objects (docs/reliability.md, "Long lines", "Lines",
"Strict values"; docs/votes.md, "The contract")."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hostile
import pytest
from hostile import tried

from conftest import query, sluice, vote

INVALID_JSON = ["invalid JSON"]
DATE = "CreationDate is not a timestamp (YYYY-MM-DDTHH:MM:SS.fff)"
MAX_LINE = 2_097_152
TOO_LONG = [f"line longer than {MAX_LINE} bytes"]
RAW_LIMIT = 65_536
MB = 1 << 20


def vb(id: object, **kwargs: Any) -> bytes:
    return vote(id, **kwargs).encode()


def ingest(work: Path, content: bytes, name: str = "votes.jsonl") -> tuple[Path, Path]:
    """Write the file, ingest it (exit 0), check the promises; returns (file, warehouse)."""
    path = work / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    sluice("votes", "ingest", str(path), cwd=work)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    return path, db


def ledger_row(db: Path) -> tuple[object, ...]:
    rows = query(db, "SELECT status, records_read, loaded, duplicates, rejected "
                     "FROM sluice.files")
    assert len(rows) == 1, rows
    return rows[0]


def quarantined(db: Path) -> dict[int, tuple[str, list[str]]]:
    rows = query(db, "SELECT line_number, raw, reasons FROM sluice.quarantine")
    found = {line: (raw, reasons) for line, raw, reasons in rows}
    assert len(found) == len(rows), rows
    return found


def loaded_ids(db: Path) -> list[int]:
    return [i for (i,) in query(db, "SELECT Id FROM blog_analysis.votes ORDER BY Id")]


def assert_outcomes(expected: Mapping[str, object], actual: Mapping[str, object]) -> None:
    """Compare per-case outcomes, listing every case that differs (not just the first)."""
    wrong = [f"{case}: expected {expected[case]!r}, got {actual.get(case)!r}"
             for case in expected if actual.get(case) != expected[case]]
    assert not wrong, "\n".join(wrong)


def rerun(work: Path, path: Path, db: Path) -> None:
    hostile.assert_rerun_changes_nothing("votes", "ingest", str(path), cwd=work, db=db,
                                         expect=0)


def assert_first_64_kib(raw: str, line: bytes) -> None:
    """The raw text of a runaway line: its first 64 KiB, optionally followed by a note of
    its full length, nothing more of the line."""
    assert raw[:RAW_LIMIT] == line[:RAW_LIMIT].decode()
    assert raw[RAW_LIMIT:] in ("", f" [truncated, {len(line)} bytes]"), raw[RAW_LIMIT:][:200]


# --- runaway lines -------------------------------------------------------------------------

LONG_SIZES = {3: "just over the limit", 33: "across the engine's 32 MB buffer",
              34: "across the engine's 32 MB buffer", 40: "", 100: ""}
LONG_CASES = [
    pytest.param(mb, id=tried(
        "lines", f"a {mb} MB line between two votes, then a broken line" +
        (f" ({why})" if why else ""),
        "read 4: the long line is a record, quarantined as longer than 2097152 bytes with its "
        "first 64 KiB; the broken line's number stays 4").case)
    for mb, why in LONG_SIZES.items()
]


@pytest.mark.parametrize("megabytes", LONG_CASES)
def test_a_runaway_line_is_one_quarantined_record(work: Path, megabytes: int) -> None:
    long_line = b'{"x":"' + b"a" * (megabytes * MB - 8) + b'"}'
    assert len(long_line) == megabytes * MB
    path, db = ingest(work, b"\n".join([vb(1), long_line, vb(3), b"{broken"]) + b"\n")
    assert ledger_row(db) == ("loaded", 4, 2, 0, 2)
    found = quarantined(db)
    assert set(found) == {2, 4}
    assert found[2][1] == TOO_LONG
    assert_first_64_kib(found[2][0], long_line)
    assert found[4] == ("{broken", INVALID_JSON)
    assert loaded_ids(db) == [1, 3]
    rerun(work, path, db)


LIMIT_CASE = tried("lines", "lines of exactly 2097152 bytes and of 2097153 bytes",
                   "the first is a vote like any other and loads; the second is quarantined "
                   "as too long")


def test_the_line_limit_is_exact(work: Path) -> None:
    def padded(id: int, size: int) -> bytes:
        base = vb(id, Pad="")
        return base.replace(b'"Pad":""', b'"Pad":"' + b"p" * (size - len(base)) + b'"')

    at, over = padded(5, MAX_LINE), padded(6, MAX_LINE + 1)
    assert (len(at), len(over)) == (MAX_LINE, MAX_LINE + 1)
    path, db = ingest(work, b"\n".join([at, over, vb(7)]) + b"\n")
    assert ledger_row(db) == ("loaded", 3, 2, 0, 1)
    found = quarantined(db)
    assert set(found) == {2} and found[2][1] == TOO_LONG
    assert_first_64_kib(found[2][0], over)
    assert loaded_ids(db) == [5, 7]
    rerun(work, path, db)


# --- blank, empty, unterminated ------------------------------------------------------------

BLANK_CASE = tried(
    "lines", "lines of only spaces, tabs and CRs (CRLF, lone CRs, several CRs), and an empty "
             "line, among votes; a form feed line and a no-break-space line",
    "blank lines are not records, neither counted nor quarantined; a form feed or NBSP line is "
    "a record, invalid JSON; spaces around a record are fine")


def test_whitespace_only_lines_are_blank(work: Path) -> None:
    lines = [vb(1), b"   ", b"\t\t", b" \t\r \t", b"\r", b"\r\r\r", b"", b"  " + vb(8) + b"\t ",
             b"\x0c", b"\xc2\xa0", b"{broken", vb(12)]
    path, db = ingest(work, b"\n".join(lines) + b"\n")
    assert ledger_row(db) == ("loaded", 6, 3, 0, 3)
    assert quarantined(db) == {9: ("\x0c", INVALID_JSON), 10: ("\xa0", INVALID_JSON),
                               11: ("{broken", INVALID_JSON)}
    assert loaded_ids(db) == [1, 8, 12]
    rerun(work, path, db)


NOT_OBJECT_CASE = tried(
    "lines", "a line that is only {}; lines that are [], null, a string, a number, true",
    "{} is rejected with all four missing fields; the others are not a JSON object")


def test_empty_object_and_other_json_values(work: Path) -> None:
    lines = [b"{}", b"[]", b"null", b'"vote"', b"5", b"true", vb(7)]
    path, db = ingest(work, b"\n".join(lines) + b"\n")
    assert ledger_row(db) == ("loaded", 7, 1, 0, 6)
    not_object = ["not a JSON object"]
    assert quarantined(db) == {
        1: ("{}", ["missing Id", "missing PostId", "missing VoteTypeId", "missing CreationDate"]),
        2: ("[]", not_object), 3: ("null", not_object), 4: ('"vote"', not_object),
        5: ("5", not_object), 6: ("true", not_object)}
    assert loaded_ids(db) == [7]
    rerun(work, path, db)


EMPTY_CASE = tried("lines", "an empty file", "loaded with 0 records; the run succeeds")


def test_an_empty_file(work: Path) -> None:
    path, db = ingest(work, b"")
    assert ledger_row(db) == ("loaded", 0, 0, 0, 0)
    assert query(db, "SELECT status, records_read FROM sluice.runs") == [("succeeded", 0)]
    rerun(work, path, db)


NO_NEWLINE_CASE = tried("lines", "a file whose last line (a broken one) has no final newline; "
                                 "a file ending in a blank line of a lone CR",
                        "the last line is a record with its exact raw text; the CR line is "
                        "blank")


def test_no_final_newline(work: Path) -> None:
    path, db = ingest(work, vb(1) + b"\n" + vb(2) + b"\n" + b'{"Id":"3"')
    assert ledger_row(db) == ("loaded", 3, 2, 0, 1)
    assert quarantined(db) == {3: ('{"Id":"3"', INVALID_JSON)}
    rerun(work, path, db)
    other = work / "other"
    other.mkdir()
    path, db = ingest(other, vb(4) + b"\n\r")
    assert ledger_row(db) == ("loaded", 1, 1, 0, 0)
    rerun(other, path, db)


MANY_BLANKS_CASE = tried("lines", "a file of 200,000 blank lines; the same with a broken line "
                                  "after 100,000 LF and 100,000 CRLF blank lines",
                         "no records; then one record, quarantined at line 200,001")


def test_two_hundred_thousand_blank_lines(work: Path) -> None:
    path, db = ingest(work, b"\n" * 200_000)
    assert ledger_row(db) == ("loaded", 0, 0, 0, 0)
    rerun(work, path, db)
    other = work / "other"
    other.mkdir()
    path, db = ingest(other, b"\n" * 100_000 + b"\r\n" * 100_000 + b"{broken")
    assert ledger_row(db) == ("rejected", 1, 0, 0, 1)
    assert quarantined(db) == {200_001: ("{broken", INVALID_JSON)}
    rerun(other, path, db)


# --- strict timestamps ---------------------------------------------------------------------

# (value, stored as strftime '%Y-%m-%d %H:%M:%S.%f', or None: rejected)
TIMESTAMPS: list[tuple[str, str | None, str]] = [
    ("2022-01-02T00:00:00", "2022-01-02 00:00:00.000000", "the plain form"),
    ("2022-01-02 00:00:00", "2022-01-02 00:00:00.000000", "a space instead of T"),
    ("2022-01-02T03:04:05.123456", "2022-01-02 03:04:05.123456", "six fraction digits"),
    ("2022-01-02 03:04:05.000001", "2022-01-02 03:04:05.000001", "one microsecond"),
    ("2022-01-02T03:04:05.1", "2022-01-02 03:04:05.100000", "one fraction digit"),
    ("2024-02-29T00:00:00", "2024-02-29 00:00:00.000000", "Feb 29 of a leap year"),
    ("2000-02-29T00:00:00", "2000-02-29 00:00:00.000000", "Feb 29 of 2000"),
    ("0000-01-02T00:00:00", "0000-01-02 00:00:00.000000", "year 0000 (1 BC, ISO 8601)"),
    ("2022-1-2T0:0:0", None, "fields not zero-padded"),
    (" 2022-01-02T00:00:00", None, "a leading space"),
    ("2022-01-02T00:00:00 ", None, "a trailing space"),
    ("2022-01-02T00:00:00.1234567", None, "seven fraction digits"),
    ("2022-01-02T00:00:00.", None, "a dot without digits"),
    ("2022-01-02T00:00:00+02:00", None, "a UTC offset"),
    ("2022-01-02T00:00:00Z", None, "a Z suffix"),
    ("2023-02-29T00:00:00", None, "Feb 29 of a common year"),
    ("1900-02-29T00:00:00", None, "Feb 29 of 1900"),
    ("2022-01-02t00:00:00", None, "a lowercase t"),
    ("2022-01-02  00:00:00", None, "two spaces"),
    ("2022-01-02T24:00:00", None, "hour 24"),
    ("2022-01-02T23:59:60", None, "a leap second"),
    ("2022-01-02", None, "a date alone"),
    ("2022-01-02T00:00", None, "no seconds"),
    ("22-01-02T00:00:00", None, "a two-digit year"),
    ("12022-01-02T00:00:00", None, "a five-digit year"),
]
TIMESTAMP_CASE = tried(
    "lines", "timestamps: " + "; ".join(why for _, _, why in TIMESTAMPS),
    "accepted: both separators, 1 to 6 fraction digits kept exactly, real days; "
    "rejected: anything not zero-padded, surrounding spaces, 7 digits, a bare dot, offsets, "
    "Z, days and times that do not exist")


def test_timestamps_are_strict(work: Path) -> None:
    lines = [vb(n, date=value) for n, (value, _, _) in enumerate(TIMESTAMPS, 1)]
    path, db = ingest(work, b"\n".join(lines) + b"\n")
    found = quarantined(db)
    stored = dict(query(db, "SELECT Id, strftime(CreationDate, '%Y-%m-%d %H:%M:%S.%f') "
                            "FROM blog_analysis.votes"))
    actual = {f"{why} {value!r}": found[n][1] if n in found else stored.get(n, "not loaded")
              for n, (value, _, why) in enumerate(TIMESTAMPS, 1)}
    assert_outcomes({f"{why} {value!r}": accepted or [DATE]
                     for value, accepted, why in TIMESTAMPS}, actual)
    assert all(raw == lines[n - 1].decode() for n, (raw, _) in found.items())
    accepted = sum(1 for _, stored_as, _ in TIMESTAMPS if stored_as)
    assert ledger_row(db) == ("loaded", len(lines), accepted, 0, len(lines) - accepted)
    rerun(work, path, db)


# --- repeated keys -------------------------------------------------------------------------

DUPLICATE_KEY_LINES: list[tuple[bytes, list[str] | None, str]] = [
    (b'{"Id":"1","Id":"2","PostId":"1","VoteTypeId":"2",'
     b'"CreationDate":"2022-01-03T00:00:00"}', ["duplicate field Id"], "two values of Id"),
    (b'{"Id":"3","Id":"3","PostId":"1","VoteTypeId":"2",'
     b'"CreationDate":"2022-01-03T00:00:00"}', ["duplicate field Id"], "the same Id twice"),
    (b'{"Id":"4","PostId":"1","PostId":"2","VoteTypeId":"2",'
     b'"CreationDate":"2022-01-03T00:00:00"}', ["duplicate field PostId"], "PostId twice"),
    (vb(5, UserId=7)[:-1] + b',"UserId":null}', ["duplicate field UserId"],
     "an optional field twice, once null"),
    (b'{"Id":"6","\\u0049d":"7","PostId":"1","VoteTypeId":"2",'
     b'"CreationDate":"2022-01-03T00:00:00"}', ["duplicate field Id"],
     "Id repeated with an escaped letter (\\u0049d)"),
    (vb(8)[:-1] + b',"x":"1","x":"2"}', None, "an unknown key twice"),
    (vb(9)[:-1] + b',"id":"10","ID":"11"}', None, "id and ID beside Id (other keys)"),
    (vb(12)[:-1] + b',"x":{"a":1,"a":2}}', None, "a repeated key inside an unknown object"),
]
DUPLICATE_CASE = tried(
    "lines", "repeated keys: " + "; ".join(why for _, _, why in DUPLICATE_KEY_LINES),
    "a repeated contract field is rejected with `duplicate field <name>`; repeated keys the "
    "contract does not use are ignored and the vote loads")


def test_repeated_keys(work: Path) -> None:
    lines = [line for line, _, _ in DUPLICATE_KEY_LINES]
    path, db = ingest(work, b"\n".join(lines) + b"\n")
    found = quarantined(db)
    ids = loaded_ids(db)
    loaded_id = {1: 1, 2: 3, 3: 4, 4: 5, 5: 6, 6: 8, 7: 9, 8: 12}  # the Id each line would load
    actual = {why: found[n][1] if n in found else "loads" if loaded_id[n] in ids
              else "not loaded" for n, (_, _, why) in enumerate(DUPLICATE_KEY_LINES, 1)}
    assert_outcomes({why: reasons or "loads" for _, reasons, why in DUPLICATE_KEY_LINES},
                    actual)
    assert all(raw == lines[n - 1].decode() for n, (raw, _) in found.items())
    assert ids == [8, 9, 12]
    assert ledger_row(db) == ("loaded", 8, 3, 0, 5)
    rerun(work, path, db)


# --- integers ------------------------------------------------------------------------------

def not_integer(field: str) -> list[str]:
    return [f"{field} is not an integer"]


def out_of_range(field: str, sql_type: str) -> list[str]:
    return [f"{field} is out of range for {sql_type}"]


# (line, the loaded row (Id, VoteTypeId, BountyAmount) or the reasons, what it is)
INTEGER_LINES: list[tuple[bytes, tuple[int, int, int | None] | list[str], str]] = [
    (vb("007"), (7, 2, None), "leading zeros"),
    (vb("+5"), (5, 2, None), "a plus sign"),
    (vb("-0"), (0, 2, None), "minus zero"),
    (vb("0" * 40 + "12"), (12, 2, None), "forty leading zeros"),
    (vb("9223372036854775807"), (9223372036854775807, 2, None), "2^63 - 1"),
    (vb("-9223372036854775808"), (-9223372036854775808, 2, None), "-2^63"),
    (vb("9223372036854775808"), out_of_range("Id", "BIGINT"), "2^63"),
    (vb("-9223372036854775809"), out_of_range("Id", "BIGINT"), "-2^63 - 1"),
    (vb("9" * 45), out_of_range("Id", "BIGINT"), "45 digits (past any 128-bit type)"),
    (vb(20, vote_type=32767), (20, 32767, None), "VoteTypeId 32767"),
    (vb(21, vote_type=32768), out_of_range("VoteTypeId", "SMALLINT"), "VoteTypeId 32768"),
    (vb(22, vote_type=-32769), out_of_range("VoteTypeId", "SMALLINT"), "VoteTypeId -32769"),
    (vb(23, BountyAmount=2147483648), out_of_range("BountyAmount", "INTEGER"),
     "BountyAmount 2^31"),
    (vb("+-5"), not_integer("Id"), "two signs"),
    (vb("5-"), not_integer("Id"), "a trailing sign"),
    (vb("-"), not_integer("Id"), "a sign alone"),
    (vb(""), not_integer("Id"), "an empty string"),
    (vb("1_000"), not_integer("Id"), "an underscore"),
    (vb("0x10"), not_integer("Id"), "hexadecimal"),
    (vb("\u0663"), not_integer("Id"), "an Arabic-Indic digit"),
    (vb("1 "), not_integer("Id"), "a trailing space"),
]
INTEGER_CASE = tried(
    "lines", "integers: " + "; ".join(why for _, _, why in INTEGER_LINES),
    "an optional sign and digits is an integer (leading zeros included); digits that do "
    "not fit the column are out of range, anything else is not an integer")


def test_integers_are_strict(work: Path) -> None:
    lines = [line for line, _, _ in INTEGER_LINES]
    path, db = ingest(work, b"\n".join(lines) + b"\n")
    found = quarantined(db)
    rows = query(db, "SELECT Id, VoteTypeId, BountyAmount FROM blog_analysis.votes")
    actual = {why: found[n][1] if n in found else outcome if outcome in rows
              else f"not loaded; the warehouse holds {rows}"
              for n, (_, outcome, why) in enumerate(INTEGER_LINES, 1)}
    assert_outcomes({why: outcome for _, outcome, why in INTEGER_LINES}, actual)
    assert all(raw == lines[n - 1].decode() for n, (raw, _) in found.items())
    assert sorted(rows) == sorted(
        outcome for _, outcome, _ in INTEGER_LINES if isinstance(outcome, tuple))
    rerun(work, path, db)


# --- JSON values that are not strings ------------------------------------------------------

BASE = b'"PostId":"1","VoteTypeId":"2","CreationDate":"2022-01-03T00:00:00"'
NUMBER_LINES: list[tuple[bytes, tuple[int, int] | list[str], str]] = [
    (b'{"Id":5,' + BASE + b"}", (5, 1), "Id as the JSON number 5"),
    (b'{"Id":-6,' + BASE + b"}", (-6, 1), "a negative JSON number"),
    (b'{"Id":"7","PostId":8,"VoteTypeId":2,"CreationDate":"2022-01-03T00:00:00"}', (7, 8),
     "PostId and VoteTypeId as numbers"),
    (b'{"Id":5.0,' + BASE + b"}", not_integer("Id"), "5.0"),
    (b'{"Id":1e3,' + BASE + b"}", not_integer("Id"), "1e3"),
    (b'{"Id":true,' + BASE + b"}", not_integer("Id"), "true"),
    (b'{"Id":[9],' + BASE + b"}", not_integer("Id"), "a list"),
    (b'{"Id":{"v":9},' + BASE + b"}", not_integer("Id"), "an object"),
    (b'{"Id":null,' + BASE + b"}", ["missing Id"], "null"),
    (b'{"Id":"10","UserId":null,' + BASE + b"}", (10, 1), "an optional field null"),
    (b'{"Id":"11","PostId":"1","VoteTypeId":"2","CreationDate":20220103}', [DATE],
     "CreationDate as a number"),
]
NUMBER_CASE = tried(
    "lines", "JSON values that are not strings: " + "; ".join(w for _, _, w in NUMBER_LINES),
    "an integer JSON number is read by its digits and loads (the contract checks the value's "
    "text); fractions, exponents, booleans, lists and objects are not integers; null is "
    "missing for a required field, NULL for an optional one")


def test_json_numbers_instead_of_strings(work: Path) -> None:
    lines = [line for line, _, _ in NUMBER_LINES]
    path, db = ingest(work, b"\n".join(lines) + b"\n")
    found = quarantined(db)
    rows = query(db, "SELECT Id, PostId FROM blog_analysis.votes")
    actual = {why: found[n][1] if n in found else outcome if outcome in rows
              else f"not loaded; the warehouse holds {rows}"
              for n, (_, outcome, why) in enumerate(NUMBER_LINES, 1)}
    assert_outcomes({why: outcome for _, outcome, why in NUMBER_LINES}, actual)
    assert all(raw == lines[n - 1].decode() for n, (raw, _) in found.items())
    assert sorted(rows) == sorted(
        outcome for _, outcome, _ in NUMBER_LINES if isinstance(outcome, tuple))
    rerun(work, path, db)


# --- a huge object -------------------------------------------------------------------------

FIELDS_CASE = tried("lines", "an object of 100,000 unknown fields with the vote's fields last "
                             "(1.5 MB, under the line limit)",
                    "the vote loads with its own values")


def test_a_huge_number_of_fields(work: Path) -> None:
    extra = b",".join(b'"f%d":"%d"' % (n, n) for n in range(100_000))
    line = b"{" + extra + b"," + vb(77, post=78)[1:]
    assert len(line) < MAX_LINE
    path, db = ingest(work, line + b"\n" + vb(79) + b"\n")
    assert ledger_row(db) == ("loaded", 2, 2, 0, 0)
    assert query(db, "SELECT Id, PostId FROM blog_analysis.votes ORDER BY Id") == [
        (77, 78), (79, 1)]
    rerun(work, path, db)
