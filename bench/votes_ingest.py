"""Votes ingest benchmark: sluice against bare DuckDB on the same generated file.

    python bench/votes_ingest.py [--votes 10000000] [--repeats 3]

Every measurement runs in a fresh process (the way users run sluice) and reads that
process's own peak RSS from wait4(). Baseline and sluice alternate within each repeat so
that drift on the machine hits both alike; medians are reported. Prints Markdown.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compiled import compile_sluice

DATA = Path(__file__).parent / "data"

BASELINE = """
import duckdb, sys
con = duckdb.connect(sys.argv[1])
con.execute('''
    CREATE TABLE votes AS SELECT DISTINCT * FROM read_json(?, format = 'newline_delimited',
        ignore_errors = true,
        columns = {Id: 'BIGINT', PostId: 'BIGINT', VoteTypeId: 'SMALLINT',
                   CreationDate: 'TIMESTAMP', UserId: 'BIGINT', BountyAmount: 'INTEGER'})
''', [sys.argv[2]])
con.close()
"""


def measure(command: list[str], cwd: Path, env: dict[str, str] | None = None
            ) -> tuple[float, float]:
    """Wall seconds and peak RSS in MB of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{command} failed with status {status}")
    return elapsed, usage.ru_maxrss / 1024


def sluice(*args: str) -> list[str]:
    return [sys.executable, "-m", "sluice", *args]


def generated(votes: int, name: str, first_id: int = 1, seed: int = 7) -> Path:
    path = DATA / f"{name}-{votes}-{first_id}-{seed}.jsonl"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        subprocess.run(sluice("votes", "generate", str(path), "--votes", str(votes),
                              "--seed", str(seed), "--first-id", str(first_id)), check=True)
    return path


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--votes", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare-with", metavar="PYTHON",
                        help="also measure this Python's sluice (e.g. an earlier commit's venv)")
    args = parser.parse_args()
    compile_sluice(args.compare_with)

    big = generated(args.votes, "votes")
    lines = sum(1 for _ in big.open("rb"))
    work = Path(tempfile.mkdtemp(prefix="sluice-bench-"))
    print(f"file: {big.name}, {big.stat().st_size / 1e9:.2f} GB, {lines:,} lines; "
          f"{os.cpu_count()} cores; repeats: {args.repeats}\n")

    base_t, base_m, sl_t, sl_m, other_t, other_m = [], [], [], [], [], []
    for repeat in range(args.repeats):
        for target in ("baseline.db", "warehouse.db", "other.db"):
            (work / target).unlink(missing_ok=True)
        t, m = measure([sys.executable, "-c", BASELINE, "baseline.db", str(big)], work)
        base_t.append(t)
        base_m.append(m)
        t, m = measure(sluice("votes", "ingest", str(big), "--json"), work)
        sl_t.append(t)
        sl_m.append(m)
        if args.compare_with:
            t, m = measure([args.compare_with, "-m", "sluice", "votes", "ingest", str(big),
                            "--json", "--warehouse", "other.db"], work)
            other_t.append(t)
            other_m.append(m)
        print(f"repeat {repeat + 1}: bare DuckDB {base_t[-1]:.2f} s, sluice {sl_t[-1]:.2f} s"
              + (f", other sluice {other_t[-1]:.2f} s" if other_t else ""))

    rows = [
        ("bare DuckDB (CTAS SELECT DISTINCT FROM read_json, typed)", median(base_t),
         median(base_m)),
        ("sluice votes ingest (validation, quarantine, dedup, ledger)", median(sl_t),
         median(sl_m)),
    ]
    print("\n| run | median s | lines/s | peak RSS MB |\n|---|---:|---:|---:|")
    for name, seconds, memory in rows:
        print(f"| {name} | {seconds:.2f} | {lines / seconds:,.0f} | {memory:,.0f} |")
    print(f"\nthroughput ratio sluice / bare DuckDB: {median(base_t) / median(sl_t):.2f}")
    if other_t:
        print(f"other sluice ({args.compare_with}): median {median(other_t):.2f} s, peak "
              f"{median(other_m):,.0f} MB, ratio / bare DuckDB "
              f"{median(base_t) / median(other_t):.2f}")

    reingest = [measure(sluice("votes", "ingest", str(big), "--json"), work)[0]
                for _ in range(args.repeats)]
    print(f"\nre-ingest of the loaded {big.stat().st_size / 1e9:.2f} GB file "
          f"(skipped by checksum): median {median(reingest):.2f} s")

    outliers = [measure(sluice("votes", "outliers", "--json"), work)[0]
                for _ in range(args.repeats)]
    print(f"`sluice votes outliers` on {args.votes:,} votes (whole command): "
          f"median {median(outliers):.2f} s")

    incremental(work / "warehouse.db", args.votes, args.repeats)
    shutil.rmtree(work)


def incremental(full: Path, votes: int, repeats: int) -> None:
    """A new 100,000-vote file into warehouses of different sizes."""
    new_file = generated(100_000, "new", first_id=3 * votes + 10)
    small = full.parent / "small.db"
    small.unlink(missing_ok=True)
    measure(sluice("votes", "ingest", str(generated(1_000_000, "votes")), "--warehouse",
                   str(small)), full.parent)
    print("\n| warehouse holds | new file | median s |\n|---|---|---:|")
    for label, source in (("0 votes", None), ("1,000,000 votes", small),
                          (f"{votes:,} votes", full)):
        times = []
        for _ in range(repeats):
            target = full.parent / "incremental.db"
            target.unlink(missing_ok=True)
            if source is not None:
                shutil.copyfile(source, target)
            times.append(measure(sluice("votes", "ingest", str(new_file), "--warehouse",
                                        str(target)), full.parent)[0])
        print(f"| {label} | 100,000 votes | {median(times):.2f} |")


if __name__ == "__main__":
    main()
