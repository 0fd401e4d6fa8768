"""Advocacy ingest: a folder (or .tar.gz) of one-JSON-object-per-advocate files.

The engine reads every file of the folder in one scan (`read_blob`), checksums, decodes
and validates them in SQL; only the files it finds broken come back to Python for a
bracket repair. Advocates, memberships and tasks are extracted and cleaned in SQL by the
rules in `rules.py`; the warehouse changes in one transaction.
"""

from __future__ import annotations

import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sluice import ledger
from sluice.errors import UsageError, first_line
from sluice.faults import crash_point
from sluice.ingest import Progress, no_progress
from sluice.ledger import LOADED, SKIPPED, InputFile, RunSummary
from sluice.pipelines.advocacy import rules
from sluice.pipelines.advocacy.repair import complete_brackets
from sluice.quarantine import QUARANTINE_COLUMNS, ensure_quarantine, keep_unreadable_file
from sluice.staging import drop_scan_rejects, lines_source, scanner_rejects, sql_string
from sluice.warehouse import Warehouse

PIPELINE = "advocacy"
REJECTED = "rejected"
SCHEMA_SQL = resources.files("sluice.pipelines.advocacy") / "schema.sql"
RAW_TEXT_LIMIT = 65_536
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")


@contextmanager
def opened_source(source: str) -> Iterator[Path]:
    """The folder to read: the folder itself, or a .tar.gz unpacked to a temporary one."""
    path = Path(source)
    if not path.exists():
        raise UsageError(f"no such file or folder: {source}")
    if path.is_dir():
        yield path.resolve()
        return
    if not path.name.lower().endswith((".tar.gz", ".tgz", ".tar")):
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


def ingest(warehouse: Warehouse, source: str, progress: Progress = no_progress) -> RunSummary:
    """Load a folder, a .tar.gz of one, or a JSON Lines file of advocates."""
    path = Path(source)
    if path.is_file() and path.name.lower().endswith(JSON_LINES_SUFFIXES):
        return _run(warehouse, progress, lambda run: _read_json_lines(warehouse, run, path))
    with opened_source(source) as root:
        return _run(warehouse, progress, lambda run: _read_folder(warehouse, run, root))


def _run(warehouse: Warehouse, progress: Progress,
         read: Callable[[RunSummary], Documents]) -> RunSummary:
    run = ledger.start_run(warehouse, PIPELINE, "ingest")
    try:
        steps = 5
        ensure_quarantine(warehouse)
        warehouse.run_sql_file(SCHEMA_SQL)
        progress("reading files", 0, steps)
        documents = read(run)
        progress("repairing records cut short", 1, steps)
        _repair_broken(warehouse, run, documents)
        progress("cleaning records", 2, steps)
        _extract_records(warehouse)
        progress("committing", 3, steps)
        with warehouse.transaction():
            _merge(warehouse)
            _quarantine_rejected(warehouse, run)
            _record_clean_files(warehouse, run)
            ledger.record_files(warehouse, run)
            crash_point("before-commit")
        progress("done", steps, steps)
    except BaseException as error:
        ledger.fail_run(warehouse, run, first_line(error))
        raise
    return run


@dataclass
class Documents:
    """The records to load: each document's ledger entry (a file of its own, or the JSON
    Lines file it is a line of), and where a rejected file can be copied from."""

    entries: dict[str, InputFile]
    root: Path | None  # the folder of one-file-per-advocate input; None for JSON Lines


def _read_folder(warehouse: Warehouse, run: RunSummary, root: Path) -> Documents:
    warehouse.execute("CREATE OR REPLACE TEMP TABLE adv_refused "
                      "(line_number BIGINT, raw VARCHAR, reason VARCHAR, rank BIGINT)")
    _read_files(warehouse, root)
    entries = _ledger_entries(warehouse, run)
    return Documents({str(e.path): e for e in entries if e.status == LOADED}, root)


def _read_json_lines(warehouse: Warehouse, run: RunSummary, path: Path) -> Documents:
    """Each line one advocate, named `file:line`; the file is one ledger entry."""
    stat = path.stat()
    entry = InputFile(Path(path.name), stat.st_size, stat.st_mtime_ns, "",
                      file_id=ledger.next_file_id(warehouse))
    entry.sha256 = ledger.known_sha256(warehouse, PIPELINE, entry) or ledger.sha256_of(path)
    run.files.append(entry)
    seen = warehouse.scalar(
        "SELECT max(status) FROM sluice.files WHERE pipeline = ? AND path = ? AND sha256 = ? "
        "AND status = ?", [PIPELINE, path.name, entry.sha256, LOADED])
    drop_scan_rejects(warehouse)
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_lines AS
        SELECT row_number() OVER () AS ord, line AS text
        FROM {lines_source(path) if not seen else "(SELECT NULL::VARCHAR AS line WHERE false)"}
    """)
    refused = [] if seen else scanner_rejects(warehouse, path)
    # A line's number: its position among the lines read, plus the refused lines before it.
    warehouse.execute(
        "CREATE OR REPLACE TEMP TABLE adv_refused AS SELECT unnest(?) AS line_number, "
        "unnest(?) AS raw, unnest(?) AS reason, unnest(generate_series(1, ?)) AS rank",
        [[r[0] for r in refused], [r[1] for r in refused], [r[2] for r in refused],
         len(refused)])
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_files AS
        SELECT {sql_string(path.name + ":")} || (ord + (SELECT count(*) FROM adv_refused r
                                              WHERE r.line_number - r.rank < ord)) AS name,
               ord, text,
               CASE WHEN text IS NULL OR trim(text) = '' THEN 'blank line' END AS stray_reason,
               CASE WHEN trim(text) <> '' AND json_valid(text) THEN json_type(text) = 'OBJECT'
                    ELSE false END AS valid
        FROM adv_lines
    """)
    if seen:
        entry.status, entry.note = SKIPPED, "skipped: loaded before, unchanged"
    records = int(warehouse.scalar("SELECT count(*) FROM adv_files WHERE stray_reason IS NULL"))
    entry.records_read = records + len(refused)
    entry.loaded, entry.rejected = records, len(refused)
    names = [str(n) for (n,) in warehouse.query(
        "SELECT name FROM adv_files WHERE stray_reason IS NULL ORDER BY ord").rows]
    _record_ids(warehouse, names, [entry.file_id] * len(names), [True] * len(names))
    return Documents(dict.fromkeys(names, entry), None)


def _read_files(warehouse: Warehouse, root: Path) -> None:
    prefix = len(str(root)) + 2
    has_files = any(p.is_file() for p in root.rglob("*"))
    source = (f"read_blob({sql_string(str(root) + '/**')})" if has_files else
              "(SELECT NULL::VARCHAR AS filename, NULL::BLOB AS content, NULL::BIGINT AS size, "
              "NULL::TIMESTAMPTZ AS last_modified WHERE false)")
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_files AS
        SELECT *, row_number() OVER (ORDER BY name) AS ord,
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
            FROM {source}
        )
    """)


def _ledger_entries(warehouse: Warehouse, run: RunSummary) -> list[InputFile]:
    """The ledger rows of a folder's files, kept in the temp table adv_ledger. Only the
    files with something to report (skipped, or in need of repair) become Python objects;
    the clean ones are counted in `run.clean_files`, so memory does not grow per file."""
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_ledger AS
        SELECT *, stray_reason IS NULL AND seen IS NULL AS load,
               stray_reason IS NULL AND seen IS NULL AND valid AS clean
        FROM (
            SELECT a.name, a.ord, a.size, a.modified_ns, a.sha256, a.stray_reason, a.valid,
                   nextval('sluice.file_ids') AS file_id,
                   (SELECT max(k.status) FROM sluice.files k WHERE k.pipeline = '{PIPELINE}'
                    AND k.path = a.name AND k.sha256 = a.sha256
                    AND k.status IN ('{LOADED}', '{REJECTED}')) AS seen
            FROM adv_files a
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


def _record_clean_files(warehouse: Warehouse, run: RunSummary) -> None:
    """The ledger rows of the clean files, straight from adv_ledger."""
    if run.clean_files:
        warehouse.execute(f"""
            INSERT INTO sluice.files
            SELECT file_id, ?, '{PIPELINE}', name, size, modified_ns, sha256, '{LOADED}',
                   1, 1, 0, 0, NULL
            FROM adv_ledger WHERE clean
        """, [run.run_id])


def _record_ids(warehouse: Warehouse, names: list[str], file_ids: list[int], load: list[bool]
                ) -> None:
    warehouse.execute("CREATE OR REPLACE TEMP TABLE adv_ids "
                      "(name VARCHAR, file_id BIGINT, load BOOLEAN)")
    warehouse.insert_rows("adv_ids", list(zip(names, file_ids, load, strict=True)))


def _repair_broken(warehouse: Warehouse, run: RunSummary, documents: Documents) -> None:
    """Complete the brackets of records cut short; reject the ones that stay broken (a
    rejected file is also copied to the quarantine folder)."""
    broken = warehouse.query(
        "SELECT a.name, a.text FROM adv_files a JOIN adv_ids i USING (name) "
        "WHERE i.load AND NOT a.valid ORDER BY a.ord").rows
    repaired: list[tuple[str, str]] = []
    rejected: list[tuple[str, str]] = []
    for name, text in broken:
        entry, repair = documents.entries[name], complete_brackets(text)
        if repair.text is None:
            reason = f"invalid JSON, {repair.note}"
            entry.loaded, entry.rejected = entry.loaded - 1, entry.rejected + 1
            if documents.root is not None:
                entry.status = REJECTED
                entry.note = keep_unreadable_file(warehouse, run.run_id, documents.root / name,
                                                  reason)
            rejected.append((name, reason))
        else:
            repaired.append((name, repair.text))
            if documents.root is not None:
                entry.note = repair.note
    warehouse.execute(
        "CREATE OR REPLACE TEMP TABLE adv_repaired AS SELECT unnest(?) AS name, unnest(?) AS text",
        [[n for n, _ in repaired], [t for _, t in repaired]])
    warehouse.execute(
        "CREATE OR REPLACE TEMP TABLE adv_rejected AS SELECT unnest(?) AS name, unnest(?) AS reason",
        [[n for n, _ in rejected], [r for _, r in rejected]])


def _extract_records(warehouse: Warehouse) -> None:
    """Temp tables adv_a, adv_m, adv_t: advocates, memberships and tasks, cleaned, with
    the raw JSON value of every field and the rule it broke."""
    a, m, t = rules.ADVOCATE_FIELDS, rules.PROGRAM_FIELDS, rules.TASK_FIELDS
    advocates = f"""
        SELECT file_id, ord, source_file, {rules.extract_columns(a, "document")},
               json_extract(document, '$.advocacy_programs[*]') AS programs
        FROM adv_docs"""
    memberships = f"""
        SELECT file_id, ord, source_file, advocate_id, position,
               advocate_id || '#' || position AS membership_id,
               {rules.extract_columns(m, "program")},
               json_extract(program, '$.tasks_completed[*]') AS tasks
        FROM (SELECT file_id, ord, source_file, advocate_id,
                     unnest(generate_series(1, len(programs))) AS position,
                     unnest(programs) AS program
              FROM adv_a)"""
    tasks = f"""
        SELECT file_id, ord, source_file, advocate_id, membership_id, program_id, brand,
               membership_id || '#' || position AS task_key,
               {rules.extract_columns(t, "task")}
        FROM (SELECT file_id, ord, source_file, advocate_id, membership_id, program_id,
                     brand, unnest(generate_series(1, len(tasks))) AS position,
                     unnest(tasks) AS task
              FROM adv_m)"""
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_docs AS
        SELECT i.file_id, f.ord, f.name AS source_file, r.text IS NOT NULL AS repaired,
               CAST(coalesce(r.text, f.text) AS JSON) AS document
        FROM adv_files f JOIN adv_ids i USING (name) LEFT JOIN adv_repaired r USING (name)
        WHERE i.load AND (f.valid OR r.text IS NOT NULL);

        CREATE OR REPLACE TEMP TABLE adv_a AS
        SELECT * EXCLUDE ({rules.helper_columns(a)}),
               coalesce(CAST(user_id AS VARCHAR), 'file:' || source_file) AS advocate_id
        FROM ({rules.typed_sql(a, advocates)});

        CREATE OR REPLACE TEMP TABLE adv_m AS
        SELECT * EXCLUDE ({rules.helper_columns(m)}) FROM ({rules.typed_sql(m, memberships)});

        CREATE OR REPLACE TEMP TABLE adv_t AS
        SELECT * EXCLUDE ({rules.helper_columns(t)}) FROM ({rules.typed_sql(t, tasks)});

        -- The newest version of each advocate (latest file of this run) wins.
        CREATE OR REPLACE TEMP TABLE adv_winners AS
        SELECT advocate_id, max(ord) AS ord FROM adv_a GROUP BY advocate_id;
    """)


def _issues_sql() -> str:
    parts = []
    for entity, table, key, fields in (
        ("advocate", "adv_a", "advocate_id", rules.ADVOCATE_FIELDS),
        ("membership", "adv_m", "membership_id", rules.PROGRAM_FIELDS),
        ("task", "adv_t", "task_key", rules.TASK_FIELDS),
    ):
        for rule in fields:
            parts.append(
                f"SELECT file_id, source_file, '{entity}', {key}, '{rule.field}', "
                f"CAST({rule.column()} AS VARCHAR), {rule.field}__issue FROM {table} "
                f"WHERE {rule.field}__issue IS NOT NULL")
    return "\nUNION ALL\n".join(parts)


_ADVOCATE_COLUMNS = ("user_id", "name", "email", "instagram_handle", "tiktok_handle",
                     "joined_at")


def _merge(warehouse: Warehouse) -> None:
    """Replace every advocate this run carries by its newest version; record changes."""
    columns = ", ".join(_ADVOCATE_COLUMNS)
    changes = "\nUNION ALL\n".join(
        f"SELECT advocate_id, '{c}', CAST(previous_{c} AS VARCHAR), CAST({c} AS VARCHAR), "
        f"previous_file_id, file_id FROM versions WHERE previous_file_id IS NOT NULL "
        f"AND {c} IS DISTINCT FROM previous_{c}"
        for c in _ADVOCATE_COLUMNS)
    lagged = ", ".join(f"lag({c}) OVER w AS previous_{c}" for c in _ADVOCATE_COLUMNS)
    warehouse.execute(f"""
        INSERT INTO advocacy.advocate_changes
        WITH versions AS (
            SELECT *, lag(file_id) OVER w AS previous_file_id, {lagged}
            FROM (
                SELECT advocate_id, 0 AS ord, file_id, {columns} FROM advocacy.advocates
                WHERE advocate_id IN (SELECT advocate_id FROM adv_a)
                UNION ALL
                SELECT advocate_id, ord, file_id, {columns} FROM adv_a
            )
            WINDOW w AS (PARTITION BY advocate_id ORDER BY ord)
        )
        {changes};

        DELETE FROM advocacy.tasks WHERE advocate_id IN (SELECT advocate_id FROM adv_winners);
        DELETE FROM advocacy.memberships WHERE advocate_id IN (SELECT advocate_id FROM adv_winners);
        DELETE FROM advocacy.advocates WHERE advocate_id IN (SELECT advocate_id FROM adv_winners);

        INSERT INTO advocacy.advocates
        SELECT advocate_id, {columns}, file_id FROM adv_a SEMI JOIN adv_winners USING (advocate_id, ord);

        INSERT INTO advocacy.memberships
        SELECT membership_id, advocate_id, program_id, brand, total_sales_attributed, file_id
        FROM adv_m SEMI JOIN adv_winners USING (advocate_id, ord);

        INSERT INTO advocacy.tasks
        SELECT task_key, task_id, membership_id, advocate_id, program_id, brand, platform,
               post_url, likes, comments, shares, reach, file_id
        FROM adv_t SEMI JOIN adv_winners USING (advocate_id, ord);

        INSERT INTO advocacy.brands
        SELECT DISTINCT brand FROM adv_m WHERE brand IS NOT NULL
        AND brand NOT IN (SELECT brand FROM advocacy.brands);

        INSERT INTO advocacy.programs
        SELECT program_id, arg_min(brand, ord) FROM adv_m WHERE program_id IS NOT NULL
        AND program_id NOT IN (SELECT program_id FROM advocacy.programs)
        GROUP BY program_id;

        INSERT INTO advocacy.raw_records
        SELECT file_id, source_file, repaired, document FROM adv_docs;

        INSERT INTO advocacy.dq_issues
        {_issues_sql()};
    """)


def _quarantine_rejected(warehouse: Warehouse, run: RunSummary) -> None:
    """Records that could not be repaired, and lines of a JSON Lines file the scanner
    refused (not UTF-8), each with its reason; a line keeps its line number."""
    warehouse.execute(f"""
        INSERT INTO sluice.quarantine ({QUARANTINE_COLUMNS})
        SELECT ?, '{PIPELINE}', i.file_id, r.name,
               TRY_CAST(regexp_extract(r.name, ':([0-9]+)$', 1) AS BIGINT),
               left(f.text, {RAW_TEXT_LIMIT}), [r.reason]
        FROM adv_rejected r JOIN adv_ids i USING (name) JOIN adv_files f USING (name)
    """, [run.run_id])
    if warehouse.scalar("SELECT count(*) FROM adv_refused"):
        warehouse.execute(f"""
            INSERT INTO sluice.quarantine ({QUARANTINE_COLUMNS})
            SELECT ?, '{PIPELINE}', ?, ? || line_number, line_number, raw, [reason]
            FROM adv_refused
        """, [run.run_id, run.files[0].file_id, str(run.files[0].path) + ":"])
