"""Where advocacy records come from: a folder of one file per advocate, a .tar.gz of one,
or a JSON Lines file with one advocate per line.

Every record lands in one staging table, `advocacy_staging.documents`, created inside
the run's transaction and dropped before it commits, one row per folder entry or line:
ord (unique; the order in which later records win), name, size, modified_ns, sha256 (of
the document's bytes), and why a row is not a record to load: skip_reason (not a record:
a stray, a blank line), unreadable (could not be read), reject_reason (a record refused
unparsed: too large, a line the scanner refused); valid (a JSON object) and is_json
(parses at all); a JSON object's `document` (JSON), any other record's `text`. Each
record is parsed once, here; nothing after it validates a document again.

A folder is listed first, with each file's size: strays are known by name and size and
never opened, nor is a file over MAX_FILE_BYTES. The rest is read `batch_size` files at a
time (so that the run's Python objects stay bounded; the staging table spills to disk
like any other table): sluice reads and checksums the files, two threads ahead of the
engine, and hands the engine their text a few megabytes at a time, in one parameter; the
engine decodes, validates and stages them. Any name is read as itself (a glob character,
a backslash, bytes that are not UTF-8), and after each batch every name must have a
staged row, or it is read again, or recorded unreadable with the reason: nothing goes
missing silently.

A document is identified by its content: the SHA-256 of its bytes and its occurrence
among the byte-identical documents of one delivery (name order, or line order). It is
loaded unless the warehouse already holds that many copies of those bytes (loaded, or
quarantined). `ledger_rows` leaves temp table adv_ids: ord, file_id, load, sha256, n.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice import ledger
from sluice.archives import unpack
from sluice.errors import DamagedInput, UsageError, first_line
from sluice.intake import OWN_FILE
from sluice.ledger import LOADED, REJECTED, SKIPPED, UNREADABLE, InputFile, RunSummary
from sluice.paths import shown
from sluice.progress import Progress
from sluice.warehouse import KEYS_TABLE, Warehouse

PIPELINE = "advocacy"
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
BATCH_FILES = 50_000
# No advocate's file comes near this; a larger one is rejected unread (a runaway export,
# or a file that is not what its name says), and never held in memory.
MAX_FILE_BYTES = 64 << 20
TOO_LARGE = "file larger than 64 MiB"
CHANGED = "changed while being read; not loaded: offer it again when it is complete"
NOT_REGULAR = "not a regular file (a link to a folder, a broken link, a pipe)"
STAGED = "advocacy_staging.documents"
_LISTING_CHUNK = 50_000
_READ_BYTES = 2 << 20  # bytes read before they go to the engine: bounds memory
_FIRST_READ_BYTES = 256 << 10
_READERS = 2
_AHEAD = 3
# Between the documents of a chunk: a NUL can be no part of a JSON document (a file that
# holds this sequence anyway goes on its own).
_SEPARATOR = "\x00\x1e\x00"
_BYTE_ORDER_MARK = "\ufeff"



def parsed(source: str) -> str:
    """`source` (with a column `text`) parsed once: is_json (JSON of any kind), valid (a
    JSON object: valid JSON whose first character past JSON's whitespace is a brace),
    document (the text as JSON, for a JSON object) and text (kept only when the record
    is not a JSON object: it is repaired or quarantined as text). The engine's cast to
    JSON accepts exactly what json_valid accepts, and keeps the text as it is."""
    return f"""
        SELECT * EXCLUDE (json) REPLACE (CASE WHEN NOT valid THEN text END AS text),
               CASE WHEN valid THEN json END AS document
        FROM (SELECT *, json IS NOT NULL AS is_json,
                     coalesce(json IS NOT NULL AND regexp_matches(text, '^[ \\t\\n\\r]*\\{{'),
                              false) AS valid
              FROM (SELECT *, TRY_CAST(text AS JSON) AS json FROM ({source})))"""


def _decoded(source: str) -> str:
    """`source` (with a BLOB column `content`) plus sha256 and text: the content as
    UTF-8 (NULL if it is not), a byte-order mark at the start dropped."""
    return f"""
        SELECT *, sha256(content) AS sha256,
               CASE WHEN starts_with(t, chr(65279)) THEN substr(t, 2) ELSE t END AS text
        FROM (SELECT *, try(decode(content)) AS t FROM ({source}))"""


@dataclass
class Documents:
    """The staged records: the ledger entry each one (by ord) belongs to, and for a
    folder where a rejected file can be copied from."""

    entry_of: Callable[[int], InputFile]
    path_of: Callable[[int], Path] | None  # None for JSON Lines: the lines are not files


def create_staging(warehouse: Warehouse) -> None:
    """The staging table; call inside the run's transaction."""
    warehouse.execute(f"""
        CREATE SCHEMA advocacy_staging;
        CREATE TABLE {STAGED} (
            ord BIGINT, name VARCHAR, size BIGINT, modified_ns BIGINT, sha256 VARCHAR,
            text VARCHAR, document JSON, skip_reason VARCHAR, unreadable VARCHAR,
            reject_reason VARCHAR, valid BOOLEAN, is_json BOOLEAN);
    """)


def drop_staging(warehouse: Warehouse) -> None:
    # Table first: DuckDB 2.0 fails the commit after DROP SCHEMA ... CASCADE of a table
    # created in the same transaction.
    warehouse.execute(f"DROP TABLE IF EXISTS adv_docs; DROP TABLE {STAGED}; "
                      "DROP SCHEMA advocacy_staging")


def is_json_lines(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(JSON_LINES_SUFFIXES)


# --- archives --------------------------------------------------------------------------------

@contextmanager
def opened_folder(source: str) -> Iterator[Path]:
    """The folder to read: the folder itself, or an archive unpacked to a temporary one
    after every check (`unpack`)."""
    path = Path(source)
    if not path.exists():
        raise UsageError(f"no such file or folder: {source}")
    if path.is_dir():
        yield path.resolve()
        return
    if not path.name.lower().endswith(ARCHIVE_SUFFIXES):
        raise UsageError(
            f"{source} is not a folder, a .tar.gz archive or a JSON Lines file (.jsonl)")
    with tempfile.TemporaryDirectory(prefix="sluice-advocacy-") as work:
        folder = Path(work, "archive")
        try:
            unpack(path, Path(work, "archive.tar"), folder)
        except (DamagedInput, tarfile.TarError, OSError, EOFError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else (
                first_line(error))
            raise UsageError(f"cannot unpack {source}: {reason}") from None
        yield folder.resolve()


# --- a folder of files -----------------------------------------------------------------------

def stage_folder(warehouse: Warehouse, run: RunSummary, root: Path, batch_size: int,
                 progress: Progress) -> Documents:
    _record_not_read(warehouse, run, _list_folder(warehouse, root))
    warehouse.execute(f"""
        INSERT INTO {STAGED} BY NAME
        SELECT ord, name, size, modified_ns, skip_reason FROM adv_paths
        WHERE skip_reason IS NOT NULL
    """)
    _stage_too_large(warehouse, root)
    to_read = int(warehouse.scalar("SELECT count(k) FROM adv_paths"))
    for start in range(0, to_read, batch_size):
        _read_batch(warehouse, root, start, start + batch_size)
        progress("reading files", min(start + batch_size, to_read), to_read)
    notable = folder_ledger_rows(warehouse, run)
    return Documents(notable.__getitem__, _broken_paths(warehouse, root).__getitem__)


def _broken_paths(warehouse: Warehouse, root: Path) -> dict[int, Path]:
    """Where each file to load that is not a JSON object can be copied from, should it
    be rejected."""
    return {int(ord): root / (os.fsdecode(bytes(raw)) if raw is not None else str(name))
            for ord, name, raw in warehouse.query(
                "SELECT ord, p.name, p.raw FROM adv_ledger JOIN adv_paths p USING (ord) "
                "WHERE load AND NOT valid").rows}


def _list_folder(warehouse: Warehouse, root: Path) -> list[tuple[str, str, str]]:
    """Temp table adv_paths: every regular file under `root` with its relative name (as
    shown), size, modification time, raw name (only when the engine cannot address the
    name, to read it here), ord (rank by name), skip_reason (a stray, known without
    reading it) and k (rank among the files to read). Returns what else was found, each
    with its ledger status and note. Names go to the engine in chunks, so a huge
    folder's listing can spill to disk."""
    warehouse.execute("CREATE OR REPLACE TEMP TABLE adv_listing (name VARCHAR, size BIGINT, "
                      "modified_ns BIGINT, raw BLOB)")
    lister = _Lister(warehouse, frozenset(str(path) for path in warehouse.own_paths()))
    lister.walk(root, "")
    lister.flush()
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_paths AS
        SELECT *, CASE WHEN skip_reason IS NULL AND size <= {MAX_FILE_BYTES}
                       THEN row_number() OVER (PARTITION BY skip_reason IS NULL
                                                 AND size <= {MAX_FILE_BYTES} ORDER BY ord)
                  END AS k
        FROM (
            SELECT *, row_number() OVER (ORDER BY name, raw) AS ord,
                   CASE WHEN starts_with(parse_filename(name, false, 'forward_slash'), '._')
                          THEN 'macOS resource fork'
                        WHEN size = 0 THEN 'empty file'
                        WHEN NOT lower(name) LIKE '%.json' THEN 'not a .json file'
                   END AS skip_reason
            FROM adv_listing
        );
        DROP TABLE adv_listing;
    """)
    return lister.not_read


class _Lister:
    """Walks a folder into temp table adv_listing, column by column, a chunk at a time."""

    def __init__(self, warehouse: Warehouse, own: frozenset[str]) -> None:
        self.warehouse, self.own = warehouse, own
        self.names: list[str] = []
        self.sizes: list[int] = []
        self.times: list[int] = []
        self.raw: list[tuple[str, int, int, bytes]] = []  # names the engine cannot address
        self.not_read: list[tuple[str, str, str]] = []  # name, ledger status, note

    def walk(self, folder: Path, prefix: str) -> None:
        """Every entry under `folder`: a regular file is listed, anything else noted.
        Links to folders are not followed (they could loop); sluice's own files are
        never input."""
        with os.scandir(folder) as entries:
            for entry in entries:
                name = prefix + entry.name
                if entry.path in self.own:
                    self.not_read.append((name, SKIPPED, f"skipped: {OWN_FILE}"))
                elif entry.is_dir(follow_symlinks=False):
                    self._walk_folder(Path(entry.path), name)
                elif entry.is_file():
                    self._add_file(entry, name)
                else:
                    self.not_read.append((name, SKIPPED, f"skipped: {NOT_REGULAR}"))

    def _walk_folder(self, folder: Path, name: str) -> None:
        try:
            self.walk(folder, name + os.sep)
        except OSError as error:
            self.not_read.append((name, UNREADABLE, f"cannot list folder: {error.strerror}"))

    def _add_file(self, entry: os.DirEntry[str], name: str) -> None:
        try:
            info = entry.stat()
        except OSError as error:
            self.not_read.append((name, UNREADABLE, f"cannot read file: {error.strerror}"))
            return
        if not _may_read(entry.path, info.st_mode):
            self.not_read.append((name, UNREADABLE, "cannot read file: Permission denied"))
        elif name.isascii() and "\\" not in name:
            self.names.append(name)
            self.sizes.append(info.st_size)
            self.times.append(info.st_mtime_ns)
            if len(self.names) >= _LISTING_CHUNK:
                self.flush()
        else:
            display = shown(name)
            plain = display == name and "\\" not in name
            self.raw.append((display, info.st_size, info.st_mtime_ns,
                             b"" if plain else os.fsencode(name)))

    def flush(self) -> None:
        if self.names:
            # The names in one parameter (no file name holds a NUL), which costs the
            # engine far less than a value per name.
            self.warehouse.execute("INSERT INTO adv_listing (name, size, modified_ns) "
                                   "SELECT unnest(string_split(?, chr(0))), unnest(?), "
                                   "unnest(?)", ["\x00".join(self.names), self.sizes,
                                                 self.times])
            self.names, self.sizes, self.times = [], [], []
        if self.raw:
            self.warehouse.execute(
                "INSERT INTO adv_listing SELECT unnest(?), unnest(?), unnest(?), "
                "nullif(unnest(?), ''::BLOB)", [list(c) for c in zip(*self.raw, strict=True)])
            self.raw = []


def _may_read(path: str, mode: int) -> bool:
    """Whether this process may open the file: one it may not is recorded unreadable at
    the listing, never opened. Readable by anyone is the common case and costs no
    call."""
    return bool(mode & stat.S_IROTH) or os.geteuid() == 0 or os.access(path, os.R_OK)


def _record_not_read(warehouse: Warehouse, run: RunSummary, found: list[tuple[str, str, str]]
                     ) -> None:
    if not found:
        return
    for (name, status, note), file_id in zip(
            sorted(found), ledger.next_file_ids(warehouse, len(found)), strict=True):
        run.files.append(InputFile(Path(shown(name)), 0, 0, "", file_id=file_id, status=status,
                                   note=note))


def _stage_too_large(warehouse: Warehouse, root: Path) -> None:
    """Files over MAX_FILE_BYTES: checksummed as a stream (never held in memory), then
    rejected as one record each, unparsed."""
    for ord, name, raw, size, modified_ns in warehouse.query(
            f"SELECT ord, name, raw, size, modified_ns FROM adv_paths WHERE skip_reason IS NULL "
            f"AND size > {MAX_FILE_BYTES} ORDER BY ord").rows:
        path = root / (os.fsdecode(bytes(raw)) if raw is not None else name)
        unreadable = checksum = None
        try:
            checksum = ledger.sha256_of(path)
        except OSError as error:
            unreadable = f"cannot read file: {error.strerror}"
        warehouse.execute(
            f"INSERT INTO {STAGED} (ord, name, size, modified_ns, sha256, unreadable, "
            "reject_reason, valid, is_json) VALUES (?, ?, ?, ?, ?, ?, ?, false, false)",
            [ord, name, size, modified_ns, checksum, unreadable,
             None if unreadable else TOO_LARGE])


def _read_batch(warehouse: Warehouse, root: Path, start: int, end: int) -> None:
    """Stage the files ranked start < k <= end; after it every one of them must have a
    staged row, or it is read again (and staged unreadable if it cannot be read)."""
    rows = warehouse.query("SELECT ord, name, raw, size, modified_ns FROM adv_paths "
                           "WHERE k > ? AND k <= ? ORDER BY k", [start, end]).rows
    _read_files(warehouse, root, rows)
    missing = warehouse.query(
        f"SELECT ord, name, raw, size, modified_ns FROM adv_paths p WHERE k > ? AND k <= ? "
        f"AND NOT EXISTS (SELECT 1 FROM {STAGED} s WHERE s.ord = p.ord) ORDER BY ord",
        [start, end]).rows
    if missing:
        _read_files(warehouse, root, missing)


def _read_file(path: str, size: int) -> tuple[bytes, os.stat_result]:
    """A file's bytes (at most one more than its listed size, and never more than
    MAX_FILE_BYTES + 1) and its status once read. One read takes a file whose size is
    as listed; a file read short is read on to its end."""
    descriptor = os.open(path, _READ_FLAGS)
    try:
        wanted = min(size, MAX_FILE_BYTES) + 1
        data = os.read(descriptor, wanted)
        if len(data) < size:
            chunks = [data]
            while chunks[-1] and (got := sum(map(len, chunks))) < wanted:
                chunks.append(os.read(descriptor, wanted - got))
            data = b"".join(chunks)
        return data, os.fstat(descriptor)
    finally:
        os.close(descriptor)


# Never blocks: a file replaced by a pipe since the listing is opened at once, and then
# differs from its listing.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


class _Chunk:
    """Files read, on their way to the staging table: the UTF-8 ones as one text with a
    separator between documents (one parameter, which costs the engine far less than a
    value per file), the rest (not UTF-8 as Python reads it, unreadable, changed) one
    value each, for the engine to decide."""

    def __init__(self) -> None:
        self.ords: list[int] = []
        self.sha256s: list[str] = []
        self.texts: list[str] = []
        self.others: list[tuple[int, bytes | None, str | None]] = []
        self.held = 0

    def add(self, ord: int, path: str, size: int, modified_ns: int) -> None:
        try:
            data, after = _read_file(path, size)
        except OSError as error:
            self.others.append((ord, None, f"cannot read file: {error.strerror or first_line(error)}"))
            return
        if (len(data), after.st_size, after.st_mtime_ns) != (size, size, modified_ns):
            self.others.append((ord, None, CHANGED))
            return
        self.held += len(data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:  # the engine decides (its decoder could be laxer)
            self.others.append((ord, data, None))
            return
        if _SEPARATOR in text:
            self.others.append((ord, data, None))
            return
        self.ords.append(ord)
        self.sha256s.append(hashlib.sha256(data).hexdigest())
        self.texts.append(text[1:] if text.startswith(_BYTE_ORDER_MARK) else text)


def _read_files(warehouse: Warehouse, root: Path, rows: list[tuple[Any, ...]]) -> None:
    """Read and checksum files (rows of ord, name, raw name, listed size and time) and
    stage them, about _READ_BYTES at a time: decoded, validated and parsed in the
    engine. A file that cannot be read is staged unreadable, with the reason, and one
    that differs from its listing, or changes while read, as changed. Reading here costs
    a few system calls a file, where the engine's own multi-file scan costs three times
    as much per file, and Python's checksum (with the processor's SHA instructions) is
    faster than the engine's. Two threads read the next chunks while the engine stages
    one (system calls and checksums let other threads run); at most _AHEAD chunks are
    held at once, so memory stays bounded."""
    folder = os.path.join(root, "")
    groups = _groups(rows)
    with ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="sluice-read") as pool:
        pending: deque[Future[_Chunk]] = deque()
        try:
            for group in groups:
                pending.append(pool.submit(_read_group, folder, group))
                if len(pending) >= _AHEAD:
                    _stage_chunk(warehouse, pending.popleft().result())
            while pending:
                _stage_chunk(warehouse, pending.popleft().result())
        finally:
            for future in pending:
                future.cancel()


def _groups(rows: list[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    """The rows in groups of about _READ_BYTES by listed size; the first smaller, so that
    the engine starts early."""
    group: list[tuple[Any, ...]] = []
    held, limit = 0, _FIRST_READ_BYTES
    for row in rows:
        group.append(row)
        held += row[3]
        if held >= limit:
            yield group
            group, held, limit = [], 0, _READ_BYTES
    if group:
        yield group


def _read_group(folder: str, rows: list[tuple[Any, ...]]) -> _Chunk:
    chunk = _Chunk()
    for ord, name, raw, size, modified_ns in rows:
        chunk.add(ord, folder + (os.fsdecode(bytes(raw)) if raw is not None else name),
                  size, modified_ns)
    return chunk


def _stage_chunk(warehouse: Warehouse, chunk: _Chunk) -> None:
    if chunk.texts:
        source = ("SELECT unnest(?) AS ord, unnest(?) AS sha256, "
                  "unnest(string_split(?, ?)) AS text")
        warehouse.execute(f"""
            INSERT INTO {STAGED} BY NAME
            SELECT ord, name, size, modified_ns, sha256, text, document, valid, is_json
            FROM ({parsed(source)}) JOIN adv_paths USING (ord)
        """, [chunk.ords, chunk.sha256s, _SEPARATOR.join(chunk.texts), _SEPARATOR])
    if chunk.others:
        _stage_read_here(warehouse, chunk.others)


def _stage_read_here(warehouse: Warehouse, contents: list[tuple[int, bytes | None, str | None]]
                     ) -> None:
    """Files whose bytes the engine decodes (or that could not be read: the reason)."""
    ords, blobs, unreadable = (list(column) for column in zip(*contents, strict=True))
    source = ("SELECT unnest(?) AS ord, CAST(unnest(?) AS BLOB) AS content, "
              "unnest(?) AS unreadable")
    warehouse.execute(f"""
        INSERT INTO {STAGED} BY NAME
        SELECT ord, name, size, modified_ns, sha256, text, document, unreadable, valid,
               is_json, CASE WHEN unreadable IS NULL AND text IS NULL AND document IS NULL
                             THEN 'not UTF-8 text' END AS skip_reason
        FROM ({parsed(_decoded(source))}) JOIN adv_paths USING (ord)
    """, [ords, blobs, unreadable])


def record_clean_files(warehouse: Warehouse, run: RunSummary) -> None:
    """The ledger rows of the clean files, straight from adv_ledger."""
    ledger.record_whole_files(
        warehouse, run, "SELECT file_id, name AS path, size, modified_ns, sha256 "
                        "FROM adv_ledger WHERE clean")


# --- identity and the ledger -----------------------------------------------------------------

def ledger_rows(warehouse: Warehouse, file_id: str) -> None:
    """Decide for every staged row: not a record, unreadable, seen before, or to load,
    into temp table adv_ledger (`file_id`: the SQL for each row's ledger id). A record
    is seen before when the warehouse holds at least as many copies of its bytes
    (loaded, or quarantined) as its occurrence number n. Also leaves temp table
    adv_ids: ord, file_id, load, sha256, n."""
    warehouse.pull_for_keys(
        f"SELECT DISTINCT sha256 FROM {STAGED} WHERE sha256 IS NOT NULL", "sha256 VARCHAR",
        f"""SELECT sha256, sum(loaded) AS loaded, sum(rejected) AS rejected FROM (
                SELECT sha256, 1 AS loaded, 0 AS rejected FROM advocacy.raw_records
                UNION ALL
                SELECT sha256, 0, 1 FROM advocacy.rejected_documents
            ) AS copies WHERE sha256 IN (SELECT sha256 FROM {KEYS_TABLE})
            GROUP BY sha256""", "adv_copies")
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_ledger AS
        WITH records AS (
            SELECT * EXCLUDE (text, document),
                   skip_reason IS NULL AND unreadable IS NULL AS record
            FROM {STAGED}
        ), numbered AS (
            SELECT *, CASE WHEN record THEN row_number() OVER (PARTITION BY record, sha256
                                                               ORDER BY ord) END AS n
            FROM records
        ), copies AS (
            SELECT * FROM adv_copies
        )
        SELECT *, record AND seen IS NULL AS load, record AND seen IS NULL AND valid AS clean
        FROM (
            SELECT d.*, {file_id} AS file_id,
                   CASE WHEN d.n <= coalesce(c.loaded, 0) THEN '{LOADED}'
                        WHEN d.n <= coalesce(c.loaded, 0) + coalesce(c.rejected, 0)
                          THEN '{REJECTED}' END AS seen
            FROM numbered d LEFT JOIN copies c USING (sha256)
        );
        CREATE OR REPLACE TEMP TABLE adv_ids AS
        SELECT ord, file_id, load, sha256, n FROM adv_ledger;
    """)


def folder_ledger_rows(warehouse: Warehouse, run: RunSummary) -> dict[int, InputFile]:
    """Every staged file its own ledger row. Only the rows with something to report
    become Python objects (returned by ord); the clean ones are counted in
    `run.clean_files` and written by `record_clean_files`, so memory does not grow per
    file."""
    count = int(warehouse.scalar(f"SELECT count(*) FROM {STAGED}"))
    first = ledger.next_file_ids(warehouse, count)[:1] or [0]
    ledger_rows(warehouse, f"{first[0] - 1} + row_number() OVER (ORDER BY d.ord)")
    run.clean_files = int(warehouse.scalar("SELECT count(*) FROM adv_ledger WHERE clean"))
    entries = {int(row[0]): _file_entry(*row[1:]) for row in warehouse.query(
        "SELECT ord, name, size, modified_ns, sha256, file_id, skip_reason, unreadable, seen "
        "FROM adv_ledger WHERE NOT clean ORDER BY ord").rows}
    run.files.extend(entries.values())
    return entries


def _file_entry(name: str, size: int | None, modified_ns: int | None, sha256: str | None,
                file_id: int, skip: str | None, unreadable: str | None, seen: str | None
                ) -> InputFile:
    entry = InputFile(Path(name), int(size or 0), int(modified_ns or 0), "",
                      file_id=int(file_id))
    if skip:
        entry.status, entry.note = SKIPPED, f"skipped: {skip}"
    elif unreadable:
        entry.status, entry.note = UNREADABLE, unreadable
    else:
        entry.sha256 = str(sha256)
        if seen:
            entry.status = SKIPPED
            entry.note = ("skipped: loaded before, unchanged" if seen == LOADED else
                          "skipped: quarantined before, unchanged")
        else:
            entry.records_read = entry.loaded = 1
    return entry


def lines_ledger_rows(warehouse: Warehouse, entry: InputFile) -> None:
    """Every line belongs to the file's one entry, which gets the counts: lines seen
    before are duplicates."""
    ledger_rows(warehouse, str(entry.file_id))
    read, duplicates, load = warehouse.query(
        "SELECT count(*) FILTER (WHERE record), count(seen), count(*) FILTER (WHERE load) "
        "FROM adv_ledger").rows[0]
    entry.records_read, entry.duplicates, entry.loaded = int(read), int(duplicates), int(load)
