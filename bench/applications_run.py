"""Applications benchmark: `sluice applications run` against the pandas baseline
(bench/applications_pandas.py) on the same generated inbox.

    python bench/applications_run.py [--rows 1000000] [--files 24] [--repeats 3] [--keep]

The inbox (`generate_applications`: realistic applications, about a third unsuccessful)
is generated once into bench/data/ and copied afresh for every measurement, since a run
may move what it has processed. Each measurement is a fresh process, as a user runs it,
with its own peak RSS from wait4(); sluice gets a fresh warehouse each time. sluice and
the baseline alternate within each repeat so that drift on the machine hits both alike;
medians are reported. Both must find the same number of successful applications (sluice's
are the data lines of OUT/successful/*.csv, the baseline's those of OUT/successful.csv).
Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compiled import compile_sluice

from sluice.pipelines.applications.generate import generate_applications

DATA = Path(__file__).parent / "data"
PANDAS_BASELINE = Path(__file__).parent / "applications_pandas.py"


def measure(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS in MB of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed with status {os.waitstatus_to_exitcode(status)}")
    return elapsed, usage.ru_maxrss / 1024


def generated(rows: int, files: int, seed: int = 7) -> tuple[Path, dict[str, object]]:
    """The inbox of `rows` applications in `files` files (made once), and what was planted."""
    inbox = DATA / f"applications-{rows}-{files}-{seed}"
    manifest = DATA / f"applications-{rows}-{files}-{seed}.json"
    if not manifest.exists():
        shutil.rmtree(inbox, ignore_errors=True)
        started = time.perf_counter()
        made = generate_applications(inbox, rows, files=files, seed=seed)
        print(f"generated {rows:,} applications in {files} files in "
              f"{time.perf_counter() - started:.1f} s")
        manifest.write_text(json.dumps(made.as_dict(), indent=2) + "\n")
    return inbox, json.loads(manifest.read_text())


def data_lines(paths: list[Path]) -> int:
    """Lines in these CSV files, less one header line each."""
    total = 0
    for path in paths:
        with path.open("rb") as stream:
            total += sum(1 for _ in stream) - 1
    return total


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (inboxes, outputs, warehouses)")
    args = parser.parse_args()
    compile_sluice()

    inbox, planted = generated(args.rows, args.files)
    size = sum(p.stat().st_size for p in inbox.glob("*.csv"))
    work = Path(tempfile.mkdtemp(prefix="sluice-bench-applications-"))
    print(f"inbox: {inbox.name}, {args.files} files, {size / 1e6:.0f} MB, {args.rows:,} "
          f"applications ({planted['successful']:,} successful as generated); "
          f"{os.cpu_count()} cores; repeats: {args.repeats}\n")

    times: dict[str, list[float]] = {"sluice": [], "pandas": []}
    memory: dict[str, list[float]] = {"sluice": [], "pandas": []}
    found: dict[str, set[int]] = {"sluice": set(), "pandas": set()}
    for repeat in range(1, args.repeats + 1):
        for name in ("sluice", "pandas"):
            folder = work / f"{name}-{repeat}"
            folder.mkdir()
            copy, out = folder / "inbox", folder / "out"
            shutil.copytree(inbox, copy)
            if name == "sluice":
                command = [sys.executable, "-m", "sluice", "applications", "run",
                           "--inbox", str(copy), "--out", str(out),
                           "--warehouse", str(folder / "warehouse.db"), "--min-age", "0"]
            else:
                command = [sys.executable, str(PANDAS_BASELINE), str(copy), str(out)]
            seconds, peak = measure(command, folder)
            times[name].append(seconds)
            memory[name].append(peak)
            outputs = (sorted((out / "successful").glob("*.csv")) if name == "sluice"
                       else [out / "successful.csv"])
            found[name].add(data_lines(outputs))
            if not args.keep:
                shutil.rmtree(folder)
        print(f"repeat {repeat}: sluice {times['sluice'][-1]:.2f} s, "
              f"pandas {times['pandas'][-1]:.2f} s")

    print("\n| run | median s | rows/s | peak RSS MB |\n|---|---:|---:|---:|")
    for name, label in (("sluice", "`sluice applications run` (rules, warehouse, ledger, outputs)"),
                        ("pandas", "pandas baseline (bench/applications_pandas.py)")):
        seconds = median(times[name])
        print(f"| {label} | {seconds:.2f} | {args.rows / seconds:,.0f} | "
              f"{median(memory[name]):,.0f} |")
    ratio = median(times["pandas"]) / median(times["sluice"])
    print(f"\nratio pandas time / sluice time: {ratio:.2f} (above 1: sluice is faster)")

    counts = found["sluice"] | found["pandas"]
    summary = ", ".join(f"{name} {', '.join(f'{n:,}' for n in sorted(found[name]))}"
                        for name in found)
    if args.keep:
        print(f"\nwork folder kept: {work}")
    else:
        shutil.rmtree(work)
    if len(counts) != 1:
        raise SystemExit(f"successful applications differ: {summary}")
    print(f"successful applications: {counts.pop():,} in both")


if __name__ == "__main__":
    main()
