"""Start-up benchmark: every command's `--help`, as a whole process (issue 14).

    python bench/cli_startup.py [--repeats 10] [--only python-m|script]

Every command comes from the app itself (`sluice.cli.every_command`), so a new verb is
measured without touching this file. Each `sluice ... --help` runs as a fresh process,
`python -m sluice` and the `sluice` console script, `--repeats` times, interleaved: one
round runs every command once, in turn, so a busy moment of the machine falls on every
command alike. The floor is measured in the same rounds: `python -c pass` (the
interpreter) and `python -c "import typer"` (the CLI library). Wall time from
`time.perf_counter` around `subprocess.run`, output to /dev/null, in an empty folder.
Prints Markdown: per command the median and the slowest run, in seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compiled import compile_sluice

from sluice.cli import every_command

FLOOR = {"`python -c pass`": [sys.executable, "-c", "pass"],
         "`python -c \"import typer\"`": [sys.executable, "-c", "import typer"]}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=120)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: "
                         f"{done.stderr.decode(errors='replace')}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--only", choices=("python-m", "script"),
                        help="measure one way of starting sluice [default: both]")
    args = parser.parse_args()
    compile_sluice()

    script = Path(sys.executable).with_name("sluice")
    forms = {"python-m": [sys.executable, "-m", "sluice"], "script": [str(script)]}
    if args.only:
        forms = {args.only: forms[args.only]}
    elif not script.exists():
        del forms["script"]
    # sluice's own variables (a warehouse, a lock wait) play no part in --help.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    commands = every_command()

    runs: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="sluice-startup-") as folder:
        work = Path(folder)
        for _ in range(args.repeats):
            for name, command in FLOOR.items():
                runs.setdefault(("floor", name), []).append(timed(command, work, env))
            for path in commands:
                for form, start in forms.items():
                    runs.setdefault((form, " ".join(path)), []).append(
                        timed([*start, *path, "--help"], work, env))

    print(f"{os.cpu_count()} cores, {platform.machine()}, Python "
          f"{platform.python_version()}, {platform.system()}; {args.repeats} runs of each, "
          f"interleaved; seconds\n")
    headers = {"python-m": "`python -m sluice`", "script": "`sluice` (console script)"}
    print("| command | " + " | ".join(f"{headers[f]} median | max" for f in forms) + " |")
    print("|---|" + "---:|---:|" * len(forms))
    slowest = 0.0
    for path in commands:
        shown = " ".join(path)
        cells = []
        for form in forms:
            times = runs[(form, shown)]
            slowest = max(slowest, statistics.median(times))
            cells.append(f"{statistics.median(times):.3f} | {max(times):.3f}")
        print(f"| `sluice {shown + ' ' if shown else ''}--help` | " + " | ".join(cells) + " |")
    print("\n| floor | median | max |\n|---|---:|---:|")
    for name in FLOOR:
        times = runs[("floor", name)]
        print(f"| {name} | {statistics.median(times):.3f} | {max(times):.3f} |")
    print(f"\n{len(commands)} commands; the slowest median: {slowest:.3f} s")


if __name__ == "__main__":
    main()
