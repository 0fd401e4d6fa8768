"""The pipeline's settings that its declaration and its CLI need before the service's
modules are loaded (`load.py` imports DuckDB, `log.py` and `aggregates.py` asyncio):
`sluice events VERB --help` imports this module, not those."""

from __future__ import annotations

PIPELINE = "events"
DEFAULT_PREFIX = "sluice:events:"  # of the service's keys in Redis
DEFAULT_SEAL_AFTER = 60.0  # seconds before an open log segment is closed
