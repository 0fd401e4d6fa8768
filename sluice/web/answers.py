"""What every route of `sluice serve` shares: reading the warehouse through the server's
readers (cached per version), pages of rows, JSON bodies, and errors as JSON with a
message and the right status (never the engine's text, never a stack trace).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Annotated, Any, TypeVar

import duckdb
import psycopg
from fastapi import Depends, Query, Request
from pydantic import BaseModel
from starlette.responses import JSONResponse

from sluice.console import to_json
from sluice.destinations import Result
from sluice.errors import SluiceError, user_message
from sluice.warehouse import Warehouse
from sluice.web.readers import Readers

Answer = TypeVar("Answer")
MAX_PAGE = 1_000  # rows a page may ask for
MAX_OFFSET = 2**62  # past any table; the engines' integers are 64-bit


class ApiError(Exception):
    """An answer that is an error: its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class NoData(ApiError):
    """The warehouse has no tables for this yet: nothing was ingested, or the models
    that answer it were not built."""

    def __init__(self, what: str) -> None:
        super().__init__(404, f"no data for {what} in this warehouse yet (its pipeline's "
                              "ingest, or the command that builds its models, makes it)")


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


class JSONText(JSONResponse):
    """A JSON body written by sluice's own encoder: decimals keep every digit, times are
    ISO 8601, NaN is null. (A JSONResponse, so the schema shows the route's model.)"""

    def render(self, content: Any) -> bytes:
        return to_json(content, indent=None).encode("utf-8")


class ErrorBody(BaseModel):
    error: str


class RowsPage(BaseModel):
    """A page of rows: `items` from `offset`, at most `limit` of them, of `total`."""

    columns: list[str]
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class Options(BaseModel):
    options: list[str]


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description} for status, description in (
        (400, "the request cannot be answered as asked"),
        (404, "no such thing, or no data for it yet"),
        (422, "a parameter is not valid"),
        (503, "the warehouse cannot answer now"),
    )}


def readers(request: Request) -> Readers:
    found: Readers = request.app.state.readers
    return found


ReadersDep = Annotated[Readers, Depends(readers)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows on the page.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows skipped before it.")]


def answer(source: Readers, key: Hashable, compute: Callable[[Warehouse], Answer],
           what: str) -> Answer:
    """`compute` on the current version of the warehouse, once per version; a missing
    table is `NoData` for `what`, an engine failure a 503 in sluice's words."""
    try:
        return source.answer(key, compute)
    except ApiError:
        raise
    except (duckdb.CatalogException, psycopg.errors.UndefinedTable,
            psycopg.errors.InvalidSchemaName, psycopg.errors.UndefinedColumn):
        raise NoData(what) from None
    except SluiceError as error:
        raise ApiError(400, str(error)) from None
    except (duckdb.Error, psycopg.Error) as error:
        raise ApiError(503, f"the warehouse could not answer: {user_message(error)}") from None


def rows_page(result: Result, total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"columns": list(result.columns), "items": result.dicts(), "total": total,
            "limit": limit, "offset": offset}


def sliced(result: Result, limit: int, offset: int) -> dict[str, Any]:
    """A page of a result already read whole (a view's rows, usually few)."""
    return sliced_items(result.columns, result.dicts(), limit, offset)


def sliced_items(columns: Sequence[str], items: Sequence[dict[str, Any]], limit: int,
                 offset: int) -> dict[str, Any]:
    """A page of rows already read whole, as objects."""
    return {"columns": list(columns), "items": list(items[offset:offset + limit]),
            "total": len(items), "limit": limit, "offset": offset}


def options(values: Sequence[Any]) -> dict[str, list[str]]:
    return {"options": [str(v) for v in values if v is not None]}
