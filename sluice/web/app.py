"""`sluice serve`'s application: the JSON API (described by the OpenAPI schema at
`/api/openapi.json`) and the dashboard's pages, over one warehouse, from the registry.

Pages are one HTML shell and one script (`static/sluice.js`) that draws a page from its
description (`/api/pages/NAME`: panels naming API routes), so the JSON a page shows is
the JSON the API serves. Charts are drawn by Plotly's JavaScript, served from the
installed `plotly` package: nothing is fetched from elsewhere.

Read-only: no route changes the warehouse. Every error is JSON, `{"error": message}`,
with its status; an unexpected failure is a 500 that says only that (the details go to
the server's log).
"""


import functools
import gzip
import html
import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sluice.registry import pipelines
from sluice.web import operations
from sluice.web import pipelines as pipeline_routes
from sluice.web.answers import ERRORS, ApiError, JSONText
from sluice.web.readers import Readers

LOGGER = logging.getLogger("sluice.serve")
STATIC = resources.files("sluice.web") / "static"
ASSETS = {"sluice.js": "text/javascript", "sluice.css": "text/css"}
CACHE_ASSETS = "public, max-age=3600"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Everything comes from this server; Plotly draws with inline styles.
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data: blob:; object-src 'none'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}


def plotly_script() -> Path:
    """Plotly's JavaScript as the installed `plotly` package ships it (found without
    importing the package)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        raise ApiError(503, "the chart library is not installed (pip install plotly)")
    return Path(spec.origin).with_name("package_data") / "plotly.min.js"


@functools.cache
def _compressed_plotly() -> bytes:
    """Plotly's 4.8 MB script compressed once (1.4 MB), not on every request."""
    return gzip.compress(plotly_script().read_bytes(), compresslevel=6, mtime=0)


def page_names() -> list[str]:
    return ["overview", *(p.name for p in pipelines()), "operations"]


def create_app(readers: Readers) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        readers.start()
        for pipeline in pipelines():
            part = pipeline_routes.part_of(pipeline)
            if part.on_start is not None:
                part.on_start()
        try:
            yield
        finally:
            readers.close()

    app = FastAPI(title="sluice", version="1", lifespan=lifespan,
                  description="The warehouse's answers, its run ledger and its quarantine, "
                              "read-only. Every error is JSON: {\"error\": message}.",
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    app.state.readers = readers
    app.add_middleware(GZipMiddleware, minimum_size=1_000)
    app.add_middleware(Guarded)
    _add_handlers(app)
    pipeline_routes.add_routes(app)
    operations.add_routes(app)
    _add_pages(app)
    app.add_middleware(HeadAsGet)  # outermost: a HEAD is routed as its GET
    return app


class HeadAsGet:
    """A HEAD request answered as its GET is, headers and status, without the body
    (RFC 9110: a server that answers GET answers HEAD)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        ended = False

        async def without_body(message: Message) -> None:
            nonlocal ended
            if message["type"] != "http.response.body":
                await send(message)
            elif not ended:
                ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, without_body)


class Guarded:
    """Every response with the security headers; a request holding a NUL character
    refused before it is routed (no text sluice keeps or matches holds one, and
    PostgreSQL refuses it outright). A plain ASGI middleware: on every request's path,
    it costs a dict update, where a `BaseHTTPMiddleware` adds a task and a stream."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        holding = _holding_nul(Request(scope))
        if holding is not None:
            refused = JSONText({"error": f"{holding}: a value cannot hold a NUL character"},
                               status_code=422)
            await refused(scope, receive, secured)
            return
        await self.app(scope, receive, secured)


def _add_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        return JSONText({"error": error.message}, status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        problems = [_problem(e) for e in error.errors()]
        return JSONText({"error": "; ".join(problems) or "the request is not valid"},
                        status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        message = {404: "no such page or route", 405: "method not allowed"}.get(
            error.status_code, str(error.detail))
        return JSONText({"error": message}, status_code=error.status_code,
                        headers=dict(error.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        LOGGER.exception("unexpected error answering %s", request.url.path)
        return JSONText({"error": "internal error; the server's log has the details"},
                        status_code=500)


def _holding_nul(request: Request) -> str | None:
    """The parameter (or `path`) that holds a NUL character, if one does."""
    if "\x00" in request.url.path:
        return "path"
    return next((name for name, value in request.query_params.multi_items()
                 if "\x00" in value or "\x00" in name), None)


def _problem(error: Any) -> str:
    where = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body")]
    return f"{'.'.join(where) or 'request'}: {error.get('msg', 'not valid')}"


def _add_pages(app: FastAPI) -> None:
    Page = StrEnum("Page", {name: name for name in page_names()})  # type: ignore[misc]

    @app.get("/api/pages/{page}", tags=["pages"], response_class=JSONText, responses=ERRORS,
             summary="What a dashboard page shows: its panels and the routes behind them")
    def page_description(page: Page) -> JSONText:
        return JSONText({**describe(page.value), "nav": _nav()})

    @app.get("/", include_in_schema=False)
    def overview_html() -> HTMLResponse:
        return _shell("overview")

    @app.get("/operations", include_in_schema=False)
    def operations_html() -> HTMLResponse:
        return _shell("operations")

    @app.get("/pipelines/{name}", include_in_schema=False)
    def pipeline_html(name: str) -> HTMLResponse:
        if name not in {p.name for p in pipelines()}:
            raise ApiError(404, f"no pipeline {name!r}")
        return _shell(name)

    @app.get("/static/{asset}", include_in_schema=False)
    def static(asset: str, request: Request) -> Response:
        if asset == "plotly.min.js":
            if "gzip" not in request.headers.get("accept-encoding", ""):
                return FileResponse(plotly_script(), media_type="text/javascript",
                                    headers={"Cache-Control": CACHE_ASSETS})
            return Response(_compressed_plotly(), media_type="text/javascript",
                            headers={"Cache-Control": CACHE_ASSETS, "Content-Encoding": "gzip",
                                     "Vary": "Accept-Encoding"})
        if asset not in ASSETS:
            raise ApiError(404, "no such file")
        return Response((STATIC / asset).read_bytes(), media_type=ASSETS[asset],
                        headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)


def describe(page: str) -> dict[str, Any]:
    if page == "overview":
        return pipeline_routes.overview_page()
    if page == "operations":
        return operations.operations_page()
    pipeline = next(p for p in pipelines() if p.name == page)
    return pipeline_routes.pipeline_page(pipeline)


def _nav() -> list[dict[str, str]]:
    return [{"name": name, "href": "/" if name == "overview" else
             "/operations" if name == "operations" else f"/pipelines/{name}"}
            for name in page_names()]


SHELL = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sluice: {title}</title>
<link rel="stylesheet" href="/static/sluice.css">
<script src="/static/sluice.js" defer></script>
</head>
<body data-page="{page}">
<header><a class="brand" href="/">sluice</a><nav id="nav"></nav></header>
<main id="main"><p class="loading">loading…</p></main>
</body>
</html>
"""


def _shell(page: str) -> HTMLResponse:
    return HTMLResponse(SHELL.format(title=html.escape(page), page=html.escape(page)),
                        headers={"Cache-Control": "no-cache"})
