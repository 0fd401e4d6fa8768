"""How a long step reports progress: a callback the command gives (a bar on a terminal)
and the silent default. Its own module, light, so that a pipeline can take progress
without importing the line-staging machinery of `sluice.ingest`."""

from __future__ import annotations

from collections.abc import Callable

# (what is happening, steps done, steps in all)
Progress = Callable[[str, int, int], None]


def no_progress(description: str, done: int, total: int) -> None:
    """The default progress reporter: silent."""
