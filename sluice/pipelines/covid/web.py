"""COVID-19 on the dashboard: a country's daily new cases with the 7-day average (the
chart `sluice covid report` draws), its gaps and decreases marked, never filled in; the
headline as the report gives it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from sluice.pipelines.covid.report import countries, headline_text
from sluice.pipelines.covid.report import headline as figures
from sluice.warehouse import Warehouse
from sluice.web.answers import (
    ApiError,
    JSONText,
    NoData,
    Offset,
    Options,
    ReadersDep,
    RowsPage,
    answer,
    options,
    sliced,
)
from sluice.web.part import Choice, Panel, Series, WebPart

MAX_DAYS = 100_000  # a chart asks for every day (it sends no limit): 270 years of them
DaysLimit = Annotated[int, Query(ge=1, le=MAX_DAYS, description="Days on the page.")]
Country = Annotated[str | None, Query(
    max_length=200, description="The country [default: the first, by name].")]
HEADLINE_COUNTRIES = 3  # the overview's sentence names this many at most

DAILY = """
SELECT "day", cumulative, new_cases, average_7d, note,
       cumulative IS NULL AS missing,
       coalesce(note LIKE 'decrease from %', FALSE) AS decrease
FROM covid.daily WHERE country = ? ORDER BY "day"
"""


class Daily(RowsPage):
    country: str
    missing_days: int
    decreases: int


def chosen(warehouse: Warehouse, asked: str | None) -> str:
    """The country asked for, or the first there is; a 404 names the ones there are."""
    known = countries(warehouse)
    if not known:
        raise NoData("covid")
    if not asked:
        return known[0]
    if asked not in known:
        listed = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20
                                           else "")
        raise ApiError(404, f"no figures for country {asked!r} (countries in the "
                            f"warehouse: {listed})")
    return asked


def daily(warehouse: Warehouse, asked: str | None) -> dict[str, Any]:
    """Every day of the country's series, and how many of them are gaps or decreases."""
    country = chosen(warehouse, asked)
    found = warehouse.destination.query(DAILY, [country])
    items = found.dicts()
    return {"country": country, "result": found,
            "missing_days": sum(1 for item in items if item["missing"]),
            "decreases": sum(1 for item in items if item["decrease"])}


def headline(warehouse: Warehouse) -> str | None:
    """The report's line for each country (the first few, by name)."""
    known = countries(warehouse)
    lines = [f"{country}: " + headline_text(figures(warehouse, country))
             for country in known[:HEADLINE_COUNTRIES]]
    if len(known) > HEADLINE_COUNTRIES:
        lines.append(f"and {len(known) - HEADLINE_COUNTRIES:,} more countries")
    return "; ".join(lines) or None


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/countries", response_model=Options, response_class=JSONText,
             summary="The countries with figures, by name")
    def country_names(source: ReadersDep) -> JSONText:
        return JSONText(options(answer(source, ("covid", "countries"), countries, "covid")))

    @api.get("/daily", response_model=Daily, response_class=JSONText,
             summary="A country's days in order: new cases, the 7-day average, and the "
                     "days that are gaps (missing) or decreases")
    def daily_cases(source: ReadersDep, country: Country = None,
                    limit: DaysLimit = MAX_DAYS, offset: Offset = 0) -> JSONText:
        def compute(warehouse: Warehouse) -> dict[str, Any]:
            return daily(warehouse, country or None)

        found = answer(source, ("covid", "daily", country or None), compute, "covid")
        return JSONText({**sliced(found["result"], limit, offset), "country": found["country"],
                         "missing_days": found["missing_days"],
                         "decreases": found["decreases"]})

    return api


PART = WebPart(
    panels=(
        # The empty default asks for the first country, which the list shows first.
        Panel("chart", "daily new cases and the 7-day average", "daily", x="day",
              controls=(Choice("country", "country", options_from="countries", default=""),),
              series=(Series("new_cases", "new cases", "bar"),
                      Series("average_7d", "7-day average", "line")),
              note="A day without a figure has no bar: a missing day, the day after one, "
                   "or a decrease in the cumulative count (never filled in). The average "
                   "needs 7 days in a row with figures."),
    ),
    router=router, headline=headline)
