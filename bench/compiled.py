"""Benchmarks measure sluice as the README sets it up: its bytecode compiled.

An editable install leaves the bytecode to Python, which does not write it when
PYTHONDONTWRITEBYTECODE is set; a command then compiles sluice again every time
(about 0.1 s). The README's setup runs `compileall`; so does every benchmark, for each
Python it measures, so that a checkout set up another way is measured the same.
"""

from __future__ import annotations

import subprocess
import sys

_COMPILE = ("import compileall, os, sluice; "
            "compileall.compile_dir(os.path.dirname(sluice.__file__), quiet=1)")


def compile_sluice(*pythons: str | None) -> None:
    """Write the bytecode of the sluice that each Python (None: skipped) imports."""
    for python in {sys.executable, *(p for p in pythons if p)}:
        subprocess.run([python, "-c", _COMPILE], check=True)
