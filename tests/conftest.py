"""Shared helpers: run the `sluice` command, write vote files, read the warehouse.

`sluice(...)` runs the command in this process by default, through Typer's test runner,
with its output as a user sees it when it is piped (no terminal: no colour, no progress
bar, the same widths). A call gets a real process of its own (`python -m sluice`) when
it needs one: `process=True`, a crash point (`SLUICE_CRASH_AT` kills its own process),
or a variable that is not sluice's own (read by a library when it is imported, perhaps).
Tests that signal, kill, time, measure or confine a process start one themselves.
`pytest --cli-process` runs every call in a process of its own, as a user would.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import json
import os
import signal
import subprocess
import sys
import traceback
import types
import warnings
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from rich.console import Console
from typer import _click
from typer.testing import CliRunner

import sluice as sluice_package

# Fixtures of a real `sluice serve` over a demo warehouse (tests/web_server.py).
pytest_plugins = ("web_server",)

FIXTURES = Path(__file__).parent / "fixtures"
# A command finding the warehouse file held fails at once, as the tests of that expect;
# the wait itself is tested with the variable set (tests/test_serve.py).
os.environ.setdefault("SLUICE_LOCK_WAIT", "0")
EXAMPLE = FIXTURES / "votes_example.jsonl"

# `sys.argv[0]` of `python -m sluice`; click names the program after it ("python -m sluice").
MAIN = str(Path(sluice_package.__file__).with_name("__main__.py"))
# Variables that only a process of its own can honour: the crash point SIGKILLs the process.
PROCESS_ONLY = {"SLUICE_CRASH_AT"}
# What a piped child process writes: its stdout's error handler depends on the locale
# (surrogateescape under C.UTF-8), its stderr's is always backslashreplace.
_STDOUT_ERRORS = getattr(sys.__stdout__, "errors", None) or "strict"
# CPython's warning filters in a fresh process (no -W, no PYTHONWARNINGS): a warning the
# command raises lands on its stderr as it would there, not in pytest's summary.
_DEFAULT_WARNINGS: list[tuple[str, type[Warning], str]] = [
    ("default", DeprecationWarning, "__main__"), ("ignore", DeprecationWarning, ""),
    ("ignore", PendingDeprecationWarning, ""), ("ignore", ImportWarning, ""),
    ("ignore", ResourceWarning, "")]

CALLS: Counter[str] = Counter()  # sluice() calls by how they ran, for the summary
_all_in_processes = False


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--cli-process", action="store_true",
                     help="run every sluice() call in a process of its own (slow; by "
                          "default a call runs in the test process)")


def pytest_configure(config: pytest.Config) -> None:
    global _all_in_processes
    _all_in_processes = bool(config.getoption("--cli-process", default=False))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if CALLS:
        terminalreporter.write_line(
            f"sluice() calls: {CALLS['in-process']} in the test process, "
            f"{CALLS['process']} in a process of their own")


def sluice(*args: str, cwd: Path, env: Mapping[str, str] | None = None,
           expect: int | None = 0, process: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, with its output piped. In this process unless the
    call needs a process of its own (see the module's docstring); the result is the same
    either way. A signal's handlers and sluice's interrupt state are restored after it,
    inherited SLUICE_* variables are hidden from it, as from a child process."""
    env = dict(env or {})
    if process or _all_in_processes or any(
            name in PROCESS_ONLY or not name.startswith("SLUICE_") for name in env):
        CALLS["process"] += 1
        result = _in_a_process(args, cwd, env)
    else:
        CALLS["in-process"] += 1
        result = _in_this_process(args, cwd, env)
    if expect is not None:
        assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
    return result


def _in_a_process(args: Sequence[str], cwd: Path, env: Mapping[str, str]
                  ) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    return subprocess.run([sys.executable, "-m", "sluice", *args], cwd=cwd,
                          env={**inherited, **env}, capture_output=True, text=True,
                          timeout=600)


class _Exited(SystemExit):
    """os._exit, called by sluice after a signal, ends the call instead of pytest."""


def _exit_instead(code: int) -> None:
    raise _Exited(code)


def _in_this_process(args: Sequence[str], cwd: Path, env: Mapping[str, str]
                     ) -> subprocess.CompletedProcess[str]:
    from sluice import entry, interrupts

    hidden: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SLUICE_")}
    handlers = {signum: signal.getsignal(signum) for signum in interrupts.HANDLED}
    argv, here, forced_width = sys.argv, os.getcwd(), _click.formatting.FORCED_WIDTH
    code = 0
    with _RUNNER.isolation(env={**hidden, **env}) as (out_bytes, err_bytes, _), \
            _piped_stdout(out_bytes), _fresh_warnings(), _tracked_connections() as leaked, \
            _consoles_on_captured_streams(), _program_name(), _patched(os, "_exit", _exit_instead):
        _click.formatting.FORCED_WIDTH = forced_width  # the runner's 80, never a process's
        interrupts._received = interrupts._committed_run = None
        try:
            sys.argv = [MAIN, *args]
            os.chdir(cwd)
            entry.main()
        except SystemExit as exit:
            code = _exit_status(exit.code)
        except Exception:  # what the interpreter does with an exception nobody caught
            traceback.print_exc()
            code = 1
        finally:
            os.chdir(here)
            sys.argv = argv
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            interrupts._received = interrupts._committed_run = None
            sys.stdout.flush()
            sys.stderr.flush()
            stdout, stderr = out_bytes.getvalue(), err_bytes.getvalue()
    assert not leaked, (f"sluice {' '.join(args)} left {len(leaked)} connection(s) open: a "
                        "process would close them as it ends, here the next call would fail")
    return subprocess.CompletedProcess([sys.executable, "-m", "sluice", *args], code,
                                       _text(stdout), _text(stderr))


def _exit_status(code: object) -> int:
    """The exit status a process gets from `sys.exit(code)`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write(f"{code}\n")
    return 1


def _text(data: bytes) -> str:
    """As subprocess.run(text=True) decodes a child's output: universal newlines."""
    return data.decode().replace("\r\n", "\n").replace("\r", "\n")


@contextlib.contextmanager
def _patched(owner: object, name: str, value: object) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextlib.contextmanager
def _piped_stdout(buffer: io.BytesIO) -> Iterator[None]:
    """The runner's stdout, with the error handler a piped child's stdout has."""
    runners = sys.stdout  # kept: dropping it would close the buffer under the new one
    sys.stdout = piped = io.TextIOWrapper(buffer, encoding="utf-8", errors=_STDOUT_ERRORS)
    try:
        yield
    finally:
        piped.flush()
        piped.detach()  # the buffer is the runner's to read and close
        sys.stdout = runners


@contextlib.contextmanager
def _fresh_warnings() -> Iterator[None]:
    """A fresh process's warning filters, its warnings printed on its stderr."""
    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    with warnings.catch_warnings():
        warnings.resetwarnings()
        for action, category, module in reversed(_DEFAULT_WARNINGS):
            warnings.filterwarnings(action, category=category, module=module)  # type: ignore[arg-type]
        warnings.showwarning = show
        yield


@contextlib.contextmanager
def _tracked_connections() -> Iterator[list[Any]]:
    """Every DuckDB and PostgreSQL connection the call opens and still holds when it ends.
    A process closes them as it exits; in this one a warehouse file still attached, or a
    PostgreSQL session still holding sluice's lock, would make the next call fail."""
    created: list[weakref.ref[Any]] = []
    leaked: list[Any] = []

    def tracking(connect: Any) -> Any:
        def connecting(*args: Any, **kwargs: Any) -> Any:
            con = connect(*args, **kwargs)
            created.append(weakref.ref(con))
            return con
        return connecting

    with _patched(duckdb, "connect", tracking(duckdb.connect)), \
            _patched(psycopg, "connect", tracking(psycopg.connect)):
        try:
            yield leaked
        finally:
            if _open_ones(created):
                gc.collect()  # one that only a reference cycle holds is closed by it
            leaked.extend(_open_ones(created))
            for con in leaked:
                con.close()


def _open_ones(created: list[weakref.ref[Any]]) -> list[Any]:
    found = []
    for ref in created:
        con = ref()
        if con is not None and _is_open(con):
            found.append(con)
    return found


def _is_open(con: Any) -> bool:
    if isinstance(con, psycopg.Connection):
        return not con.closed
    try:
        con.execute("SELECT 1")
    except duckdb.ConnectionException:
        return False
    except duckdb.Error:  # open, in a transaction that failed
        pass
    return True


@contextlib.contextmanager
def _consoles_on_captured_streams() -> Iterator[None]:
    """Rich consoles that sluice's modules made at import and that hold a stream of
    their own (not sys.stdout looked up at each write) write to the captured one."""
    held = [console for name, module in list(sys.modules.items())
            if name == "sluice" or name.startswith("sluice.")
            for console in list(vars(module).values())
            if isinstance(console, Console) and console._file is not None]
    saved = [console._file for console in held]
    for console in held:
        to_stderr = console.stderr or console._file in (sys.__stderr__, sys.stderr)
        console.file = sys.stderr if to_stderr else sys.stdout
    try:
        yield
    finally:
        for console, file in zip(held, saved, strict=True):
            console._file = file


@contextlib.contextmanager
def _program_name() -> Iterator[None]:
    """Usage lines name the program `python -m sluice`, as the process does (pytest's
    `__main__` would make it `python -m pytest`)."""
    detect = _click.utils._detect_program_name
    sluice_main = types.SimpleNamespace(__package__="sluice")

    def detected(path: str | None = None, _main: Any = None) -> str:
        return detect(path, sluice_main)  # type: ignore[arg-type]

    with _patched(_click.utils, "_detect_program_name", detected):
        yield


_RUNNER = CliRunner()
# sluice's modules decide at import whether their output is a terminal (the width of
# tables, colours): imported here with the runner's streams, as in a piped process.
# (`sluice.cli` no longer imports the output module: commands import it when they run.)
with _RUNNER.isolation():
    for _module in ("sluice.entry", "sluice.cli", "sluice.console"):
        importlib.import_module(_module)


def sluice_json(*args: str, cwd: Path, env: dict[str, str] | None = None,
                expect: int | None = 0) -> Any:
    return json.loads(sluice(*args, "--json", cwd=cwd, env=env, expect=expect).stdout)


def vote(id: object, post: object = 1, vote_type: object = 2,
         date: str = "2022-01-03T00:00:00.000", **extra: object) -> str:
    record: dict[str, object] = {"Id": str(id), "PostId": str(post),
                                 "VoteTypeId": str(vote_type), "CreationDate": date}
    record.update({k: str(v) for k, v in extra.items()})
    return json.dumps(record, separators=(",", ":"))


def write_lines(path: Path, lines: Sequence[str | bytes], final_newline: bool = True) -> Path:
    encoded = [line.encode() if isinstance(line, str) else line for line in lines]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(encoded) + (b"\n" if final_newline and encoded else b""))
    return path


def query(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the warehouse after a CLI run (the CLI has exited, so the lock is free)."""
    con = duckdb.connect(":memory:")
    # Attached under a fixed name, as sluice does: a file named sluice.db must not clash.
    con.execute("ATTACH ? AS w (READ_ONLY)", [str(warehouse)])
    con.execute("USE w")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def work(tmp_path: Path) -> Iterator[Path]:
    """An empty working folder; the default warehouse.db lands here."""
    yield tmp_path
