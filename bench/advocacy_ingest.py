"""Advocacy ingest benchmark: sluice against a plain pandas load of the same data.

    python bench/advocacy_ingest.py [--folders 10000,100000] [--jsonl 10000,100000,1000000]
                                    [--repeats 3]

For each size: a folder of one file per advocate and/or one JSON Lines file, made by the
demo generator. sluice: `sluice advocacy ingest` (ingest, repair, cleaning rules, issues
and every model) in a fresh process on a fresh warehouse. Baseline in the same run, the
published approach: `json.load` per file (or `pandas.read_json(lines=True)`), records
that do not parse skipped, `pandas.json_normalize` of the tasks with the advocate and
program fields as metadata, `to_sql` into SQLite. Each measurement is its own process;
peak RSS from wait4(); medians. Prints Markdown.
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

PANDAS_BASELINE = """
import json, sqlite3, sys
from pathlib import Path
import pandas as pd

source = Path(sys.argv[1])
records = []
if source.is_dir():
    for path in sorted(source.iterdir()):
        try:
            with open(path) as stream:
                records.append(json.load(stream))
        except (ValueError, UnicodeDecodeError):
            continue
else:
    with open(source, errors="replace") as stream:
        for line in stream:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
records = [r for r in records if isinstance(r, dict)
           and isinstance(r.get("advocacy_programs"), list)]
tasks = pd.json_normalize(
    records, record_path=["advocacy_programs", "tasks_completed"],
    meta=["user_id", "name", "email", "instagram_handle", "tiktok_handle", "joined_at",
          ["advocacy_programs", "program_id"], ["advocacy_programs", "brand"],
          ["advocacy_programs", "total_sales_attributed"]],
    errors="ignore")
with sqlite3.connect(sys.argv[2]) as con:
    tasks.astype(str).to_sql("tasks", con, index=False)
"""


def measure(command: list[str], cwd: Path) -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{command} failed with status {status}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def folder_of(advocates: int) -> Path:
    folder = DATA / f"advocates-{advocates}"
    if not folder.exists():
        subprocess.run([sys.executable, "-m", "sluice", "advocacy", "generate", str(folder),
                        "--advocates", str(advocates)], check=True)
    return folder


def jsonl_of(advocates: int) -> Path:
    path = DATA / f"advocates-{advocates}.jsonl"
    if not path.exists():
        subprocess.run([sys.executable, "-c",
                        "import sys; from pathlib import Path; "
                        "from sluice.pipelines.advocacy.generate import write_jsonl; "
                        f"write_jsonl(Path(sys.argv[1]), {advocates})", str(path)], check=True)
    return path


def compare(source: Path, records: int, repeats: int, work: Path,
            other: str | None = None) -> list[str]:
    """pandas and sluice (and `other`, another installation's Python running its sluice,
    such as a checkout of an earlier commit), alternating within each repeat."""
    pythons = {"sluice": sys.executable, **({"sluice (other)": other} if other else {})}
    runs: dict[str, list[tuple[float, float]]] = {"pandas": [], **{n: [] for n in pythons}}
    for _ in range(repeats):
        (work / "pandas.sqlite").unlink(missing_ok=True)
        runs["pandas"].append(measure([sys.executable, "-c", PANDAS_BASELINE, str(source),
                                       "pandas.sqlite"], work))
        for name, python in pythons.items():
            for own in ("warehouse.db", "warehouse.db.wal"):
                (work / own).unlink(missing_ok=True)
            shutil.rmtree(work / "warehouse.db.quarantine", ignore_errors=True)
            runs[name].append(measure([python, "-m", "sluice", "advocacy", "ingest",
                                       str(source), "--json"], work))
    rows = []
    kind = "files" if source.is_dir() else "one JSON Lines file"
    for name in runs:
        seconds = statistics.median(t for t, _ in runs[name])
        memory = statistics.median(m for _, m in runs[name])
        rows.append(f"| {records:,} advocates, {kind} | {name} | {seconds:.2f} | "
                    f"{records / seconds:,.0f} | {memory:,.0f} |")
    return rows


def sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folders", type=sizes, default=[10_000, 100_000])
    parser.add_argument("--jsonl", type=sizes, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare-with", metavar="PYTHON",
                        help="also measure this Python's sluice (e.g. an earlier commit's venv)")
    args = parser.parse_args()
    compile_sluice(args.compare_with)
    work = Path(tempfile.mkdtemp(prefix="sluice-bench-"))
    print(f"{os.cpu_count()} cores; repeats: {args.repeats}\n")
    print("| input | run | median s | advocates/s | peak RSS MB |\n|---|---|---:|---:|---:|")
    for advocates in args.folders:
        for row in compare(folder_of(advocates), advocates, args.repeats, work,
                           args.compare_with):
            print(row, flush=True)
    for advocates in args.jsonl:
        for row in compare(jsonl_of(advocates), advocates, args.repeats, work,
                           args.compare_with):
            print(row, flush=True)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
