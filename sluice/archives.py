"""Archives (.tar.gz, .tgz, .tar), unpacked only after every check has passed.

tarfile stops listing at the first member header it cannot read and reports the
members before it as the whole archive: a damaged archive would lose the rest without
a word. So the compressed stream is verified completely first (`sluice.compression`),
the index must reach the archive's end, and only plain files and folders, each named
once and all inside the target folder, are unpacked.
"""

from __future__ import annotations

import tarfile
from pathlib import Path, PurePosixPath

from sluice.compression import BOMB_FLOOR_BYTES, MAX_EXPANSION, gunzipped_chunks, is_gzip_name
from sluice.errors import DamagedInput

_TAR_BLOCK = 512


def unpack(archive: Path, tar_copy: Path, folder: Path) -> None:
    """Unpack a .tar.gz, .tgz or .tar into `folder`, refusing it whole (DamagedInput)
    unless every check passes first: the gzip stream complete and sound (CRC, length, no
    bomb), decompressed once into `tar_copy`; the tar index reaching the end of the
    archive (after the last member only zero blocks, so a damaged header cannot end the
    listing early and silently drop what follows); only regular files and folders,
    each named once, none outside the folder."""
    tar_path = archive
    if is_gzip_name(archive):
        with tar_copy.open("wb") as out:
            for chunk in gunzipped_chunks(archive):
                out.write(chunk)
        tar_path = tar_copy
    with _open_tar(tar_path) as opened:
        members = opened.getmembers()
        _check_index_reaches_the_end(tar_path, opened.offset)
        _check_members(members, archive.stat().st_size)
        folder.mkdir()
        if hasattr(tarfile, "data_filter"):
            opened.extractall(folder, members=members, filter="data")
        else:  # members checked above
            opened.extractall(folder, members=members)


def _open_tar(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:")
    except tarfile.ReadError:
        raise DamagedInput("not a tar archive (no valid first member header)") from None


def _check_index_reaches_the_end(tar_path: Path, end: int) -> None:
    size = tar_path.stat().st_size
    if end > size or size % _TAR_BLOCK:
        raise DamagedInput("the tar archive is cut short")
    with tar_path.open("rb") as stream:
        stream.seek(end)
        while chunk := stream.read(1 << 20):
            if chunk.strip(b"\0"):
                raise DamagedInput(
                    f"its index ends before the end of the archive (at byte {end:,} of "
                    f"{size:,}): a damaged member header; nothing was unpacked")
    if size - end < _TAR_BLOCK:
        raise DamagedInput("the tar archive is cut short (no end-of-archive marker)")


def _check_members(members: list[tarfile.TarInfo], archive_size: int) -> None:
    seen: set[PurePosixPath] = set()
    for member in members:
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts:
            raise DamagedInput(f"member {member.name} would land outside the folder")
        if not (member.isreg() or member.isdir()):
            raise DamagedInput(f"member {member.name} is {_kind(member)}, not a regular file")
        if member.isreg() and name in seen:
            raise DamagedInput(f"member {member.name} appears twice (which one is meant?)")
        seen.add(name)
    if sum(m.size for m in members) > max(BOMB_FLOOR_BYTES, MAX_EXPANSION * archive_size):
        raise DamagedInput(f"expands more than {MAX_EXPANSION} times its size "
                           "(a decompression bomb)")


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "a symbolic link"
    if member.islnk():
        return "a hard link"
    if member.isfifo():
        return "a named pipe"
    if member.ischr() or member.isblk():
        return "a device"
    return "not a regular file"
