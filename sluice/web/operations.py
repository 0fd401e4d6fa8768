"""The operators' routes: the run ledger, the balance, the quarantine browser (filter,
see one record whole and where it came from, download) and lineage, on the same core
functions as `sluice runs`, `sluice quarantine` and `sluice trace`."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Generator
from enum import StrEnum
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, FastAPI, Path, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from sluice import rejects
from sluice.errors import UsageError
from sluice.ledger import recent_runs, run_files
from sluice.lineage import trace
from sluice.registry import pipelines
from sluice.warehouse import Warehouse
from sluice.web.answers import (
    ERRORS,
    MAX_OFFSET,
    ApiError,
    JSONText,
    Limit,
    Offset,
    Options,
    ReadersDep,
    RowsPage,
    answer,
    options,
    rows_page,
    sliced_items,
)
from sluice.web.part import Choice, Column, Panel
from sluice.web.readers import Busy, Readers

API = "/api"
PipelineName = StrEnum("PipelineName", {p.name: p.name for p in pipelines()})  # type: ignore[misc]
PipelineFilter = Annotated[PipelineName | None, Query(
    description="Only this pipeline's.")]
RunFilter = Annotated[int | None, Query(ge=1, le=MAX_OFFSET, description="Only this run's.")]
FileFilter = Annotated[str | None, Query(
    max_length=1_000, description="Only records of files whose path contains this.")]
ReasonFilter = Annotated[str | None, Query(
    max_length=1_000, description="Only records with a reason containing this (any case).")]
SupersededFilter = Annotated[bool, Query(
    description="Also the records a newer version of their file, or a replay, superseded.")]
RECORD_ID = r"^[0-9]{1,19}(:[0-9]{1,19})?$"


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


class Run(BaseModel):
    run_id: int
    pipeline: str
    verb: str
    status: str
    started: str
    finished: str | None
    seconds: float | None
    files: int | None
    files_skipped: int | None
    files_unreadable: int | None
    read: int | None
    loaded: int | None
    duplicates: int | None
    rejected: int | None
    error: str | None


class RunWithFiles(Run):
    file_details: list[dict[str, Any]]


class Record(BaseModel):
    id: str
    run_id: int
    pipeline: str
    file_id: int
    source_file: str
    line_number: int | None
    reasons: list[str]
    raw: str | None
    superseded_by: int | None
    run: dict[str, Any] | None


class Trace(BaseModel):
    pipeline: str
    key: str
    rows: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]


def _filters(pipeline: Any, run: int | None, file: str | None, reason: str | None,
             superseded: bool) -> rejects.Filters:
    return rejects.Filters(pipeline.value if pipeline is not None else None, run, file or None,
                           reason or None, superseded)


def add_routes(app: FastAPI) -> None:
    router = APIRouter(prefix=API, tags=["operations"], responses=ERRORS)

    @router.get("/runs", response_model=RowsPage, response_class=JSONText,
                summary="The run ledger, newest first")
    def runs(source: ReadersDep, pipeline: PipelineFilter = None, run: RunFilter = None,
             limit: Limit = 20, offset: Offset = 0) -> JSONText:
        name = pipeline.value if pipeline is not None else None

        def compute(warehouse: Warehouse) -> dict[str, Any]:
            found = recent_runs(warehouse, limit, name, run_id=run, offset=offset)
            total = _count_runs(warehouse, name, run)
            return rows_page(found, total, limit, offset)

        return JSONText(answer(source, ("runs", name, run, limit, offset), compute,
                               "the ledger"))

    @router.get("/runs/{run_id}", response_model=RunWithFiles, response_class=JSONText,
                summary="One run and each of its inputs")
    def one_run(source: ReadersDep,
                run_id: Annotated[int, Path(ge=1, le=MAX_OFFSET)]) -> JSONText:
        def compute(warehouse: Warehouse) -> dict[str, Any] | None:
            found = recent_runs(warehouse, 1, run_id=run_id).dicts()
            if not found:
                return None
            return {**found[0], "file_details": run_files(warehouse, run_id).dicts()}

        found = answer(source, ("run", run_id), compute, "the ledger")
        if found is None:
            raise ApiError(404, f"no run {run_id} in the ledger")
        return JSONText(found)

    @router.get("/balance", response_model=RowsPage, response_class=JSONText,
                summary="Per pipeline: every record received, and where it is now")
    def balance_rows(source: ReadersDep, limit: Limit = 50, offset: Offset = 0) -> JSONText:
        from sluice.replay import BALANCE_COLUMNS, balance

        rows = answer(source, ("balance",), balance, "the ledger")
        return JSONText(sliced_items(BALANCE_COLUMNS, rows, limit, offset))

    @router.get("/quarantine", response_model=RowsPage, response_class=JSONText,
                summary="Rejected records, in file and line order")
    def quarantine(source: ReadersDep, pipeline: PipelineFilter = None,
                   run: RunFilter = None, file: FileFilter = None,
                   reason: ReasonFilter = None, superseded: SupersededFilter = False,
                   limit: Limit = 20, offset: Offset = 0) -> JSONText:
        filters = _filters(pipeline, run, file, reason, superseded)

        def compute(warehouse: Warehouse) -> dict[str, Any]:
            found = rejects.page(warehouse, filters, limit, offset)
            return rows_page(found, rejects.count(warehouse, filters), limit, offset)

        return JSONText(answer(source, ("quarantine", filters, limit, offset), compute,
                               "the quarantine"))

    @router.get("/quarantine/export", summary="Every matching rejected record, as a file",
                response_class=StreamingResponse,
                responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}},
                                 "description": "CSV (a header; reasons joined by ' | ') "
                                                "or JSON Lines"}})
    def export(source: ReadersDep, format: ExportFormat = ExportFormat.jsonl,
               pipeline: PipelineFilter = None, run: RunFilter = None,
               file: FileFilter = None, reason: ReasonFilter = None,
               superseded: SupersededFilter = False) -> StreamingResponse:
        filters = _filters(pipeline, run, file, reason, superseded)
        media = "text/csv; charset=utf-8" if format is ExportFormat.csv \
            else "application/x-ndjson"
        name = f"quarantine.{'csv' if format is ExportFormat.csv else 'jsonl'}"
        pieces = _export(source, filters, format)
        try:
            first = next(pieces)  # a download refused (too many at once) is a clear 503
        except Busy as error:
            raise ApiError(503, str(error)) from None
        except StopIteration:
            first = b""
        return StreamingResponse(
            _streamed(first, pieces), media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @router.get("/quarantine/records/{record_id}", response_model=Record,
                response_class=JSONText, summary="One rejected record, whole")
    def record(source: ReadersDep, record_id: Annotated[str, Path(
            pattern=RECORD_ID, description="FILE_ID:LINE, or FILE_ID for a whole document",
            examples=["1:2"])]) -> JSONText:
        def compute(warehouse: Warehouse) -> dict[str, Any]:
            try:
                found = rejects.show(warehouse, record_id)
            except UsageError:
                return {}
            runs = recent_runs(warehouse, 1, run_id=found["run_id"]).dicts()
            return {**found, "run": runs[0] if runs else None}

        found = answer(source, ("record", record_id), compute, "the quarantine")
        if not found:
            raise ApiError(404, f"no record {record_id} in the quarantine")
        return JSONText(found)

    @router.get("/trace/{pipeline}", response_model=Trace, response_class=JSONText,
                summary="Where the rows a key names came from")
    def lineage(source: ReadersDep, pipeline: PipelineName,
                key: Annotated[str, Query(min_length=1, max_length=1_000,
                                          description="The row's key, as `sluice trace`.")]
                ) -> JSONText:
        chosen = next(p for p in pipelines() if p.name == pipeline.value)

        def compute(warehouse: Warehouse) -> dict[str, Any]:
            return trace(warehouse, chosen, key)

        return JSONText(answer(source, ("trace", chosen.name, key), compute,
                               f"{chosen.name}'s tables"))

    @router.get("/options/pipelines", response_model=Options, response_class=JSONText,
                summary="The registered pipelines' names")
    def pipeline_names() -> JSONText:
        return JSONText(options([p.name for p in pipelines()]))

    app.include_router(router)


def _count_runs(warehouse: Warehouse, pipeline: str | None, run: int | None) -> int:
    if not warehouse.destination.table_exists("sluice", "runs"):
        return 0
    return int(warehouse.destination.scalar(
        "SELECT count(*) FROM sluice.runs WHERE (CAST(? AS VARCHAR) IS NULL OR pipeline = ?) "
        "AND (CAST(? AS BIGINT) IS NULL OR run_id = ?)", [pipeline, pipeline, run, run]))


async def _streamed(first: bytes, pieces: Generator[bytes, None, None]
                    ) -> AsyncIterator[bytes]:
    """A blocking iterator's pieces, each read in a worker thread; closed when the
    response ends, however it ends (a client that leaves mid-download cancels the
    response: the iterator is closed then, and its warehouse with it)."""
    try:
        yield first
        while True:
            piece = await run_in_threadpool(next, pieces, None)
            if piece is None:
                return
            yield piece
    finally:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(pieces.close)


def _export(source: Readers, filters: rejects.Filters, format: ExportFormat
            ) -> Generator[bytes, None, None]:
    """The export in pieces of a few hundred records, read from one generation of the
    warehouse, on a connection of its own, while it streams."""
    with source.dedicated() as warehouse:
        pieces = (rejects.csv_text(warehouse, filters) if format is ExportFormat.csv
                  else rejects.json_lines_text(warehouse, filters))
        while True:
            chunk = "".join(itertools.islice(pieces, 500))
            if not chunk:
                return
            yield chunk.encode("utf-8", "surrogateescape")


OPERATIONS_PANELS = (
    Panel("table", "runs", f"{API}/runs", controls=(
        Choice("pipeline", "pipeline", options_from=f"{API}/options/pipelines"),
        Choice("run", "run", text=True)),
        columns=(Column("run_id", "run", link="/operations?run={run_id}"), Column("pipeline"),
                 Column("verb"), Column("status"), Column("started"),
                 Column("seconds", format="number"), Column("files", format="number"),
                 Column("read", format="number"),
                 Column("loaded", format="number"), Column("duplicates", format="number"),
                 Column("rejected", format="number"), Column("error"))),
    Panel("table", "every record received, and where it is now", f"{API}/balance"),
    Panel("table", "quarantine", f"{API}/quarantine", controls=(
        Choice("pipeline", "pipeline", options_from=f"{API}/options/pipelines"),
        Choice("run", "run", text=True), Choice("file", "file", text=True),
        Choice("reason", "reason", text=True)),
        columns=(Column("id"), Column("pipeline"), Column("run_id", "run"),
                 Column("source_file", "file"), Column("line_number", "line"),
                 Column("reasons", format="list"), Column("raw")),
        detail=f"{API}/quarantine/records/{{id}}",
        downloads=(("CSV", f"{API}/quarantine/export?format=csv"),
                   ("JSON Lines", f"{API}/quarantine/export?format=jsonl"))),
)


def operations_page() -> dict[str, Any]:
    return {"name": "operations", "title": "operations",
            "help": "The run ledger and the quarantine.", "overview": None,
            "refresh_seconds": None,
            "panels": [panel.as_dict(API) for panel in OPERATIONS_PANELS]}
