"""The lines of a JSON Lines file, known independently of the engine's reader.

JSON Lines ends a line at LF; a CR right before it belongs to the line end. DuckDB's
line reader (its CSV scanner) also ends a line at a lone CR, counts CRLF twice in a file
whose first line ends in LF, and skips a line longer than its buffer (32 MB) without a
trace. So every file is scanned once in Python while the engine reads it (one pass that
also computes the checksum, at C speed: hashing and byte counts, no per-line loop), and
the engine's rows are trusted only when they account for exactly the lines the scan
counted in a file where both readers agree on what a line is. Any other file is split
here, line by line (`split_exactly`): slower, but only for the files that need it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sluice.compression import CHUNK_BYTES, gunzip_stream, gunzipped_chunks, is_gzip_name
from sluice.errors import DamagedInput

if TYPE_CHECKING:
    import numpy as np

BOM = b"\xef\xbb\xbf"
MAX_LINE_BYTES = 2_097_152
RAW_TEXT_LIMIT = 65_536
# The engine's line reader silently skips a line longer than its buffer (32 MiB by
# default); below this, with no lone CR and one kind of line end, its rows are exact.
ENGINE_SAFE_LINE_BYTES = 30 << 20
# Where every this many lines start is kept (8 bytes each), to read any line again.
LINE_STRIDE = 16


@dataclass(frozen=True)
class LineScan:
    """What one pass over a file found: its checksum, the bytes read, and its lines."""

    sha256: str
    bytes_read: int
    lines: int
    lone_cr: bool
    crlf: int
    lf: int
    longest_line: int
    damage: str | None = None  # why a compressed file cannot be trusted
    nul: bool = False  # a NUL byte somewhere
    bom: bool = False  # the content starts with a UTF-8 byte order mark
    # With `scan_lines(index=True)`: the double quotes in the content, and where lines
    # start (None for a compressed file, or one with a byte order mark).
    quotes: int = 0
    line_starts: LineStarts | None = None

    @property
    def engine_safe(self) -> bool:
        """Whether the engine's line reader splits this file exactly as JSON Lines does
        (its delimiter is the NUL byte: a file holding one is split by sluice)."""
        one_kind_of_line_end = self.crlf == 0 or self.crlf == self.lf
        return (self.damage is None and not self.lone_cr and not self.nul
                and one_kind_of_line_end and self.longest_line <= ENGINE_SAFE_LINE_BYTES)


class ScanStopped(Exception):
    """The scan was asked to stop (the run is being interrupted)."""


def scan_lines(path: Path, stop: threading.Event | None = None, index: bool = False
               ) -> LineScan:
    """Checksum the file's bytes as read and count its lines (of the decompressed
    content, for a .gz file, which is verified completely on the way). Setting `stop`
    ends the scan early with ScanStopped. With `index` (a plain file), also count the
    double quotes and note where every LINE_STRIDE-th line starts (`LineScan.quotes`,
    `line_starts`)."""
    digest = hashlib.sha256()
    counter = (_LineIndex(os.stat(path).st_size) if index and not is_gzip_name(path)
               else _LineCounter())
    damage = None
    with path.open("rb") as stream:
        try:
            for chunk in _content_chunks(path, stream, digest):
                if stop is not None and stop.is_set():
                    raise ScanStopped(str(path))
                counter.add(chunk)
        except DamagedInput as error:
            damage = str(error)
            while chunk := stream.read(CHUNK_BYTES):  # the checksum covers the whole file
                digest.update(chunk)
        bytes_read = stream.tell()
    return LineScan(digest.hexdigest(), bytes_read, counter.lines, counter.lone_cr,
                    counter.crlf, counter.lf, counter.longest, damage, counter.nul,
                    counter.bom, counter.quotes, counter.line_starts())


def _content_chunks(path: Path, stream: BinaryIO, digest: Any) -> Iterator[bytes]:
    """The file's content from `stream`, decompressed for a .gz file; the bytes read
    are hashed on the way."""
    if is_gzip_name(path):
        yield from gunzip_stream(stream, os.fstat(stream.fileno()).st_size, raw_digest=digest)
        return
    while chunk := stream.read(CHUNK_BYTES):
        digest.update(chunk)
        yield chunk


class _LineCounter:
    """LF-terminated lines plus a final unterminated one; lone CRs; the longest line."""

    def __init__(self) -> None:
        self.lf = self.cr = self.crlf = 0
        self.longest = self.current = 0
        self.started = self.ends_with_lf = self.previous_cr = False
        self.bom_checked = self.bom = self.nul = False
        self.head = b""
        self.quotes = 0

    def add(self, chunk: bytes) -> None:
        if not self.bom_checked:
            self.head += chunk
            if len(self.head) < len(BOM) and BOM.startswith(self.head):
                return
            chunk, self.head, self.bom_checked = self.head, b"", True
            if chunk.startswith(BOM):
                chunk, self.bom = chunk[len(BOM):], True
        if not chunk:
            return
        self.started = True
        self.nul = self.nul or b"\0" in chunk
        lf = self._line_ends(chunk)
        self.lf += lf
        # CRs are rare; looking for one is far cheaper than counting them.
        if b"\r" in chunk or self.previous_cr:
            self.cr += chunk.count(b"\r")
            self.crlf += chunk.count(b"\r\n") + (self.previous_cr and chunk[0:1] == b"\n")
        self.previous_cr = chunk.endswith(b"\r")
        if lf == 0:
            self.current += len(chunk)
        else:
            self.longest = max(self.longest, self.current + chunk.index(b"\n"))
            # Lines wholly inside a chunk are shorter than a chunk (1 MiB), far below
            # any limit that matters here, so only lines across chunks are measured.
            self.current = len(chunk) - chunk.rindex(b"\n") - 1
        self.longest = max(self.longest, self.current)
        self.ends_with_lf = chunk.endswith(b"\n")

    def _line_ends(self, chunk: bytes) -> int:
        """The LFs in the chunk (a subclass notes where they are)."""
        return chunk.count(b"\n")

    def line_starts(self) -> LineStarts | None:
        return None

    @property
    def lines(self) -> int:
        if not self.bom_checked and self.head and not BOM.startswith(self.head):
            return 1
        return self.lf + (1 if self.started and not self.ends_with_lf else 0)

    @property
    def lone_cr(self) -> bool:
        return self.cr != self.crlf


# From this size on, a file's lines are indexed with numpy (importing it takes 0.07 s).
NUMPY_INDEX_BYTES = 8 << 20


class _LineIndex(_LineCounter):
    """A line counter that also counts double quotes and notes where every
    LINE_STRIDE-th line starts: with numpy for a large file (a vector compare a chunk,
    cheaper than bytes.count), with bytes.find for a small one."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.offset = 0  # content bytes before the chunk
        self.starts: list[Any] = [[0]]
        self._np: Any = None
        if size >= NUMPY_INDEX_BYTES:
            import numpy

            self._np = numpy

    def _line_ends(self, chunk: bytes) -> int:
        # The LF numbered j (from 0, in the file) starts line j + 1.
        first = (LINE_STRIDE - 1 - self.lf) % LINE_STRIDE
        np = self._np
        if np is None:
            ends = _find_all(chunk, 0x0A)
            self.quotes += chunk.count(b'"')
            self.starts.append([end + self.offset + 1 for end in ends[first::LINE_STRIDE]])
            self.offset += len(chunk)
            return len(ends)
        array = np.frombuffer(chunk, np.uint8)
        self.quotes += int(np.count_nonzero(array == 0x22))
        found = np.flatnonzero(array == 0x0A)
        self.starts.append(found[first::LINE_STRIDE].astype(np.int64) + (self.offset + 1))
        self.offset += len(chunk)
        return len(found)

    def line_starts(self) -> LineStarts | None:
        if self.bom:
            return None
        if self._np is None:
            return LineStarts([start for starts in self.starts for start in starts])
        return LineStarts(self._np.concatenate([self._np.asarray(s, self._np.int64)
                                                for s in self.starts]))


def _find_all(chunk: bytes, byte: int) -> list[int]:
    """Every offset of the byte in the chunk."""
    found, at = [], chunk.find(byte)
    while at >= 0:
        found.append(at)
        at = chunk.find(byte, at + 1)
    return found


class LineStarts:
    """Where every LINE_STRIDE-th line of a plain file starts: to read any line again
    by its position, reading at most LINE_STRIDE - 1 lines before it."""

    def __init__(self, starts: np.ndarray | list[int]) -> None:
        self.starts = starts

    def read(self, path: Path, positions: list[int]) -> dict[int, bytes]:
        """The exact bytes of the lines at these (0-based) positions, without LF."""
        found: dict[int, bytes] = {}
        with path.open("rb") as stream:
            at = -1  # the position of the line the stream is at, -1: not known
            for position in sorted(set(positions)):
                if at < 0 or position < at or position - at >= LINE_STRIDE:
                    at = position - position % LINE_STRIDE
                    stream.seek(int(self.starts[position // LINE_STRIDE]))
                while at < position:
                    stream.readline()
                    at += 1
                found[position] = stream.readline().removesuffix(b"\n")
                at += 1
        return found


@dataclass(frozen=True)
class RefusedLine:
    """A line the exact splitter keeps out of the engine: its number, raw text, reason."""

    number: int
    raw: str
    reason: str


def split_exactly(path: Path, csv_path: Path, invalid_utf8: str) -> list[RefusedLine]:
    """Split the file into JSON Lines lines and write each acceptable one as a quoted
    CSV field (CRs and NULs inside it survive); return the lines that are too long or
    not UTF-8, with their exact bytes shown as escapes."""
    refused: list[RefusedLine] = []
    with csv_path.open("wb") as out:
        for number, (line, length) in enumerate(_exact_lines(path), 1):
            if length > MAX_LINE_BYTES:
                refused.append(RefusedLine(number, escaped(line, length), long_line_reason()))
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                refused.append(RefusedLine(number, escaped(line, length), invalid_utf8))
                continue
            out.write(b'"' + line.replace(b'"', b'""') + b'"\n')
    return refused


def long_line_reason() -> str:
    return f"line longer than {MAX_LINE_BYTES} bytes"


def _exact_lines(path: Path) -> Iterator[tuple[bytes, int]]:
    """Each line without its LF (and a CR right before it), with its length. A line
    longer than MAX_LINE_BYTES keeps only its first RAW_TEXT_LIMIT bytes, so memory
    stays bounded whatever a line's length."""
    chunks = gunzipped_chunks(path) if is_gzip_name(path) else _plain_chunks(path)
    head, length, first = bytearray(), 0, True
    for chunk in chunks:
        if first:
            first, chunk = False, chunk.removeprefix(BOM)
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if length + len(piece) <= MAX_LINE_BYTES:
                head += piece
            else:  # a line too long to load: only its head is kept, as raw text
                del head[RAW_TEXT_LIMIT:]
                head += piece[: max(0, RAW_TEXT_LIMIT - len(head))]
            length += len(piece)
            if end < 0:
                break
            yield _without_cr(head, length)
            head, length, start = bytearray(), 0, end + 1
    if length:
        yield _without_cr(head, length)


def _without_cr(head: bytearray, length: int) -> tuple[bytes, int]:
    if length <= MAX_LINE_BYTES and head.endswith(b"\r"):
        return bytes(head[:-1]), length - 1
    return bytes(head), length


def _plain_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk


def escaped(raw: bytes, length: int | None = None) -> str:
    """The bytes as text, bad bytes as \\xNN escapes, cut to RAW_TEXT_LIMIT bytes;
    `length` is the whole line's when `raw` holds only its head."""
    length = len(raw) if length is None else length
    text = raw[:RAW_TEXT_LIMIT].decode("utf-8", errors="backslashreplace")
    return text + (f" [truncated, {length} bytes]" if length > RAW_TEXT_LIMIT else "")


def file_stat(path: Path) -> tuple[int, int]:
    """Size and modification time (ns): what tells that a file changed."""
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns
