"""Where advocacy records come from: a folder of one file per advocate, a .tar.gz of one,
or a JSON Lines file with one advocate per line.

Every record lands in one staging table, `advocacy_staging.documents`, created inside
the run's transaction and dropped before it commits, one row per folder entry or line:
ord (unique; the order in which later records win), name, size, modified_ns, sha256 (of
the document's bytes), text, and why a row is not a record to load: skip_reason (not a
record: a stray, a blank line), unreadable (could not be read), reject_reason (a record
refused unparsed: too large, a line the scanner refused); valid (a JSON object) and
is_json (parses at all).

A folder is listed first, with each file's size: strays are known by name and size and
never opened, nor is a file over MAX_FILE_BYTES. The rest is read `batch_size` files per
scan: DuckDB keeps about 1-2 KB of state for every file a scan was given, outside its
memory limit, so one scan over a million files would hold gigabytes; in batches memory
stays bounded and the staging table spills to disk like any other table. Names the
engine's glob cannot address (a backslash, bytes that are not UTF-8) are read here; and
after each batch every name must have a staged row, or it is read here, or recorded
unreadable with the reason: nothing goes missing silently.

A document is identified by its content: the SHA-256 of its bytes and its occurrence
among the byte-identical documents of one delivery (name order, or line order). It is
loaded unless the warehouse already holds that many copies of those bytes (loaded, or
quarantined). `ledger_rows` leaves temp table adv_ids: ord, file_id, load, sha256, n.
"""

from __future__ import annotations

import os
import stat
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice import ledger
from sluice.archives import unpack
from sluice.errors import DamagedInput, UsageError, first_line
from sluice.ingest import Progress
from sluice.intake import OWN_FILE
from sluice.ledger import LOADED, REJECTED, SKIPPED, UNREADABLE, InputFile, RunSummary
from sluice.paths import engine_can_open, engine_pattern, shown
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
_DIRECT_READ_BYTES = 64 << 20  # bytes read here before they go to the engine



def parsed(source: str) -> str:
    """`source` (with a column `text`) plus valid (a JSON object) and is_json (JSON of
    any kind), the text parsed once."""
    return f"""
        SELECT * EXCLUDE (kind), coalesce(kind = 'OBJECT', false) AS valid,
               kind IS NOT NULL AS is_json
        FROM (SELECT *, CASE WHEN trim(text) <> '' AND json_valid(text) THEN json_type(text)
                        END AS kind
              FROM ({source}))"""


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
            text VARCHAR, skip_reason VARCHAR, unreadable VARCHAR, reject_reason VARCHAR,
            valid BOOLEAN, is_json BOOLEAN);
    """)


def drop_staging(warehouse: Warehouse) -> None:
    # Table first: DuckDB 2.0 fails the commit after DROP SCHEMA ... CASCADE of a table
    # created in the same transaction.
    warehouse.execute(f"DROP TABLE {STAGED}; DROP SCHEMA advocacy_staging")


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
    direct_only = not engine_can_open(root)
    for start in range(0, to_read, batch_size):
        _read_batch(warehouse, root, start, start + batch_size, direct_only)
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
            self.warehouse.execute("INSERT INTO adv_listing (name, size, modified_ns) "
                                   "SELECT unnest(?), unnest(?), unnest(?)",
                                   [self.names, self.sizes, self.times])
            self.names, self.sizes, self.times = [], [], []
        if self.raw:
            self.warehouse.execute(
                "INSERT INTO adv_listing SELECT unnest(?), unnest(?), unnest(?), "
                "nullif(unnest(?), ''::BLOB)", [list(c) for c in zip(*self.raw, strict=True)])
            self.raw = []


def _may_read(path: str, mode: int) -> bool:
    """Whether this process may open the file: a file the engine cannot open would fail
    its whole scan, and with it the run's transaction. Readable by anyone is the common
    case and costs no call."""
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


def _read_batch(warehouse: Warehouse, root: Path, start: int, end: int,
                direct_only: bool) -> None:
    """Stage the files ranked start < k <= end: the engine reads the names it can
    address, in one scan; the others, and any it missed, are read here."""
    rows = warehouse.query("SELECT name, raw IS NULL FROM adv_paths WHERE k > ? AND k <= ? "
                           "ORDER BY k", [start, end]).rows
    if not direct_only:
        _engine_read(warehouse, root, [str(name) for name, plain in rows if plain])
    missing = warehouse.query(
        f"SELECT ord, name, raw, size, modified_ns FROM adv_paths p WHERE k > ? AND k <= ? "
        f"AND NOT EXISTS (SELECT 1 FROM {STAGED} s WHERE s.ord = p.ord) ORDER BY ord",
        [start, end]).rows
    if missing:
        _read_here(warehouse, root, missing)


def _engine_read(warehouse: Warehouse, root: Path, names: list[str]) -> None:
    """Read, checksum, decode and validate files in one scan into the staging table.
    Each path is escaped so that DuckDB's glob matches exactly that file; a file whose
    size or time differ from the listing's changed while being read."""
    if not names:
        return
    folder = engine_pattern(root).rstrip(os.sep) + os.sep
    paths = [folder + engine_pattern(name) for name in names]
    prefix = len(str(root).rstrip(os.sep)) + 2
    scan = (f"SELECT substr(filename, {prefix}) AS name, size AS read_size, "
            "epoch_ns(last_modified) AS read_ns, octet_length(content) AS got, content "
            "FROM read_blob(?)")
    # The engine's file times are whole seconds. The window also keeps DuckDB from
    # building one row group per file, and one row per file should a pattern ever match
    # more than its own.
    read = f"""
        SELECT p.ord, p.name, p.size, p.modified_ns, f.read_size <> p.size OR f.got <> p.size
                 OR abs(f.read_ns - p.modified_ns) >= 1000000000 AS changed,
               CASE WHEN NOT changed THEN f.sha256 END AS sha256,
               CASE WHEN NOT changed THEN f.text END AS text
        FROM ({_decoded(scan)}) f JOIN adv_paths p USING (name)
        WHERE p.k IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY p.ord) = 1"""
    warehouse.execute(f"""
        INSERT INTO {STAGED} BY NAME
        SELECT ord, name, size, modified_ns, sha256, text, valid, is_json,
               CASE WHEN NOT changed AND text IS NULL THEN 'not UTF-8 text' END AS skip_reason,
               CASE WHEN changed THEN '{CHANGED}' END AS unreadable
        FROM ({parsed(read)})
    """, [paths])


def _read_directly(path: Path) -> bytes:
    """A file's bytes, read here: at most MAX_FILE_BYTES + 1."""
    with path.open("rb") as stream:
        return stream.read(MAX_FILE_BYTES + 1)


def _read_here(warehouse: Warehouse, root: Path, rows: list[tuple[Any, ...]]) -> None:
    """Read files the engine cannot address or missed (rows of ord, name, raw name,
    listed size and time); a file that cannot be read is staged unreadable, with the
    reason, and one that differs from its listing, or changes while read, as changed."""
    contents: list[tuple[int, bytes | None, str | None]] = []
    held = 0
    for ord, name, raw, size, modified_ns in rows:
        path = root / (os.fsdecode(bytes(raw)) if raw is not None else str(name))
        try:
            data = _read_directly(path)
            after = os.stat(path)
        except OSError as error:
            reason = f"cannot read file: {error.strerror or first_line(error)}"
            contents.append((int(ord), None, reason))
            continue
        if (len(data), after.st_size, after.st_mtime_ns) != (size, size, modified_ns):
            contents.append((int(ord), None, CHANGED))
            continue
        contents.append((int(ord), data, None))
        held += len(data)
        if held >= _DIRECT_READ_BYTES:
            _stage_read_here(warehouse, contents)
            contents, held = [], 0
    _stage_read_here(warehouse, contents)


def _stage_read_here(warehouse: Warehouse, contents: list[tuple[int, bytes | None, str | None]]
                     ) -> None:
    if not contents:
        return
    ords, blobs, unreadable = (list(column) for column in zip(*contents, strict=True))
    source = ("SELECT unnest(?) AS ord, CAST(unnest(?) AS BLOB) AS content, "
              "unnest(?) AS unreadable")
    warehouse.execute(f"""
        INSERT INTO {STAGED} BY NAME
        SELECT ord, name, size, modified_ns, sha256, text, unreadable, valid, is_json,
               CASE WHEN unreadable IS NULL AND text IS NULL THEN 'not UTF-8 text'
               END AS skip_reason
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
            SELECT * EXCLUDE (text), skip_reason IS NULL AND unreadable IS NULL AS record
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
