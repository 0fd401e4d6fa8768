"""Hostile compressed input: damaged, cut, padded, concatenated and exploding gzip streams
(docs/reliability.md, "Compressed files", "The quarantine folder", "Exit codes").

Every case offers a folder holding the .gz file and a good plain file: the good file
loads whatever happens to the other one.
"""

from __future__ import annotations

import gzip
import json
import random
import zlib
from collections.abc import Callable
from pathlib import Path

import hostile
import pytest
from hostile import tried

from conftest import query, sluice, vote

VOTES = 200_000
GOOD_IDS = [900_001, 900_002]
PEAK_RSS_LIMIT_KB = 1_500_000  # a memory bound, not a time limit


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


@pytest.fixture(scope="module")
def plain() -> bytes:
    """200,000 votes as JSON Lines."""
    return "".join(vote(n) + "\n" for n in range(1, VOTES + 1)).encode()


@pytest.fixture(scope="module")
def packed(plain: bytes) -> bytes:
    return gz(plain)


def offer(work: Path, name: str, content: bytes) -> Path:
    """The folder `in` with the .gz file and a good plain file."""
    folder = work / "in"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(content)
    (folder / "good.jsonl").write_text("".join(vote(n) + "\n" for n in GOOD_IDS))
    return folder


def files(db: Path) -> dict[str, tuple[object, ...]]:
    return {Path(path).name: tuple(rest) for path, *rest in query(
        db, "SELECT path, status, records_read, loaded, duplicates, rejected, file_id "
            "FROM sluice.files ORDER BY file_id")}


def copies(folder: Path, content: bytes) -> list[Path]:
    """The files under a run's quarantine folder holding exactly `content` (notes aside)."""
    if not folder.is_dir():
        return []
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".why.txt")
            and p.read_bytes() == content]


def assert_refused(work: Path, name: str, content: bytes) -> None:
    """The .gz file is unreadable: nothing of it loads, its copy is in the run's quarantine
    folder with a note, the good file loads, the run exits 5; a re-run changes nothing."""
    offer(work, name, content)
    result = sluice("votes", "ingest", "in", "--json", cwd=work, expect=5)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    summary = json.loads(result.stdout)
    run = summary["run_id"]
    by_name = files(db)
    assert by_name[name][:5] == ("unreadable", 0, 0, 0, 0), by_name[name]
    assert by_name["good.jsonl"][:5] == ("loaded", 2, 2, 0, 0)
    bad_id = by_name[name][5]
    assert query(db, f"SELECT count(*) FROM blog_analysis.votes WHERE _file_id = {bad_id}"
                 ) == [(0,)]
    assert [i for (i,) in query(db, "SELECT Id FROM blog_analysis.votes ORDER BY Id")
            ] == GOOD_IDS
    assert query(db, "SELECT count(*) FROM sluice.quarantine") == [(0,)]
    kept = copies(work / "warehouse.db.quarantine" / f"run-{run}", content)
    assert len(kept) == 1, f"one copy of {name} in warehouse.db.quarantine/run-{run}/: {kept}"
    note = kept[0].with_name(f"{kept[0].name}.why.txt").read_text(encoding="utf-8")
    assert str((work / "in" / name).resolve()) in note
    note_in_ledger = query(db, f"SELECT note FROM sluice.files WHERE file_id = {bad_id}")[0][0]
    assert note_in_ledger, "an unreadable file is recorded with its reason"
    hostile.assert_rerun_changes_nothing("votes", "ingest", "in", cwd=work, db=db, expect=5)


def assert_read(work: Path, name: str, content: bytes, ids: list[int]) -> None:
    """The .gz file is valid: every record in it loads, the run exits 0."""
    offer(work, name, content)
    sluice("votes", "ingest", "in", cwd=work)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    by_name = files(db)
    assert by_name[name][:5] == ("loaded", len(ids), len(ids), 0, 0), by_name[name]
    assert by_name["good.jsonl"][:5] == ("loaded", 2, 2, 0, 0)
    assert query(db, "SELECT count(*), min(Id), max(Id), count(DISTINCT Id) "
                     "FROM blog_analysis.votes") == [
        (len(ids) + 2, min(ids + GOOD_IDS), max(ids + GOOD_IDS), len(ids) + 2)]
    assert not (work / "warehouse.db.quarantine").exists() or not any(
        (work / "warehouse.db.quarantine").iterdir())
    hostile.assert_rerun_changes_nothing("votes", "ingest", "in", cwd=work, db=db, expect=0)


# --- damaged streams -----------------------------------------------------------------------

def overwrite_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + random.Random(64).randbytes(64) + data[middle + 64:]


def flip(data: bytes, at: int) -> bytes:
    damaged = bytearray(data)
    damaged[at] ^= 0x01
    return bytes(damaged)


DAMAGE: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "64 bytes overwritten in the middle of a 200,000-vote .jsonl.gz":
        (overwrite_middle, "unreadable: 0 of its records load, copy kept, exit 5"),
    "one bit flipped in the trailer's CRC-32 (the data itself intact)":
        (lambda d: flip(d, len(d) - 8), "unreadable: the CRC is checked, nothing loads"),
    "one bit flipped in the trailer's length field":
        (lambda d: flip(d, len(d) - 4), "unreadable: the length is checked, nothing loads"),
    "cut in the middle of the stream":
        (lambda d: d[: len(d) // 2], "unreadable: none of the records before the cut load"),
    "only the 8-byte trailer cut off":
        (lambda d: d[:-8], "unreadable: a stream without its checks is not trusted"),
    "garbage bytes after the end of the stream":
        (lambda d: d + b"garbage\n", "unreadable: bytes after the end that are neither a "
                                     "member nor zero padding"),
    "a second member that is cut short":
        (lambda d: d + gz(b'{"Id":"1"}\n')[:-5], "unreadable: every member is checked"),
}
DAMAGE_CASES = [pytest.param(damage, id=tried("compression", case, outcome).case)
                for case, (damage, outcome) in DAMAGE.items()]


@pytest.mark.parametrize("damage", DAMAGE_CASES)
def test_a_damaged_gzip_stream_is_unreadable(
        work: Path, packed: bytes, damage: Callable[[bytes], bytes]) -> None:
    assert_refused(work, "votes.jsonl.gz", damage(packed))


NOT_GZIP = tried("compression", "plain JSON Lines in a file named .jsonl.gz",
                 "unreadable (not gzip data), copy kept, exit 5; nothing of it loads")
EMPTY_GZ = tried("compression", "an empty (0-byte) .jsonl.gz",
                 "unreadable: not a gzip stream; exit 5")


def test_a_file_named_gz_that_is_not_gzip(work: Path) -> None:
    assert_refused(work, "plain.jsonl.gz", (vote(1) + "\n" + vote(2) + "\n").encode())


def test_an_empty_gz_file(work: Path) -> None:
    assert_refused(work, "empty.jsonl.gz", b"")


# --- valid streams of unusual shape --------------------------------------------------------

MULTI = tried("compression", "a multi-member gzip (two streams concatenated, as `cat a.gz "
                             "b.gz` makes)", "valid: the records of every member load")
PADDED = tried("compression", "1 KiB of zero bytes after the end of the stream (tape padding)",
               "valid: every record loads")
EMPTY_CONTENT = tried("compression", "a valid gzip stream of empty content",
                      "valid: 0 records, exit 0")


def test_a_multi_member_gzip_loads_every_member(work: Path, plain: bytes) -> None:
    half = plain.index(b"\n", len(plain) // 2) + 1
    assert_read(work, "votes.jsonl.gz", gz(plain[:half]) + gz(plain[half:]),
                list(range(1, VOTES + 1)))


def test_zero_padding_after_the_stream_is_fine(work: Path, packed: bytes) -> None:
    assert_read(work, "votes.jsonl.gz", packed + b"\0" * 1024, list(range(1, VOTES + 1)))


def test_a_gzip_of_nothing_is_an_empty_file(work: Path) -> None:
    assert_read(work, "votes.jsonl.gz", gz(b""), [])


# --- decompression bombs -------------------------------------------------------------------

def bomb(byte: bytes, megabytes: int = 300) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = byte * (1 << 20)
    return b"".join([*(packer.compress(block) for _ in range(megabytes)), packer.flush()])


BOMBS = {
    b"\0": tried("compression", "a decompression bomb: 300 MB of zero bytes in 0.3 MB of gzip",
                 "refused as unreadable (expands more than 100 times past 64 MiB), exit 5, "
                 "peak memory under 1.5 GB; the good file loads"),
    b"\n": tried("compression", "a decompression bomb: 300 MB of newlines (all blank lines) in "
                                "0.3 MB of gzip",
                 "refused as unreadable, exit 5, peak memory under 1.5 GB; the good file loads"),
}

@pytest.mark.parametrize("byte", [pytest.param(b, id=t.case) for b, t in BOMBS.items()])
def test_a_decompression_bomb_is_refused_with_bounded_memory(work: Path, byte: bytes) -> None:
    content = bomb(byte)
    assert len(content) < 400_000 and 100 * len(content) + (64 << 20) < 300 * (1 << 20)
    offer(work, "bomb.jsonl.gz", content)
    run = hostile.measured("votes", "ingest", "in", cwd=work)
    assert run.returncode == 5, (f"exit {run.returncode}, peak RSS {run.peak_mb:.0f} MB",
                                 run.stderr)
    assert run.peak_mb * 1024 < PEAK_RSS_LIMIT_KB, f"peak RSS {run.peak_mb:.0f} MB"
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    by_name = files(db)
    assert by_name["bomb.jsonl.gz"][:5] == ("unreadable", 0, 0, 0, 0), by_name["bomb.jsonl.gz"]
    assert by_name["good.jsonl"][:5] == ("loaded", 2, 2, 0, 0)
    assert [i for (i,) in query(db, "SELECT Id FROM blog_analysis.votes ORDER BY Id")
            ] == GOOD_IDS
    assert len(copies(work / "warehouse.db.quarantine" / "run-1", content)) == 1
