"""The routes every pipeline gets from the registry, whatever it declares: its overview
(last run, rows loaded and quarantined, headline), its views as pages of rows, and the
description of its dashboard page. Its own routes (`WebPart.router`) are mounted beside
them under `/api/pipelines/NAME/`.
"""


import contextlib
import logging
from enum import Enum
from typing import Any

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from sluice.destinations import Result
from sluice.ledger import recent_runs
from sluice.registry import Pipeline, View, pipelines
from sluice.warehouse import Warehouse
from sluice.web.answers import (
    ERRORS,
    JSONText,
    Limit,
    Offset,
    ReadersDep,
    RowsPage,
    answer,
    sliced,
    sliced_items,
)
from sluice.web.part import Column, Panel, WebPart

LOGGER = logging.getLogger("sluice.serve")
API = "/api"


def api_root(pipeline: Pipeline) -> str:
    return f"{API}/pipelines/{pipeline.name}"


def part_of(pipeline: Pipeline) -> WebPart:
    return pipeline.web() if pipeline.web is not None else WebPart()


class PipelineOverview(BaseModel):
    pipeline: str
    help: str
    page: str
    last_run: int | None
    last_verb: str | None
    last_status: str | None
    last_finished: str | None
    received: int
    loaded: int
    duplicates: int
    quarantined: int
    headline: str | None
    views: list[dict[str, str]]


class Overviews(BaseModel):
    columns: list[str]
    items: list[PipelineOverview]
    total: int
    limit: int
    offset: int


def overview(warehouse: Warehouse, pipeline: Pipeline) -> dict[str, Any]:
    """A pipeline at a glance: its last committed run, its records now, its headline."""
    from sluice.replay import balance

    runs = recent_runs(warehouse, 1, pipeline.name).dicts()
    totals = next((row for row in balance(warehouse) if row["pipeline"] == pipeline.name), {})
    last = runs[0] if runs else {}
    return {
        "pipeline": pipeline.name, "help": pipeline.help, "page": f"/pipelines/{pipeline.name}",
        "last_run": last.get("run_id"), "last_verb": last.get("verb"),
        "last_status": last.get("status"),
        "last_finished": last.get("finished"),
        "received": totals.get("received", 0), "loaded": totals.get("loaded", 0),
        "duplicates": totals.get("duplicates", 0),
        "quarantined": totals.get("rejected_now", 0),
        "headline": _headline(warehouse, pipeline) if runs else None,
        "views": [{"name": v.name, "title": v.title,
                   "href": f"{api_root(pipeline)}/views/{v.name}"} for v in pipeline.views],
    }


def _headline(warehouse: Warehouse, pipeline: Pipeline) -> str | None:
    """Its headline, or none when its tables cannot give one (never an error: the
    overview shows every pipeline whatever state one of them is in)."""
    part = part_of(pipeline)
    if part.headline is None:
        return None
    try:
        return part.headline(warehouse)
    except Exception as error:  # one pipeline's headline must not take the overview down
        LOGGER.info("no headline for %s: %s", pipeline.name, type(error).__name__)
        with contextlib.suppress(Exception):
            warehouse.destination.rollback()
        return None


OVERVIEW_COLUMNS = ["pipeline", "last_run", "last_status", "last_finished", "received",
                    "loaded", "duplicates", "quarantined", "headline"]


def overviews(warehouse: Warehouse) -> list[dict[str, Any]]:
    return [overview(warehouse, pipeline) for pipeline in pipelines()]


def view_rows(view: View) -> Any:
    def compute(warehouse: Warehouse) -> Result:
        return view.query(warehouse)

    return compute


def add_routes(app: FastAPI) -> None:
    """The overview and every pipeline's views and own routes."""
    common = APIRouter(prefix=API, tags=["pipelines"], responses=ERRORS)

    @common.get("/pipelines", response_model=Overviews, response_class=JSONText,
                summary="Every pipeline at a glance")
    def all_pipelines(source: ReadersDep, limit: Limit = 50, offset: Offset = 0) -> JSONText:
        """Each registered pipeline: its last run, what it received, loaded and holds in
        quarantine now, and its headline answer."""
        items = answer(source, ("overview",), overviews, "the ledger")
        return JSONText(sliced_items(OVERVIEW_COLUMNS, items, limit, offset))

    app.include_router(common)
    for pipeline in pipelines():
        app.include_router(_pipeline_router(pipeline))


def _pipeline_router(pipeline: Pipeline) -> APIRouter:
    name = pipeline.name
    router = APIRouter(prefix=api_root(pipeline), tags=[name], responses=ERRORS)
    part = part_of(pipeline)
    if part.router is not None:
        router.include_router(part.router())

    @router.get("", response_model=PipelineOverview, response_class=JSONText,
                summary=f"The {name} pipeline at a glance", operation_id=f"{name}_overview")
    def one_pipeline(source: ReadersDep) -> JSONText:
        def compute(warehouse: Warehouse) -> dict[str, Any]:
            return overview(warehouse, pipeline)

        return JSONText(answer(source, ("overview", name), compute, f"{name}"))

    if pipeline.views:
        names = Enum(f"{name.title()}View", {v.name: v.name for v in pipeline.views})  # type: ignore[misc]
        by_name = {v.name: v for v in pipeline.views}

        @router.get("/views/{view}", response_model=RowsPage, response_class=JSONText,
                    summary=f"A page of one of the {name} pipeline's views",
                    description="The views: " + "; ".join(
                        f"`{v.name}`: {v.title}" for v in pipeline.views) + ".",
                    operation_id=f"{name}_view")
        def view_page(view: names, source: ReadersDep,
                      limit: Limit = 50, offset: Offset = 0) -> JSONText:
            chosen = by_name[view.value]
            rows = answer(source, ("view", name, chosen.name), view_rows(chosen),
                          f"{name}'s {chosen.name}")
            return JSONText(sliced(rows, limit, offset))

    return router


# --- pages -------------------------------------------------------------------------------

def view_panels(pipeline: Pipeline) -> list[Panel]:
    return [Panel("table", view.title, f"views/{view.name}") for view in pipeline.views]


def pipeline_page(pipeline: Pipeline) -> dict[str, Any]:
    part = part_of(pipeline)
    panels = list(part.panels) + (view_panels(pipeline) if part.views_shown else [])
    base = api_root(pipeline)
    return {"name": pipeline.name, "title": pipeline.name, "help": pipeline.help,
            "overview": base, "refresh_seconds": part.refresh_seconds,
            "panels": [panel.as_dict(base) for panel in panels]}


OVERVIEW_PANELS = (
    Panel("table", "pipelines", f"{API}/pipelines", columns=(
        Column("pipeline", link="/pipelines/{pipeline}"),
        Column("last_run", "last run", link="/operations?run={last_run}"),
        Column("last_status", "status"), Column("last_finished", "finished (UTC)"),
        Column("received", format="number"), Column("loaded", format="number"),
        Column("duplicates", format="number"), Column("quarantined", format="number"),
        Column("headline")), page_size=50),
)


def overview_page() -> dict[str, Any]:
    return {"name": "overview", "title": "overview",
            "help": "Every pipeline: its last run, its records, its answer.",
            "overview": None, "refresh_seconds": None,
            "panels": [panel.as_dict(API) for panel in OVERVIEW_PANELS]}
