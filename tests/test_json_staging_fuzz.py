"""Random vote files give the same warehouse by the JSON reader's path as by the line reader's.

A seeded generator writes a small JSON Lines file (1 to 40 lines) of votes, most of them
good in the forms the JSON reader's rows can be proven against (keys in any order,
quoted or bare numbers, optional fields), some made odd: repeated, extra or case-changed
keys, nulls, whitespace, escapes, numbers and timestamps in odd forms, other JSON values,
truncated lines, bytes flipped or inserted (CR, NUL, 0xFF, a byte order mark, quotes,
backslashes, braces), repeated lines and conflicting ones. Each file is ingested as it is
and with an empty line added at its end, which sends it the line reader's way (as in
test_json_staging.py); both warehouses must hold the same rows, quarantine and ledger
counts. The same generator drove a longer fuzzing run; the cases below the seeds are the
differences it found, minimised.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from test_json_staging import recorded_proofs, state

from conftest import sluice

SEEDS = range(60)
# Of the seeds, at least this share must take the JSON reader's path (40% in the fuzzing
# run; 30 of these 60 do), or the test would only compare the line reader with itself.
MIN_JSON_SHARE = 0.25

# --- the generator ---------------------------------------------------------------------------

DATE = "2022-01-03T00:00:00.000"
GOOD_DATES = [DATE, "2022-01-03 00:00:00", "2022-01-03T00:00:00.123456", "2021-12-31T23:59:59",
              "2022-01-03T00:00:00.1", "1999-07-04T12:30:45.999"]
ODD_DATES = ["2022-01-03T00:00:00Z", "2022-1-3T0:0:0.000", "2022-02-30T00:00:00.000",
             " 999-01-03T00:00:00.000", "2022-01-03T00:00:00.12 ", "0999-01-03T00:00:00.000",
             "2022-01-03T00:00:00.1234567", "2022-01-03", "", "2022-01-03T24:00:00.000",
             "2022-01-03T00:00:00+02:00", "+2022-01-03T00:00:00.000", "9999-12-31T23:59:59.999",
             "0000-01-01T00:00:00.000", "2022-01-03t00:00:00.000", "2022-01-03T00:00:60.000"]
ODD_QUOTED_NUMBERS = ["+4", "004", "-0", "0", "-7", " 5", "5 ", "4.0", "1e3", "0x5", "5_0", "abc",
                      "99999999999999999999", "9223372036854775807", "-9223372036854775808",
                      "9223372036854775808", "", "+-4", "--4", "4-", "+"]
# Unquoted (raw JSON) forms, valid JSON or not.
ODD_RAW_NUMBERS = ["-0", "4.0", "1e3", "1E3", "4e0", "+4", "004", "0", "-7", "99999999999999999999",
                   "18446744073709551615", "9223372036854775807", "-9223372036854775809",
                   "1.5", "NaN", "Infinity", "-Infinity", "true", "false", "null", "[4]", '{"v":4}',
                   "1e400", "0.0", "-0.0", "32767", "32768", "-32768", "2147483648"]
EXTRA_VALUES = ['"x"', '"café"', '"日本語"', '"\\u00e9\\n"', "123", "null", "true", "[1,2]",
                '{"a":{"b":[]}}', '"emoji 😀"', '"\\ud83d\\ude00"', '"' + "y" * 300 + '"']
INSERT_BYTES = [b"\r", b"\0", b"\xff", b"\xef\xbb\xbf", b'"', b"\\", b"{", b"}", b" ", b"\t",
                b",", b":", b"\x0b", b"\x0c", b"\xc3", b"\xe2\x80\xa8", b"\x1e", b"[", b"]"]
FIELDS = ["Id", "PostId", "VoteTypeId", "CreationDate", "UserId", "BountyAmount"]


def _value(rng: random.Random, text: str, numeric: bool) -> str:
    """The JSON for a field's text: quoted, or for a number sometimes bare."""
    if numeric and rng.random() < 0.3 and text.lstrip("-").isdigit():
        return text
    return json.dumps(text)


def _record(rng: random.Random, ids: list[int]) -> list[tuple[str, str]]:
    """One good vote as (key JSON, value JSON) pairs, keys in file order."""
    key = rng.choice(ids)
    pairs = [("Id", _value(rng, str(key), True)),
             ("PostId", _value(rng, str(rng.randint(1, 30)), True)),
             ("VoteTypeId", _value(rng, str(rng.randint(1, 16)), True)),
             ("CreationDate", json.dumps(DATE if rng.random() < 0.8 else rng.choice(GOOD_DATES)))]
    if rng.random() < 0.3:
        pairs.append(("UserId", _value(rng, str(rng.randint(-1, 500)), True)))
    if rng.random() < 0.15:
        pairs.append(("BountyAmount", _value(rng, str(rng.choice([0, 50, 100, 500])), True)))
    if rng.random() < 0.25:
        rng.shuffle(pairs)
    return [(json.dumps(k), v) for k, v in pairs]


def _render(pairs: list[tuple[str, str]], rng: random.Random | None = None,
            spaced: bool = False, trailing_comma: bool = False) -> bytes:
    def ws() -> str:
        if rng is None or not spaced or rng.random() < 0.6:
            return ""
        return rng.choice([" ", "  ", "\t", " \t"])
    body = ",".join(f"{ws()}{k}{ws()}:{ws()}{v}{ws()}" for k, v in pairs)
    return ("{" + body + ("," if trailing_comma else "") + "}").encode()


def _mutate_pairs(rng: random.Random, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    pairs = list(pairs)
    kind = rng.randrange(12)
    index = rng.randrange(len(pairs))
    key, value = pairs[index]
    if kind == 0:  # repeated key, same or other value
        other = value if rng.random() < 0.5 else json.dumps(str(rng.randint(1, 9)))
        pairs.insert(rng.randrange(len(pairs) + 1), (key, other))
    elif kind == 1:  # an extra key
        name = rng.choice(["Other", "Note", "id", "ID", "postid", "Id ", " Id", "\u0399d", "Text", "x" * 50])
        pairs.insert(rng.randrange(len(pairs) + 1), (json.dumps(name, ensure_ascii=rng.random() < 0.5),
                                                     rng.choice(EXTRA_VALUES)))
    elif kind == 2:  # a null (or a dropped field)
        if rng.random() < 0.5:
            pairs[index] = (key, "null")
        else:
            del pairs[index]
    elif kind == 3:  # an escape in a value
        text = json.loads(value) if value.startswith('"') else value
        if isinstance(text, str) and text:
            at = rng.randrange(len(text))
            escaped = rng.choice([f"\\u{ord(text[at]):04x}", f"\\u{ord(text[at]):04X}"])
            pairs[index] = (key, '"' + json.dumps(text[:at])[1:-1] + escaped
                            + json.dumps(text[at + 1:])[1:-1] + '"')
        else:
            pairs[index] = (key, '"\\/' + value + '"')
    elif kind == 4:  # an escape in a key
        name = json.loads(key)
        pairs[index] = ('"\\u' + f"{ord(name[0]):04x}" + json.dumps(name[1:])[1:], value)
    elif kind == 5:  # an odd quoted number
        pairs[index] = (key, json.dumps(rng.choice(ODD_QUOTED_NUMBERS)))
    elif kind == 6:  # an odd bare number or other JSON value
        pairs[index] = (key, rng.choice(ODD_RAW_NUMBERS))
    elif kind == 7:  # an odd timestamp
        pairs = [(k, json.dumps(rng.choice(ODD_DATES + GOOD_DATES)) if k == '"CreationDate"' else v)
                 for k, v in pairs]
    elif kind == 8:  # a key written in another case
        name = json.loads(key)
        pairs[index] = (json.dumps(rng.choice([name.lower(), name.upper(), name.swapcase()])), value)
    elif kind == 9:  # a very long value
        pairs[index] = (key, json.dumps("1" * rng.choice([30, 300, 5000])))
    elif kind == 10:  # quotes and backslashes in values
        pairs[index] = (key, rng.choice(['"4\\""', '"\\"4"', '"\\\\4"', '"4\\/"', '"\\t4"']))
    else:  # an extra key holding non-ASCII text
        pairs.append((json.dumps("Note", ensure_ascii=False),
                      json.dumps(rng.choice(["naïve", "Ελληνικά", "中文", "ⅷ", "\u2028", "\ufeff"]),
                                 ensure_ascii=rng.random() < 0.5)))
    return pairs


def _mutate_bytes(rng: random.Random, line: bytes) -> bytes:
    kind = rng.randrange(5)
    at = rng.randrange(len(line) + 1)
    if kind == 0 and line:  # truncated
        return line[:rng.randrange(len(line))]
    if kind == 1:  # a byte inserted
        return line[:at] + rng.choice(INSERT_BYTES) + line[at:]
    if kind == 2 and line:  # a byte flipped
        at = min(at, len(line) - 1)
        return line[:at] + bytes([line[at] ^ (1 << rng.randrange(8))]) + line[at + 1:]
    if kind == 3:  # whitespace around
        return rng.choice([b" ", b"\t", b"", b"  "]) + line + rng.choice([b" ", b"\t", b"", b"\r"])
    return line[:at] + line[at + 1:]  # a byte dropped


OTHER_JSON = [b"[1, 2]", b'"a string"', b"7", b"null", b"{}", b"true", b"[]", b'[{"Id":"1"}]',
              b"not json", b'{"Id":"4",}', b"{", b"}", b'{"a":1}{"b":2}', b"-", b"1e5"]


def generate(seed: int) -> bytes:
    """A small JSON Lines file of votes, most of its lines good, some made odd."""
    rng = random.Random(seed)
    count = rng.randint(1, 40)
    ids = list(range(1, rng.choice([3, 8, 20, 60]) + 1))
    mildness = rng.random()  # how much is changed: most files lightly
    p_pairs = 0.02 + 0.25 * mildness ** 3
    p_bytes = 0.01 + 0.15 * mildness ** 4
    lines: list[bytes] = []
    previous: list[tuple[str, str]] | None = None
    for _ in range(count):
        roll = rng.random()
        if previous is not None and roll < 0.08:  # a duplicate line
            lines.append(lines[-1] if rng.random() < 0.5 else rng.choice(lines))
            continue
        if previous is not None and roll < 0.14:  # the same Id with other content
            pairs = list(previous)
            i = next((i for i, (k, _) in enumerate(pairs) if k == '"PostId"'), 0)
            pairs[i] = ('"PostId"', json.dumps(str(rng.randint(31, 60))))
            pairs = [p for p in pairs if p[0] != '"Id"'] + [p for p in pairs if p[0] == '"Id"']
        elif roll < 0.14 + 0.02 * mildness:
            lines.append(rng.choice(OTHER_JSON))
            continue
        else:
            pairs = _record(rng, ids)
        previous = pairs
        while rng.random() < p_pairs:
            pairs = _mutate_pairs(rng, pairs)
        spaced = rng.random() < p_pairs / 2
        line = _render(pairs, rng, spaced, trailing_comma=rng.random() < p_pairs / 4)
        while rng.random() < p_bytes:
            line = _mutate_bytes(rng, line)
        lines.append(line)
    if rng.random() < 0.03 * mildness:  # a blank or whitespace line inside
        lines.insert(rng.randrange(len(lines) + 1), rng.choice([b"", b" ", b"\t", b"\x0c"]))
    data = b"\n".join(lines)
    ending = rng.random()
    if ending < 0.8:
        data += b"\n"
    elif ending < 0.82 * mildness:
        data += b"\r\n"
    if rng.random() < 0.02 * mildness:
        data = b"\xef\xbb\xbf" + data
    return data


# --- running it ------------------------------------------------------------------------------

GOOD = '{"Id":"1","PostId":"7","VoteTypeId":"2","CreationDate":"2022-01-03T00:00:00.000"}'


def with_empty_line(data: bytes) -> bytes:
    """The file with an empty line at its end (a last line without LF is ended first)."""
    return data + (b"\n" if data.endswith(b"\n") or not data else b"\n\n")


def ingest_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes,
                     large: bool = False) -> tuple[dict[str, Any], dict[str, Any], list[bool], list[bool]]:
    """The state after ingesting the file as it is and with an empty line added, and what
    `json_staging.prove` found for each (it runs as it would). `large`: as for large
    files (lines indexed with numpy, keys fetched a few rows at a time)."""
    found = recorded_proofs(monkeypatch, large)
    states, proofs = [], []
    for name, content in (("as_is", data), ("with_empty_line", with_empty_line(data))):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "votes.jsonl").write_bytes(content)
        found.clear()
        sluice("votes", "ingest", str(folder / "votes.jsonl"), cwd=folder)
        states.append(state(folder / "warehouse.db"))
        proofs.append(list(found))
    return states[0], states[1], proofs[0], proofs[1]


# Which seeds took the JSON reader's path, as the seeds' test found (seed -> bool).
JSON_PATH: dict[int, bool] = {}


@pytest.mark.parametrize("seed", SEEDS)
def test_a_random_file_gives_the_same_warehouse_either_way(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    data = generate(seed)
    fast, slow, fast_proofs, slow_proofs = ingest_both_ways(
        tmp_path, monkeypatch, data, large=seed % 2 == 1)
    JSON_PATH[seed] = fast_proofs == [True]
    assert slow_proofs in ([False], []), (seed, data)
    assert fast == slow, (seed, data, fast_proofs)


def test_many_seeds_take_the_json_readers_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above means something only if the JSON reader's rows were kept for
    a good share of the files. Seeds whose test did not run in this session (a -k
    selection) are ingested here."""
    for seed in SEEDS:
        if seed not in JSON_PATH:
            _, _, fast_proofs, _ = ingest_both_ways(tmp_path / str(seed), monkeypatch,
                                                    generate(seed))
            JSON_PATH[seed] = fast_proofs == [True]
    taken = sum(JSON_PATH[seed] for seed in SEEDS)
    assert taken >= MIN_JSON_SHARE * len(SEEDS), (taken, len(SEEDS))


# The line reader's scanner was given delim='\0', which the engine reads as the two
# characters backslash and zero, not as NUL: a line was cut where they stood and the rest
# dropped (staging.lines_source, fixed). The JSON reader's path read such a line whole.
@pytest.mark.parametrize("data", [
    # Found by seed 146, minimised: by the line reader the line was blank, read by no one.
    pytest.param(b"\\0", id="only backslash-zero"),
    # The line reader loaded an object followed by garbage.
    pytest.param(GOOD.encode() + b"\\0x\n", id="object then backslash-zero"),
    # The line reader quarantined a cut line as invalid JSON, not the real reason.
    pytest.param(GOOD.replace("2022-01-03T00:00:00.000", "\\\\0").encode() + b"\n",
                 id="backslash-zero in a value"),
])
def test_found_by_fuzzing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    fast, slow, fast_proofs, slow_proofs = ingest_both_ways(tmp_path, monkeypatch, data)
    assert (fast_proofs, slow_proofs) == ([True], [False])
    assert fast == slow


def test_a_good_vote_with_backslash_zero_in_another_field_is_loaded(tmp_path: Path) -> None:
    """An extra field is no part of the contract: the vote is good whatever it holds."""
    line = GOOD[:-1] + ',"Note":"C:\\\\0"}'
    (tmp_path / "votes.jsonl").write_text(line + "\n")
    sluice("votes", "ingest", str(tmp_path / "votes.jsonl"), cwd=tmp_path)
    found = state(tmp_path / "warehouse.db")
    assert found["quarantine"] == []
    assert [row[0] for row in found["votes"]] == [1]


@pytest.mark.parametrize("data", [
    # Whitespace the JSON reader allows after or before an object and JSON does not:
    # the reader's row is good, the line broken; the line's extra byte keeps the proof off.
    (GOOD + "\x0b\n").encode(),
    (GOOD + "\x0c\n").encode(),
    ("\x0c" + GOOD + "\n").encode(),
], ids=repr)
def test_a_line_only_the_json_reader_accepts_is_read_by_the_line_reader(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    fast, slow, fast_proofs, slow_proofs = ingest_both_ways(
        tmp_path, monkeypatch, GOOD.encode() + b"\n" + data + GOOD.replace('"1"', '"2"', 1).encode())
    assert (fast_proofs, slow_proofs) == ([False], [False])
    assert fast == slow
    assert [row[2] for row in fast["quarantine"]] == [["invalid JSON"]]
