"""Where `sluice votes ingest` spends its time: every engine statement of one run, timed.

    python bench/votes_breakdown.py [--votes 10000000] [--repeats 3]

Runs the ingest in this process on a fresh warehouse, with the engine's connection
wrapped so that each statement's wall time (and the process's CPU time over it) is
recorded under the step it belongs to; the rest of the run (Python, the checksum's wait,
commit) is what remains of the whole. Then measures, on the same file and in the same
process, what the engine alone needs for the parts of the work a bare load also does:
the ceiling. Prints Markdown; medians of the repeats.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import resource
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from votes_ingest import generated

# The first pattern a statement matches names its step.
STEPS = (
    ("staging: read, parse, type, check", r"^INSERT INTO staged\b"),
    ("staging: lines the reader skipped or refused",
     r"^INSERT INTO (staged_broken|staged_rejects)|sluice_scan|^SELECT .* FROM staged_"),
    ("duplicate candidates and verdicts", r"candidate_keys|repeated_keys|repeats|verdicts"),
    ("insert into the target", r"^INSERT INTO blog_analysis\.votes"),
    ("quarantine: rejected lines", r"conflict_lines|^INSERT INTO sluice\.quarantine"),
    ("commit", r"^COMMIT|^CHECKPOINT"),
)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class TimedConnection:
    """A DuckDB connection whose statements are timed by step."""

    def __init__(self, con: Any, spent: dict[str, list[float]]) -> None:
        self._con, self._spent = con, spent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def execute(self, sql: str, *args: Any) -> Any:
        with self._timed(sql):
            return self._con.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        with self._timed(sql):
            return self._con.executemany(sql, *args)

    @contextmanager
    def _timed(self, sql: str) -> Iterator[None]:
        head = " ".join(sql.split())[:300]
        step = next((name for name, pattern in STEPS
                     if re.search(pattern, head, re.IGNORECASE)), "other statements")
        wall, cpu = time.perf_counter(), cpu_seconds()
        try:
            yield
        finally:
            spent = self._spent[step]
            spent[0] += time.perf_counter() - wall
            spent[1] += cpu_seconds() - cpu


def one_run(path: Path, work: Path) -> tuple[float, float, dict[str, list[float]]]:
    from sluice.pipelines import votes
    from sluice.warehouse import Warehouse

    spent: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    target = work / "warehouse.db"
    for leftover in work.iterdir():
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()
    wall, cpu = time.perf_counter(), cpu_seconds()
    with Warehouse(target) as warehouse:
        timed = TimedConnection(warehouse.con, spent)
        warehouse.con = timed  # type: ignore[assignment]
        warehouse.destination.con = timed  # type: ignore[attr-defined]
        votes.ingest(warehouse, [str(path)])
    return time.perf_counter() - wall, cpu_seconds() - cpu, spent


def ceiling(path: Path, work: Path) -> dict[str, float]:
    """The engine alone, on the same file: what a load that parses, types and writes the
    rows costs, without sluice's guarantees."""
    import duckdb

    columns = ("{Id: 'BIGINT', PostId: 'BIGINT', VoteTypeId: 'SMALLINT', CreationDate: "
               "'TIMESTAMP', UserId: 'BIGINT', BountyAmount: 'INTEGER'}")
    text_columns = re.sub(r"'[A-Z]+'", "'VARCHAR'", columns)
    reader = (f"read_json('{path}', format = 'newline_delimited', ignore_errors = true, "
              "columns = {})")
    from sluice.pipelines.votes.contracts import CONTRACT

    strict = CONTRACT.json_records_sql(CONTRACT.json_reader(str(path)))
    fields = ", ".join(f'"{n}"' for n in CONTRACT.names)
    found = {}
    for name, sql in (
        ("read_json, typed, counted", f"SELECT count(*) FROM {reader.format(columns)}"),
        ("read_json, every field as text, counted",
         f"SELECT count(*) FROM {reader.format(text_columns)}"),
        ("bare load: CTAS SELECT DISTINCT, typed (the baseline)",
         f"CREATE TABLE votes AS SELECT DISTINCT * FROM {reader.format(columns)}"),
        # Every row written, broken ones with NULLs: a filter here would be pushed into
        # the typing and make the engine type each value twice.
        ("read_json as text, sluice's strict typing, written once (the ceiling)",
         f"CREATE TABLE votes AS SELECT {fields} FROM ({strict})"),
    ):
        database = work / "ceiling.db"
        database.unlink(missing_ok=True)
        con = duckdb.connect(str(database))
        started = time.perf_counter()
        con.execute(sql)
        con.close()
        found[name] = time.perf_counter() - started
    started = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    found["sha256 of the file (the checksum, in a thread beside the engine)"] = (
        time.perf_counter() - started)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--votes", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    path = generated(args.votes, "votes")
    work = Path(tempfile.mkdtemp(prefix="sluice-breakdown-"))
    runs = [one_run(path, work) for _ in range(args.repeats)]
    ceilings = [ceiling(path, work) for _ in range(args.repeats)]
    shutil.rmtree(work)

    total = statistics.median(r[0] for r in runs)
    total_cpu = statistics.median(r[1] for r in runs)
    print(f"file: {path.name}, {path.stat().st_size / 1e9:.2f} GB; medians of "
          f"{args.repeats} in-process runs: {total:.2f} s wall, {total_cpu:.2f} s CPU\n")
    print("| step | wall s | CPU s |\n|---|---:|---:|")
    steps = sorted({step for r in runs for step in r[2]},
                   key=lambda s: -statistics.median(r[2][s][0] for r in runs))
    accounted = 0.0
    for step in steps:
        wall = statistics.median(r[2][step][0] for r in runs)
        cpu = statistics.median(r[2][step][1] for r in runs)
        accounted += wall
        print(f"| {step} | {wall:.2f} | {cpu:.2f} |")
    print(f"| outside engine statements (Python, waiting for the checksum) | "
          f"{total - accounted:.2f} | |")
    print("\n| the engine alone, same file | wall s |\n|---|---:|")
    for name in ceilings[0]:
        print(f"| {name} | {statistics.median(c[name] for c in ceilings):.2f} |")


if __name__ == "__main__":
    main()
