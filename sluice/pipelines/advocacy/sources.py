"""Where advocacy records come from: a folder of one file per advocate, a .tar.gz of one,
or a JSON Lines file with one advocate per line.

Every record lands in one staging table, `advocacy_staging.documents`, created inside
the run's transaction and dropped before it commits: name, ord (the order in which later
records win), text, stray_reason (why it is not a record), valid (parses as a JSON
object), and for files size, modified_ns and sha256. A folder is read `batch_size` files
per scan: DuckDB keeps about 1-2 KB of state for every file a scan was given, outside its
memory limit, so one scan over a million files would hold gigabytes; in batches memory
stays bounded and the staging table spills to disk like any other table.

`Documents` then says which ledger entry each record belongs to; temp table `adv_ids`
holds name, file_id and load (a record to load in this run).
"""

from __future__ import annotations

import os
import re
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sluice import ledger
from sluice.errors import UsageError
from sluice.ingest import Progress
from sluice.ledger import LOADED, SKIPPED, InputFile, RunSummary
from sluice.quarantine import QUARANTINE_COLUMNS
from sluice.staging import drop_scan_rejects, lines_source, scanner_rejects, sql_string
from sluice.warehouse import Warehouse

PIPELINE = "advocacy"
REJECTED = "rejected"
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
BATCH_FILES = 50_000
_LISTING_CHUNK = 50_000
_GLOB_CHARACTERS = re.compile(r"([\[*?])")
STAGED = "advocacy_staging.documents"


@dataclass
class Documents:
    """The staged records: the ledger entry each one belongs to, and where a rejected
    file can be copied from."""

    entry_of: Callable[[str], InputFile]
    root: Path | None  # the folder of one-file-per-advocate input; None for JSON Lines


def create_staging(warehouse: Warehouse) -> None:
    """The staging table; call inside the run's transaction."""
    warehouse.execute(f"""
        CREATE SCHEMA advocacy_staging;
        CREATE TABLE {STAGED} (
            name VARCHAR, ord BIGINT, size BIGINT, modified_ns BIGINT, sha256 VARCHAR,
            text VARCHAR, stray_reason VARCHAR, valid BOOLEAN);
    """)


def drop_staging(warehouse: Warehouse) -> None:
    # Table first: DuckDB 2.0 fails the commit after DROP SCHEMA ... CASCADE of a table
    # created in the same transaction.
    warehouse.execute(f"DROP TABLE {STAGED}; DROP SCHEMA advocacy_staging")


def is_json_lines(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(JSON_LINES_SUFFIXES)


@contextmanager
def opened_folder(source: str) -> Iterator[Path]:
    """The folder to read: the folder itself, or a .tar.gz unpacked to a temporary one."""
    path = Path(source)
    if not path.exists():
        raise UsageError(f"no such file or folder: {source}")
    if path.is_dir():
        yield path.resolve()
        return
    if not path.name.lower().endswith(ARCHIVE_SUFFIXES):
        raise UsageError(
            f"{source} is not a folder, a .tar.gz archive or a JSON Lines file (.jsonl)")
    with tempfile.TemporaryDirectory(prefix="sluice-advocacy-") as folder:
        try:
            with tarfile.open(path) as archive:
                _extract_safely(archive, folder)
        except (tarfile.TarError, OSError, EOFError) as error:
            raise UsageError(f"cannot unpack {source}: {error}") from None
        yield Path(folder).resolve()


def _extract_safely(archive: tarfile.TarFile, folder: str) -> None:
    """Unpack regular files and folders only, never outside `folder` (Python's "data"
    filter where it exists, 3.11.4 on; the same checks by hand before that)."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(folder, filter="data")
        return
    for member in archive.getmembers():
        parts = Path(member.name).parts
        if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
            raise tarfile.TarError(f"refusing to unpack {member.name}")
    archive.extractall(folder)  # members checked above


# --- a folder of files -------------------------------------------------------------------

def stage_folder(warehouse: Warehouse, run: RunSummary, root: Path, batch_size: int,
                 progress: Progress) -> Documents:
    total, irregular = _list_folder(warehouse, root)
    _skip_irregular(warehouse, run, irregular)
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_seen AS
        SELECT path AS name, sha256, max(status) AS status FROM sluice.files
        WHERE pipeline = '{PIPELINE}' AND status IN ('{LOADED}', '{REJECTED}')
          AND path IN (SELECT name FROM adv_paths)
        GROUP BY ALL
    """)
    for start in range(0, total, batch_size):
        names = [str(n) for (n,) in warehouse.query(
            "SELECT name FROM adv_paths WHERE ord > ? AND ord <= ? ORDER BY ord",
            [start, start + batch_size]).rows]
        _read_files(warehouse, root, names, start)
        progress("reading files", start + len(names), total)
    notable = {str(e.path): e for e in _ledger_entries(warehouse, run)}
    return Documents(notable.__getitem__, root)


def _list_folder(warehouse: Warehouse, root: Path) -> tuple[int, list[str]]:
    """Temp table adv_paths: every regular file under `root` (relative name) and its rank
    by name; returns their count and the names that are not regular files (broken links,
    pipes, devices), which cannot be read. Names go to the engine in chunks, so a huge
    folder's listing can spill to disk."""
    warehouse.execute("CREATE OR REPLACE TEMP TABLE adv_listing (name VARCHAR)")
    chunk: list[str] = []
    irregular: list[str] = []
    for name, regular in _walk(root, ""):
        if not regular:
            irregular.append(name)
            continue
        chunk.append(name)
        if len(chunk) >= _LISTING_CHUNK:
            warehouse.execute("INSERT INTO adv_listing SELECT unnest(?)", [chunk])
            chunk = []
    if chunk:
        warehouse.execute("INSERT INTO adv_listing SELECT unnest(?)", [chunk])
    warehouse.execute("CREATE OR REPLACE TEMP TABLE adv_paths AS "
                      "SELECT name, row_number() OVER (ORDER BY name) AS ord FROM adv_listing; "
                      "DROP TABLE adv_listing")
    return int(warehouse.scalar("SELECT count(*) FROM adv_paths")), sorted(irregular)


def _walk(folder: Path, prefix: str) -> Iterator[tuple[str, bool]]:
    """(relative name, is a regular file) for everything under `folder`; symlinked
    folders are not followed (they could loop)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            name = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(Path(entry.path), name + os.sep)
            else:
                yield name, entry.is_file()


def _skip_irregular(warehouse: Warehouse, run: RunSummary, names: list[str]) -> None:
    if not names:
        return
    for name, file_id in zip(names, ledger.next_file_ids(warehouse, len(names)), strict=True):
        run.files.append(InputFile(
            Path(name), 0, 0, "", file_id=file_id, status=SKIPPED,
            note="skipped: not a regular file (a link to a folder, a broken link, a pipe)"))


def _read_files(warehouse: Warehouse, root: Path, names: list[str], start: int) -> None:
    """Read, checksum, decode and validate one batch of files in one scan, into the
    staging table. Each path is escaped so that DuckDB's glob matches exactly that file."""
    paths = [_GLOB_CHARACTERS.sub(r"[\1]", str(root / name)) for name in names]
    prefix = len(str(root)) + 2
    # The window (ORDER BY name) also keeps DuckDB from building one row group per file.
    warehouse.execute(f"""
        INSERT INTO {STAGED} BY NAME
        SELECT *, {start} + row_number() OVER (ORDER BY name) AS ord,
               CASE WHEN starts_with(parse_filename(name), '._') THEN 'macOS resource fork'
                    WHEN size = 0 THEN 'empty file'
                    WHEN NOT lower(name) LIKE '%.json' THEN 'not a .json file'
                    WHEN text IS NULL THEN 'not UTF-8 text'
               END AS stray_reason,
               CASE WHEN text <> '' AND json_valid(text) THEN json_type(text) = 'OBJECT'
                    ELSE false END AS valid
        FROM (
            SELECT substr(filename, {prefix}) AS name, size,
                   epoch_ns(last_modified) AS modified_ns, sha256(content) AS sha256,
                   try(decode(content)) AS text
            FROM read_blob(?)
        )
    """, [paths])


def _ledger_entries(warehouse: Warehouse, run: RunSummary) -> list[InputFile]:
    """The ledger rows of the staged files, kept in the temp table adv_ledger. Only the
    files with something to report (skipped, or in need of repair) become Python objects;
    the clean ones are counted in `run.clean_files`, so memory does not grow per file."""
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_ledger AS
        SELECT *, stray_reason IS NULL AND seen IS NULL AS load,
               stray_reason IS NULL AND seen IS NULL AND valid AS clean
        FROM (
            SELECT a.name, a.ord, a.size, a.modified_ns, a.sha256, a.stray_reason, a.valid,
                   nextval('sluice.file_ids') AS file_id, s.status AS seen
            FROM {STAGED} a LEFT JOIN adv_seen s USING (name, sha256)
        );
        CREATE OR REPLACE TEMP TABLE adv_ids AS SELECT name, file_id, load FROM adv_ledger;
    """)
    run.clean_files = int(warehouse.scalar("SELECT count(*) FROM adv_ledger WHERE clean"))
    entries = []
    for name, size, modified_ns, sha256, file_id, stray, seen in warehouse.query(
            "SELECT name, size, modified_ns, sha256, file_id, stray_reason, seen "
            "FROM adv_ledger WHERE NOT clean ORDER BY ord").rows:
        entry = InputFile(Path(name), int(size), int(modified_ns), str(sha256),
                          file_id=int(file_id))
        if stray or seen:
            entry.status = SKIPPED
            entry.note = (f"skipped: {stray}" if stray else
                          "skipped: loaded before, unchanged" if seen == LOADED else
                          "skipped: quarantined before, unchanged")
        else:
            entry.records_read = entry.loaded = 1
        entries.append(entry)
    run.files.extend(entries)
    return entries


def record_clean_files(warehouse: Warehouse, run: RunSummary) -> None:
    """The ledger rows of the clean files, straight from adv_ledger."""
    warehouse.execute(f"""
        INSERT INTO sluice.files
        SELECT file_id, ?, '{PIPELINE}', name, size, modified_ns, sha256, '{LOADED}',
               1, 1, 0, 0, NULL
        FROM adv_ledger WHERE clean
    """, [run.run_id])


# --- one JSON Lines file -----------------------------------------------------------------

def stage_json_lines(warehouse: Warehouse, run: RunSummary, path: Path) -> Documents:
    """Each line one advocate, named `file:line`; the file is one ledger entry. Lines the
    scanner refuses (not UTF-8) are quarantined with their line numbers. One scan: a
    single file costs the engine no per-file state, and the staging table spills."""
    stat = path.stat()
    entry = InputFile(Path(path.name), stat.st_size, stat.st_mtime_ns, "",
                      file_id=ledger.next_file_id(warehouse))
    entry.sha256 = ledger.known_sha256(warehouse, PIPELINE, entry) or ledger.sha256_of(path)
    run.files.append(entry)
    warehouse.execute("CREATE OR REPLACE TEMP TABLE adv_refused "
                      "(line_number BIGINT, raw VARCHAR, reason VARCHAR, rank BIGINT)")
    if warehouse.scalar(
            "SELECT count(*) FROM sluice.files WHERE pipeline = ? AND path = ? AND sha256 = ? "
            "AND status = ?", [PIPELINE, path.name, entry.sha256, LOADED]):
        entry.status, entry.note = SKIPPED, "skipped: loaded before, unchanged"
    else:
        _stage_lines(warehouse, path)
    refused = _quarantine_refused(warehouse, run, entry)
    records = int(warehouse.scalar(f"SELECT count(*) FROM {STAGED} WHERE stray_reason IS NULL"))
    entry.records_read = records + refused
    entry.loaded, entry.rejected = records, refused
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_ids AS
        SELECT name, {entry.file_id} AS file_id, true AS load
        FROM {STAGED} WHERE stray_reason IS NULL
    """)
    return Documents(lambda _name: entry, None)


def _stage_lines(warehouse: Warehouse, path: Path) -> None:
    """Stage every line the scanner read, named by its line number (which counts the
    refused lines before it); temp table adv_refused: the refused lines."""
    drop_scan_rejects(warehouse)
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_read AS
        SELECT row_number() OVER () AS ord, line AS text FROM {lines_source(path)}
    """)
    refused = scanner_rejects(warehouse, path)
    warehouse.execute(
        "INSERT INTO adv_refused SELECT unnest(?), unnest(?), unnest(?), "
        "unnest(generate_series(1, ?))",
        [[r[0] for r in refused], [r[1] for r in refused], [r[2] for r in refused],
         len(refused)])
    warehouse.execute(f"""
        INSERT INTO {STAGED} BY NAME
        SELECT {sql_string(path.name + ":")} || (ord + (SELECT count(*) FROM adv_refused r
                                              WHERE r.line_number - r.rank < ord)) AS name,
               ord, text,
               CASE WHEN text IS NULL OR trim(text) = '' THEN 'blank line' END AS stray_reason,
               CASE WHEN trim(text) <> '' AND json_valid(text) THEN json_type(text) = 'OBJECT'
                    ELSE false END AS valid
        FROM adv_read;
        DROP TABLE adv_read;
    """)


def _quarantine_refused(warehouse: Warehouse, run: RunSummary, entry: InputFile) -> int:
    """The lines the scanner refused, with their line numbers; returns how many."""
    warehouse.execute(f"""
        INSERT INTO sluice.quarantine ({QUARANTINE_COLUMNS})
        SELECT ?, '{PIPELINE}', ?, ? || line_number, line_number, raw, [reason]
        FROM adv_refused
    """, [run.run_id, entry.file_id, f"{entry.path}:"])
    return int(warehouse.scalar("SELECT count(*) FROM adv_refused"))
