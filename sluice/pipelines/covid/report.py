"""The covid report's own parts: which country, the headline, and the chart (a PNG of
daily new cases with the 7-day average, drawn with matplotlib)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sluice.errors import UsageError
from sluice.warehouse import Warehouse


@dataclass(frozen=True)
class Day:
    day: date
    new_cases: int | None
    average_7d: float | None
    note: str | None


def countries(warehouse: Warehouse) -> list[str]:
    return [str(row[0]) for row in warehouse.destination.query(
        "SELECT DISTINCT country FROM covid.cases ORDER BY country").rows]


def choose_country(warehouse: Warehouse, asked: str | None) -> str | None:
    """The country to chart: the one asked for, or the only one there is (None: no
    figures yet)."""
    known = countries(warehouse)
    if asked is not None:
        if asked not in known:
            have = ", ".join(known) if known else "none yet"
            raise UsageError(f"--country {asked!r}: no figures for it (countries in the "
                             f"warehouse: {have})")
        return asked
    if len(known) > 1:
        raise UsageError(f"the warehouse has {len(known)} countries ({', '.join(known)}): "
                         "name one with --country")
    return known[0] if known else None


def series(warehouse: Warehouse, country: str) -> list[Day]:
    rows = warehouse.destination.query(
        'SELECT "day", new_cases, average_7d, note FROM covid.daily WHERE country = ? '
        'ORDER BY "day"', [country]).rows
    return [Day(*row) for row in rows]


def headline(warehouse: Warehouse, country: str) -> dict[str, Any]:
    result = warehouse.destination.query(
        "SELECT * FROM covid.headline WHERE country = ?", [country])
    return dict(zip(result.columns, result.rows[0], strict=True))


def write_chart(days: list[Day], country: str, path: Path, source: str) -> Path:
    """Daily new cases as bars and their 7-day average as a line; a day without a figure
    is left empty (no bar, a break in the line), never filled in. Written whole: to a
    temporary name, then renamed."""
    import numpy
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 5), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    when = numpy.array([d.day for d in days], dtype="datetime64[D]")
    bars = [float("nan") if d.new_cases is None else d.new_cases for d in days]
    average = [float("nan") if d.average_7d is None else d.average_7d for d in days]
    axes.bar(when, bars, width=1.0, color="#9ecae1", label="new cases")
    axes.plot(when, average, color="#08519c", linewidth=1.6, label="7-day average")
    missing = sum(1 for d in days if d.note == "missing")
    axes.set_title(f"COVID-19 confirmed cases, {country}: new cases a day"
                   + (f" ({missing:,} days without a figure)" if missing else ""), loc="left")
    axes.set_ylabel("new cases")
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    axes.yaxis.set_major_formatter("{x:,.0f}")
    axes.legend(loc="upper left", frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    figure.text(0.995, 0.995, f"latest figures from {source}", ha="right", va="top",
                fontsize=7, color="#666666")
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(partial, format="png")
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise UsageError(f"--chart {path}: cannot write it ({error.strerror})") from None
    return path


def latest_source(warehouse: Warehouse, country: str) -> str:
    """The response the latest figures came from, as the ledger names it."""
    found = warehouse.destination.scalar(
        "SELECT source FROM covid.cases WHERE country = ? ORDER BY as_of DESC, \"day\" DESC "
        "LIMIT 1", [country])
    return str(found)


def headline_text(figures: dict[str, Any]) -> str:
    """The headline figures of one country (`headline`) as a sentence."""
    text = (f"{figures['total_cases']:,} cases from {figures['first_day']} to "
            f"{figures['last_day']} ({figures['days']:,} days, {figures['missing_days']:,} "
            "missing)")
    if figures["peak_day"] is not None:
        text += (f"; the most new cases in a day: {figures['peak_new_cases']:,} on "
                 f"{figures['peak_day']}")
    return text
