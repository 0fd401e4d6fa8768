"""What a pipeline brings to `sluice serve`: its API routes, the panels of its page and
its headline. A pipeline declares one `WebPart` (as `PART` in its `web.py`); the web
layer mounts every pipeline's routes under `/api/pipelines/NAME/` and draws its page
from the panels, so a new pipeline joins the dashboard without a change to the web
layer.

A panel names the API route it shows (relative to the pipeline's API root, or absolute
from `/api/`) and how to draw it; the page's script knows the kinds below and nothing
of any pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from fastapi import APIRouter

    from sluice.warehouse import Warehouse

PanelKind = Literal["chart", "table", "stats", "form", "text"]


@dataclass(frozen=True)
class Column:
    """A column a table panel shows: the row's key, its heading, how to show it
    (`number`, `text`, `percent`: a share 0..1, `list`: items joined) and, with `link`,
    a page it leads to (`{column}` filled from the row)."""

    key: str
    label: str | None = None
    format: Literal["text", "number", "percent", "list"] = "text"
    link: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label or self.key.replace("_", " "),
                "format": self.format, "link": self.link}


@dataclass(frozen=True)
class Choice:
    """A control of a table or form panel: the query parameter it sets and its options
    (fixed `options`, or `options_from`: a route answering `{"options": [...]}`); `text`
    makes it a free-text box, `sort` a choice of the `sort` parameter."""

    param: str
    label: str
    options: tuple[str, ...] = ()
    options_from: str | None = None
    text: bool = False
    default: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"param": self.param, "label": self.label, "options": list(self.options),
                "options_from": self.options_from, "text": self.text, "default": self.default}


@dataclass(frozen=True)
class Series:
    """One trace of a chart: a column of the rows drawn as `bar` or `line`;
    `highlight`: a boolean column whose true rows are drawn in the alert colour."""

    column: str
    name: str
    kind: Literal["bar", "line"] = "bar"
    highlight: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"column": self.column, "name": self.name, "kind": self.kind,
                "highlight": self.highlight}


@dataclass(frozen=True)
class Panel:
    """One box of a page. `source` answers JSON: for a `table`, a page of rows
    (`{"items": [...], "total", "limit", "offset"}`); for a `chart`, `{"items": [...]}`
    plus the values its `lines` name; for `stats` and `form`, one object; for `text`,
    `{"text": ...}`."""

    kind: PanelKind
    title: str
    source: str
    columns: tuple[Column, ...] = ()  # table: what to show (empty: every column)
    controls: tuple[Choice, ...] = ()  # table and form: filters, sort, a form's fields
    x: str | None = None  # chart: the column along the axis
    series: tuple[Series, ...] = ()  # chart
    lines: tuple[tuple[str, str], ...] = ()  # chart: (key of the answer, label) as lines
    band: tuple[str, str] | None = None  # chart: keys of the answer, a shaded band
    detail: str | None = None  # table: a route per row, `{column}` filled from the row
    downloads: tuple[tuple[str, str], ...] = ()  # table: (label, route) with its filters
    page_size: int = 20
    note: str | None = None

    def as_dict(self, base: str) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "source": resolve(self.source, base),
                "columns": [c.as_dict() for c in self.columns],
                "controls": [{**c.as_dict(), "options_from": resolve(c.options_from, base)
                              if c.options_from else None} for c in self.controls],
                "x": self.x, "series": [s.as_dict() for s in self.series],
                "lines": [{"key": k, "label": label} for k, label in self.lines],
                "band": list(self.band) if self.band else None,
                "detail": resolve(self.detail, base) if self.detail else None,
                "downloads": [{"label": label, "href": resolve(route, base)}
                              for label, route in self.downloads],
                "page_size": self.page_size, "note": self.note}


def resolve(route: str, base: str) -> str:
    """A panel's route as the browser asks for it: `/api/...` as it is, anything else
    under the pipeline's API root `base`."""
    return route if route.startswith("/") else f"{base}/{route}"


@dataclass(frozen=True)
class WebPart:
    """A pipeline's part of the web app."""

    panels: tuple[Panel, ...] = ()
    router: Callable[[], APIRouter] | None = None  # its own routes, built at start
    # One sentence answering the pipeline's main question, from the warehouse (None:
    # nothing to say yet).
    headline: Callable[[Warehouse], str | None] | None = None
    views_shown: bool = True  # its registry views as tables below its panels
    refresh_seconds: float | None = None  # the page re-reads its panels this often
    on_start: Callable[[], None] | None = None  # run when the server starts (not blocking)
