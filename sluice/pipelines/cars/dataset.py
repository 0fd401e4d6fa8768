"""The UCI Car Evaluation data set: seven categorical attributes, each with its levels in
order (the order the encoders use). The package ships the data set (CC BY 4.0, see
data/ATTRIBUTION.txt), so a fresh install can train."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

ATTRIBUTES = ("buying", "maint", "doors", "persons", "lug_boot", "safety", "class")
PRICE = ("low", "med", "high", "vhigh")
LEVELS: dict[str, tuple[str, ...]] = {
    "buying": PRICE,
    "maint": PRICE,
    "doors": ("2", "3", "4", "5more"),
    "persons": ("2", "4", "more"),
    "lug_boot": ("small", "med", "big"),
    "safety": ("low", "med", "high"),
    "class": ("unacc", "acc", "good", "vgood"),
}
SHIPPED: Traversable = resources.files(__package__) / "data" / "car.data"


class CarDataError(Exception):
    """A data file that is not the Car Evaluation layout."""


@dataclass(frozen=True)
class CarData:
    rows: list[dict[str, str]]
    source: str
    sha256: str
    skipped: int = 0


def unknown_value(attribute: str, value: str) -> str:
    """The message for a value the attribute does not have."""
    return (f"{attribute} {value!r} is not one of "
            + ", ".join(LEVELS[attribute]))


def read_cars(path: Path | Traversable | None = None, strict: bool = True) -> CarData:
    """Every row of a Car Evaluation file (no header, seven values a line). A line that
    is not such a row is a CarDataError naming its line and what is wrong; or, not
    `strict`, left out (counted in `skipped`: the warehouse load quarantines it)."""
    source = path if path is not None else SHIPPED
    data = source.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CarDataError(f"not UTF-8 text (byte {error.start})") from None
    rows, skipped = [], 0
    for number, values in enumerate(csv.reader(text.splitlines()), 1):
        if not values or all(not v.strip() for v in values):
            continue
        problem = _problem(values)
        if problem is None:
            rows.append(dict(zip(ATTRIBUTES, (v.strip() for v in values), strict=True)))
        elif strict:
            raise CarDataError(f"line {number}: {problem}")
        else:
            skipped += 1
    if not rows:
        raise CarDataError("no rows" if not skipped else "no good rows")
    return CarData(rows, str(source), hashlib.sha256(data).hexdigest(), skipped)


def _problem(values: list[str]) -> str | None:
    if len(values) != len(ATTRIBUTES):
        return f"{len(values)} values, {len(ATTRIBUTES)} expected ({', '.join(ATTRIBUTES)})"
    for attribute, value in zip(ATTRIBUTES, values, strict=True):
        if value.strip() not in LEVELS[attribute]:
            return unknown_value(attribute, value.strip())
    return None
