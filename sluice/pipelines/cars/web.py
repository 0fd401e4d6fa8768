"""Cars on the dashboard: a form that asks the model a car's buying price, answering
what `sluice cars predict --json` answers, and a headline with the model's accuracy
against always guessing one price.

The model is the one saved at `$SLUICE_CARS_MODEL` (by default `cars-model.joblib` in
the server's working folder) when that file exists and loads (read again when it
changes); otherwise one trained on the shipped data set, once, in memory, at the first
question (the server writes no file). Only point the variable at a model sluice saved:
loading a joblib file runs code.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Query
from pydantic import BaseModel

from sluice.pipelines.cars.contracts import TARGET
from sluice.pipelines.cars.dataset import LEVELS, CarData, read_cars
from sluice.pipelines.cars.model import (
    FEATURES,
    ModelError,
    TrainedModel,
    facts,
    load,
    predict,
    train,
)
from sluice.pipelines.cars.settings import DEFAULT_MODEL
from sluice.warehouse import Warehouse
from sluice.web.answers import JSONText
from sluice.web.part import Choice, Panel, WebPart

LOGGER = logging.getLogger("sluice.serve")
MODEL_VARIABLE = "SLUICE_CARS_MODEL"

# The levels of each feature (dataset.LEVELS), as types the API validates against.
Maint = Literal["low", "med", "high", "vhigh"]
Doors = Literal["2", "3", "4", "5more"]
LugBoot = Literal["small", "med", "big"]
Safety = Literal["low", "med", "high"]
CarClass = Literal["unacc", "acc", "good", "vgood"]
_TYPES = {"maint": Maint, "doors": Doors, "lug_boot": LugBoot, "safety": Safety,
          "class": CarClass}
if tuple(_TYPES) != FEATURES or any(get_args(kind) != LEVELS[name]
                                    for name, kind in _TYPES.items()):
    raise RuntimeError("the cars API's levels differ from sluice.pipelines.cars.dataset")

# The question the cars pipeline was asked (docs/cars.md): the form starts with it.
QUESTION = {"maint": "high", "doors": "4", "lug_boot": "big", "safety": "high",
            "class": "good"}
LABELS = {"maint": "maintenance", "doors": "doors", "lug_boot": "luggage boot",
          "safety": "safety", "class": "class"}

BY_CLASS = (f'SELECT "class", buying, count(*) AS cars FROM {TARGET} '
            'GROUP BY "class", buying')


@dataclass(frozen=True)
class Chosen:
    model: TrainedModel
    path: str | None  # the saved model's file; None: trained in this server's memory
    trained_now: bool


class Models:
    """The model the server answers with, loaded or trained at most once (per version
    of the saved file), whichever thread asks first; the others wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._saved: tuple[tuple[str, int, int], TrainedModel | None] | None = None
        self._trained: TrainedModel | None = None

    @staticmethod
    def path() -> Path:
        return Path(os.environ.get(MODEL_VARIABLE) or DEFAULT_MODEL)

    def current(self) -> Chosen:
        """The saved model if it loads, else the one trained in memory (trained now if
        it is the first question)."""
        with self._lock:
            found = self._from_file()
            if found is not None:
                return found
            if self._trained is None:
                LOGGER.info("cars: no saved model at %s; training one in memory",
                            self.path())
                self._trained = train(read_cars())
            return Chosen(self._trained, None, True)

    def ready(self) -> Chosen | None:
        """The model if it is there without training one (or None, at once, while
        another thread is loading or training it)."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            found = self._from_file()
            if found is not None:
                return found
            return Chosen(self._trained, None, True) if self._trained is not None else None
        finally:
            self._lock.release()

    def _from_file(self) -> Chosen | None:
        path = self.path()
        try:
            status = path.stat()
        except OSError:
            return None
        stamp = (str(path), status.st_size, status.st_mtime_ns)
        if self._saved is None or self._saved[0] != stamp:
            try:
                model: TrainedModel | None = load(path)
            except ModelError as error:
                LOGGER.warning("cars: %s; answering with a model trained in memory", error)
                model = None
            self._saved = (stamp, model)
        saved = self._saved[1]
        return Chosen(saved, str(path), False) if saved is not None else None


MODELS = Models()


def prepare() -> None:
    """Ready the model while the server starts, not at the first question (training one
    takes a second or two); a question asked meanwhile waits for it."""
    threading.Thread(target=_prepare, name="sluice-cars-model", daemon=True).start()


def _prepare() -> None:
    try:
        MODELS.current()
    except Exception as error:  # the first question says it, with its message
        LOGGER.warning("cars: the model could not be made ready: %s", error)


@cache
def shipped() -> CarData:
    return read_cars()


def prediction(answers: dict[str, str]) -> dict[str, Any]:
    """What `sluice cars predict --json` answers for these answers."""
    chosen = MODELS.current()
    probabilities = predict(chosen.model, answers)
    best = max(probabilities, key=lambda price: probabilities[price])
    report = chosen.model.report
    return {"answers": answers, "buying": best, "probabilities": probabilities,
            "data": facts(shipped(), answers),
            "model": {"path": chosen.path, "trained_now": chosen.trained_now,
                      "chosen": report.chosen, "test_accuracy": report.test_accuracy,
                      "baseline_test_accuracy": report.baseline_test_accuracy}}


class ModelFacts(BaseModel):
    path: str | None
    trained_now: bool
    chosen: str
    test_accuracy: float
    baseline_test_accuracy: float


class Prediction(BaseModel):
    answers: dict[str, str]
    buying: str
    probabilities: dict[str, float]
    data: dict[str, Any]
    model: ModelFacts


def headline(warehouse: Warehouse) -> str | None:
    """The model's accuracy against the baseline when the model is at hand (never
    trained for this); otherwise the buying prices by class in the warehouse."""
    chosen = MODELS.ready()
    if chosen is not None:
        report = chosen.model.report
        return (f"the model ({report.chosen}) is right {report.test_accuracy:.0%} of the "
                f"time on held-out cars; always guessing one price, "
                f"{report.baseline_test_accuracy:.0%}")
    counts: dict[str, Counter[str]] = {}
    for car_class, buying, cars in warehouse.destination.query(BY_CLASS).rows:
        counts.setdefault(str(car_class), Counter())[str(buying)] += int(cars)
    if not counts:
        return None
    parts = []
    for car_class in sorted(counts, key=_class_order):
        prices = counts[car_class]
        most = max(prices.values())
        common = "/".join(p for p in sorted(prices, key=_price_order) if prices[p] == most)
        parts.append(f"{car_class} {common} ({most:,} of {sum(prices.values()):,})")
    total = sum(sum(prices.values()) for prices in counts.values())
    return f"{total:,} cars; the most common buying price by class: " + ", ".join(parts)


def _class_order(name: str) -> tuple[int, str]:
    levels = LEVELS["class"]
    return (levels.index(name) if name in levels else len(levels), name)


def _price_order(name: str) -> tuple[int, str]:
    levels = LEVELS["buying"]
    return (levels.index(name) if name in levels else len(levels), name)


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/predict", response_model=Prediction, response_class=JSONText,
             summary="A car's buying price: each price's probability, what the data says, "
                     "and the model's accuracy against always guessing one price")
    def predict_price(
            maint: Annotated[Maint, Query(description="Maintenance price.")],
            doors: Annotated[Doors, Query(description="Doors.")],
            lug_boot: Annotated[LugBoot, Query(description="Luggage boot size.")],
            safety: Annotated[Safety, Query(description="Estimated safety.")],
            car_class: Annotated[CarClass, Query(alias="class",
                                                 description="The car's rating.")],
    ) -> JSONText:
        return JSONText(prediction({"maint": maint, "doors": doors, "lug_boot": lug_boot,
                                    "safety": safety, "class": car_class}))

    return api


PART = WebPart(
    on_start=prepare,
    panels=(
        Panel("form", "the buying price of a car: ask the model", "predict",
              controls=tuple(Choice(name, LABELS[name], options=LEVELS[name],
                                    default=QUESTION[name]) for name in FEATURES),
              note="The model is trained on the UCI Car Evaluation data; the first question "
                   "may wait while it is trained, when no saved model is at hand."),
    ),
    router=router, headline=headline)
