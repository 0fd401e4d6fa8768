"""A response into the warehouse: fetched (`fetch.py`), landed as JSON Lines (one day a
line, exactly as it arrived), and loaded by one run of the core's ingest, so the ledger
records the response like a file (its URL or path, checksum and counts) and every day
is loaded, counted as a duplicate, or quarantined with its reasons.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from sluice import ingest, intake
from sluice.ingest import KeyedLines
from sluice.intake import Entry
from sluice.ledger import SKIPPED, RunSummary
from sluice.merge import LINEAGE_COLUMN
from sluice.pipelines.covid.contracts import CONTRACT, TARGET, CovidRecords, Response
from sluice.pipelines.covid.fetch import (
    FetchError,
    RetryPolicy,
    fetch,
    identity,
    looks_like_url,
)
from sluice.pipelines.covid.settings import PIPELINE
from sluice.progress import Progress, no_progress
from sluice.warehouse import Warehouse

SPEC = KeyedLines(pipeline=PIPELINE, contract=CONTRACT, target=TARGET,
                  records=CovidRecords(Response("", "", "1970-01-01T00:00:00")))


@dataclass(frozen=True)
class Landed:
    run: RunSummary
    response: Response | None  # None: there was no response to load (the ledger says why)
    attempts: int  # HTTP requests it took (1 for a file)

    @property
    def skipped(self) -> bool:
        """Whether the response was loaded before (same content): nothing changed."""
        return all(f.status == SKIPPED for f in self.run.files)


def land(warehouse: Warehouse, source: str, progress: Progress = no_progress,
         policy: RetryPolicy | None = None) -> Landed:
    """Fetch the response at `source` (a URL or a file) and load its days. A source that
    gives no response of the expected shape is recorded in the ledger as unreadable,
    with the reason."""
    try:
        fetched = fetch(source, policy)
    except FetchError as error:
        unreadable = Entry(Path(source) if not looks_like_url(source) else Path(),
                           outcome=intake.UNREADABLE, reason=error.reason,
                           identity=identity(source))
        return Landed(ingest.ingest_entries(warehouse, SPEC, [unreadable], progress), None,
                      (policy or RetryPolicy()).attempts if looks_like_url(source) else 1)
    content = landed_lines(fetched.texts)
    response = Response(sha256=hashlib.sha256(content).hexdigest(),
                        source=identity(source), as_of=_as_of(source, fetched.fetched_at))
    spec = replace(SPEC, records=CovidRecords(response))
    warehouse.spill_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="covid-", dir=warehouse.spill_dir) as folder:
        path = Path(folder) / "response.jsonl"
        path.write_bytes(content)
        entry = Entry(path, relative=_kept_name(source), identity=response.source)
        run = ingest.ingest_entries(warehouse, spec, [entry], progress)
    return Landed(run, response, fetched.attempts)


def changes(warehouse: Warehouse, response: str) -> dict[str, dict[str, int]]:
    """Per country, what a response's days did to the latest word on each day, judged
    against what had arrived before it: `new` days, `revised` days (a newer response
    with another count), `unchanged` days, and `older` days (the response was fetched
    before the one that gave the latest word, which stands; a difference is still a
    revision in covid.revisions)."""
    rows = warehouse.destination.query(f"""
        WITH mine AS (
            SELECT country, "day", cumulative, as_of, {LINEAGE_COLUMN} AS file_id
            FROM {TARGET} WHERE response = ?
        ),
        prior AS (
            SELECT o.country, o."day", o.cumulative, o.as_of,
                   row_number() OVER (PARTITION BY o.country, o."day"
                                      ORDER BY o.as_of DESC, o.{LINEAGE_COLUMN} DESC) AS rank
            FROM {TARGET} AS o
            JOIN mine AS m ON o.country = m.country AND o."day" = m."day"
                          AND o.{LINEAGE_COLUMN} < m.file_id
        )
        SELECT m.country,
               sum(CASE WHEN p.cumulative IS NULL THEN 1 ELSE 0 END),
               sum(CASE WHEN p.as_of <= m.as_of AND p.cumulative <> m.cumulative
                        THEN 1 ELSE 0 END),
               sum(CASE WHEN p.as_of <= m.as_of AND p.cumulative = m.cumulative
                        THEN 1 ELSE 0 END),
               sum(CASE WHEN p.as_of > m.as_of THEN 1 ELSE 0 END)
        FROM mine AS m LEFT JOIN prior AS p
             ON p.country = m.country AND p."day" = m."day" AND p.rank = 1
        GROUP BY m.country ORDER BY m.country""", [response]).rows
    return {str(country): {"new": int(new), "revised": int(revised),
                           "unchanged": int(unchanged), "older": int(older)}
            for country, new, revised, unchanged, older in rows}


def landed_lines(texts: list[str]) -> bytes:
    """One day a line, each as it arrived (`fetch.Parsed.texts`)."""
    return "".join(text + "\n" for text in texts).encode("utf-8")


def _as_of(source: str, fetched_at: str) -> str:
    """When the response was fetched; for a saved response, when its file was written."""
    if not looks_like_url(source):
        with contextlib.suppress(OSError):
            fetched_at = datetime.fromtimestamp(Path(source).stat().st_mtime, UTC).isoformat(
                timespec="microseconds")
    return fetched_at.replace("+00:00", "")


def _kept_name(source: str) -> str:
    name = Path(urlsplit(source).path).name if looks_like_url(source) else Path(source).name
    return (name or "response") + ".jsonl"
