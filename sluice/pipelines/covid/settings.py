"""The pipeline's settings that its declaration and its CLI need before the engine is
loaded (`contracts.py`, `land.py` and `report.py` import DuckDB): `sluice covid VERB
--help` imports this module, not those."""

from __future__ import annotations

from pathlib import Path

PIPELINE = "covid"
TARGET = "covid.observations"
DEFAULT_CHART = Path("covid-cases.png")
