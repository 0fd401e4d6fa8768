"""The pipeline's settings that its declaration and its CLI need before the engine is
loaded (`inputs.py` imports DuckDB): `sluice shop VERB --help` imports this module, not
that."""

from __future__ import annotations

PIPELINE = "shop"
ITEMS_FILE = "items.csv"
TRANSACTIONS_FILE = "transactions.jsonl"
