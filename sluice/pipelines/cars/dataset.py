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


def unknown_value(attribute: str, value: str) -> str:
    """The message for a value the attribute does not have."""
    return (f"{attribute} {value!r} is not one of "
            + ", ".join(LEVELS[attribute]))


def read_cars(path: Path | Traversable | None = None) -> CarData:
    """Every row of a Car Evaluation file (no header, seven values a line); a line
    that is not such a row is a CarDataError naming its line and what is wrong."""
    source = path if path is not None else SHIPPED
    data = source.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CarDataError(f"not UTF-8 text (byte {error.start})") from None
    rows = []
    for number, values in enumerate(csv.reader(text.splitlines()), 1):
        if not values or all(not v.strip() for v in values):
            continue
        if len(values) != len(ATTRIBUTES):
            raise CarDataError(f"line {number}: {len(values)} values, "
                               f"{len(ATTRIBUTES)} expected ({', '.join(ATTRIBUTES)})")
        row = dict(zip(ATTRIBUTES, (v.strip() for v in values), strict=True))
        for attribute, value in row.items():
            if value not in LEVELS[attribute]:
                raise CarDataError(f"line {number}: {unknown_value(attribute, value)}")
        rows.append(row)
    if not rows:
        raise CarDataError("no rows")
    return CarData(rows, str(source), hashlib.sha256(data).hexdigest())
