"""`sluice quarantine replay`: quarantined records offered again to their pipeline's
current contract (after a rule was fixed, or a reference they needed arrived).

One run of the pipeline's own ingest, verb `replay`, reads the records' kept lines, one
input per file they came from (named `<file> (quarantine)` in the ledger). Those that
now pass are loaded; those that still fail are quarantined again with today's reasons.
Either way the records' earlier quarantine rows are superseded by the replay run when it
commits, so a record is never counted twice: across runs, what the pipeline received
(`read` of every run but replays) equals what is loaded, duplicated, rejected now, or
superseded by a newer version of its file (`balance`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from itertools import groupby
from pathlib import Path
from typing import Any

from sluice import ingest, rejects
from sluice.errors import UsageError
from sluice.intake import Entry
from sluice.ledger import RunSummary
from sluice.merge import LINE_COLUMN, LINEAGE_COLUMN
from sluice.progress import Progress, no_progress
from sluice.quarantine import readable_quarantine
from sluice.registry import Pipeline
from sluice.staging import StagedFile
from sluice.warehouse import Warehouse

REPLAY = "replay"
CHUNK = 1_000


@dataclass(frozen=True)
class Replayed:
    run: RunSummary | None  # None: no record could be offered, nothing was run
    offered: int
    # Records left as they are: their kept text is not the line byte for byte (see
    # `_kept_exactly`), so offering it would judge something else than what arrived.
    not_offered: int = 0


# The reasons of a line sluice could not keep as it was: its text is an escaped or cut
# copy.
_NOT_KEPT_EXACTLY = ("invalid UTF-8", "line longer than")


def replay(warehouse: Warehouse, pipeline: Pipeline, filters: rejects.Filters,
           progress: Progress = no_progress) -> Replayed:
    """Offer the matching current records of `pipeline` to its contract again."""
    spec = pipeline.replay_spec
    if spec is None:
        raise UsageError(f"--pipeline {pipeline.name}: replay is not possible: "
                         f"{pipeline.replay_refusal}")
    chosen = replace(filters, pipeline=pipeline.name, superseded=False)
    found = rejects.find(warehouse, chosen, None).dicts()
    records = [r for r in found if _kept_exactly(warehouse, r)]
    if not records:
        return Replayed(None, 0, len(found))
    by_file = [list(rows) for _, rows in groupby(records, key=lambda r: r["file_id"])]
    warehouse.spill_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="replay-", dir=warehouse.spill_dir) as folder:
        entries = [_landed(Path(folder), rows) for rows in by_file]
        origins = {str(entry.path): rows for entry, rows in zip(entries, by_file, strict=True)}

        def settle(warehouse: Warehouse, run: RunSummary, staged: list[StagedFile]) -> None:
            files = {str(f.path): f.file_id for f in staged}
            run.in_transaction.append(
                lambda wh: _settle(wh, run.run_id, spec.target,
                                   {files[path]: rows for path, rows in origins.items()
                                    if path in files}))

        run = ingest.ingest_entries(
            warehouse, replace(spec, verb=REPLAY, skip_seen_content=False,
                               before_commit=settle), entries, progress)
    return Replayed(run, len(records), len(found) - len(records))


def _kept_exactly(warehouse: Warehouse, record: dict[str, Any]) -> bool:
    """Whether the record's kept text is its line byte for byte, as a replay's input
    line reads back: not a line the scanner refused (not UTF-8, too long: kept escaped
    or cut), no CR (a line end to the reader), no NUL that a destination kept as text."""
    raw = record["raw"]
    if raw is None or "\r" in raw:
        return False
    if any(reason.startswith(_NOT_KEPT_EXACTLY) for reason in record["reasons"]):
        return False
    return warehouse.destination.text_holds_nul or "\\u0000" not in raw


def _landed(folder: Path, rows: list[dict[str, Any]]) -> Entry:
    """One file's records, their kept lines in order, as the input a replay reads. The
    first line is empty, so that no record is the file's first line (where a reader
    drops a byte-order mark a line in the middle of a file keeps)."""
    path = folder / f"{rows[0]['file_id']}.lines"
    path.write_text("".join(["\n", *(row["raw"] + "\n" for row in rows)]), encoding="utf-8")
    source = rows[0]["source_file"]
    return Entry(path, relative=Path(source).name + ".lines",
                 identity=f"{source} (replayed from the quarantine)")


def _settle(warehouse: Warehouse, run_id: int, target: str,
            replayed: dict[int, list[dict[str, Any]]]) -> None:
    """In the replay's transaction: the records' earlier rows are superseded by it, and
    what it loaded or rejected again names the file and line each record came from."""
    destination = warehouse.destination
    for replay_file, rows in replayed.items():
        source = rows[0]["source_file"]
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            # Line 1 of the replay's input is empty: record k (from 0) is on line k + 2.
            originals = [(position, row["line_number"])
                         for position, row in enumerate(chunk, start + 2)]
            marks = ", ".join("(CAST(? AS BIGINT), CAST(? AS BIGINT))" for _ in originals)
            flat = [value for pair in originals for value in pair]
            destination.execute(
                f"UPDATE sluice.quarantine SET superseded_by = ? WHERE file_id = ? "
                f"AND superseded_by IS NULL AND line_number IN "
                f"({', '.join('?' for _ in chunk)})",
                [run_id, chunk[0]["file_id"], *(row["line_number"] for row in chunk)])
            # To the negative of the original line first: a line set in one chunk must
            # not be taken for a replayed one by the next.
            for table, line, owner in _relabelled(target):
                extra = ", source_file = ?" if table == "sluice.quarantine" else ""
                destination.execute(
                    f"UPDATE {table} AS t SET {line} = -m.original{extra} "
                    f"FROM (VALUES {marks}) AS m(replayed, original) "
                    f"WHERE t.{owner} = ? AND t.{line} = m.replayed",
                    [*([source] if extra else []), *flat, replay_file])
        for table, line, owner in _relabelled(target):
            destination.execute(f"UPDATE {table} SET {line} = -{line} "
                                f"WHERE {owner} = ? AND {line} < 0", [replay_file])


def _relabelled(target: str) -> tuple[tuple[str, str, str], ...]:
    """The tables whose rows of a replay name a line of its input: (table, line column,
    file column)."""
    return (("sluice.quarantine", "line_number", "file_id"),
            (target, LINE_COLUMN, LINEAGE_COLUMN))


BALANCE_COLUMNS = ["pipeline", "received", "loaded", "duplicates", "rejected_now",
                   "superseded", "balanced"]


def balance(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Per pipeline, across every committed run: what it received (records read by runs
    that are not replays) against where they are now: loaded, counted as duplicates,
    rejected (current quarantine rows), or superseded by a newer version of their file.
    A replay moves records between these, never adds to them."""
    destination = warehouse.destination
    if not destination.table_exists("sluice", "runs"):
        return []
    totals = {str(p): [int(r or 0), int(lo or 0), int(d or 0)] for p, r, lo, d in
              destination.query(
                  "SELECT pipeline, sum(CASE WHEN verb <> ? THEN records_read ELSE 0 END), "
                  "sum(loaded), sum(duplicates) FROM sluice.runs WHERE status = 'succeeded' "
                  "GROUP BY pipeline ORDER BY pipeline", [REPLAY]).rows}
    quarantined: dict[str, tuple[int, int]] = {}
    if destination.table_exists("sluice", "quarantine"):
        quarantined = {str(p): (int(now or 0), int(old or 0)) for p, now, old in
                       destination.query(
                           "SELECT q.pipeline, "
                           "sum(CASE WHEN q.superseded_by IS NULL THEN 1 ELSE 0 END), "
                           "sum(CASE WHEN r.verb <> ? THEN 1 ELSE 0 END) "
                           f"FROM {readable_quarantine(warehouse)} AS q "
                           "LEFT JOIN sluice.runs AS r "
                           "ON r.run_id = q.superseded_by GROUP BY q.pipeline",
                           [REPLAY]).rows}
    rows = []
    for pipeline, (received, loaded, duplicates) in totals.items():
        now, superseded = quarantined.get(pipeline, (0, 0))
        rows.append(dict(zip(BALANCE_COLUMNS, [
            pipeline, received, loaded, duplicates, now, superseded,
            received == loaded + duplicates + now + superseded], strict=True)))
    return rows
