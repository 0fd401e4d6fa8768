"""The two files of a shop delivery, as the ledger knows them, and what the shop writes.

A delivery is a folder holding `items.csv` (the catalogue) and `transactions.jsonl`;
either may be missing. A file whose content was loaded before is skipped, found by its
checksum (trusted without reading when its path, size and modification time match the
ledger's, as everywhere in sluice). A file that cannot be read as a whole (permission
denied, a folder by that name, changed while it was read, an items.csv whose header does
not name the columns) fails the run: the two files depend on each other (transactions
name the catalogue's items), so loading half a delivery would quarantine good
transactions as naming unknown items.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sluice import ledger
from sluice.errors import SluiceError, UsageError
from sluice.ledger import SKIPPED, InputFile, RunSummary
from sluice.lines import file_stat
from sluice.paths import shown
from sluice.pipelines.shop.settings import ITEMS_FILE as ITEMS_FILE
from sluice.pipelines.shop.settings import PIPELINE as PIPELINE
from sluice.pipelines.shop.settings import TRANSACTIONS_FILE as TRANSACTIONS_FILE
from sluice.quarantine import QUARANTINE_COLUMNS
from sluice.warehouse import Warehouse

# A name, or any other text a reason quotes, is cut to this many characters.
QUOTED_LIMIT = 200


def delivery_files(folder: str) -> tuple[Path | None, Path | None]:
    """The folder's items.csv and transactions.jsonl (None for one that is missing);
    a usage error if the folder does not exist or holds neither."""
    root = Path(folder)
    if not root.exists():
        raise UsageError(f"no such folder: {folder}")
    if not root.is_dir():
        raise UsageError(f"{folder} is not a folder; name the folder that holds "
                         f"{ITEMS_FILE} and {TRANSACTIONS_FILE}")
    items, transactions = root / ITEMS_FILE, root / TRANSACTIONS_FILE
    found = (items if os.path.lexists(items) else None,
             transactions if os.path.lexists(transactions) else None)
    if found == (None, None):
        raise UsageError(f"{folder} holds neither {ITEMS_FILE} nor {TRANSACTIONS_FILE}")
    return found


def offer(warehouse: Warehouse, run: RunSummary, path: Path) -> InputFile:
    """The file as the run's input, its size and modification time read; a regular file
    or a run-failing error."""
    if not path.is_file():
        raise SluiceError(f"{shown(path)} is not a regular file; nothing was loaded")
    try:
        size, modified = file_stat(path)
    except OSError as error:
        raise unreadable(path, error) from None
    offered = InputFile(path.resolve(), size, modified, "", file_id=ledger.next_file_id(warehouse))
    run.files.append(offered)
    return offered


def known_checksum(warehouse: Warehouse, offered: InputFile) -> str | None:
    """The checksum the ledger holds for this path, size and modification time."""
    return ledger.known_sha256(warehouse, PIPELINE, offered)


def skip_if_loaded(warehouse: Warehouse, offered: InputFile, sha256: str) -> bool:
    """Mark the file skipped if content with this checksum was loaded before."""
    offered.sha256 = sha256
    earlier = ledger.already_loaded(warehouse, PIPELINE, sha256)
    if earlier is None:
        return False
    offered.status, offered.note = SKIPPED, f"same content as {earlier}, already loaded"
    return True


def check_unchanged(offered: InputFile, bytes_read: int | None = None) -> None:
    """Fail the run if the file changed while it was read (or a reader read another
    number of bytes than it holds)."""
    try:
        now = file_stat(offered.path)
    except OSError as error:
        raise unreadable(offered.path, error) from None
    if now != (offered.size, offered.modified_ns) or bytes_read not in (None, offered.size):
        raise SluiceError(f"{shown(offered.path)} changed while it was read; nothing was "
                          "loaded: run again when the delivery is complete")


def unreadable(path: Path, error: OSError) -> SluiceError:
    return SluiceError(f"cannot read {shown(path)}: {error.strerror or 'input/output error'}; "
                       "nothing was loaded")


def quoted(sql: str) -> str:
    """SQL quoting a text value for a reason: in single quotes, cut short, a NUL shown as
    \\u0000 (a reason is a PostgreSQL text array, which cannot hold NUL)."""
    return (f"'''' || replace(left({sql}, {QUOTED_LIMIT}), chr(0), '\\u0000') || ''''")


def quarantine(warehouse: Warehouse, run: RunSummary, offered: InputFile, engine_sql: str,
               params: Sequence[Any] = ()) -> None:
    """Rejected records into sluice.quarantine: an engine query of (line_number, raw,
    reasons)."""
    warehouse.destination.push("sluice.quarantine", QUARANTINE_COLUMNS, f"""
        SELECT CAST(? AS BIGINT) AS run_id, CAST(? AS VARCHAR) AS pipeline,
               CAST(? AS BIGINT) AS file_id, CAST(? AS VARCHAR) AS source_file,
               CAST(line_number AS BIGINT) AS line_number, CAST(raw AS VARCHAR) AS raw,
               CAST(reasons AS VARCHAR[]) AS reasons
        FROM ({engine_sql}) AS rejected
    """, [run.run_id, PIPELINE, offered.file_id, offered.shown, *params])


def rejected_count(warehouse: Warehouse, offered: InputFile) -> int:
    """The file's rows in quarantine, counted where they landed."""
    return int(warehouse.destination.scalar(
        "SELECT count(*) FROM sluice.quarantine WHERE file_id = ?", [offered.file_id]))


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Any]:
    """A text stream whose content replaces `path` only once it is complete: written
    under a temporary name in the same folder, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
        os.chmod(temporary, 0o666 & ~_umask())  # as an ordinary new file gets
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def first_version_verdicts(warehouse: Warehouse, table: str, valid: str, key: str,
                           known: str, same: str) -> None:
    """Temp table `table` (position, verdict): each valid row (the query `valid`, with
    `position` and `key`) is `new` (the first version of its key), a `duplicate` (the
    same as the first version: the one in `known`, the warehouse's, or else the run's
    first) or a `conflict`. `same` is a condition over the aliases `{a}` and `{b}`."""
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        WITH firsts AS (
            SELECT * FROM ({valid}) AS v
            QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY position) = 1
        )
        SELECT r.position,
               CASE WHEN k.{key} IS NOT NULL THEN
                        CASE WHEN {same.format(a="r", b="k")} THEN 'duplicate' ELSE 'conflict' END
                    WHEN f.position = r.position THEN 'new'
                    WHEN {same.format(a="r", b="f")} THEN 'duplicate'
                    ELSE 'conflict' END AS verdict
        FROM ({valid}) AS r
        LEFT JOIN {known} k ON k.{key} = r.{key}
        LEFT JOIN firsts f ON f.{key} = r.{key}
    """)
