"""The dashboard in a real browser: Debian's Chromium driven by Playwright over a real
`sluice serve` (the demo's warehouse), every page the API lists (`/api/pages/overview`'s
`nav`), so a new pipeline's page is tested without a change here.

One visit of every page (module-scoped) records what the page printed, every request it
made and what each panel shows, and saves the page's screenshot
(`docs/screenshots/NAME.png`, 1280 px wide, taken once the page is ready); the generic
tests read that record. What a panel shows is compared with what the API answers for
the same route, formatted as the page's script formats it (a number with grouping and
at most 2 decimals, a share as a percentage, a list joined by "; ").

The specific tests (a filter, pagination, a record's detail, the events page's refresh,
the cars form) fail with a message when the page lacks what they test: those pages are
part of the dashboard, not optional. One holds an old filter's answer back (the browser's
own request routing; the server answers it) to see that the newest choice wins; two read
a warehouse of their own whose text (a quarantined line, a folder, an advocate, a brand)
is markup, which every table and chart must show as text.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from web_server import get_json, serving

from conftest import sluice, vote, write_lines

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "docs" / "screenshots"
WIDTH = 1280
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
# A guard against a page that never gets ready (the test fails then, with what the page
# printed); not a measure of speed: a busy machine takes seconds, never minutes.
HANG_MS = 180_000
ALERT_FILL = "rgb(209, 73, 91)"  # sluice.js's colour of a highlighted bar (#d1495b)
EN_DASH, ELLIPSIS = "\u2013", "\u2026"


# --- the browser ---------------------------------------------------------------------------

def chromium() -> str:
    """Debian's Chromium; installed with apt-get when missing (as root), else a failure
    that says what to do."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found is not None:
        return found
    tried: list[str] = []
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "install", "-y", "-qq", "chromium"],
                        ["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", "chromium"]):
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            tried.append(f"{' '.join(command)}: exit {done.returncode} {done.stderr[-500:]}")
            if command[1] == "install" and done.returncode == 0:
                break
        found = shutil.which("chromium")
        if found is not None:
            return found
    pytest.fail("the browser tests need Debian's Chromium (/usr/bin/chromium) and it is "
                "missing; install it with `apt-get install -y chromium` (as root). "
                + ("; ".join(tried) if tried else "Not root, so not installed here."))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Tab:
    """A page of the dashboard open in the browser, and what it printed and asked for."""

    page: Page
    base: str
    messages: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def panel(self, title: str) -> Any:
        return self.page.locator(f"main section.panel[data-title={css(title)}]")

    def settled(self, title: str) -> str:
        """Waits until the panel is no longer loading; its state."""
        self.page.wait_for_function(
            "t => { const s = [...document.querySelectorAll('main section.panel')]"
            ".find(n => n.dataset.title === t); return s && s.dataset.state !== 'loading'; }",
            arg=title)
        return str(self.panel(title).get_attribute("data-state"))

    def snapshot(self, title: str | None = None) -> list[dict[str, Any]]:
        panels: list[dict[str, Any]] = self.page.evaluate(SNAPSHOT)
        return [p for p in panels if title is None or p["title"] == title]

    def one(self, title: str) -> dict[str, Any]:
        found = self.snapshot(title)
        assert len(found) == 1, f"{len(found)} panels titled {title!r} on {self.page.url}"
        return found[0]


def css(text: str) -> str:
    """A CSS string of `text`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def open_tab(browser: Browser, base: str, href: str) -> Tab:
    """`href` loaded in a fresh context, its every panel loaded and every chart drawn."""
    page = browser.new_page(viewport={"width": WIDTH, "height": 800})
    page.set_default_timeout(HANG_MS)
    tab = Tab(page, base)
    page.on("console", lambda message: tab.messages.append(
        f"console {message.type}: {message.text} ({message.location.get('url', '')})")
        if message.type in ("error", "warning", "assert") else None)
    page.on("pageerror", lambda error: tab.messages.append(f"page error: {error}"))
    page.on("request", lambda request: tab.requests.append(request.url))
    page.goto(base + href)
    try:
        page.wait_for_function(READY)
    except PlaywrightError as error:
        pytest.fail(f"{href} never got ready ({error.message.splitlines()[0]}); "
                    f"it printed: {tab.messages}")
    return tab


# Every panel loaded (body[data-ready]) and every chart drawn by Plotly (or found empty).
READY = """() => document.body.dataset.ready === 'true' &&
  [...document.querySelectorAll('main section.panel[data-kind=chart]')].every(s =>
    s.dataset.state === 'error' || s.querySelector('div.chart[data-rendered=true]') ||
    s.querySelector('.panel-body > p.empty'))"""

# What every panel of the page shows, read from the DOM.
SNAPSHOT = """() => {
  const text = (node) => node ? node.textContent : null;
  const pairs = (dl) => {
    const out = [];
    for (let i = 0; i + 1 < dl.children.length; i += 2) {
      out.push([dl.children[i].textContent, dl.children[i + 1].textContent]);
    }
    return out;
  };
  return [...document.querySelectorAll('main section.panel')].map((s) => {
    const body = s.querySelector(':scope > .panel-body');
    const out = { kind: s.dataset.kind, title: s.dataset.title, state: s.dataset.state,
                  error: text(body.querySelector(':scope > p.error')),
                  status: text(s.querySelector(':scope > .panel-status')) };
    const table = body.querySelector(':scope > .scroll > table');
    if (table) {
      out.headers = [...table.querySelectorAll('thead th')].map((th) => th.textContent);
      out.rows = [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((td) => {
        const link = td.querySelector('a');
        return { text: td.textContent, title: td.getAttribute('title'),
                 href: link ? link.getAttribute('href') : null,
                 elements: td.querySelectorAll('*').length - (link ? 1 : 0) };
      }));
      out.page_status = text(body.querySelector('.pager .page-status'));
      out.prev_disabled = body.querySelector('button[data-action=prev]').disabled;
      out.next_disabled = body.querySelector('button[data-action=next]').disabled;
      const detail = body.querySelector(':scope > .detail');
      const heading = detail && detail.querySelector(':scope > h3');
      const facts = detail && detail.querySelector(':scope > dl.facts');
      out.detail = heading ? { heading: heading.textContent, facts: facts ? pairs(facts) : null,
                               error: text(detail.querySelector(':scope > p.error')) } : null;
    }
    const chart = body.querySelector(':scope > div.chart');
    if (chart) {
      out.chart = {
        rendered: chart.dataset.rendered === 'true',
        svgs: chart.querySelectorAll('svg.main-svg').length,
        bars: [...chart.querySelectorAll('.barlayer .trace')].map((t) =>
          [...t.querySelectorAll('.point path')].map((p) => p.style.fill)),
        lines: [...chart.querySelectorAll('.scatterlayer .trace')].map((t) =>
          [...t.querySelectorAll('path.js-line')].filter((p) => (p.getAttribute('d') || '').length > 2).length),
        shapes: chart.querySelectorAll('.shapelayer path').length,
        annotations: [...chart.querySelectorAll('.annotation')].map((a) => a.textContent),
        empty: Boolean(body.querySelector(':scope > p.empty')),
      };
    }
    const facts = body.querySelector(':scope > dl.facts');
    if (facts) out.facts = pairs(facts);
    const answer = body.querySelector(':scope > p.answer');
    if (answer) out.text = answer.textContent;
    return out;
  });
}"""


# --- what the page's script shows for a value (sluice.js `formatted`) -----------------------

NAMING = re.compile(r"(^|_)(year|id|line|line_number|week_number|run|run_id|file_id)$")


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def js_string(value: float | int) -> str:
    """JavaScript's String(number) for the numbers a JSON answer holds."""
    if isinstance(value, int):
        value = float(value) if abs(value) > 2**53 else value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def number_text(value: float | int) -> str:
    """Intl.NumberFormat("en-US", {maximumFractionDigits: 2}): grouping, at most 2
    decimals (ICU rounds the number's shortest decimal form half away from zero), a
    minus even on a zero that was negative."""
    exact = Decimal(repr(float(value))) if isinstance(value, float) or abs(value) > 2**53 \
        else Decimal(value)
    negative = exact < 0 or (isinstance(value, float) and math.copysign(1.0, value) < 0)
    rounded = abs(exact).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    whole, _, decimals = f"{rounded:f}".partition(".")
    decimals = decimals.rstrip("0")
    return ("-" if negative else "") + f"{int(whole):,}" + (f".{decimals}" if decimals else "")


def fixed_text(value: float, digits: int) -> str:
    """Number.prototype.toFixed: the exact binary value, half away from zero."""
    exact = Decimal(value)
    rounded = abs(exact).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return ("-" if exact < 0 else "") + f"{rounded:f}"


def join_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return js_string(value)
    if isinstance(value, list):
        return ",".join(join_text(item) for item in value)
    return str(value)


def shown(value: Any, format: str = "text", key: str = "") -> str:
    if value is None:
        return ""
    if is_number(value) and format != "number" and NAMING.search(key):
        return js_string(value)
    if format == "list" and isinstance(value, list):
        return "; ".join(join_text(item) for item in value)
    if format == "percent" and is_number(value):
        return f"{fixed_text(float(value) * 100, 1)}%"
    if is_number(value):
        return number_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_prefix(text: str, units: int) -> str:
    return text.encode("utf-16-le", "surrogatepass")[:units * 2].decode(
        "utf-16-le", "surrogatepass")


def facts_shown(answer: dict[str, Any]) -> list[list[str]]:
    """sluice.js `facts`: each key (underscores as spaces) and its value; an object
    nested as a list of its own (its text is its keys' and values' text run together)."""
    def text_of(value: Any) -> str:
        if isinstance(value, dict):
            return "".join(label + shown_value for label, shown_value in facts_shown(value))
        return shown(value, "list" if isinstance(value, list) else "text")

    return [[key.replace("_", " "), text_of(value)] for key, value in answer.items()]


# --- what the API answers for a panel -------------------------------------------------------

def with_params(route: str, params: dict[str, Any]) -> str:
    """sluice.js `withParams`: the route with its query and these parameters (empty
    ones left out)."""
    parts = urlsplit(route)
    query = dict(parse_qsl(parts.query))
    query.update({k: str(v) for k, v in params.items() if v not in ("", None)})
    return parts.path + ("?" + urlencode(query) if query else "")


def start_values(panel: dict[str, Any]) -> dict[str, Any]:
    """The values a panel's controls start with (no query in the page's address)."""
    return {c["param"]: c["default"] for c in panel["controls"] if c["default"] is not None}


def table_answer(base: str, panel: dict[str, Any], offset: int,
                 values: dict[str, Any] | None = None) -> dict[str, Any]:
    params = {**(start_values(panel) if values is None else values),
              "limit": panel["page_size"], "offset": offset}
    answer: dict[str, Any] = get_json(base, with_params(panel["source"], params))
    return answer


def columns_of(panel: dict[str, Any], answer: dict[str, Any]) -> list[dict[str, Any]]:
    if panel["columns"]:
        return list(panel["columns"])
    items = answer.get("items") or []
    keys = answer.get("columns") or (list(items[0]) if items else [])
    return [{"key": k, "label": k.replace("_", " "), "format": "text", "link": None}
            for k in keys]


def cell_shown(row: dict[str, Any], column: dict[str, Any]) -> dict[str, Any]:
    value = row.get(column["key"])
    text = shown(value, column["format"], column["key"])
    if column["link"] and value is not None:
        href = re.sub(r"\{(\w+)\}", lambda m: quote(
            "" if row.get(m.group(1)) is None else join_text(row.get(m.group(1))),
            safe="-_.!~*'()"), column["link"])
        return {"text": text, "title": None, "href": href, "elements": 0}
    if utf16_length(text) > 160:
        return {"text": utf16_prefix(text, 159) + ELLIPSIS, "title": text, "href": None,
                "elements": 0}
    return {"text": text, "title": None, "href": None, "elements": 0}


def status_shown(offset: int, count: int, total: int) -> str:
    if not count:
        return f"none of {number_text(total)}"
    return f"rows {number_text(offset + 1)}{EN_DASH}{number_text(offset + count)} of " \
           f"{number_text(total)}"


def table_problems(shown_panel: dict[str, Any], panel: dict[str, Any],
                   answer: dict[str, Any], offset: int) -> list[str]:
    """How a table panel differs from the page of rows the API answered."""
    title = panel["title"]
    problems: list[str] = []
    items = answer["items"]
    columns = columns_of(panel, answer)
    answered = set(answer.get("columns") or []) | {k for item in items for k in item}
    missing = [c["key"] for c in columns if c["key"] not in answered]
    if missing:
        problems.append(f"{title!r} shows columns {missing} that {panel['source']} does not "
                        f"answer (it answers {sorted(answered)}): they are always blank")
    if shown_panel.get("rows") is None:
        return [*problems, f"{title!r} shows no table ({shown_panel.get('error')})"]
    headers = [c["label"] for c in columns]
    if shown_panel["headers"] != headers:
        problems.append(f"{title!r} headings {shown_panel['headers']} != {headers}")
    expected = [[cell_shown(item, c) for c in columns] for item in items]
    for number, (seen, wanted) in enumerate(zip(shown_panel["rows"], expected, strict=False)):
        if seen != wanted:
            problems.append(f"{title!r} row {offset + number + 1}: shows {seen}, the API's "
                            f"row is {wanted}")
            break
    if len(shown_panel["rows"]) != len(expected):
        problems.append(f"{title!r} shows {len(shown_panel['rows'])} rows, the API answered "
                        f"{len(expected)}")
    total = answer.get("total", len(items))
    status = status_shown(offset, len(items), total)
    if shown_panel["page_status"] != status:
        problems.append(f"{title!r} says {shown_panel['page_status']!r}, not {status!r}")
    if shown_panel["prev_disabled"] != (offset == 0):
        problems.append(f"{title!r}: previous is {'dis' if shown_panel['prev_disabled'] else 'en'}"
                        f"abled at offset {offset}")
    if shown_panel["next_disabled"] != (offset + len(items) >= total):
        problems.append(f"{title!r}: next is {'dis' if shown_panel['next_disabled'] else 'en'}"
                        f"abled on rows to {offset + len(items)} of {total}")
    return problems


# --- one visit of every page ----------------------------------------------------------------

@dataclass
class Visit:
    name: str
    href: str
    description: dict[str, Any]
    messages: list[str]
    requests: list[str]
    panels: list[dict[str, Any]]
    nav: list[dict[str, Any]]
    width: int
    screenshot: Path
    ready_at: float  # when the page was ready (its screenshot is written after)


NAV = """() => ({ links: [...document.querySelectorAll('#nav a')].map((a) => ({
  name: a.textContent, href: a.getAttribute('href'), current: a.getAttribute('aria-current') })),
  width: document.documentElement.scrollWidth })"""


@pytest.fixture(scope="module")
def nav(demo_server: str) -> list[dict[str, str]]:
    """The dashboard's pages, as the API lists them."""
    pages: list[dict[str, str]] = get_json(demo_server, "/api/pages/overview")["nav"]
    return pages


@pytest.fixture(scope="module")
def visits(browser: Browser, demo_server: str, nav: list[dict[str, str]]) -> list[Visit]:
    """Every page loaded once: what it printed and asked for, what each panel shows,
    and its screenshot (saved once every panel has loaded and every chart is drawn)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    done: list[Visit] = []
    for item in nav:
        description = get_json(demo_server, f"/api/pages/{item['name']}")
        tab = open_tab(browser, demo_server, item["href"])
        try:
            ready_at = time.time()
            panels = tab.snapshot()
            facts = tab.page.evaluate(NAV)
            shot = SCREENSHOTS / f"{item['name']}.png"
            # A page that refreshes itself may be redrawing a chart: taken again then.
            for _ in range(3):
                tab.page.wait_for_function(READY)
                tab.page.screenshot(path=str(shot), full_page=True)
                if tab.page.evaluate(f"({READY})()"):
                    break
            done.append(Visit(item["name"], item["href"], description, tab.messages,
                              tab.requests, panels, facts["links"], facts["width"], shot,
                              ready_at))
        finally:
            tab.page.close()
    return done


def test_every_page_loads_with_no_message_and_asks_only_this_server(
        visits: list[Visit], demo_server: str, nav: list[dict[str, str]]) -> None:
    assert {v.name for v in visits} >= {"overview", "operations"}
    problems: list[str] = []
    for visit in visits:
        problems += [f"{visit.href}: {m}" for m in visit.messages]
        problems += [f"{visit.href} asked another host: {url}" for url in visit.requests
                     if not url.startswith(demo_server + "/")]
        links = [{"name": link["name"], "href": link["href"]} for link in visit.nav]
        if links != [{"name": i["name"], "href": i["href"]} for i in nav]:
            problems.append(f"{visit.href}: the nav lists {links}")
        current = [link["name"] for link in visit.nav if link["current"] == "page"]
        if current != [visit.name]:
            problems.append(f"{visit.href}: the nav marks {current} as the current page")
    assert not problems, "\n".join(problems)


def test_every_panel_described_is_drawn_and_none_ends_in_error(visits: list[Visit]) -> None:
    problems: list[str] = []
    for visit in visits:
        described = [(p["kind"], p["title"]) for p in visit.description["panels"]]
        drawn = [(p["kind"], p["title"]) for p in visit.panels]
        if drawn != described:
            problems.append(f"{visit.href}: drew {drawn}, its description has {described}")
        problems += [f"{visit.href}: panel {p['title']!r} is {p['state']}: {p['error']}"
                     for p in visit.panels if p["state"] != "ready"]
    assert not problems, "\n".join(problems)


def test_every_chart_draws_every_row_of_its_answer(visits: list[Visit],
                                                   demo_server: str) -> None:
    problems: list[str] = []
    charts = 0
    for visit in visits:
        for panel, seen in zip(visit.description["panels"], visit.panels, strict=False):
            if panel["kind"] != "chart":
                continue
            charts += 1
            where = f"{visit.href} chart {panel['title']!r}"
            answer = get_json(demo_server, with_params(panel["source"], start_values(panel)))
            items = answer.get("items") or []
            chart = seen.get("chart")
            if not items:
                problems.append(f"{where}: its route answers no rows on the demo warehouse")
                continue
            if not chart or not chart["rendered"] or chart["svgs"] < 1:
                problems.append(f"{where} was not drawn: {chart}")
                continue
            bars = [s for s in panel["series"] if s["kind"] == "bar"]
            lines = [s for s in panel["series"] if s["kind"] == "line"]
            if [len(points) for points in chart["bars"]] != [len(items)] * len(bars):
                problems.append(f"{where}: bars per trace {[len(p) for p in chart['bars']]}, "
                                f"expected {len(items)} for each of {len(bars)} bar series")
            if len(chart["lines"]) != len(lines) or (len(items) > 1 and 0 in chart["lines"]):
                problems.append(f"{where}: line traces drawn {chart['lines']}, expected "
                                f"{len(lines)} with a line each")
            for series, points in zip(bars, chart["bars"], strict=False):
                if series["highlight"]:
                    marked = sum(1 for fill in points if fill == ALERT_FILL)
                    wanted = sum(1 for row in items if row.get(series["highlight"]))
                    if marked != wanted:
                        problems.append(f"{where}: {marked} bars in the alert colour, "
                                        f"{wanted} rows have {series['highlight']}")
            drawn_lines = [line for line in panel["lines"] if answer.get(line["key"]) is not None]
            band = 1 if panel["band"] and answer.get(panel["band"][0]) is not None else 0
            if chart["shapes"] != len(drawn_lines) + band:
                problems.append(f"{where}: {chart['shapes']} shapes, expected "
                                f"{len(drawn_lines)} lines and {band} band")
            labels = [f"{line['label']} {number_text(answer[line['key']])}"
                      for line in drawn_lines]
            if sorted(chart["annotations"]) != sorted(labels):
                problems.append(f"{where}: labels {chart['annotations']}, expected {labels}")
    assert charts, "no page has a chart panel (the votes page has one)"
    assert not problems, "\n".join(problems)


def test_every_table_shows_the_first_page_the_api_answers(visits: list[Visit],
                                                           demo_server: str) -> None:
    problems: list[str] = []
    for visit in visits:
        for panel, seen in zip(visit.description["panels"], visit.panels, strict=False):
            if panel["kind"] == "table":
                answer = table_answer(demo_server, panel, 0)
                problems += [f"{visit.href}: {p}" for p in table_problems(seen, panel, answer, 0)]
    assert not problems, "\n".join(problems)


def test_every_stats_and_text_panel_shows_the_api_answer(visits: list[Visit],
                                                         demo_server: str) -> None:
    problems: list[str] = []
    for visit in visits:
        for panel, seen in zip(visit.description["panels"], visit.panels, strict=False):
            if panel["kind"] not in ("stats", "text"):
                continue
            answer = get_json(demo_server, with_params(panel["source"], start_values(panel)))
            if panel["kind"] == "text" and seen.get("text") != (answer.get("text") or ""):
                problems.append(f"{visit.href} {panel['title']!r}: shows {seen.get('text')!r}, "
                                f"the API answers {answer.get('text')!r}")
            if panel["kind"] == "stats" and seen.get("facts") != facts_shown(answer):
                problems.append(f"{visit.href} {panel['title']!r}: shows {seen.get('facts')}, "
                                f"the API answers {facts_shown(answer)}")
    assert not problems, "\n".join(problems)


def test_no_page_is_wider_than_the_window(visits: list[Visit]) -> None:
    """A wide table scrolls in its own box; the page itself never scrolls sideways."""
    wide = [f"{v.href}: {v.width} px" for v in visits if v.width > WIDTH]
    assert not wide, wide


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def test_every_page_has_its_screenshot(visits: list[Visit]) -> None:
    for visit in visits:
        assert visit.screenshot == SCREENSHOTS / f"{visit.name}.png"
        # Written by this run, once the page was ready (a second's slack: file times).
        assert visit.screenshot.stat().st_mtime >= visit.ready_at - 1, visit.screenshot
        width, height = png_size(visit.screenshot)
        assert width == WIDTH, (visit.screenshot, width)
        # At least the header, a title and one panel; at most a page a reader can scroll.
        assert 400 <= height <= 40_000, (visit.screenshot, height)
        assert 10_000 <= visit.screenshot.stat().st_size <= 20_000_000, visit.screenshot


# --- the operations page: a filter, pagination, a record's detail ----------------------------

def description_of(base: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = get_json(base, f"/api/pages/{name}")
    return found


def panel_of(description: dict[str, Any], title: str, kind: str = "table") -> dict[str, Any]:
    found = [p for p in description["panels"] if p["title"] == title and p["kind"] == kind]
    assert found, (f"the {description['name']} page has no {kind} panel {title!r} "
                   f"(it has {[p['title'] for p in description['panels']]})")
    chosen: dict[str, Any] = found[0]
    return chosen


def wait_for_option(tab: Tab, title: str, param: str, value: str) -> Any:
    select = tab.panel(title).locator(f"select[name={param}]")
    assert select.count() == 1, f"panel {title!r} has no select {param!r}"
    select.locator(f"option[value={css(value)}]").wait_for(state="attached")
    return select


def answered(tab: Tab, path: str, action: Callable[[], None],
             test: Callable[[str], bool] = lambda url: True) -> None:
    """Does `action` and waits for the answer to the request for `path` it makes."""
    with tab.page.expect_response(
            lambda r: unquote(urlsplit(r.url).path) == path and test(r.url)):
        action()


def test_the_quarantine_pipeline_filter_shows_that_pipelines_records_only(
        browser: Browser, demo_server: str) -> None:
    panel = panel_of(description_of(demo_server, "operations"), "quarantine")
    every = table_answer(demo_server, panel, 0)
    votes = table_answer(demo_server, panel, 0, {"pipeline": "votes"})
    assert 0 < votes["total"] < every["total"]  # a filter that did nothing would show
    tab = open_tab(browser, demo_server, "/operations")
    try:
        select = wait_for_option(tab, "quarantine", "pipeline", "votes")
        answered(tab, "/api/quarantine", lambda: select.select_option("votes"),
                 lambda url: query_of(url).get("pipeline") == "votes")
        assert tab.settled("quarantine") == "ready"
        seen = tab.one("quarantine")
        assert table_problems(seen, panel, votes, 0) == []
        pipeline_cells = {row[1]["text"] for row in seen["rows"]}
        assert pipeline_cells == {"votes"}
        assert seen["page_status"].endswith(f" of {number_text(votes['total'])}")
        # The downloads follow the filter.
        hrefs = tab.panel("quarantine").locator("p.downloads a").evaluate_all(
            "links => links.map((a) => a.getAttribute('href'))")
        assert hrefs and all("pipeline=votes" in href for href in hrefs), hrefs
        # Back to every pipeline.
        answered(tab, "/api/quarantine", lambda: select.select_option(""),
                 lambda url: "pipeline" not in query_of(url))
        assert tab.settled("quarantine") == "ready"
        assert table_problems(tab.one("quarantine"), panel, every, 0) == []
        assert tab.messages == []
    finally:
        tab.page.close()


def test_an_answer_to_an_older_filter_never_replaces_the_newer_ones(
        browser: Browser, demo_server: str) -> None:
    """A user picks votes, then shop before the votes answer came: the table must end
    with shop's records, whatever order the answers arrive in."""
    panel = panel_of(description_of(demo_server, "operations"), "quarantine")
    shop = table_answer(demo_server, panel, 0, {"pipeline": "shop"})
    assert shop["total"] > 0
    tab = open_tab(browser, demo_server, "/operations")
    held: list[Any] = []
    ended: list[str] = []  # requests answered, or given up by the page
    tab.page.on("requestfinished", lambda request: ended.append(request.url))
    tab.page.on("requestfailed", lambda request: ended.append(request.url))
    try:
        select = wait_for_option(tab, "quarantine", "pipeline", "shop")

        def hold_votes(route: Any) -> None:
            if "pipeline=votes" in route.request.url:
                held.append(route)
            else:
                route.continue_()

        tab.page.route(re.compile(r"/api/quarantine\?"), hold_votes)
        with tab.page.expect_request(lambda r: "pipeline=votes" in r.url):
            select.select_option("votes")
        answered(tab, "/api/quarantine", lambda: select.select_option("shop"),
                 lambda url: "pipeline=shop" in url)
        assert tab.settled("quarantine") == "ready"
        assert held, "the votes request was not held"
        # The page may have given the old request up (aborted it): as good as dropping it.
        with contextlib.suppress(PlaywrightError):
            held[0].continue_()
        give_up = time.monotonic() + HANG_MS / 1000  # a hang guard
        while not any("pipeline=votes" in url for url in ended):
            assert time.monotonic() < give_up, "the held request never ended"
            tab.page.wait_for_timeout(50)
        # The late answer has arrived; give the page's script its turn to draw it (or,
        # rightly, to drop it): a few tasks and frames, then the table is read.
        tab.page.evaluate("() => new Promise((done) => setTimeout(() => "
                          "requestAnimationFrame(() => requestAnimationFrame(done)), 300))")
        assert tab.settled("quarantine") == "ready"
        assert select.input_value() == "shop"
        seen = tab.one("quarantine")
        assert {row[1]["text"] for row in seen["rows"]} == {"shop"}, (
            "the select says shop but the table shows the records of "
            f"{sorted({row[1]['text'] for row in seen['rows']})}, and {seen['page_status']!r}")
        assert table_problems(seen, panel, shop, 0) == []
    finally:
        tab.page.unroute(re.compile(r"/api/quarantine\?"))
        tab.page.close()


def at_offset(offset: int) -> Callable[[str], bool]:
    return lambda url: query_of(url).get("offset") == str(offset)


def multi_page_tables(visits: list[Visit], base: str) -> list[tuple[Visit, dict[str, Any]]]:
    found = []
    for visit in visits:
        for panel in visit.description["panels"]:
            if panel["kind"] == "table":
                first = table_answer(base, panel, 0)
                if first.get("total", 0) > panel["page_size"]:
                    found.append((visit, panel))
    return found


def test_next_shows_the_following_rows_and_previous_goes_back(
        browser: Browser, demo_server: str, visits: list[Visit]) -> None:
    tables = multi_page_tables(visits, demo_server)
    assert any(v.name == "operations" and p["title"] == "quarantine" for v, p in tables), \
        "the quarantine of the demo has more than one page of records"
    problems: list[str] = []
    for href in dict.fromkeys(v.href for v, _ in tables):
        tab = open_tab(browser, demo_server, href)
        try:
            for _, panel in [(v, p) for v, p in tables if v.href == href]:
                title, size = panel["title"], panel["page_size"]
                path = urlsplit(panel["source"]).path
                first = table_answer(demo_server, panel, 0)
                second = table_answer(demo_server, panel, size)
                pager = tab.panel(title).locator(".pager")
                answered(tab, path, pager.locator("button[data-action=next]").click,
                         at_offset(size))
                assert tab.settled(title) == "ready"
                problems += [f"{href} after next: {p}" for p in
                             table_problems(tab.one(title), panel, second, size)]
                answered(tab, path, pager.locator("button[data-action=prev]").click,
                         at_offset(0))
                assert tab.settled(title) == "ready"
                problems += [f"{href} after previous: {p}" for p in
                             table_problems(tab.one(title), panel, first, 0)]
            problems += [f"{href}: {m}" for m in tab.messages]
        finally:
            tab.page.close()
    assert not problems, "\n".join(problems)


def test_clicking_a_quarantined_record_shows_its_raw_text_and_reasons(
        browser: Browser, demo_server: str) -> None:
    panel = panel_of(description_of(demo_server, "operations"), "quarantine")
    assert panel["detail"], "the quarantine panel opens no record"
    page = table_answer(demo_server, panel, 0, {"pipeline": "applications"})
    # The record with the most reasons on the page (the applications have several).
    index = max(range(len(page["items"])), key=lambda i: (len(page["items"][i]["reasons"]), -i))
    chosen = page["items"][index]
    record = get_json(demo_server, f"/api/quarantine/records/{quote(chosen['id'], safe='')}")
    assert len(record["reasons"]) > 1 and record["raw"]
    tab = open_tab(browser, demo_server, "/operations?pipeline=applications")
    try:
        assert tab.settled("quarantine") == "ready"
        assert table_problems(tab.one("quarantine"), panel, page, 0) == []
        row = tab.panel("quarantine").locator("tbody tr").nth(index)
        answered(tab, f"/api/quarantine/records/{chosen['id']}", row.click)
        tab.panel("quarantine").locator(".detail h3").wait_for()
        detail = tab.one("quarantine")["detail"]
        assert detail["heading"] == f"record {record['id']}" and detail["error"] is None
        facts = dict(detail["facts"])
        assert facts["raw"] == record["raw"]
        assert facts["reasons"] == "; ".join(record["reasons"])
        assert facts["source file"] == record["source_file"]
        assert facts["pipeline"] == "applications" == record["pipeline"]
        # The same by keyboard, on another row.
        other = page["items"][(index + 1) % len(page["items"])]
        focused = tab.panel("quarantine").locator("tbody tr").nth(
            (index + 1) % len(page["items"]))
        focused.focus()
        answered(tab, f"/api/quarantine/records/{other['id']}",
                 lambda: tab.page.keyboard.press("Enter"))
        tab.page.wait_for_function(
            "id => [...document.querySelectorAll('.detail h3')].some((h) => "
            "h.textContent === `record ${id}`)", arg=other["id"])
        assert dict(tab.one("quarantine")["detail"]["facts"])["raw"] == other["raw"]
        assert tab.messages == []
    finally:
        tab.page.close()


# --- the events page's refresh, the cars form ----------------------------------------------

def settled_snapshot(tab: Tab) -> list[dict[str, Any]]:
    """The page's panels at a moment none is loading (a page that refreshes itself
    loads again and again)."""
    while True:
        panels = tab.snapshot()
        if all(p["state"] != "loading" for p in panels):
            return panels
        tab.page.wait_for_timeout(100)


def test_the_events_page_reads_its_panels_again_without_errors(
        browser: Browser, demo_server: str, nav: list[dict[str, str]]) -> None:
    item = next((i for i in nav if i["name"] == "events"), None)
    assert item is not None, "the dashboard has no events page"
    description = description_of(demo_server, "events")
    seconds = description["refresh_seconds"]
    assert seconds, "the events page declares no refresh (WebPart.refresh_seconds)"
    reread = [p for p in description["panels"] if p["kind"] != "form"]
    assert reread, "the events page has no panel to refresh"
    tab = open_tab(browser, demo_server, item["href"])
    try:
        first = tab.snapshot()
        mark = len(tab.requests)

        def asked_again() -> list[str]:
            later = [urlsplit(url).path for url in tab.requests[mark:]]
            return [p["title"] for p in reread if urlsplit(p["source"]).path not in later]

        give_up = time.monotonic() + max(HANG_MS / 1000, 20 * seconds)  # a hang guard
        while asked_again():
            assert time.monotonic() < give_up, (
                f"the events page never read {asked_again()} again ({seconds} s refresh)")
            tab.page.wait_for_timeout(200)
        tab.page.wait_for_function(READY)
        again = settled_snapshot(tab)
        assert [(p["title"], p["state"]) for p in again] == [
            (p["title"], "ready") for p in first]
        for panel, seen in zip(description["panels"], again, strict=False):
            if panel["kind"] == "table":
                assert table_problems(seen, panel, table_answer(demo_server, panel, 0), 0) == []
        assert tab.messages == []
    finally:
        tab.page.close()


def test_the_cars_form_shows_the_apis_prediction_for_the_values_chosen(
        browser: Browser, demo_server: str, nav: list[dict[str, str]]) -> None:
    item = next((i for i in nav if i["name"] == "cars"), None)
    assert item is not None, "the dashboard has no cars page"
    description = description_of(demo_server, "cars")
    forms = [p for p in description["panels"] if p["kind"] == "form"]
    assert forms, ("the cars page has no form panel (a car's values in, the model's "
                   f"prediction out); it has {[p['title'] for p in description['panels']]}")
    tab = open_tab(browser, demo_server, item["href"])
    try:
        for panel in forms:
            title = panel["title"]
            box = tab.panel(title)
            chosen: dict[str, str] = {}
            for control in panel["controls"]:
                field_ = box.locator(f"form [name={css(control['param'])}]")
                assert field_.count() == 1, f"{title!r} has no field {control['param']!r}"
                if control["text"]:
                    assert control["default"] is not None, (
                        f"{title!r}: free-text field {control['param']!r} has no default "
                        "for the test to submit")
                    field_.fill(str(control["default"]))
                    chosen[control["param"]] = str(control["default"])
                    continue
                options = list(control["options"])
                if control["options_from"]:
                    options += get_json(demo_server, control["options_from"])["options"]
                assert options, f"{title!r}: field {control['param']!r} offers nothing"
                # Not the first value: one a user has to choose.
                value = options[-1]
                field_.locator(f"option[value={css(value)}]").wait_for(state="attached")
                field_.select_option(value)
                chosen[control["param"]] = value
            expected = get_json(demo_server, with_params(panel["source"], chosen))
            answered(tab, urlsplit(panel["source"]).path,
                     box.locator("form button[type=submit]").click)
            assert tab.settled(title) == "ready"
            seen = tab.one(title)
            assert seen["error"] is None
            assert seen["facts"] == facts_shown(expected), (seen["facts"], expected)
        assert tab.messages == []
    finally:
        tab.page.close()


# --- text from the warehouse is text ----------------------------------------------------------

HOSTILE_ID = '<img src=x onerror="document.body.dataset.owned=1">&amp;'
HOSTILE_LINE = '<script>document.body.dataset.owned=1</script> &lt;b&gt; <b>bold</b>'
HOSTILE_BRAND = '<b>Bold</b> & <a href="https://example.com/">Co</a> &amp; <i>x</i>'
HOSTILE_NAME = '<img src=x onerror="document.body.dataset.owned=1">Ann &lt;Lee&gt;'
MARKUP = "main img, main script, main b, main i, main svg a, main tspan[style*=bold]"


def advocate_file(folder: Path) -> Path:
    """One advocate in one program of a brand whose name, like the advocate's, is
    markup."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "user_1.json"
    path.write_text(json.dumps({
        "user_id": "6f1c2a1e-9f0b-4b8e-9a43-0c3d2b1a5e71", "name": HOSTILE_NAME,
        "email": "ann@example.com", "instagram_handle": "@ann.lee",
        "tiktok_handle": "@annlee", "joined_at": "2024-05-02T23:33:17.161Z",
        "advocacy_programs": [{
            "program_id": "11111111-2222-4333-8444-555555555551", "brand": HOSTILE_BRAND,
            "total_sales_attributed": 120.5,
            "tasks_completed": [{"task_id": "21111111-2222-4333-8444-555555555551",
                                 "platform": "Instagram", "post_url": "https://instagram.com/p/1",
                                 "likes": 10, "comments": 2, "shares": 1, "reach": 500}]}],
    }))
    return folder


@dataclass
class Hostile:
    base: str
    votes: Path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    """A server over a warehouse of our own whose text is markup: quarantined vote
    lines, a folder's name, an advocate's name, a brand's name."""
    work = tmp_path_factory.mktemp("hostile")
    votes = write_lines(work / "<i>inbox</i> & co" / "votes.jsonl", [
        vote(1), vote(HOSTILE_ID), HOSTILE_LINE, vote(2)])
    sluice("votes", "ingest", str(votes), cwd=work)
    sluice("advocacy", "ingest", str(advocate_file(work / "advocacy")), cwd=work)
    with serving(work / "warehouse.db", cwd=work) as base:
        yield Hostile(base, votes)


def test_text_from_the_warehouse_is_shown_as_text_never_as_markup(
        browser: Browser, hostile: Hostile) -> None:
    panel = panel_of(description_of(hostile.base, "operations"), "quarantine")
    answer = table_answer(hostile.base, panel, 0)
    assert [item["raw"] for item in answer["items"]] == [vote(HOSTILE_ID), HOSTILE_LINE]
    tab = open_tab(browser, hostile.base, "/operations")
    try:
        seen = tab.one("quarantine")
        assert table_problems(seen, panel, answer, 0) == []
        raw_column = [c["key"] for c in panel["columns"]].index("raw")
        file_column = [c["key"] for c in panel["columns"]].index("source_file")
        assert [row[raw_column]["text"] for row in seen["rows"]] == [
            vote(HOSTILE_ID), HOSTILE_LINE]
        assert all(row[file_column]["text"] == str(hostile.votes) for row in seen["rows"])
        assert all(cell["elements"] == 0 for row in seen["rows"] for cell in row)
        answered(tab, f"/api/quarantine/records/{answer['items'][1]['id']}",
                 tab.panel("quarantine").locator("tbody tr").nth(1).click)
        tab.panel("quarantine").locator(".detail h3").wait_for()
        assert dict(tab.one("quarantine")["detail"]["facts"])["raw"] == HOSTILE_LINE
        assert tab.page.locator(MARKUP).count() == 0
        assert tab.page.evaluate("() => document.body.dataset.owned") is None
        assert tab.messages == []
    finally:
        tab.page.close()


def test_names_from_the_warehouse_are_text_in_tables_and_charts(
        browser: Browser, hostile: Hostile) -> None:
    """Every table and chart of the advocacy page over a brand and an advocate named
    in markup: each shows the name as it is, none draws the markup. (Plotly reads a
    label as its own small HTML: tags and entities in a label must reach it escaped.)"""
    description = description_of(hostile.base, "advocacy")
    assert any(p["kind"] == "chart" for p in description["panels"]), \
        "the advocacy page has no chart"
    tab = open_tab(browser, hostile.base, "/pipelines/advocacy")
    try:
        panels = tab.snapshot()
        assert [p["title"] for p in panels if p["state"] != "ready"] == []
        texts = [cell["text"] for p in panels for row in p.get("rows") or [] for cell in row]
        assert HOSTILE_NAME in texts, texts
        assert all(cell["elements"] == 0 for p in panels for row in p.get("rows") or []
                   for cell in row)
        labels = tab.page.evaluate(
            "() => [...document.querySelectorAll('main div.chart .xtick text')]"
            ".map((t) => t.textContent)")
        assert HOSTILE_BRAND in labels, (
            f"no chart label reads {HOSTILE_BRAND!r}; the labels drawn: {labels}")
        assert tab.page.locator(MARKUP).count() == 0, tab.page.locator(MARKUP).evaluate_all(
            "nodes => nodes.map((n) => n.outerHTML)")
        assert tab.page.evaluate("() => document.body.dataset.owned") is None
        assert tab.messages == []
    finally:
        tab.page.close()
