"""Pipelines register themselves: the CLI and the demo loop over the registry, so a new
pipeline package joins them without touching a shared file."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import sluice.pipelines as pipeline_packages
from conftest import sluice
from sluice import registry


@pytest.fixture
def extra_pipeline(tmp_path: Path) -> Iterator[str]:
    """A pipeline package that exists only for this test, found where pipelines live."""
    package = tmp_path / "tally"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import typer\n"
        "from sluice.registry import Pipeline\n"
        "app = typer.Typer(help='Count things.')\n"
        "@app.command('count')\n"
        "def count() -> None:\n"
        "    print('counted')\n"
        "PIPELINE = Pipeline(name='tally', help='Count things.', order=99,\n"
        "                    commands=lambda: app)\n")
    pipeline_packages.__path__.append(str(tmp_path))
    registry.pipelines.cache_clear()
    try:
        yield "tally"
    finally:
        pipeline_packages.__path__.remove(str(tmp_path))
        sys.modules.pop("sluice.pipelines.tally", None)
        registry.pipelines.cache_clear()


def test_the_shipped_pipelines_are_registered_in_their_order() -> None:
    assert [p.name for p in registry.pipelines()] == ["votes", "advocacy", "applications", "shop",
                                                     "events", "covid", "cars"]
    assert all(p.demo is not None for p in registry.pipelines())


def test_a_new_pipeline_package_is_found_without_touching_shared_files(
        extra_pipeline: str) -> None:
    found = {p.name: p for p in registry.pipelines()}
    assert extra_pipeline in found and found[extra_pipeline].demo is None
    commands = found[extra_pipeline].commands()
    assert [c.name for c in commands.registered_commands] == ["count"]


def test_the_cli_mounts_every_registered_pipeline(work: Path) -> None:
    top = sluice("--help", cwd=work).stdout
    for pipeline in registry.pipelines():
        assert pipeline.name in top and pipeline.help in top
