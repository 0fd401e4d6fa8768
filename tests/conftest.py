"""Shared helpers: run the real `sluice` command, write vote files, read the warehouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = FIXTURES / "votes_example.jsonl"


def sluice(*args: str, cwd: Path, env: dict[str, str] | None = None,
           expect: int | None = 0) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI in a real process, as a user would."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    full_env = {**inherited, **(env or {})}
    result = subprocess.run([sys.executable, "-m", "sluice", *args], cwd=cwd, env=full_env,
                            capture_output=True, text=True, timeout=600)
    if expect is not None:
        assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
    return result


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
