"""Applications on the dashboard: each run's successful and unsuccessful applications
over time and its success rate, the rate over every run, the reasons applications fail,
and the shop's top members and items (the shop's own views, shown here as well).

Figures come from the run ledger (`sluice.runs`: a run's `loaded` are its successful
applications, `rejected` its unsuccessful ones) and from the quarantine's reasons. A
success rate is successful / (successful + unsuccessful): a duplicate, an application
accepted before, is neither.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from sluice.destinations import Result
from sluice.pipelines.applications.inbox import PIPELINE
from sluice.quarantine import readable_quarantine
from sluice.warehouse import Warehouse
from sluice.web.answers import (
    JSONText,
    Limit,
    NoData,
    Offset,
    ReadersDep,
    RowsPage,
    answer,
    rows_page,
    sliced,
)
from sluice.web.part import Column, Panel, Series, WebPart

SUCCEEDED = "succeeded"  # a committed run; a failed or interrupted one changed nothing
MAX_RUNS = 100_000
# A chart asks for every run (it sends no limit): the default page is the whole history.
RunsLimit = Annotated[int, Query(ge=1, le=MAX_RUNS, description="Runs on the page.")]
SHOP = "/api/pipelines/shop/views"

RUNS = """
SELECT run_id, finished, records_read AS applications, loaded AS successful,
       rejected AS unsuccessful, duplicates,
       CAST(loaded AS DOUBLE PRECISION) / NULLIF(loaded + rejected, 0) AS success_rate
FROM sluice.runs WHERE pipeline = ? AND status = ?
ORDER BY run_id LIMIT ? OFFSET ?
"""

TOTALS = """
SELECT count(*) AS runs,
       CAST(coalesce(sum(records_read), 0) AS BIGINT) AS applications,
       CAST(coalesce(sum(loaded), 0) AS BIGINT) AS successful,
       CAST(coalesce(sum(rejected), 0) AS BIGINT) AS unsuccessful,
       CAST(coalesce(sum(duplicates), 0) AS BIGINT) AS duplicates,
       max(finished) AS last_run_finished
FROM sluice.runs WHERE pipeline = ? AND status = ?
"""

# Each reason on its own (an application that failed three rules counts for each), from
# the quarantine as it stands (not the records a newer version of their file superseded).
REASONS = """
WITH rejected AS (
    SELECT q.reasons FROM {quarantine} AS q
    WHERE q.pipeline = ? AND q.superseded_by IS NULL
),
reasons AS (
    SELECT unnest(reasons) AS reason FROM rejected
)
SELECT reason, count(*) AS applications,
       CAST(count(*) AS DOUBLE PRECISION) / (SELECT count(*) FROM rejected) AS share
FROM reasons GROUP BY reason ORDER BY applications DESC, reason
"""
REASON_COLUMNS = ["reason", "applications", "share"]


class Summary(BaseModel):
    runs: int
    applications: int
    successful: int
    unsuccessful: int
    duplicates: int
    success_rate: float | None
    last_run_finished: str | None


class RunsPage(RowsPage):
    overall_success_rate: float | None


def _require(warehouse: Warehouse) -> None:
    """The pipeline's table, or no data: a warehouse it never ran in has nothing to say."""
    if not warehouse.destination.table_exists("applications", "successful"):
        raise NoData("applications")


def _rate(successful: int, unsuccessful: int) -> float | None:
    judged = successful + unsuccessful
    return successful / judged if judged else None


def totals(warehouse: Warehouse) -> dict[str, Any]:
    """Every committed run's applications together, and the success rate over them."""
    _require(warehouse)
    found = warehouse.destination.query(TOTALS, [PIPELINE, SUCCEEDED]).dicts()[0]
    found = {key: (int(value) if key != "last_run_finished" else value)
             for key, value in found.items()}
    found["success_rate"] = _rate(found["successful"], found["unsuccessful"])
    return found


def runs(warehouse: Warehouse, limit: int, offset: int) -> dict[str, Any]:
    _require(warehouse)
    page = warehouse.destination.query(RUNS, [PIPELINE, SUCCEEDED, limit, offset])
    overall = totals(warehouse)
    return {**rows_page(page, overall["runs"], limit, offset),
            "overall_success_rate": overall["success_rate"]}


def reasons(warehouse: Warehouse) -> Result:
    _require(warehouse)
    if not warehouse.destination.table_exists("sluice", "quarantine"):
        return Result(REASON_COLUMNS, [])  # nothing was ever rejected
    return warehouse.destination.query(
        REASONS.format(quarantine=readable_quarantine(warehouse)), [PIPELINE])


def headline(warehouse: Warehouse) -> str | None:
    found = totals(warehouse)
    if not found["runs"] or found["success_rate"] is None:
        return None
    judged = found["successful"] + found["unsuccessful"]
    text = (f"{found['successful']:,} of {judged:,} applications successful "
            f"({found['success_rate']:.1%}) over {found['runs']:,} "
            f"run{'s' if found['runs'] != 1 else ''}")
    common = reasons(warehouse).rows
    if common:
        text += f"; the most common reason: {common[0][0]} ({int(common[0][1]):,})"
    return text


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/runs", response_model=RunsPage, response_class=JSONText,
             summary="Each committed applications run, oldest first: its applications, "
                     "successful and unsuccessful, and its success rate")
    def run_rows(source: ReadersDep, limit: RunsLimit = MAX_RUNS,
                 offset: Offset = 0) -> JSONText:
        def compute(warehouse: Warehouse) -> dict[str, Any]:
            return runs(warehouse, limit, offset)

        return JSONText(answer(source, ("applications", "runs", limit, offset), compute,
                               "applications"))

    @api.get("/summary", response_model=Summary, response_class=JSONText,
             summary="Every committed run together: applications, successful, "
                     "unsuccessful, and the success rate")
    def summary(source: ReadersDep) -> JSONText:
        return JSONText(answer(source, ("applications", "summary"), totals, "applications"))

    @api.get("/reasons", response_model=RowsPage, response_class=JSONText,
             summary="Why applications failed: each reason with the unsuccessful "
                     "applications that have it (one may have several), most common first")
    def reason_rows(source: ReadersDep, limit: Limit = 50, offset: Offset = 0) -> JSONText:
        found = answer(source, ("applications", "reasons"), reasons, "applications")
        return JSONText(sliced(found, limit, offset))

    return api


RUN_COLUMNS = (Column("run_id", "run", link="/operations?run={run_id}"),
               Column("finished", "finished (UTC)"),
               Column("applications", format="number"), Column("successful", format="number"),
               Column("unsuccessful", format="number"), Column("duplicates", format="number"),
               Column("success_rate", "success rate", format="percent"))

PART = WebPart(
    panels=(
        Panel("chart", "applications per run: successful and unsuccessful", "runs",
              x="finished", series=(Series("successful", "successful"),
                                    Series("unsuccessful", "unsuccessful"))),
        Panel("chart", "success rate per run (the dashed line: over every run)", "runs",
              x="finished", series=(Series("success_rate", "success rate"),),
              lines=(("overall_success_rate", "over every run"),),
              note="successful / (successful + unsuccessful); a duplicate is neither"),
        Panel("stats", "every run together", "summary"),
        Panel("table", "why applications fail (an application may fail several rules)",
              "reasons", columns=(Column("reason"),
                                  Column("applications", format="number"),
                                  Column("share", "share of unsuccessful", format="percent"))),
        Panel("table", "runs", "runs", columns=RUN_COLUMNS),
        Panel("table", "the shop's top 10 members by spending (ties share a rank)",
              f"{SHOP}/top_members_by_spending", page_size=10, columns=(
                  Column("rank", format="number"), Column("membership_id", "membership id"),
                  Column("name"), Column("applicants", format="number"),
                  Column("shared"), Column("spending", format="number"),
                  Column("transactions", format="number"))),
        Panel("table", "the shop's top 3 items by quantity (ties share a rank)",
              f"{SHOP}/top_items_by_quantity", page_size=3, columns=(
                  Column("rank", format="number"), Column("item"), Column("manufacturer"),
                  Column("quantity", "units", format="number"),
                  Column("transactions", format="number"))),
    ),
    router=router, headline=headline)
