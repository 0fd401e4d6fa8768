"""Every CLI command is documented in the README or under docs/."""

from __future__ import annotations

from pathlib import Path

import typer

from sluice.cli import app

ROOT = Path(__file__).parent.parent


def command_lines(group: typer.Typer, prefix: str = "sluice") -> list[str]:
    found: list[str] = []
    for command in group.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        found.append(f"{prefix} {name}")
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            found += command_lines(sub.typer_instance, f"{prefix} {sub.name}")
    return found


def test_every_command_is_documented() -> None:
    docs = (ROOT / "README.md").read_text() + "".join(
        p.read_text() for p in (ROOT / "docs").glob("*.md"))
    commands = command_lines(app)
    assert len(commands) >= 5
    missing = [c for c in commands if c not in docs]
    assert not missing, f"commands missing from README.md and docs/: {missing}"


def test_every_pipeline_has_a_docs_page() -> None:
    pipelines = [p.name for p in (ROOT / "sluice" / "pipelines").iterdir()
                 if p.is_dir() and not p.name.startswith("_")]
    assert pipelines
    for name in pipelines:
        assert (ROOT / "docs" / f"{name}.md").exists(), f"docs/{name}.md is missing"
