"""The cars demo step: the shipped data set into the warehouse, the model trained and
saved, and the question answered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sluice.demo import run_totals
from sluice.pipelines.cars.dataset import SHIPPED, read_cars
from sluice.pipelines.cars.land import land
from sluice.pipelines.cars.model import facts, predict, save, train
from sluice.progress import Progress
from sluice.warehouse import Warehouse

QUESTION = {"maint": "high", "doors": "4", "lug_boot": "big", "safety": "high",
            "class": "good"}


def run_demo(warehouse: Warehouse, folder: Path, progress: Progress) -> dict[str, Any]:
    run = land(warehouse, Path(str(SHIPPED)), progress)
    data = read_cars()
    trained = train(data)
    save(trained, folder / "cars-model.joblib")
    probabilities = predict(trained, QUESTION)
    best = max(probabilities, key=lambda price: probabilities[price])
    said = facts(data, QUESTION)
    report = trained.report
    summary = run_totals(run)
    summary.update(buying=best, probabilities=probabilities, data=said,
                   test_accuracy=report.test_accuracy,
                   baseline_test_accuracy=report.baseline_test_accuracy)
    in_data = ("no such car is in the data" if not said["matching_rows"]
               else f"{said['matching_rows']} such cars in the data")
    summary["headline"] = (
        f"a car with high maintenance, 4 doors, a big boot, high safety, rated good: buying "
        f"{best} (p = {probabilities[best]:.2f}); {in_data} (the model is right "
        f"{report.test_accuracy:.0%} of the time, guessing {report.baseline_test_accuracy:.0%})")
    return summary
