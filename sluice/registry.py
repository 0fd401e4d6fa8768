"""The registry of pipelines: every package under `sluice/pipelines/` that declares a
`PIPELINE` is one. `sluice`, `sluice demo` and `sluice serve` loop over it, so adding a
pipeline touches no shared file.

A declaration is light: `sluice --help` imports every pipeline's package to list it, and
`sluice PIPELINE VERB --help` imports the package under its `cli` module. So a package's
`__init__.py` imports no engine (DuckDB, the ingest): what needs one is named by its
module and imported when it runs (`commands_in`, `demo_in`, `spec_in`, `web_in`).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

    from sluice.ingest import KeyedLines
    from sluice.progress import Progress
    from sluice.warehouse import Result, Warehouse
    from sluice.web.part import WebPart

# A pipeline's demo step: generate input under the folder, ingest it, answer; returns its
# summary (the run's totals and a one-line `headline`).
DemoStep = Callable[["Warehouse", Path, "Progress"], dict[str, Any]]


_SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


@dataclass(frozen=True)
class View:
    """One answer a pipeline shows: a query over its models, printed under its `title`
    and carried under `--json` by its `name`.

    The SQL is standard SQL that runs unchanged on DuckDB and PostgreSQL (the warehouse
    may be either): no `round(double, n)`, no `GROUP BY ALL`, no engine-only functions.
    Values come back raw (a `CAST(x AS DECIMAL(18, 4))` fixes a precision); rounding
    for display is the printer's business. A view that lists rows says their order."""

    name: str  # snake_case: the JSON key
    title: str  # the heading in text output
    sql: str

    def __post_init__(self) -> None:
        if not _SNAKE_CASE.fullmatch(self.name):
            raise ValueError(f"view name {self.name!r} is not snake_case")

    def query(self, warehouse: Warehouse) -> Result:
        """The view's rows, from the warehouse's destination (where the models are)."""
        return warehouse.destination.query(self.sql)


@dataclass(frozen=True)
class Traced:
    """A table whose rows `sluice trace` finds by key: which rows a key names (a column,
    or `key_sql`, an expression over the table's columns), and the columns naming each
    row's file (the ledger's file id) and its line in that file (None: not kept, as for
    a record that is a whole document)."""

    table: str
    key: str
    key_sql: str | None = None
    file_column: str = "_file_id"
    line_column: str | None = "_line"

    @property
    def key_expression(self) -> str:
        return self.key_sql if self.key_sql is not None else f'CAST("{self.key}" AS VARCHAR)'


@dataclass(frozen=True)
class Pipeline:
    """What a pipeline declares about itself, once, in its package's `__init__.py`."""

    name: str
    help: str
    order: int  # where it comes in `sluice --help` and the demo
    commands: Callable[[], typer.Typer]  # its verbs, loaded when the CLI is built
    demo: DemoStep | None = None
    views: tuple[View, ...] = ()  # what its report verb prints, in this order
    models: Traversable | None = None  # its folder of model files (`*.sql`)
    traced: tuple[Traced, ...] = ()  # its tables whose rows `sluice trace` finds
    # How `sluice quarantine replay` offers its rejected records again: the spec of its
    # ingest, when a record is one line that stands on its own (None: not replayable),
    # loaded when a replay runs (the spec's class lives with the engine).
    replay: Callable[[], KeyedLines] | None = None
    replay_refusal: str = "its records cannot be offered again on their own"
    # Its part of `sluice serve`: API routes, the panels of its page and its headline,
    # loaded when the server starts (None: its page shows its views as tables).
    web: Callable[[], WebPart] | None = None

    @property
    def replay_spec(self) -> KeyedLines | None:
        """The spec of its ingest that a replay offers records to (None: not replayable)."""
        return self.replay() if self.replay is not None else None

    def model_files(self) -> list[Traversable]:
        """Its model files, in the order they run (by name): written once in DuckDB's
        SQL, transpiled for the destination."""
        if self.models is None:
            return []
        return sorted((m for m in self.models.iterdir() if m.name.endswith(".sql")),
                      key=lambda m: m.name)

    def run_models(self, warehouse: Warehouse) -> None:
        """Run its model files, in order, on the warehouse's destination."""
        for model in self.model_files():
            warehouse.run_sql_file(model)

    def __post_init__(self) -> None:
        names = [view.name for view in self.views]
        if len(set(names)) != len(names):
            raise ValueError(f"pipeline {self.name}: view names repeat: {names}")


def commands_in(module: str) -> Callable[[], typer.Typer]:
    """A pipeline's verbs: the Typer `app` of `module`, imported only when the CLI is
    built (so `import sluice.pipelines.x` stays light)."""
    def load() -> typer.Typer:
        app: typer.Typer = importlib.import_module(module).app
        return app

    return load


def demo_in(module: str) -> DemoStep:
    """A pipeline's demo step: `run_demo` of `module`, imported only when the demo runs."""
    def run(warehouse: Warehouse, folder: Path, progress: Progress) -> dict[str, Any]:
        step: DemoStep = importlib.import_module(module).run_demo
        return step(warehouse, folder, progress)

    return run


def spec_in(module: str) -> Callable[[], KeyedLines]:
    """A pipeline's ingest spec: `SPEC` of `module`, imported when a replay runs."""
    def load() -> KeyedLines:
        spec: KeyedLines = importlib.import_module(module).SPEC
        return spec

    return load


def web_in(module: str) -> Callable[[], WebPart]:
    """A pipeline's part of the web app: `PART` of `module`, imported when the server
    starts (so the CLI never imports the web framework)."""
    def load() -> WebPart:
        part: WebPart = importlib.import_module(module).PART
        return part

    return load


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
