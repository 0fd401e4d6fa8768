"""The pipeline's settings that its declaration and its CLI need before the engine or any
model is loaded (`contracts.py` and `land.py` import DuckDB, `model.py` scikit-learn):
`sluice cars VERB --help` imports this module, not those."""

from __future__ import annotations

from pathlib import Path

PIPELINE = "cars"
TARGET = "cars.evaluations"
KEY = "car_key"  # the six inputs joined (see contracts.py)

DEFAULT_MODEL = Path("cars-model.joblib")
FOLDS = 5
