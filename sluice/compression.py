"""Compressed input, verified before it is trusted.

A gzip stream carries a CRC-32 and the length of its content in every member's trailer;
a reader that stops early, or does not check them, turns a damaged file into plausible
but wrong records. Here every `.gz` input is decompressed once, completely, with both
checks, and a stream that expands far beyond any real export (a decompression bomb) is
refused before it fills the memory or the disk.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from sluice.errors import DamagedInput

CHUNK_BYTES = 1 << 20
# Real JSON exports compress 5 to 30 times; a stream expanding more than this, past
# BOMB_FLOOR_BYTES, is a decompression bomb and is refused.
MAX_EXPANSION = 100
BOMB_FLOOR_BYTES = 64 << 20
GZIP_MAGIC = b"\x1f\x8b"


def is_gzip_name(path: Path | str) -> bool:
    return str(path).lower().endswith((".gz", ".tgz"))


def gunzipped_chunks(path: Path, max_expansion: int = MAX_EXPANSION,
                     raw_digest: Any = None) -> Iterator[bytes]:
    """The decompressed content of the gzip file at `path`; see `gunzip_stream`."""
    with path.open("rb") as stream:
        yield from gunzip_stream(stream, path.stat().st_size, max_expansion, raw_digest)


def gunzip_stream(stream: BinaryIO, compressed_size: int, max_expansion: int = MAX_EXPANSION,
                  raw_digest: Any = None) -> Iterator[bytes]:
    """The decompressed content of a gzip file, chunk by chunk, every member checked.

    Raises DamagedInput on a bad header, damaged deflate data, a CRC or length mismatch,
    a stream cut short, bytes after the last member that are neither another member nor
    zero padding, or an expansion beyond `max_expansion` times the compressed size (past
    BOMB_FLOOR_BYTES). `raw_digest`, if given (a hashlib object), is updated with the
    compressed bytes as they are read, so one pass also yields the file's checksum.
    """
    limit = max(BOMB_FLOOR_BYTES, max_expansion * compressed_size)
    produced = members = 0
    decompressor: Any = None
    buffer, at_end = b"", False
    while True:
        if not at_end and len(buffer) < len(GZIP_MAGIC):
            chunk = _read(stream, raw_digest)
            at_end, buffer = not chunk, buffer + chunk
            continue
        if decompressor is None or decompressor.eof:
            if not buffer.strip(b"\0") and at_end:
                break
            if not buffer.startswith(GZIP_MAGIC):
                if buffer.strip(b"\0") == b"" and members:
                    buffer = b""  # zero padding after the last member
                    continue
                raise DamagedInput("not gzip data" if not members
                                   else "bytes after the end of the gzip stream")
            decompressor, members = zlib.decompressobj(wbits=31), members + 1
        if not buffer:
            if at_end:
                raise DamagedInput("the gzip stream is cut short")
            buffer = _read(stream, raw_digest)
            at_end = not buffer
            continue
        try:
            out = decompressor.decompress(buffer, CHUNK_BYTES)
        except zlib.error as error:
            raise DamagedInput(f"damaged gzip data ({_zlib_reason(error)})") from None
        buffer = decompressor.unused_data if decompressor.eof else decompressor.unconsumed_tail
        produced += len(out)
        if produced > limit:
            raise DamagedInput(f"expands more than {max_expansion} times its size "
                               "(a decompression bomb)")
        if out:
            yield out
    if not members:
        raise DamagedInput("empty file, not gzip data")


def _read(stream: BinaryIO, raw_digest: Any) -> bytes:
    chunk = stream.read(CHUNK_BYTES)
    if raw_digest is not None:
        raw_digest.update(chunk)
    return chunk


def _zlib_reason(error: zlib.error) -> str:
    text = str(error)
    if "incorrect data check" in text:
        return "CRC mismatch"
    if "incorrect length check" in text:
        return "length mismatch"
    if "incorrect header check" in text or "unknown compression method" in text:
        return "not gzip data"
    return text.split(":", 1)[-1].strip() or "invalid data"
