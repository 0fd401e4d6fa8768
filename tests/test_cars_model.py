"""The car price model through its Python API (the verbs come with the pipeline's
registration): the shipped data set, the candidates against the majority-class
baseline, predictions with probabilities, what the data says directly, saving and
loading, and clear errors for unknown values and damaged data files."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from sluice.pipelines.cars.dataset import ATTRIBUTES, LEVELS, SHIPPED, CarDataError, read_cars
from sluice.pipelines.cars.model import (
    BASELINE,
    FEATURES,
    ModelError,
    TrainedModel,
    facts,
    load,
    predict,
    save,
    train,
)

QUESTION = {"maint": "high", "doors": "4", "lug_boot": "big", "safety": "high",
            "class": "good"}
DATA = Path(__file__).parent.parent.parent / "shared" / "datasets" / "cars" / "car.data"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with SHIPPED.open("r", encoding="utf-8") as stream:
        return [dict(zip(ATTRIBUTES, line, strict=True)) for line in csv.reader(stream) if line]


@pytest.fixture(scope="module")
def model() -> TrainedModel:
    return train(read_cars(), seed=7)


def test_the_shipped_data_is_the_complete_grid(rows: list[dict[str, str]]) -> None:
    data = read_cars()
    assert data.rows == rows and len(rows) == 1_728
    inputs = {tuple(row[a] for a in ATTRIBUTES[:-1]) for row in rows}
    assert len(inputs) == 4 * 4 * 4 * 3 * 3 * 3  # every combination once
    assert Counter(row["buying"] for row in rows) == dict.fromkeys(LEVELS["buying"], 432)
    if DATA.exists():  # the shipped copy is the data set, byte for byte
        assert SHIPPED.read_bytes() == DATA.read_bytes()


def test_the_model_is_compared_with_the_baseline_and_scored_once_on_held_out_rows(
        model: TrainedModel) -> None:
    report = model.report
    assert set(report.cross_validation) >= {BASELINE, "logistic regression (one-hot)"}
    assert len(report.cross_validation) == 4
    best = max(scores["mean"] for scores in report.cross_validation.values())
    assert report.cross_validation[report.chosen]["mean"] == best
    # Four prices, 432 rows each: always answering one of them is right a quarter of
    # the time on a stratified split.
    assert report.baseline_test_accuracy == 0.25 and report.test_rows == 432
    assert 0 <= report.test_accuracy <= 1 and sorted(report.classes) == sorted(LEVELS["buying"])
    again = train(read_cars(), seed=7)
    assert again.report == report  # the same seed, the same scores


def test_a_prediction_gives_every_price_a_probability(model: TrainedModel) -> None:
    found = predict(model, QUESTION)
    assert list(found) == list(LEVELS["buying"])
    assert sum(found.values()) == pytest.approx(1, abs=1e-3)
    assert all(0 <= p <= 1 for p in found.values())


def test_what_the_data_says_directly(rows: list[dict[str, str]]) -> None:
    said = facts(read_cars(), QUESTION)
    matching = [r for r in rows if all(r[n] == QUESTION[n] for n in FEATURES)]
    good = Counter(r["buying"] for r in rows if r["class"] == "good")
    assert said["matching_rows"] == len(matching)
    assert said["same_class_rows"] == sum(good.values()) == 69
    assert said["same_class_buying"] == {"low": good["low"], "med": good["med"], "high": 0,
                                         "vhigh": 0}
    acceptable = dict(QUESTION, **{"class": "acc"})
    assert facts(read_cars(), acceptable)["matching_rows"] == len(
        [r for r in rows if all(r[n] == acceptable[n] for n in FEATURES)]) > 0


@pytest.mark.parametrize(("answers", "message"), [
    (dict(QUESTION, maint="huge"), "maint 'huge' is not one of low, med, high, vhigh"),
    (dict(QUESTION, doors="5"), "doors '5' is not one of 2, 3, 4, 5more"),
    ({k: v for k, v in QUESTION.items() if k != "safety"}, "missing safety"),
])
def test_unknown_values_are_clear_errors(model: TrainedModel, answers: dict[str, str],
                                        message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(") + "$"):
        predict(model, answers)


def test_a_saved_model_answers_the_same_after_loading(model: TrainedModel,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "models" / "cars.joblib"
    save(model, path)
    loaded = load(path)
    assert loaded.report == model.report
    assert predict(loaded, QUESTION) == predict(model, QUESTION)
    assert not list(path.parent.glob("*.partial"))
    (tmp_path / "junk.joblib").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="is not a saved cars model"):
        load(tmp_path / "junk.joblib")


@pytest.mark.parametrize(("content", "message"), [
    (b"vhigh,vhigh,2,2,small,low,unacc\nvhigh,vhigh,2,2,small\n",
     "line 2: 5 values, 7 expected"),
    (b"vhigh,vhigh,2,2,small,low,unacc\ncheap,vhigh,2,2,small,low,unacc\n",
     "line 2: buying 'cheap' is not one of low, med, high, vhigh"),
    (b"\xff\xfe", "not UTF-8 text"),
    (b"\n\n", "no rows"),
])
def test_a_damaged_data_file_names_its_line(tmp_path: Path, content: bytes,
                                             message: str) -> None:
    path = tmp_path / "car.data"
    path.write_bytes(content)
    with pytest.raises(CarDataError, match=message):
        read_cars(path)
