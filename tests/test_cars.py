"""`sluice cars` as users run it: train on the shipped data set or a file of their own
(into the warehouse, scored, saved), predict with probabilities and what the data says,
on a fresh install without a saved model, and clear errors for wrong values and files."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import query, sluice, sluice_json
from sluice.pipelines.cars.dataset import SHIPPED

ASKED = ("--maint", "high", "--doors", "4", "--lug-boot", "big", "--safety", "high",
         "--class", "good")


def test_predict_on_a_fresh_install_trains_first_and_then_reuses_the_model(
        tmp_path: Path) -> None:
    first = sluice_json("cars", "predict", *ASKED, cwd=tmp_path)
    assert first["model"]["trained_now"] and (tmp_path / "cars-model.joblib").is_file()
    assert list(first["probabilities"]) == ["low", "med", "high", "vhigh"]
    assert abs(sum(first["probabilities"].values()) - 1) < 1e-3
    assert first["buying"] == max(first["probabilities"], key=first["probabilities"].get)
    # What the data says, independent of any model: no car has these values, and the
    # cars rated good cost low or med to buy.
    assert first["data"]["matching_rows"] == 0
    assert first["data"]["same_class_buying"] == {"low": 46, "med": 23, "high": 0, "vhigh": 0}
    again = sluice_json("cars", "predict", *ASKED, cwd=tmp_path)
    assert not again["model"]["trained_now"] and again["probabilities"] == first["probabilities"]
    shown = sluice("cars", "predict", *ASKED, cwd=tmp_path).stdout
    assert shown.startswith("maint = high, doors = 4, lug_boot = big, safety = high, "
                            f"class = good: buying {first['buying']}\n")
    assert "69 cars of class good: low 46, med 23" in shown


def test_train_lands_the_data_scores_against_the_baseline_and_saves(tmp_path: Path) -> None:
    trained = sluice_json("cars", "train", "--model", "m/cars.joblib", cwd=tmp_path)
    assert trained["run"]["loaded"] == 1_728 and trained["rows"] == 1_728
    assert trained["baseline_test_accuracy"] == 0.25
    assert trained["chosen"] in trained["cross_validation"]
    assert (tmp_path / "m" / "cars.joblib").is_file()
    assert query(tmp_path / "warehouse.db", "SELECT count(*) FROM cars.evaluations") == [
        (1_728,)]
    predicted = sluice_json("cars", "predict", *ASKED, "--model", "m/cars.joblib", cwd=tmp_path)
    assert not predicted["model"]["trained_now"]
    assert predicted["model"]["test_accuracy"] == trained["test_accuracy"]
    report = sluice_json("cars", "report", cwd=tmp_path)
    good = {r["buying"]: r["cars"] for r in report["buying_by_class"] if r["class"] == "good"}
    assert good == {"low": 46, "med": 23}
    text = sluice("cars", "train", "--model", "m/cars.joblib", cwd=tmp_path).stdout
    assert "held-out test (432 cars):" in text and "<- chosen" in text


def test_a_file_of_ones_own_with_bad_lines_trains_on_the_good_ones(tmp_path: Path) -> None:
    data = tmp_path / "mine.data"
    shutil.copy(str(SHIPPED), data)
    with data.open("a", encoding="utf-8") as stream:
        stream.write("cheap,low,2,2,small,low,unacc\nlow,low,2\n")
    trained = sluice_json("cars", "train", "mine.data", cwd=tmp_path)
    assert trained["run"]["loaded"] == 1_728 and trained["run"]["rejected"] == 2
    assert trained["rows"] == 1_728


def test_wrong_values_and_files_are_clear_errors(tmp_path: Path) -> None:
    wrong = sluice("cars", "predict", *ASKED[:-1], "great", cwd=tmp_path, expect=2)
    assert "--class 'great' is not one of unacc, acc, good, vgood" in wrong.stderr
    wrong = sluice("cars", "predict", *ASKED[:4], "--lug-boot", "huge", *ASKED[6:],
                   cwd=tmp_path, expect=2)
    assert "--lug-boot 'huge' is not one of small, med, big" in wrong.stderr
    missing = sluice("cars", "train", "nothing.data", cwd=tmp_path, expect=2)
    assert "DATA nothing.data: no such file" in missing.stderr
    (tmp_path / "cars-model.joblib").write_text("not a model", encoding="utf-8")
    damaged = sluice("cars", "predict", *ASKED, cwd=tmp_path, expect=2)
    assert "is not a saved cars model" in damaged.stderr and "sluice cars train" in damaged.stderr
    for result in (wrong, missing, damaged):
        assert "Traceback" not in result.stderr


def test_too_few_cars_to_train_on_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "few.data").write_text("vhigh,vhigh,2,2,small,low,unacc\n"
                                       "low,low,2,2,small,low,unacc\n", encoding="utf-8")
    failed = sluice("cars", "train", "few.data", "--model", "m.joblib", cwd=tmp_path, expect=2)
    assert "too few cars to train on (low 1, vhigh 1)" in failed.stderr
    assert "Traceback" not in failed.stderr and not (tmp_path / "m.joblib").exists()
