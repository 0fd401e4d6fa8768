"""Hostile advocacy archives (.tar.gz, .tgz, .tar): damaged, cut short, padded with
garbage, not what their name says, bombs, members that are not plain files or that
would land outside the folder. Each is refused whole before anything is read: exit 2,
one line naming the archive, nothing committed."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile import Tried, assert_promises, tried
from test_advocacy_ingest import advocate

from conftest import query, sluice

MEMBERS = 199


def tar_bytes(members: list[tuple[str, bytes]], extra: Callable[[tarfile.TarFile], None]
              | None = None, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
        if extra:
            extra(archive)
    return buffer.getvalue()


def advocates(count: int = MEMBERS) -> list[tuple[str, bytes]]:
    return [(f"export/user_{n:03}.json",
             json.dumps(advocate(f"6f1c2a1e-9f0b-4b8e-9a43-{n:012}", name=f"A{n}")).encode())
            for n in range(count)]


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def half(data: bytes) -> bytes:
    return data[:len(data) // 2]


def damaged_middle() -> bytes:
    data = bytearray(gz(tar_bytes(advocates())))
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)
    return bytes(data)


def crc_only() -> bytes:
    data = bytearray(gz(tar_bytes(advocates(3))))
    data[-8] ^= 0xFF  # the first byte of the CRC-32 in the trailer
    return bytes(data)


def header_damaged(compress: bool) -> bytes:
    """The third member's header checksum broken: tarfile ends its listing there,
    silently, and would unpack only the first two members."""
    data = bytearray(tar_bytes(advocates(5)))
    offsets, at = [], 0
    with tarfile.open(fileobj=io.BytesIO(bytes(data))) as archive:
        for member in archive.getmembers():
            offsets.append(member.offset)
            at = member.offset
    assert at
    data[offsets[2] + 148:offsets[2] + 156] = b"0000000\0"  # a wrong checksum field
    return gz(bytes(data)) if compress else bytes(data)


def link(kind: bytes, name: str, target: str = "") -> Callable[[tarfile.TarFile], None]:
    def add(archive: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = target
        archive.addfile(info)
    return add


def bomb() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("export/zeros.json")
        info.size = 200 << 20
        archive.addfile(info, _Zeros(info.size))
        for name, data in advocates(2):
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n

    def readable(self) -> bool:
        return True


def refused(name: str, content: Callable[[], bytes], words: str, outcome: str,
            case: str) -> tuple[Tried, str, Callable[[], bytes], str]:
    return tried("archives", case, outcome), name, content, words


ONE_LINE = "refused whole: exit 2, one line naming the archive, nothing committed"
CASES = [
    refused("export.tar.gz", damaged_middle, "damaged gzip data", ONE_LINE,
            f"a {MEMBERS}-member .tar.gz with 64 bytes overwritten in the middle"),
    refused("export.tar.gz", crc_only, "CRC mismatch", ONE_LINE,
            "a .tar.gz whose only damage is one flipped byte of the CRC in its trailer"),
    refused("export.tar.gz", lambda: half(gz(tar_bytes(advocates(20)))), "cut short",
            ONE_LINE, "a .tar.gz cut short"),
    refused("export.tar.gz", lambda: gz(tar_bytes(advocates(3))) + b"garbage after the end",
            "bytes after the end", ONE_LINE, "a .tar.gz with garbage after its end"),
    refused("export.tar.gz", lambda: gz(b"user_id,name\n1,Ann\n" * 100), "not a tar archive",
            ONE_LINE, "a gzip file that is not a tar archive, named .tar.gz"),
    refused("export.tar.gz", lambda: b"PK\x03\x04 a zip file, not gzip" * 10,
            "not gzip data", ONE_LINE, "a file that is not gzip at all, named .tar.gz"),
    refused("export.tgz", bomb, "decompression bomb", ONE_LINE,
            "a .tgz holding a member of 200 MB of zeros (a decompression bomb)"),
    refused("export.tar.gz", lambda: header_damaged(True), "index ends before the end",
            ONE_LINE, "a .tar.gz whose third member header is damaged (tarfile would stop "
                      "there silently)"),
    refused("export.tar", lambda: header_damaged(False), "index ends before the end",
            ONE_LINE, "an uncompressed .tar whose third member header is damaged"),
    refused("export.tar", lambda: b"not a tar archive at all" * 100, "not a tar archive",
            ONE_LINE, "a file that is not a tar archive, named .tar"),
    refused("export.tar", lambda: tar_bytes(advocates(3))[:2000], "cut short", ONE_LINE,
            "an uncompressed .tar cut short inside a member"),
    refused("export.tar.gz", lambda: gz(tar_bytes([*advocates(2), ("../x.json", b"{}")])),
            "../x.json", ONE_LINE, "a member ../x.json (path traversal)"),
    refused("export.tar.gz", lambda: gz(tar_bytes([*advocates(2), ("/tmp/x.json", b"{}")])),
            "/tmp/x.json", ONE_LINE, "a member with an absolute path /tmp/x.json"),
    refused("export.tar.gz", lambda: gz(tar_bytes(advocates(2), link(
        tarfile.SYMTYPE, "export/link.json", "user_000.json"))), "export/link.json",
            ONE_LINE, "a symbolic link member (even one pointing inside the archive)"),
    refused("export.tar.gz", lambda: gz(tar_bytes(advocates(2), link(
        tarfile.LNKTYPE, "export/hard.json", "export/user_000.json"))), "export/hard.json",
            ONE_LINE, "a hard link member"),
    refused("export.tar.gz", lambda: gz(tar_bytes(advocates(2), link(
        tarfile.CHRTYPE, "export/tty.json"))), "export/tty.json", ONE_LINE,
            "a character device member"),
    refused("export.tar.gz", lambda: gz(tar_bytes(advocates(2), link(
        tarfile.FIFOTYPE, "export/pipe.json"))), "export/pipe.json", ONE_LINE,
            "a named pipe member"),
    refused("export.tar.gz", lambda: gz(tar_bytes([*advocates(2), advocates(1)[0]])),
            "export/user_000.json", ONE_LINE,
            "two members with the same name (the second would silently replace the first)"),
]


@pytest.mark.parametrize(("case", "name", "content", "words"), CASES,
                         ids=[c[0].case for c in CASES])
def test_a_hostile_archive_is_refused_whole(work: Path, case: Tried, name: str,
                                            content: Callable[[], bytes], words: str) -> None:
    (work / name).write_bytes(content())
    result = sluice("advocacy", "ingest", name, cwd=work, expect=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: cannot unpack {name}: "), lines[0]
    assert words in lines[0], lines[0]
    db = work / "warehouse.db"
    assert query(db, "SELECT count(*) FROM sluice.files") == [(0,)]
    assert query(db, "SELECT status FROM sluice.runs") == [("failed",)]
    assert_promises(db)


GOOD = tried("archives", f"a sound .tar.gz of {MEMBERS} advocate files",
             "every member loads (the checks cost one extra pass over the archive)")


@pytest.mark.parametrize("case", [GOOD], ids=[GOOD.case])
def test_a_sound_archive_loads_every_member(work: Path, case: Tried) -> None:
    (work / "export.tar.gz").write_bytes(gz(tar_bytes(advocates())))
    sluice("advocacy", "ingest", "export.tar.gz", cwd=work)
    db = work / "warehouse.db"
    assert query(db, "SELECT count(*) FROM advocacy.advocates") == [(MEMBERS,)]
    assert_promises(db)
