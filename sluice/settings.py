"""Settings that the command line shows before any engine is loaded: `sluice --help`
imports this module, never `sluice.warehouse` (which imports DuckDB)."""

from __future__ import annotations

DEFAULT_WAREHOUSE = "warehouse.db"
WAREHOUSE_ENV = "SLUICE_WAREHOUSE"
# Rows the text table of `sluice sql` shows when no --limit is given.
TABLE_ROWS = 1_000
# How long one row count of `sluice tables` may take before it is given up.
DEFAULT_COUNT_SECONDS = 10.0
