"""The buying price of a car from the other attributes the question gives: maint, doors,
lug_boot, safety and class (persons is not given).

Candidates, each a scikit-learn pipeline over the attributes' levels in their order:
a majority-class baseline, logistic regression on one-hot columns, a decision tree and a
random forest on the ordered codes. They are compared by 5-fold stratified
cross-validation on a training split; the best is scored once on a held-out test split
(25%, stratified), beside the baseline, then refit on all rows and saved. The baseline
stays a candidate: if nothing beats it, it is the model, and the report says so.

The data set is a complete grid of the six inputs, so `buying` is nearly independent of
the others; `class` is what carries information about it. `facts` says what the data
says directly about a combination, without any model.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder
from sklearn.tree import DecisionTreeClassifier

from sluice.pipelines.cars.dataset import LEVELS, CarData, CarDataError, unknown_value
from sluice.pipelines.cars.settings import FOLDS

FEATURES = ("maint", "doors", "lug_boot", "safety", "class")
TARGET = "buying"
BASELINE = "majority class (baseline)"
MODEL_FORMAT = 1
TEST_SHARE = 0.25


class ModelError(Exception):
    """A saved model that cannot be used (another format or scikit-learn version)."""


def _categories() -> list[list[str]]:
    return [list(LEVELS[name]) for name in FEATURES]


def candidates(seed: int) -> dict[str, Pipeline | DummyClassifier]:
    ordered = OrdinalEncoder(categories=_categories())  # unknown values raise
    return {
        BASELINE: DummyClassifier(strategy="most_frequent"),
        "logistic regression (one-hot)": make_pipeline(
            OneHotEncoder(categories=_categories()), LogisticRegression(max_iter=2000)),
        "decision tree (ordered levels)": make_pipeline(
            ordered, DecisionTreeClassifier(min_samples_leaf=5, random_state=seed)),
        "random forest (ordered levels)": make_pipeline(
            OrdinalEncoder(categories=_categories()),
            RandomForestClassifier(n_estimators=200, min_samples_leaf=3, random_state=seed)),
    }


def features(rows: list[dict[str, str]]) -> np.ndarray[Any, Any]:
    return np.array([[row[name] for name in FEATURES] for row in rows], dtype=object)


@dataclass
class TrainReport:
    rows: int
    source: str
    sha256: str
    seed: int
    cross_validation: dict[str, dict[str, float]] = field(default_factory=dict)
    chosen: str = ""
    test_rows: int = 0
    test_accuracy: float = 0.0
    baseline_test_accuracy: float = 0.0
    classes: list[str] = field(default_factory=list)
    sklearn_version: str = sklearn.__version__

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainedModel:
    estimator: Any
    report: TrainReport


def train(data: CarData, seed: int = 7) -> TrainedModel:
    """Choose, score and fit the model (see the module's docstring); a CarDataError
    says why the data is too little to do it honestly."""
    _check_enough(data)
    x, y = features(data.rows), np.array([row[TARGET] for row in data.rows])
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SHARE, stratify=y, random_state=seed)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    report = TrainReport(len(data.rows), data.source, data.sha256, seed,
                         test_rows=len(y_test))
    for name, estimator in candidates(seed).items():
        scores = cross_val_score(estimator, x_train, y_train, cv=folds, scoring="accuracy")
        report.cross_validation[name] = {"mean": round(float(statistics.fmean(scores)), 4),
                                         "std": round(float(statistics.pstdev(scores)), 4)}
    # The best mean; on a tie the simpler candidate (the baseline is first).
    report.chosen = max(report.cross_validation,
                        key=lambda name: report.cross_validation[name]["mean"])
    chosen, baseline = candidates(seed)[report.chosen], candidates(seed)[BASELINE]
    report.test_accuracy = round(float(chosen.fit(x_train, y_train).score(x_test, y_test)), 4)
    report.baseline_test_accuracy = round(
        float(baseline.fit(x_train, y_train).score(x_test, y_test)), 4)
    final = candidates(seed)[report.chosen].fit(x, y)
    report.classes = [str(c) for c in final.classes_]
    return TrainedModel(final, report)


# Each buying price present needs this many cars: a stratified test split and 5 folds of
# the rest, every one holding each price.
MIN_PER_PRICE = 2 * FOLDS


def _check_enough(data: CarData) -> None:
    counts = Counter(row[TARGET] for row in data.rows)
    found = ", ".join(f"{price} {counts[price]:,}" for price in LEVELS[TARGET] if counts[price])
    if len(counts) < 2 or min(counts.values()) < MIN_PER_PRICE:
        raise CarDataError(
            f"too few cars to train on ({found or 'none'}): at least two buying prices, "
            f"each with at least {MIN_PER_PRICE} cars, are needed")


def check_answers(answers: dict[str, str]) -> None:
    """Every feature given, each one of its levels; a ValueError says which is not."""
    missing = [name for name in FEATURES if name not in answers]
    if missing:
        raise ValueError("missing " + ", ".join(missing))
    for name in FEATURES:
        if answers[name] not in LEVELS[name]:
            raise ValueError(unknown_value(name, answers[name]))


def predict(model: TrainedModel, answers: dict[str, str]) -> dict[str, float]:
    """The probability of each buying price, cheapest first."""
    check_answers(answers)
    probabilities = model.estimator.predict_proba(features([answers]))[0]
    by_class = {str(c): float(p) for c, p in zip(model.estimator.classes_, probabilities,
                                                   strict=True)}
    return {price: round(by_class.get(price, 0.0), 4) for price in LEVELS[TARGET]}


def facts(data: CarData, answers: dict[str, str]) -> dict[str, Any]:
    """What the data says directly: the rows with exactly these values (any persons),
    and the buying prices among rows of the same class."""
    check_answers(answers)
    matching = [row for row in data.rows if all(row[n] == answers[n] for n in FEATURES)]
    same_class = [row for row in data.rows if row["class"] == answers["class"]]

    def prices(rows: list[dict[str, str]]) -> dict[str, int]:
        counted = Counter(row[TARGET] for row in rows)
        return {price: counted.get(price, 0) for price in LEVELS[TARGET]}

    return {"matching_rows": len(matching), "matching_buying": prices(matching),
            "same_class_rows": len(same_class), "same_class_buying": prices(same_class)}


def save(model: TrainedModel, path: Path) -> None:
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    joblib.dump({"format": MODEL_FORMAT, "report": model.report.as_dict(),
                 "estimator": model.estimator}, partial)
    partial.replace(path)  # a reader never sees half a model


def load(path: Path) -> TrainedModel:
    """A model saved by `save` (only load files sluice wrote: joblib runs code)."""
    import joblib

    try:
        saved = joblib.load(path)
    except Exception as error:
        raise ModelError(f"{path} is not a saved cars model ({type(error).__name__})") from None
    if not isinstance(saved, dict) or saved.get("format") != MODEL_FORMAT:
        raise ModelError(f"{path} is not a saved cars model of this version")
    report = TrainReport(**saved["report"])
    if report.sklearn_version != sklearn.__version__:
        raise ModelError(f"{path} was saved with scikit-learn {report.sklearn_version}, "
                         f"this is {sklearn.__version__}: train again")
    return TrainedModel(saved["estimator"], report)
