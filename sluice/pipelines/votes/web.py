"""Votes on the dashboard: weekly vote totals with the outlier weeks marked, the mean
and the band of +/-20% around it (the outlier rule of `blog_analysis.outlier_weeks`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from sluice.warehouse import Warehouse
from sluice.web.answers import JSONText, ReadersDep, answer
from sluice.web.part import Panel, Series, WebPart

BAND = 0.2  # a week more than 20% off the mean is an outlier

# Standard SQL for both engines; the week as `blog_analysis.outlier_weeks` numbers it
# (strftime's %W: weeks from Monday, the days before a year's first Monday are week 0).
# Days first: the week's arithmetic then runs once a day, not once a vote (on PostgreSQL,
# 10 million votes: 1 s instead of 4).
WEEKLY = """
WITH daily AS (
    SELECT CAST("CreationDate" AS DATE) AS day, count(*) AS votes
    FROM blog_analysis.votes GROUP BY CAST("CreationDate" AS DATE)
), weekly AS (
    SELECT CAST(EXTRACT(year FROM day) AS INTEGER) AS year,
           CAST(FLOOR((EXTRACT(doy FROM day) + 7 - EXTRACT(isodow FROM day)) / 7) AS INTEGER)
               AS week_number,
           sum(votes) AS vote_count
    FROM daily GROUP BY 1, 2
)
SELECT year, week_number, vote_count,
       avg(CAST(vote_count AS DOUBLE PRECISION)) OVER () AS mean
FROM weekly ORDER BY year, week_number
"""


class Week(BaseModel):
    week: str
    year: int
    week_number: int
    vote_count: int
    outlier: bool


class Weekly(BaseModel):
    items: list[Week]
    weeks: int
    outliers: int
    mean: float | None
    lower: float | None
    upper: float | None


def weekly(warehouse: Warehouse) -> dict[str, Any]:
    rows = warehouse.destination.query(WEEKLY).rows
    mean = float(rows[0][3]) if rows else None
    items = [{"week": f"{year} W{week:02d}", "year": year, "week_number": week,
              "vote_count": int(count),
              "outlier": mean is not None and abs(1 - int(count) / mean) > BAND}
             for year, week, count, _ in rows]
    return {"items": items, "weeks": len(items),
            "outliers": sum(1 for item in items if item["outlier"]), "mean": mean,
            "lower": mean * (1 - BAND) if mean is not None else None,
            "upper": mean * (1 + BAND) if mean is not None else None}


def headline(warehouse: Warehouse) -> str | None:
    found = weekly(warehouse)
    if not found["items"]:
        return None
    outliers = [item for item in found["items"] if item["outlier"]]
    busiest = max(found["items"], key=lambda item: item["vote_count"])
    return (f"{len(outliers)} of {found['weeks']} weeks are outliers; busiest: "
            f"{busiest['year']} week {busiest['week_number']} with "
            f"{busiest['vote_count']:,} votes")


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/weekly", response_model=Weekly, response_class=JSONText,
             summary="Votes per week, the outlier weeks marked, the mean and its band")
    def weekly_votes(source: ReadersDep) -> JSONText:
        return JSONText(answer(source, ("votes", "weekly"), weekly, "votes"))

    return api


PART = WebPart(
    panels=(Panel("chart", "votes per week (outliers in red; the band is the mean +/-20%)",
                  "weekly", x="week",
                  series=(Series("vote_count", "votes", "bar", highlight="outlier"),),
                  lines=(("mean", "mean"),), band=("lower", "upper")),),
    router=router, headline=headline)
