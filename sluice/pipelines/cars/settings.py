"""The price model's settings that the CLI needs before any model is loaded (importing
`model.py` imports scikit-learn)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_MODEL = Path("cars-model.joblib")
FOLDS = 5
