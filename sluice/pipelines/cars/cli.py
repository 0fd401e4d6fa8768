"""`sluice cars ...`: train the price model, predict a car's buying price, the report.

Imported by `--help`: Typer and light modules at the top; each verb imports the engine
and the output when it runs (tests/test_cli_startup.py). The model's module
(scikit-learn, about a second to import) only by the verbs that use it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sluice.cli_options import JsonOption, WarehouseOption, check_file_target, pipeline_app
from sluice.errors import UsageError
from sluice.paths import shown
from sluice.pipelines import cars
from sluice.pipelines.cars.settings import DEFAULT_MODEL, FOLDS

if TYPE_CHECKING:
    from sluice.pipelines.cars.model import TrainedModel

app = pipeline_app(cars.HELP)

ModelOption = Annotated[Path, typer.Option(
    "--model", help="Where the trained model is saved and read.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Same seed, same split and scores.")]


@app.command("train")
def cars_train(
    data: Annotated[Path | None, typer.Argument(
        help="A Car Evaluation file (no header, seven values a line) [default: the data "
             "set shipped with sluice].")] = None,
    model: ModelOption = DEFAULT_MODEL,
    seed: SeedOption = 7,
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Load the data into the warehouse, train and score the model, and save it."""
    from sluice import console
    from sluice.lifecycle import check_all_read
    from sluice.pipelines.cars.dataset import SHIPPED, CarDataError, read_cars
    from sluice.pipelines.cars.land import land
    from sluice.warehouse import Warehouse

    check_file_target(model)
    source: Any = data if data is not None else SHIPPED
    if data is not None and not data.is_file():
        raise UsageError(f"DATA {shown(data)}: " + ("not a file" if data.exists()
                                                    else "no such file"))
    with Warehouse(warehouse) as wh, console.progress_bar(not json) as progress:
        run = land(wh, Path(str(source)), progress)
    try:
        trained = model_module().train(read_cars(source, strict=False), seed)
    except CarDataError as error:
        raise UsageError(f"DATA {shown(Path(str(source)))}: {error}") from None
    model_module().save(trained, model)
    report = trained.report.as_dict()
    summary = {"run": run.as_dict(), "model": str(model), **report}
    if json:
        console.print_json(summary)
    else:
        console.print_run(run)
        _print_training(trained, model)
    check_all_read(run)


def _print_training(trained: TrainedModel, model: Path) -> None:
    from sluice import console

    report = trained.report
    lines = [f"trained on {report.rows:,} cars; candidates by {FOLDS}-fold "
             "cross-validation (accuracy, mean ± sd):"]
    for name, scores in report.cross_validation.items():
        chosen = "  <- chosen" if name == report.chosen else ""
        lines.append(f"  {name}: {scores['mean']:.3f} ± {scores['std']:.3f}{chosen}")
    lines.append(f"held-out test ({report.test_rows:,} cars): {report.test_accuracy:.3f}, "
                 f"baseline {report.baseline_test_accuracy:.3f}")
    lines.append(f"model saved to {shown(model)}")
    console.out.print("\n".join(lines), markup=False)


@app.command("predict")
def cars_predict(
    maint: Annotated[str, typer.Option("--maint", help="low, med, high or vhigh.")],
    doors: Annotated[str, typer.Option("--doors", help="2, 3, 4 or 5more.")],
    lug_boot: Annotated[str, typer.Option("--lug-boot", help="small, med or big.")],
    safety: Annotated[str, typer.Option("--safety", help="low, med or high.")],
    car_class: Annotated[str, typer.Option("--class", help="unacc, acc, good or vgood.")],
    model: ModelOption = DEFAULT_MODEL,
    json: JsonOption = False,
) -> None:
    """The buying price of a car, with each price's probability and what the data says."""
    from sluice import console
    from sluice.pipelines.cars.dataset import read_cars

    answers = {"maint": maint, "doors": doors, "lug_boot": lug_boot, "safety": safety,
               "class": car_class}
    try:
        model_module().check_answers(answers)
    except ValueError as error:
        raise UsageError(_as_option(str(error))) from None
    trained, trained_now = _model(model)
    probabilities = model_module().predict(trained, answers)
    best = max(probabilities, key=lambda price: probabilities[price])
    said = model_module().facts(read_cars(), answers)
    report = trained.report
    summary = {"answers": answers, "buying": best, "probabilities": probabilities,
               "data": said, "model": {"path": str(model), "trained_now": trained_now,
                                       "chosen": report.chosen,
                                       "test_accuracy": report.test_accuracy,
                                       "baseline_test_accuracy":
                                           report.baseline_test_accuracy}}
    if json:
        console.print_json(summary)
        return
    given = ", ".join(f"{name} = {value}" for name, value in answers.items())
    console.out.print("\n".join([
        *([f"no saved model: trained on the shipped data set, saved to {shown(model)}"]
          if trained_now else []),
        f"{given}: buying {best}",
        "probabilities: " + ", ".join(f"{p} {v:.2f}" for p, v in probabilities.items()),
        f"the data: {said['matching_rows']:,} cars with these values "
        f"({_prices(said['matching_buying'])}); {said['same_class_rows']:,} cars of class "
        f"{car_class}: {_prices(said['same_class_buying'])}",
        f"the model, {report.chosen}, is right {report.test_accuracy:.0%} of the time on "
        f"held-out cars; always guessing one price, {report.baseline_test_accuracy:.0%}",
    ]), markup=False)


def _prices(counts: dict[str, int]) -> str:
    found = [f"{price} {n:,}" for price, n in counts.items() if n]
    return ", ".join(found) if found else "none"


def _as_option(message: str) -> str:
    """A check's message in the options' names (`lug_boot` is `--lug-boot`)."""
    if message.startswith("missing "):
        return message
    name, rest = message.split(" ", 1)
    return f"--{name.replace('_', '-')} {rest}"


def model_module() -> Any:
    from sluice.pipelines.cars import model

    return model


def _model(path: Path) -> tuple[TrainedModel, bool]:
    """The saved model, or one trained now on the shipped data (and saved)."""
    from sluice.pipelines.cars.dataset import read_cars

    if path.exists():
        try:
            return model_module().load(path), False
        except model_module().ModelError as error:
            raise UsageError(f"--model: {error}; `sluice cars train` makes a new one") from None
    check_file_target(path)
    trained = model_module().train(read_cars())
    model_module().save(trained, path)
    return trained, True


@app.command("report")
def cars_report(warehouse: WarehouseOption = None, json: JsonOption = False) -> None:
    """The cars in the warehouse: buying price by class."""
    from sluice import console
    from sluice.warehouse import Warehouse

    with Warehouse(warehouse, must_exist=True) as wh:
        cars.ensure_target(wh)
        results = {view: view.query(wh) for view in cars.PIPELINE.views}
    console.show_views(results, json)
