"""Advocacy ingest benchmark: sluice against a plain pandas load of the same folder.

    python bench/advocacy_ingest.py [--advocates 10000] [--repeats 3]

sluice: `sluice advocacy ingest FOLDER` (ingest, repair, clean, and every model) in a
fresh process on a fresh warehouse. Baseline, the published approach, in the same run:
`json.load` per file (files that do not parse are skipped), `pandas.json_normalize` of
the tasks with the advocate and program fields as metadata, `to_sql` into SQLite. Each
measurement is its own process; peak RSS from wait4(); medians. Prints Markdown.
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

DATA = Path(__file__).parent / "data"

PANDAS_BASELINE = """
import json, sqlite3, sys
from pathlib import Path
import pandas as pd

records = []
for path in sorted(Path(sys.argv[1]).iterdir()):
    try:
        with open(path) as stream:
            records.append(json.load(stream))
    except (ValueError, UnicodeDecodeError):
        continue
records = [r for r in records if isinstance(r, dict)]
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


def generated(advocates: int) -> Path:
    folder = DATA / f"advocates-{advocates}"
    if not folder.exists():
        subprocess.run([sys.executable, "-m", "sluice", "advocacy", "generate", str(folder),
                        "--advocates", str(advocates)], check=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--advocates", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = generated(args.advocates)
    files = sum(1 for _ in folder.iterdir())
    work = Path(tempfile.mkdtemp(prefix="sluice-bench-"))
    print(f"folder: {folder.name}, {files:,} files, "
          f"{sum(p.stat().st_size for p in folder.iterdir()) / 1e6:.1f} MB; "
          f"{os.cpu_count()} cores; repeats: {args.repeats}\n")
    runs: dict[str, list[tuple[float, float]]] = {"sluice": [], "pandas": []}
    for repeat in range(args.repeats):
        for name in ("warehouse.db", "pandas.sqlite"):
            (work / name).unlink(missing_ok=True)
        runs["pandas"].append(measure([sys.executable, "-c", PANDAS_BASELINE, str(folder),
                                       "pandas.sqlite"], work))
        runs["sluice"].append(measure([sys.executable, "-m", "sluice", "advocacy", "ingest",
                                       str(folder), "--json"], work))
        print(f"repeat {repeat + 1}: pandas {runs['pandas'][-1][0]:.2f} s, "
              f"sluice {runs['sluice'][-1][0]:.2f} s")
    print("\n| run | median s | files/s | peak RSS MB |\n|---|---:|---:|---:|")
    labels = {"pandas": "pandas: json.load per file, json_normalize, to_sql (SQLite)",
              "sluice": "sluice advocacy ingest (repair, rules, issues, all models)"}
    for name in ("pandas", "sluice"):
        seconds = statistics.median(t for t, _ in runs[name])
        memory = statistics.median(m for _, m in runs[name])
        print(f"| {labels[name]} | {seconds:.2f} | {files / seconds:,.0f} | {memory:,.0f} |")
    ratio = (statistics.median(t for t, _ in runs["pandas"])
             / statistics.median(t for t, _ in runs["sluice"]))
    print(f"\nsluice is {ratio:.1f}x the pandas load's speed")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
