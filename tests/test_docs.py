"""Every command is documented: each verb of each registered pipeline in the README or
the pipeline's own page, and the other commands in the README or under docs/."""

from __future__ import annotations

import re
from pathlib import Path

import typer
import typer.core

from sluice.cli import app
from sluice.registry import pipelines

ROOT = Path(__file__).parent.parent


def verbs(group: typer.Typer) -> list[str]:
    """The verbs as a user types them (`_` in a function's name becomes `-`)."""
    command = typer.main.get_command(group)
    assert isinstance(command, typer.core.TyperGroup)
    return sorted(command.commands)


def mentioned(command: str, text: str) -> bool:
    """`sluice votes ingest` appears as itself, not as the start of a longer verb."""
    return re.search(rf"(?<![\w-]){re.escape(command)}(?![\w-])", text) is not None


def test_mentioned_is_whole_words() -> None:
    text = "Run `sluice votes ingest-all`, then sluice votes outliers."
    assert mentioned("sluice votes outliers", text)
    assert not mentioned("sluice votes ingest", text)
    assert not mentioned("sluice votes out", text)


def test_every_verb_of_every_pipeline_is_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    registered = pipelines()
    assert {p.name for p in registered} >= {"votes", "advocacy"}
    missing = []
    for pipeline in registered:
        page = ROOT / "docs" / f"{pipeline.name}.md"
        text = readme + (page.read_text(encoding="utf-8") if page.exists() else "")
        pipeline_verbs = verbs(pipeline.commands())
        assert pipeline_verbs, f"pipeline {pipeline.name} has no verbs"
        missing += [f"sluice {pipeline.name} {verb}" for verb in pipeline_verbs
                    if not mentioned(f"sluice {pipeline.name} {verb}", text)]
    assert not missing, f"verbs in neither README.md nor docs/<pipeline>.md: {missing}"


def test_every_other_command_is_documented() -> None:
    docs = (ROOT / "README.md").read_text(encoding="utf-8") + "".join(
        p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))
    names = {p.name for p in pipelines()}
    commands = [f"sluice {name}" for name in verbs(app) if name not in names]
    assert {"sluice demo", "sluice runs"} <= set(commands)
    missing = [c for c in commands if not mentioned(c, docs)]
    assert not missing, f"commands missing from README.md and docs/: {missing}"


def test_every_pipeline_has_a_docs_page() -> None:
    packages = {p.name for p in (ROOT / "sluice" / "pipelines").iterdir()
                if p.is_dir() and not p.name.startswith("_")}
    for name in sorted(packages | {p.name for p in pipelines()}):
        assert (ROOT / "docs" / f"{name}.md").exists(), f"docs/{name}.md is missing"
