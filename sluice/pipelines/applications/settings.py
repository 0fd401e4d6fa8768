"""The pipeline's settings that its declaration and its CLI need before the engine is
loaded (`inbox.py` and `outputs.py` import DuckDB): `sluice applications VERB --help`
imports this module, not those."""

from __future__ import annotations

PIPELINE = "applications"
TARGET = "applications.successful"
# A file is taken once it has not changed for this long: a writer that is still
# appending to it changes its size and time.
DEFAULT_MIN_AGE = 10.0
