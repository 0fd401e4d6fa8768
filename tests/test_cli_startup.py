"""`--help` loads only what it shows (issue 14): every command's help, and a usage error,
in a fresh Python without the engine, the web stack, the model or Rich; the root's help
without any pipeline's verbs. What that buys in seconds is measured by
bench/cli_startup.py, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import sluice
from sluice.cli import every_command
from sluice.registry import pipelines

# Imported by a command when it runs, never by its help: each costs from a tenth of a
# second (Rich's help, Pydantic) to a second (scikit-learn).
HEAVY = ("duckdb", "pandas", "numpy", "sklearn", "scipy", "matplotlib", "fastapi",
         "starlette", "uvicorn", "pydantic", "plotly", "psycopg", "redis", "pyspark",
         "rich", "sqlglot", "watchfiles", "apscheduler")

# Runs each command given (one per line of JSON) as `sluice` does, in this one process,
# in the order given; writes, for each, the heavy packages and the pipelines' `cli`
# modules that it imported first.
_CHILD = """
import json, sys
from sluice import entry

heavy, commands, report = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]

def loaded():
    return {name for name in sys.modules
            if name.split(".")[0] in heavy
            or (name.startswith("sluice.pipelines.") and name.endswith(".cli"))}

found = []
for args in commands:
    before = loaded()
    sys.argv = ["sluice", *args]
    try:
        entry.main()
    except SystemExit as exit:
        code = exit.code
    else:
        code = 0
    new = loaded() - before
    found.append({"args": args, "code": code,
                  "heavy": sorted({n.split(".")[0] for n in new if n.split(".")[0] in heavy}),
                  "cli": sorted(n for n in new if n.endswith(".cli"))})
with open(report, "w") as stream:
    json.dump(found, stream)
"""


def _run_in_one_child(commands: list[list[str]], tmp_path: Path) -> list[dict[str, object]]:
    report = tmp_path / "imported.json"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(HEAVY), json.dumps(commands), str(report)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    found: list[dict[str, object]] = json.loads(report.read_text())
    return found


def test_no_help_imports_the_engine_the_web_stack_or_rich(tmp_path: Path) -> None:
    commands = [[*path, "--help"] for path in every_command()]
    # The root's help first: it must list the pipelines without loading any of them.
    assert commands[0] == ["--help"]
    # A usage error is printed by the same plain path as help.
    commands.append(["votes", "ingest", "--no-such-option"])
    found = _run_in_one_child(commands, tmp_path)

    assert [f["args"] for f in found] == commands
    assert [f["code"] for f in found] == [0] * (len(commands) - 1) + [2]
    assert not [(f["args"], f["heavy"]) for f in found if f["heavy"]]
    assert found[0]["cli"] == [], "sluice --help built a pipeline's verbs"
    for f in found:
        args = f["args"]
        assert isinstance(args, list)
        names = {p.name for p in pipelines()}
        own = [f"sluice.pipelines.{args[0]}.cli"] if args[0] in names else []
        assert f["cli"] in ([], own), (args, f["cli"])


def test_the_root_help_lists_every_command_and_pipeline_and_each_pipeline_its_verbs(
        tmp_path: Path) -> None:
    top = sluice("--help", cwd=tmp_path).stdout
    listed = [line.split()[0] for line in top.split("Commands:")[1].splitlines()
              if line.startswith("  ") and not line.startswith("   ")]
    roots = [path[0] for path in every_command() if len(path) == 1]
    assert listed == roots
    assert {"demo", "runs", "trace", "sql", "tables", "serve", "quarantine"} <= set(listed)
    for pipeline in pipelines():
        assert f"  {pipeline.name}" in top and pipeline.help in top
        own = sluice(pipeline.name, "--help", cwd=tmp_path).stdout
        assert pipeline.help in own
        for verb in pipeline.commands().registered_commands:
            assert f"\n  {verb.name} " in own, (pipeline.name, verb.name, own)


def test_help_is_plain_text(tmp_path: Path) -> None:
    for args in (("--help",), ("votes", "ingest", "--help"), ("quarantine", "--help")):
        shown = sluice(*args, cwd=tmp_path).stdout
        assert shown.startswith("Usage: ")
        assert not set(shown) & set("╭╮╰╯│─"), shown


@pytest.mark.parametrize("process", [False, True], ids=["in-process", "process"])
def test_a_usage_error_is_one_clear_message(tmp_path: Path, process: bool) -> None:
    failed = sluice("votes", "ingest", "--nope", cwd=tmp_path, expect=2, process=process)
    assert failed.stdout == ""
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert lines[-1] == "Error: No such option: --nope", failed.stderr
    assert lines[0].startswith("Usage: ") and len(lines) == 3, failed.stderr
    assert "Traceback" not in failed.stderr and "╭" not in failed.stderr
    # A near miss of a command or a pipeline is named.
    missed = sluice("vots", cwd=tmp_path, expect=2, process=process)
    assert "No such command 'vots'. Did you mean 'votes'" in missed.stderr


def test_a_declared_name_agrees_with_its_engine() -> None:
    """The advocacy package declares its name without importing its sources module (the
    engine), which holds the name too."""
    from sluice.pipelines.advocacy import PIPELINE, sources

    assert PIPELINE.name == sources.PIPELINE


def test_an_ingest_does_not_import_pydantic(tmp_path: Path) -> None:
    # Typer converts option values with Pydantic; text, a list of texts, flags and
    # options not given need no converting, so an ingest never pays for importing it.
    votes = tmp_path / "votes.jsonl"
    votes.write_text('{"Id":"1","PostId":"1","VoteTypeId":"2",'
                     '"CreationDate":"2022-01-03T00:00:00.000"}\n')
    found = _run_in_one_child(
        [["votes", "ingest", str(votes), "--warehouse", str(tmp_path / "w.db"), "--json"]],
        tmp_path)
    assert found[0]["code"] == 0
    assert "pydantic" not in found[0]["heavy"]
    assert "duckdb" in found[0]["heavy"]


def test_an_answer_in_json_does_not_import_rich_and_a_table_does(tmp_path: Path) -> None:
    # Rich draws tables and progress bars; an answer in JSON has neither.
    folder = tmp_path / "advocates"
    folder.mkdir()
    (folder / "a.json").write_text('{"user_id": "9f0c1d2e-3a4b-4c5d-8e6f-708192a3b4c5", '
                                   '"name": "Ada", "advocacy_programs": []}')
    warehouse = str(tmp_path / "w.db")
    found = _run_in_one_child(
        [["advocacy", "ingest", str(folder), "--warehouse", warehouse, "--json"],
         ["runs", "--warehouse", warehouse, "--json"],
         ["runs", "--warehouse", warehouse]], tmp_path)
    assert [f["code"] for f in found] == [0, 0, 0]
    assert "rich" not in found[0]["heavy"] and "rich" not in found[1]["heavy"]
    assert "rich" in found[2]["heavy"]
