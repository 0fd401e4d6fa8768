"""Hostile bytes inside vote lines: NUL, bad UTF-8, byte-order marks, lone CRs, CRLF,
raw control characters, escaped NULs (docs/reliability.md, "Lines").

Each case is one file built byte by byte; the test checks the ledger row, every
quarantine row (line number, exact raw text, reasons) and the ids in the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hostile
import pytest
from hostile import Tried, tried

from conftest import query, sluice, vote

INVALID_JSON = ["invalid JSON"]
INVALID_UTF8 = ["invalid UTF-8"]
DATE = "CreationDate is not a timestamp (YYYY-MM-DDTHH:MM:SS.fff)"
BOM = b"\xef\xbb\xbf"


def vb(id: object, **extra: Any) -> bytes:
    """A valid vote line as bytes."""
    return vote(id, **extra).encode()


def joined(*lines: bytes, end: bytes = b"\n", final: bool = True) -> bytes:
    return end.join(lines) + (end if final else b"")


def shown(raw: bytes) -> str:
    """The raw text sluice keeps for a line: its text, bytes that are not UTF-8 as \\xNN."""
    return raw.decode("utf-8", errors="backslashreplace")


@dataclass(frozen=True)
class Case:
    tried: Tried
    content: bytes                               # the whole file
    loaded: tuple[int, ...]                      # ids in the warehouse afterwards
    rejected: dict[int, tuple[str, list[str]]]   # line number: (raw text, reasons)

    @property
    def id(self) -> str:
        return self.tried.case


def check(work: Path, case: Case, name: str = "votes.jsonl") -> None:
    path = work / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(case.content)
    sluice("votes", "ingest", str(path), cwd=work)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    read = len(case.loaded) + len(case.rejected)
    assert query(db, "SELECT status, records_read, loaded, duplicates, rejected "
                     "FROM sluice.files") == [("loaded", read, len(case.loaded), 0,
                                               len(case.rejected))]
    rows = query(db, "SELECT line_number, raw, reasons FROM sluice.quarantine "
                     "ORDER BY line_number")
    assert {line: (raw, reasons) for line, raw, reasons in rows} == case.rejected
    assert len(rows) == len(case.rejected), rows
    ids = query(db, "SELECT Id FROM blog_analysis.votes ORDER BY Id")
    assert [i for (i,) in ids] == sorted(case.loaded)
    hostile.assert_rerun_changes_nothing("votes", "ingest", str(path), cwd=work, db=db,
                                         expect=0)


# --- NUL bytes ------------------------------------------------------------------------------

NUL_INSIDE = (b'{"Id":"11\x00","PostId":"1","VoteTypeId":"2",'
              b'"CreationDate":"2022-01-03T00:00:00.000"}')
NUL_AFTER = [vb(21) + b"\x00junk", vb(22) + b"\x00", b"\x00", b"\x00" + vb(24)]

# --- bytes that are not UTF-8 --------------------------------------------------------------

NOT_UTF8 = [
    vb(31, Note="caf_").replace(b"_", b"\xe9"),          # in a value
    vb(32).replace(b'"PostId"', b'"\xffPostId"'),        # in a key
    b"\xfe" + vb(33),                                    # first byte of the line
    vb(34) + b"\xff",                                    # after the closing brace
    vb(35).replace(b'"35"', b'"35\x80"'),               # a lone continuation byte
]
CUT_AT_END = vb(37) + b" \xe2\x82"                       # a sequence cut by the end of file
OVERLONG = [
    vb(41, Note="_").replace(b"_", b"\xc0\xaf"),          # '/' in two bytes
    vb(42, Note="_").replace(b"_", b"\xc1\xbf"),
    vb(43, Note="_").replace(b"_", b"\xe0\x80\xaf"),      # '/' in three bytes
    vb(44, Note="_").replace(b"_", b"\xf0\x80\x80\xaf"),  # '/' in four bytes
    vb(45, Note="_").replace(b"_", b"\xc0\x80"),          # NUL as Java's modified UTF-8
    vb(46, Note="_").replace(b"_", b"\xc0\xa2"),          # a quote: a lenient decoder
]                                                         # would end the string here
SURROGATES = [
    vb(51, Note="_").replace(b"_", b"\xed\xa0\x80"),                  # lone high surrogate
    vb(52, Note="_").replace(b"_", b"\xed\xbf\xbf"),                  # lone low surrogate
    vb(53, Note="_").replace(b"_", b"\xed\xa0\xbd\xed\xb8\x80"),      # CESU-8 pair (U+1F600)
    vb(54, Note="_").replace(b"_", b"\xf4\x90\x80\x80"),              # beyond U+10FFFF
]

# --- carriage returns ----------------------------------------------------------------------

CR_JOINED = vb(61) + b"\r" + vb(62)
CR_BETWEEN_TOKENS = (b'{"Id":"65",\r"PostId":"1",\r"VoteTypeId":"2",'
                     b'"CreationDate":"2022-01-03T00:00:00.000"}')
CR_IN_STRING = vb(67, Note="a_b").replace(b"_", b"\r")
CR_AND_NOT_UTF8 = [vb(70) + b"\r" + vb(71), b'{"Id":"72","Note":"\xff"}', vb(73),
                   b'{"Id":"74",\r"Note":"\xfe"}', vb(75)]
MIXED = [  # (line, its end); a reject after each kind of end
    (vb(100), b"\n"), (vb(101), b"\r\n"), (vb(102), b"\n"), (b"{broken 4", b"\r\n"),
    (b"", b"\r\n"), (vb(106), b"\n"), (b"{broken 7", b"\n"), (vb(108), b"\r\n"),
    (vb(109), b"\r\n"), (b'{"Id":"\xff"}', b"\r\n"), (vb(111), b"\n"), (b"{broken 12", b"\n"),
]

# --- control characters and escaped NULs ---------------------------------------------------

CONTROL = [
    vb(80),
    vb(81, Note="a_b").replace(b"_", b"\t"),                  # raw tab inside a string
    vb(82).replace(b'"82"', b'"8\x012"'),                     # raw 0x01 inside a value
    vb(83, Note="_").replace(b"_", b"\x1f"),                  # raw 0x1f in an unknown field
    vb(84, Note="_").replace(b"_", b"\x7f"),                  # DEL is allowed raw in JSON
    vb(85).replace(b',"PostId"', b',\t"PostId"'),             # tab between tokens: fine
    vb(86).replace(b',"PostId"', b',\x0c"PostId"'),           # form feed is not whitespace
    vb(87).replace(b',"PostId"', b',\x0b"PostId"'),           # nor vertical tab
    vb(88),
]
ESCAPED_NUL = [
    vb("90\x00"),                                             # "Id":"90\u0000"
    vb(91, Note="a\x00b"),                                    # in a field nobody reads
    vb(92, date="2022-01-03T00:00:00\x00"),
    vb(93, post="\x00"),
    vb(94),
]

# The two characters backslash and zero, written as text: once the line reader's
# delimiter (the engine reads delim='\0' as those two characters, not as NUL), which
# cut the line there. A CRLF file goes the line reader's way.
BACKSLASH_ZERO = [
    vb(121, Note="C:\\0dir"),                                    # "C:\\0dir": valid JSON
    vb(122) + b"\\0x",                                           # after the object
    b"\\0",                                                       # alone
    vb(124, date="\\0"),                                         # a value that is no date
]

CASES = [
    Case(tried("bytes", "a NUL byte inside a vote line",
               "quarantined as invalid JSON; the raw text is the whole line, NUL and all"),
         joined(vb(10), NUL_INSIDE, vb(12)), (10, 12),
         {2: (NUL_INSIDE.decode(), INVALID_JSON)}),
    Case(tried("bytes", "a NUL byte inside a line of a file that also has a lone CR (so that "
                        "sluice splits its lines itself)",
               "the same: invalid JSON, the whole line kept, NUL and all"),
         joined(vb(13) + b"\r" + vb(14), NUL_INSIDE, vb(15) + b"\x00", vb(16)), (16,),
         {1: (vote(13) + "\r" + vote(14), INVALID_JSON), 2: (NUL_INSIDE.decode(), INVALID_JSON),
          3: (vote(15) + "\x00", INVALID_JSON)}),
    Case(tried("bytes", "a NUL byte after a complete object, at a line's end, alone, first",
               "each line quarantined as invalid JSON with its whole text; nothing of it loads"),
         joined(vb(20), *NUL_AFTER, vb(25)), (20, 25),
         {n: (line.decode(), INVALID_JSON) for n, line in enumerate(NUL_AFTER, 2)}),
    Case(tried("bytes", "bytes that are not UTF-8 in a value, a key, first, last, a lone "
                        "continuation byte, a sequence cut by the end of the file",
               "each line quarantined as invalid UTF-8, bad bytes kept as \\xNN; line "
               "numbers exact"),
         joined(vb(30), *NOT_UTF8, vb(36), CUT_AT_END, final=False), (30, 36),
         {**{n: (shown(line), INVALID_UTF8) for n, line in enumerate(NOT_UTF8, 2)},
          8: (shown(CUT_AT_END), INVALID_UTF8)}),
    Case(tried("bytes", "overlong UTF-8 encodings (of '/', NUL and a quote)",
               "quarantined as invalid UTF-8; never decoded to the character they imitate"),
         joined(vb(40), *OVERLONG, vb(47)), (40, 47),
         {n: (shown(line), INVALID_UTF8) for n, line in enumerate(OVERLONG, 2)}),
    Case(tried("bytes", "UTF-16 surrogates encoded as UTF-8 (CESU-8), code points past "
                        "U+10FFFF",
               "quarantined as invalid UTF-8"),
         joined(vb(50), *SURROGATES, vb(55)), (50, 55),
         {n: (shown(line), INVALID_UTF8) for n, line in enumerate(SURROGATES, 2)}),
    Case(tried("bytes", "a UTF-8 byte-order mark at the start of the file",
               "ignored: the first record loads"),
         BOM + joined(vb(56), vb(57)), (56, 57), {}),
    Case(tried("bytes", "a byte-order mark at the start of a file whose first line is broken",
               "the line is quarantined as invalid JSON without the mark in its raw text"),
         BOM + joined(b"{broken", vb(58)), (58,), {1: ("{broken", INVALID_JSON)}),
    Case(tried("bytes", "a byte-order mark at the start of a later line",
               "that line is invalid JSON, raw text with the mark; the others load"),
         joined(vb(59), BOM + vb(60), vb(63)), (59, 63),
         {2: ("\ufeff" + vote(60), INVALID_JSON)}),
    Case(tried("bytes", "two records joined by a lone CR on one line",
               "one invalid JSON line whose raw text holds both; neither loads, the lines "
               "after it load once"),
         joined(vb(64), CR_JOINED, vb(66)), (64, 66),
         {2: (CR_JOINED.decode(), INVALID_JSON)}),
    Case(tried("bytes", "a lone CR between the tokens of a record",
               "JSON whitespace: the record loads"),
         joined(vb(68), CR_BETWEEN_TOKENS, vb(69)), (65, 68, 69), {}),
    Case(tried("bytes", "a raw CR inside a string value",
               "invalid JSON (JSON forbids it raw in a string), raw text keeps the CR"),
         joined(vb(76), CR_IN_STRING, vb(77)), (76, 77),
         {2: (CR_IN_STRING.decode(), INVALID_JSON)}),
    Case(tried("bytes", "lone CRs in a file with lines that are not UTF-8, one with a CR "
                        "inside",
               "a non-UTF-8 line's raw text is exactly that line, never the lines after it"),
         joined(*CR_AND_NOT_UTF8), (73, 75),
         {1: (shown(CR_AND_NOT_UTF8[0]), INVALID_JSON),
          2: (shown(CR_AND_NOT_UTF8[1]), INVALID_UTF8),
          4: (shown(CR_AND_NOT_UTF8[3]), INVALID_UTF8)}),
    Case(tried("bytes", "a file ending in a lone CR instead of a line end",
               "trailing JSON whitespace: the last record loads"),
         vb(78) + b"\n" + vb(79) + b"\r", (78, 79), {}),
    Case(tried("bytes", "a CRLF file with a broken line, a non-UTF-8 line and a blank line",
               "CRLF reads as LF: raw texts carry no CR, line numbers exact, the blank line "
               "is not a record"),
         joined(vb(95), b"{broken", b'{"Id":"\xff"}', b"", vb(99), end=b"\r\n"), (95, 99),
         {2: ("{broken", INVALID_JSON), 3: ('{"Id":"\\xff"}', INVALID_UTF8)}),
    Case(tried("bytes", "a file mixing LF and CRLF line ends",
               "line numbers of rejects after either kind of end are exact"),
         b"".join(line + end for line, end in MIXED), (100, 101, 102, 106, 108, 109, 111),
         {4: ("{broken 4", INVALID_JSON), 7: ("{broken 7", INVALID_JSON),
          10: ('{"Id":"\\xff"}', INVALID_UTF8), 12: ("{broken 12", INVALID_JSON)}),
    Case(tried("bytes", "raw control characters: tab, 0x01, 0x1f inside strings; form feed "
                        "and vertical tab between tokens; DEL and tab where JSON allows them",
               "invalid JSON where JSON forbids them; DEL in a string and a tab between "
               "tokens load"),
         joined(*CONTROL), (80, 84, 85, 88),
         {n: (CONTROL[n - 1].decode(), INVALID_JSON) for n in (2, 3, 4, 7, 8)}),
    Case(tried("bytes", "an escaped NUL (\\u0000) in Id, PostId, CreationDate and an unknown "
                        "field",
               "valid JSON: the integer and timestamp rules reject it in their fields; in an "
               "unknown field it is ignored and the vote loads"),
         joined(*ESCAPED_NUL), (91, 94),
         {1: (ESCAPED_NUL[0].decode(), ["Id is not an integer"]),
          3: (ESCAPED_NUL[2].decode(), [DATE]),
          4: (ESCAPED_NUL[3].decode(), ["PostId is not an integer"])}),
    Case(tried("bytes", "the characters \\0 (backslash, zero) as text in a value, after an "
                        "object, alone, in a date; in a CRLF file (read by the line reader)",
               "read whole, as any text: the vote with them in a note loads, the others are "
               "quarantined with their whole line and their real reason"),
         joined(vb(120), *BACKSLASH_ZERO, vb(125), end=b"\r\n"), (120, 121, 125),
         {3: (BACKSLASH_ZERO[1].decode(), INVALID_JSON), 4: ("\\0", INVALID_JSON),
          5: (BACKSLASH_ZERO[3].decode(), [DATE])}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_bytes(work: Path, case: Case) -> None:
    check(work, case)


GZ_CASE = tried("bytes", "NUL bytes, bad UTF-8 and lone CRs inside a .jsonl.gz",
                "the same outcomes as in a plain file: exact raw texts and line numbers")


def test_hostile_bytes_inside_gzip(work: Path) -> None:
    import gzip

    lines = [vb(1), NUL_INSIDE, CR_JOINED, b'{"Id":"\xff",\r"x":1}', vb(5)]
    case = Case(GZ_CASE, gzip.compress(joined(*lines), mtime=0), (1, 5), {
        2: (NUL_INSIDE.decode(), INVALID_JSON), 3: (CR_JOINED.decode(), INVALID_JSON),
        4: (shown(lines[3]), INVALID_UTF8)})
    check(work, case, name="votes.jsonl.gz")
