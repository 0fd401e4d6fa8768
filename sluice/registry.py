"""The registry of pipelines: every package under `sluice/pipelines/` that declares a
`PIPELINE` is one. `sluice`, `sluice demo` (and later `sluice serve`) loop over it, so
adding a pipeline touches no shared file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

    from sluice.ingest import Progress
    from sluice.warehouse import Warehouse

# A pipeline's demo step: generate input under the folder, ingest it, answer; returns its
# summary (the run's totals and a one-line `headline`).
DemoStep = Callable[["Warehouse", Path, "Progress"], dict[str, Any]]


@dataclass(frozen=True)
class Pipeline:
    """What a pipeline declares about itself, once, in its package's `__init__.py`."""

    name: str
    help: str
    order: int  # where it comes in `sluice --help` and the demo
    commands: Callable[[], typer.Typer]  # its verbs, loaded when the CLI is built
    demo: DemoStep | None = None


@cache
def pipelines() -> tuple[Pipeline, ...]:
    """Every registered pipeline, in its declared order."""
    import sluice.pipelines as package

    found = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg and not module.name.startswith("_"):
            declared = getattr(importlib.import_module(f"{package.__name__}.{module.name}"),
                               "PIPELINE", None)
            if isinstance(declared, Pipeline):
                found.append(declared)
    return tuple(sorted(found, key=lambda p: (p.order, p.name)))
