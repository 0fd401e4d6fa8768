"""The advocacy page of `sluice serve`, over real HTTP: the totals, the leaderboard (its
ranks, sorts, filters and pages), the options of its filters, engagement and sales by
group, the outliers, the headline, bad parameters, a warehouse without advocacy data,
and PostgreSQL.

Every expected figure is computed here, in Python, from the warehouse's raw tables
(advocates, memberships, tasks: read with DuckDB, read-only) or from the export the test
wrote: never through the views or the SQL the routes run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from postgres_server import postgres_url
from web_server import get, get_json, serving

from conftest import EXAMPLE, query, sluice

__all__ = ["postgres_url"]  # the fixture, used by name

API = "/api/pipelines/advocacy"
UNKNOWN = "(unknown)"
MIN_TASKS, MIN_COVERAGE = 100, Fraction(1, 2)  # the report's bar for ranking a rate

Row = dict[str, Any]


# --- the warehouse as plain Python, and what each route must answer ------------------------


@dataclass(frozen=True)
class Task:
    platform: str | None
    likes: int | None
    comments: int | None
    shares: int | None
    reach: int | None

    @property
    def measured(self) -> bool:
        return (None not in (self.likes, self.comments, self.shares, self.reach)
                and (self.reach or 0) > 0)

    @property
    def engagement(self) -> int:
        return (self.likes or 0) + (self.comments or 0) + (self.shares or 0)


@dataclass(frozen=True)
class Membership:
    membership_id: str
    advocate_id: str
    program: str | None
    brand: str | None
    sales: Decimal | None
    tasks: tuple[Task, ...]


@dataclass
class Data:
    names: dict[str, str | None]
    memberships: list[Membership]
    issues: list[tuple[str, str]] = field(default_factory=list)


def read(warehouse: Path) -> Data:
    """The raw tables; a task belongs to its membership (by membership id)."""
    tasks: dict[str, list[Task]] = {}
    for membership_id, *values in query(warehouse, (
            "SELECT membership_id, platform, likes, comments, shares, reach "
            "FROM advocacy.tasks")):
        tasks.setdefault(membership_id, []).append(Task(*values))
    memberships = [Membership(m, a, p, b, s, tuple(tasks.get(m, ()))) for m, a, p, b, s in query(
        warehouse, "SELECT membership_id, advocate_id, CAST(program_id AS VARCHAR), brand, "
                   "total_sales_attributed FROM advocacy.memberships")]
    names = dict(query(warehouse, "SELECT advocate_id, name FROM advocacy.advocates"))
    issues = query(warehouse, "SELECT entity, record_key FROM advocacy.dq_issues")
    return Data(names, memberships, [(e, k) for e, k in issues])


def keeps(value: str | None, wanted: str | None) -> bool:
    return wanted is None or (value is None if wanted == UNKNOWN else value == wanted)


def rate(engagement: int | None, reach: int | None) -> float | None:
    return None if engagement is None or not reach else float(Fraction(engagement, reach))


def ranked(rows: list[Row], key: str, into: str = "rank") -> None:
    """Competition ranks by `key`, highest first, for the rows with a value."""
    order = sorted((r for r in rows if r[key] is not None), key=lambda r: -r[key])
    for place, row in enumerate(order, start=1):
        row[into] = order[place - 2][into] if place > 1 and order[place - 2][key] == row[key] \
            else place
    for row in rows:
        row.setdefault(into, None)


def expected_board(data: Data, by: str = "sales", platform: str | None = None,
                   brand: str | None = None, program: str | None = None) -> list[Row]:
    """The leaderboard as the route's description says, by the measure then advocate id."""
    chosen = [m for m in data.memberships if keeps(m.brand, brand) and keeps(m.program, program)
              and (platform is None or any(keeps(t.platform, platform) for t in m.tasks))]
    filtered = (platform, brand, program) != (None, None, None)
    ids = {m.advocate_id for m in chosen} if filtered else set(data.names)
    rows: dict[str, Row] = {a: {"advocate_id": a, "name": data.names[a], "sales": None, "engagement": None,
                "reach": None, "tasks": 0, "tasks_measured": 0, "programs": 0,
                "programs_with_sales": 0} for a in ids}
    for membership in chosen:
        row = rows[membership.advocate_id]
        row["programs"] += 1
        if membership.sales is not None:
            row["sales"] = (row["sales"] or Decimal(0)) + membership.sales
            row["programs_with_sales"] += 1
        for task in membership.tasks:
            if not keeps(task.platform, platform):
                continue
            row["tasks"] += 1
            if task.measured:
                row["tasks_measured"] += 1
                row["engagement"] = (row["engagement"] or 0) + task.engagement
                row["reach"] = (row["reach"] or 0) + (task.reach or 0)
    board = list(rows.values())
    for row in board:
        row["engagement_rate"] = rate(row["engagement"], row["reach"])
    ranked(board, by)
    return sorted(board, key=lambda r: (r[by] is None, -(r[by] or 0), r["advocate_id"]))


def expected_groups(data: Data, by: str) -> list[Row]:
    """Engagement and sales by platform, brand or program: a task's brand and program are
    its membership's; a membership counts, with its whole sales, under each platform it
    has a task on."""
    groups: dict[str | None, Row] = {}

    def group(value: str | None) -> Row:
        return groups.setdefault(value, {
            "group": UNKNOWN if value is None else value, "known": value is not None,
            "tasks": 0, "tasks_measured": 0, "engagement": None, "reach": None,
            "memberships": 0, "memberships_with_sales": 0, "sales": None})

    for membership in data.memberships:
        if by == "platform":
            homes = list(dict.fromkeys(t.platform for t in membership.tasks))
        else:
            homes = [membership.brand if by == "brand" else membership.program]
        for home in homes:
            row = group(home)
            row["memberships"] += 1
            if membership.sales is not None:
                row["sales"] = (row["sales"] or Decimal(0)) + membership.sales
                row["memberships_with_sales"] += 1
        for task in membership.tasks:
            row = group(task.platform if by == "platform" else homes[0])
            row["tasks"] += 1
            if task.measured:
                row["tasks_measured"] += 1
                row["engagement"] = (row["engagement"] or 0) + task.engagement
                row["reach"] = (row["reach"] or 0) + (task.reach or 0)
    rows = list(groups.values())
    for row in rows:
        row["engagement_rate"] = rate(row["engagement"], row["reach"])
        trusted = (row["known"] and row["engagement_rate"] is not None
                   and row["tasks_measured"] >= MIN_TASKS
                   and Fraction(row["tasks_measured"], row["tasks"]) >= MIN_COVERAGE)
        row["eligible_rate"] = row["engagement_rate"] if trusted else None
        row["eligible_sales"] = row["sales"] if row["known"] else None
    ranked(rows, "eligible_rate", "rate_rank")
    ranked(rows, "eligible_sales", "sales_rank")
    return rows


# --- talking to the server ----------------------------------------------------------------


RATES = {"engagement_rate", "coverage", "sales_share"}  # floats; every other number exact


def exact(pairs: list[tuple[str, Any]]) -> Row:
    return {k: float(v) if k in RATES and v is not None else v for k, v in pairs}


def fetch(base: str, path: str, status: int = 200) -> Any:
    """A route's JSON, amounts as exact decimals, rates as floats."""
    code, _, body = get(base, path)
    assert code == status, f"GET {path}: {code} {body[:500]!r}"
    return json.loads(body, parse_float=Decimal, object_pairs_hook=exact)


def whole_list(base: str, route: str, page: int = 1000) -> tuple[list[Row], Row]:
    """Every row of a paginated route, page by page; and the first answer."""
    separator = "&" if "?" in route else "?"
    first = fetch(base, f"{route}{separator}limit={page}&offset=0")
    items = list(first["items"])
    while len(items) < first["total"]:
        more = fetch(base, f"{route}{separator}limit={page}&offset={len(items)}")
        assert more["total"] == first["total"] and more["items"]
        items += more["items"]
    assert len(items) == first["total"]
    return items, first


BOARD_KEYS = ("rank", "advocate_id", "name", "sales", "engagement", "reach", "engagement_rate",
              "tasks", "tasks_measured", "programs", "programs_with_sales")


def board_of(items: list[Row]) -> list[tuple[Any, ...]]:
    return [tuple(item[key] for key in BOARD_KEYS) for item in items]


def leaderboard(base: str, **params: str) -> tuple[list[Row], Row]:
    return whole_list(base, f"{API}/leaderboard?{urlencode(params)}")


# --- over the demo's warehouse -------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_data(demo_warehouse: Path) -> Data:
    return read(demo_warehouse)


def test_totals_are_the_warehouses_counts(demo_server: str, demo_warehouse: Path,
                                          demo_data: Data) -> None:
    totals = fetch(demo_server, f"{API}/totals")
    tasks = [t for m in demo_data.memberships for t in m.tasks]
    measured = [t for t in tasks if t.measured]
    files = dict(query(demo_warehouse, "SELECT status, count(*) FROM sluice.files "
                                       "WHERE pipeline = 'advocacy' GROUP BY status"))
    assert totals == {
        "advocates": len(demo_data.names), "memberships": len(demo_data.memberships),
        "memberships_with_sales": sum(m.sales is not None for m in demo_data.memberships),
        "programs": len({m.program for m in demo_data.memberships} - {None}),
        "brands": len({m.brand for m in demo_data.memberships} - {None}),
        "tasks": len(tasks), "tasks_measured": len(measured),
        "engagement": sum(t.engagement for t in measured),
        "reach": sum(t.reach or 0 for t in measured),
        "engagement_rate": rate(sum(t.engagement for t in measured),
                                sum(t.reach or 0 for t in measured)),
        "sales": sum(m.sales for m in demo_data.memberships if m.sales is not None),
        # One run over one export: every file the ledger loaded is in the warehouse (the
        # demo's 75 replaced versions among them), every rejected one in quarantine.
        "files_loaded": files["loaded"], "files_clean": totals["files_clean"],
        "files_repaired": totals["files_repaired"], "files_replaced": totals["files_replaced"],
        "files_rejected": files["rejected"], "files_unreadable": 0,
        "files_skipped": files["skipped"],
        "data_quality_issues": len(demo_data.issues),
        "records_with_issues": len(set(demo_data.issues))}
    assert totals["files_clean"] + totals["files_repaired"] + totals["files_replaced"] == \
        files["loaded"]
    assert totals["files_repaired"] > 0 and totals["files_replaced"] > 0
    assert (totals["advocates"], totals["files_rejected"]) == (4_965, 35)


@pytest.mark.parametrize("by", ["sales", "engagement", "reach"])
def test_the_leaderboard_ranks_every_advocate_by_the_measure(
        demo_server: str, demo_data: Data, by: str) -> None:
    items, first = leaderboard(demo_server, by=by)
    expected = expected_board(demo_data, by)
    assert board_of(items) == board_of(expected)
    assert (first["total"], first["ranked"], first["by"]) == (
        len(demo_data.names), sum(r[by] is not None for r in expected), by)
    assert first["columns"] == list(BOARD_KEYS)
    # Ties share a rank (the demo has advocates whose sales are all 0.00), the advocates
    # without the figure are last, unranked; the best is rank 1.
    ranks = [item["rank"] for item in items]
    assert ranks[0] == 1 and ranks[-1] is None
    if by == "sales":
        assert len({r for r in ranks if r is not None}) < first["ranked"]


def test_pages_concatenate_to_the_whole_list(demo_server: str, demo_data: Data) -> None:
    route = f"{API}/leaderboard?by=engagement&platform=YouTube"
    whole, first = whole_list(demo_server, route)
    assert first["total"] == len(expected_board(demo_data, "engagement", "YouTube")) > 500
    pages, offset = [], 0
    while offset < first["total"]:
        page = fetch(demo_server, f"{route}&limit=97&offset={offset}")
        assert (page["limit"], page["offset"], page["total"]) == (97, offset, first["total"])
        assert len(page["items"]) == min(97, first["total"] - offset)
        pages += page["items"]
        offset += 97
    assert pages == whole
    assert len({item["advocate_id"] for item in pages}) == len(pages)
    past = fetch(demo_server, f"{route}&limit=20&offset={first['total']}")
    assert (past["items"], past["total"]) == ([], first["total"])


def some_values(data: Data) -> tuple[str, str]:
    """A brand that is not the largest, and one of its programs (so that a filter leaves
    most advocates out, and the two together keep some)."""
    brands = sorted({m.brand for m in data.memberships if m.brand is not None})
    programs = sorted({m.program for m in data.memberships
                       if m.program is not None and m.brand == brands[1]})
    return brands[1], programs[0]


@pytest.mark.parametrize("by", ["sales", "engagement"])
@pytest.mark.parametrize("chosen", [
    {"platform": "TikTok"}, {"platform": UNKNOWN}, {"brand": "second"}, {"brand": UNKNOWN},
    {"program": "fourth"}, {"program": UNKNOWN},
    {"platform": "Instagram", "brand": "second"},
    {"platform": "TikTok", "brand": "second", "program": "fourth"}])
def test_each_filter_computes_the_measures_over_what_it_keeps(
        demo_server: str, demo_data: Data, by: str, chosen: dict[str, str]) -> None:
    brand, program = some_values(demo_data)
    filters = {key: {"second": brand, "fourth": program}.get(value, value)
               for key, value in chosen.items()}
    items, first = leaderboard(demo_server, by=by, **filters)
    expected = expected_board(demo_data, by, **filters)
    assert board_of(items) == board_of(expected)
    assert first["filters"] == {"platform": None, "brand": None, "program": None, **filters}
    assert 0 < first["total"] < len(demo_data.names)


def test_a_platform_filter_keeps_whole_memberships_with_a_task_on_it(
        demo_server: str, demo_data: Data) -> None:
    """Sales are per membership: under a platform, a membership that posted there counts
    with all its sales, so the sales under two platforms overlap."""
    tiktok, _ = leaderboard(demo_server, platform="TikTok")
    instagram, _ = leaderboard(demo_server, platform="Instagram")
    both = [m for m in demo_data.memberships if m.sales is not None
            and {"TikTok", "Instagram"} <= {t.platform for t in m.tasks}]
    assert both  # memberships that posted on both
    total = sum(m.sales for m in demo_data.memberships if m.sales is not None)
    by_platform = sum(i["sales"] or 0 for i in tiktok) + sum(i["sales"] or 0 for i in instagram)
    on_either = sum(m.sales for m in demo_data.memberships if m.sales is not None
                    and {"TikTok", "Instagram"} & {t.platform for t in m.tasks})
    assert by_platform == on_either + sum(m.sales for m in both if m.sales is not None)
    assert on_either < total


@pytest.mark.parametrize(("sort", "order"), [("name", "asc"), ("engagement_rate", "desc"),
                                             ("tasks", "asc"), ("advocate_id", "desc"),
                                             ("measure", "asc")])
def test_sort_and_order(demo_server: str, demo_data: Data, sort: str, order: str) -> None:
    """The sort column's values, in the order asked; no value last either way; ties by
    advocate id; the ranks stay those of the measure."""
    items, _ = leaderboard(demo_server, by="reach", sort=sort, order=order, brand="Pixel Audio")
    expected = expected_board(demo_data, "reach", brand="Pixel Audio")
    column = "reach" if sort == "measure" else sort

    def key(row: Row) -> tuple[Any, ...]:
        value = row[column]
        if isinstance(value, str):
            flipped: Any = [-ord(c) for c in value] + [1] if order == "desc" else value
        else:
            flipped = -(value or 0) if order == "desc" else value
        return (value is None, flipped if value is not None else 0, row["advocate_id"])

    assert board_of(items) == board_of(sorted(expected, key=key))


def test_the_options_are_the_known_values_then_unknown(demo_server: str,
                                                       demo_data: Data) -> None:
    tasks = [t for m in demo_data.memberships for t in m.tasks]
    for kind, values in (("platforms", [t.platform for t in tasks]),
                         ("brands", [m.brand for m in demo_data.memberships]),
                         ("programs", [m.program for m in demo_data.memberships])):
        answer = get_json(demo_server, f"{API}/options/{kind}")
        assert None in values  # the demo has records without each
        assert answer == {"options": [*sorted({v for v in values if v is not None}),
                                      UNKNOWN]}, kind
    # Each option, as a filter, keeps something.
    options = get_json(demo_server, f"{API}/options/brands")["options"]
    for brand in options:
        assert fetch(demo_server, f"{API}/leaderboard?{urlencode({'brand': brand})}"
                     "&limit=1")["total"] > 0


@pytest.mark.parametrize("by", ["platform", "brand", "program"])
def test_engagement_and_sales_by_group(demo_server: str, demo_data: Data, by: str) -> None:
    items, first = whole_list(demo_server, f"{API}/breakdown?by={by}&sort=engagement_rate")
    expected = expected_groups(demo_data, by)
    keys = ("group", "known", "tasks", "tasks_measured", "engagement", "reach",
            "engagement_rate", "rate_rank", "memberships", "memberships_with_sales", "sales",
            "sales_rank")
    got = {item["group"]: {k: item[k] for k in keys} for item in items}
    assert got == {row["group"]: {k: row[k] for k in keys} for row in expected}
    # In order: ranked rates, then the other known groups by rate, the unknown bucket last.
    assert items[-1]["group"] == UNKNOWN and items[-1]["rate_rank"] is None
    ranks = [i["rate_rank"] for i in items if i["rate_rank"] is not None]
    assert ranks == sorted(ranks) and ranks[0] == 1
    assert [i["rate_rank"] is None for i in items[:-1]] == sorted(
        i["rate_rank"] is None for i in items[:-1])
    assert first["total"] == len(expected) and first["by"] == by
    by_sales, _ = whole_list(demo_server, f"{API}/breakdown?by={by}&sort=sales")
    assert [i["group"] for i in by_sales] == [r["group"] for r in sorted(
        expected, key=lambda r: (not r["known"], r["sales_rank"] is None,
                                 r["sales_rank"] or 0, r["group"]))]
    if by == "platform":  # memberships posting on two platforms count under both
        assert sum(i["sales"] or 0 for i in items) > sum(
            m.sales for m in demo_data.memberships if m.sales is not None)


def test_outliers_list_the_advocates_above_the_fence(demo_server: str,
                                                     demo_warehouse: Path) -> None:
    items, _ = whole_list(demo_server, f"{API}/outliers?metric=sales", page=100)
    sales = sorted(value for (value,) in query(
        demo_warehouse, "SELECT sum(total_sales_attributed) FROM advocacy.memberships "
                        "GROUP BY advocate_id HAVING count(total_sales_attributed) > 0"))

    def quartile(q: float) -> float:  # linear interpolation, as quantile_cont
        position = q * (len(sales) - 1)
        low = int(position)
        high = min(low + 1, len(sales) - 1)
        return float(sales[low]) + (position - low) * (float(sales[high]) - float(sales[low]))

    fence = quartile(0.75) + 3 * (quartile(0.75) - quartile(0.25))
    assert [Decimal(i["sales"]) for i in items] == [s for s in reversed(sales) if s > fence]
    assert {i["metric"] for i in items} == {"sales"}
    assert float(items[0]["fence"]) == pytest.approx(fence, abs=0.005)
    both = fetch(demo_server, f"{API}/outliers?limit=1")
    assert both["total"] > len(items)


def test_the_headline_names_the_top_advocate_by_sales(demo_server: str,
                                                      demo_data: Data) -> None:
    board = expected_board(demo_data, "sales")
    best = board[0]
    assert board[1]["sales"] < best["sales"]
    whole = sum(r["sales"] for r in board if r["sales"] is not None)
    overview = get_json(demo_server, API)
    assert overview["headline"].startswith(
        f"Top advocate by sales: {best['name']} with {best['sales']:,.2f} "
        f"({float(best['sales'] / whole) * 100:.1f}% of all attributed sales); the top 10% "
        f"of the {sum(r['sales'] is not None for r in board):,} advocates with known sales "
        "bring ")


BAD = [
    ("leaderboard?by=likes", "by:"), ("leaderboard?offset=-1", "offset:"),
    ("leaderboard?limit=0", "limit:"), ("leaderboard?limit=1001", "limit:"),
    ("leaderboard?offset=100000000000000000000000000", "offset:"),
    ("leaderboard?sort=email", "sort:"), ("leaderboard?order=up", "order:"),
    ("leaderboard?platform=", "platform:"), ("leaderboard?program=not-a-uuid", "program:"),
    (f"leaderboard?brand={'x' * 2001}", "brand:"), ("leaderboard?brand=a%00b", "brand:"),
    ("leaderboard?platform=%00", "platform:"), ("leaderboard?program=%00", "program:"), ("breakdown?by=advocate", "by:"),
    ("breakdown?sort=name", "sort:"), ("breakdown?offset=-5", "offset:"),
    ("outliers?metric=reach", "metric:"), ("options/emails", "no such page or route"),
]


@pytest.mark.parametrize(("route", "names"), BAD)
def test_bad_parameters_answer_4xx_with_an_error(demo_server: str, route: str,
                                                 names: str) -> None:
    status, headers, body = get(demo_server, f"{API}/{route}")
    assert 400 <= status < 500 and headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert list(answer) == ["error"] and answer["error"].startswith(names)
    assert "Traceback" not in answer["error"] and "SELECT" not in answer["error"]


def test_a_value_no_record_has_keeps_nothing(demo_server: str) -> None:
    answer = fetch(demo_server, f"{API}/leaderboard?brand=No%20Such%20Brand")
    assert (answer["items"], answer["total"], answer["ranked"]) == ([], 0, 0)
    program = str(uuid.UUID(int=1))
    assert fetch(demo_server, f"{API}/leaderboard?program={program.upper()}")["total"] == 0


def test_the_page_shows_its_panels_and_each_answers(demo_server: str) -> None:
    page = get_json(demo_server, "/api/pages/advocacy")
    panels = [(p["kind"], p["source"]) for p in page["panels"]]
    assert panels[:5] == [("stats", f"{API}/totals"), ("table", f"{API}/leaderboard"),
                          ("chart", f"{API}/breakdown?sort=engagement_rate"),
                          ("chart", f"{API}/breakdown?sort=sales"),
                          ("table", f"{API}/breakdown")]
    assert len(panels) < 15  # not every view
    board = page["panels"][1]
    assert [c["param"] for c in board["controls"]] == ["by", "platform", "brand", "program",
                                                       "sort", "order"]
    assert board["page_size"] == 20 and "whole sales" in board["note"]
    assert [c["options_from"] for c in board["controls"][1:4]] == [
        f"{API}/options/platforms", f"{API}/options/brands", f"{API}/options/programs"]
    for panel in page["panels"]:
        defaults = {c["param"]: c["default"] for c in panel["controls"] if c["default"]}
        separator = "&" if "?" in panel["source"] else "?"
        query_text = "&".join(f"{k}={v}" for k, v in defaults.items())
        answer = get_json(demo_server, f"{panel['source']}{separator}{query_text}")
        if panel["kind"] in ("table", "chart"):
            assert answer["items"], panel["title"]
        for control in panel["controls"]:  # every fixed choice is a value the route takes
            for option in control["options"]:
                get_json(demo_server, f"{panel['source']}{separator}{control['param']}="
                         f"{option}&limit=1")


# --- a small export whose every figure is known ---------------------------------------------


def uid(n: int) -> str:
    return str(uuid.UUID(int=n))


P1, P2, P3 = uid(9001), uid(9002), uid(9003)


def task(platform: Any, likes: Any, reach: Any) -> Row:
    return {"task_id": str(uuid.uuid4()), "platform": platform,
            "post_url": "https://example.com/p/1", "likes": likes, "comments": 0, "shares": 0,
            "reach": reach}


def program(program_id: str, brand: Any, sales: Any, *tasks: Row) -> Row:
    return {"program_id": program_id, "brand": brand, "total_sales_attributed": sales,
            "tasks_completed": list(tasks)}


def advocate(n: int, *programs: Row) -> Row:
    return {"user_id": uid(n), "name": f"Advocate {n}", "email": f"a{n}@example.com",
            "instagram_handle": f"@a{n}", "tiktok_handle": f"@a{n}",
            "joined_at": "2024-05-02T23:33:17.161Z", "advocacy_programs": list(programs)}


ADVOCATES = [
    # Two share the top by sales; one posts on TikTok and Instagram in one membership.
    advocate(1, program(P1, "Acme", 100.0, task("TikTok", 10, 100), task("Instagram", 5, 50))),
    advocate(2, program(P1, "Acme", 100.0, task("TikTok", 20, 100))),
    # Two memberships: one whose sales are unknown, with a task that is not measured.
    advocate(3, program(P2, "Beta", 50.0, task("Instagram", 1, 10)),
             program(P1, "Acme", "no-data", task("TikTok", "NaN", 100))),
    # No brand known; a platform that is a placeholder (so unknown).
    advocate(4, program(P3, None, 30.0, task("unknown", 3, 30))),
    advocate(5),  # no membership at all
    advocate(6, program(P2, "Beta", 70.0)),  # a membership without tasks
]
A = {n: uid(n) for n in range(1, 7)}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    work = tmp_path_factory.mktemp("advocacy-web")
    folder = work / "in"
    folder.mkdir()
    for record in ADVOCATES:
        (folder / f"user_{record['user_id']}.json").write_text(json.dumps(record))
    sluice("advocacy", "ingest", "in", cwd=work)
    with serving(work / "warehouse.db", cwd=work) as base:
        yield base, work / "warehouse.db"


def ids_ranks(items: list[Row], *keys: str) -> list[tuple[Any, ...]]:
    return [(item["advocate_id"], item["rank"], *(item[k] for k in keys)) for item in items]


def test_ties_share_a_rank_and_advocates_without_the_figure_are_last(
        small: tuple[str, Path]) -> None:
    base, _ = small
    items, first = leaderboard(base)
    assert ids_ranks(items, "sales", "programs", "programs_with_sales") == [
        (A[1], 1, 100, 1, 1), (A[2], 1, 100, 1, 1), (A[6], 3, 70, 1, 1),
        (A[3], 4, 50, 2, 1), (A[4], 5, 30, 1, 1), (A[5], None, None, 0, 0)]
    assert (first["total"], first["ranked"]) == (6, 5)
    items, first = leaderboard(base, by="engagement")
    assert ids_ranks(items, "engagement", "reach", "tasks", "tasks_measured") == [
        (A[2], 1, 20, 100, 1, 1), (A[1], 2, 15, 150, 2, 2), (A[4], 3, 3, 30, 1, 1),
        (A[3], 4, 1, 10, 2, 1), (A[5], None, None, None, 0, 0),
        (A[6], None, None, None, 0, 0)]
    assert items[1]["engagement_rate"] == 15 / 150 and items[4]["engagement_rate"] is None


def test_filters_on_a_small_export(small: tuple[str, Path]) -> None:
    base, _ = small
    # A platform keeps the memberships that posted there, with their whole sales.
    items, first = leaderboard(base, platform="TikTok")
    assert ids_ranks(items, "sales", "engagement", "reach", "tasks", "tasks_measured") == [
        (A[1], 1, 100, 10, 100, 1, 1), (A[2], 1, 100, 20, 100, 1, 1),
        (A[3], None, None, None, None, 1, 0)]
    assert (first["total"], first["ranked"]) == (3, 2)
    items, _ = leaderboard(base, platform="Instagram")
    assert ids_ranks(items, "sales", "engagement", "tasks") == [
        (A[1], 1, 100, 5, 1), (A[3], 2, 50, 1, 1)]
    items, _ = leaderboard(base, platform=UNKNOWN, by="reach")
    assert ids_ranks(items, "sales", "reach") == [(A[4], 1, 30, 30)]
    # A brand keeps its memberships (with or without tasks) and their tasks.
    items, _ = leaderboard(base, brand="Beta", by="engagement")
    assert ids_ranks(items, "sales", "engagement", "tasks", "programs") == [
        (A[3], 1, 50, 1, 1, 1), (A[6], None, 70, None, 0, 1)]
    items, _ = leaderboard(base, brand=UNKNOWN)
    assert ids_ranks(items, "sales") == [(A[4], 1, 30)]
    items, _ = leaderboard(base, program=P1)
    assert ids_ranks(items, "sales", "tasks") == [(A[1], 1, 100, 2), (A[2], 1, 100, 1),
                                                  (A[3], None, None, 1)]
    items, _ = leaderboard(base, program=P1.upper(), platform="Instagram", brand="Acme")
    assert ids_ranks(items, "sales", "engagement") == [(A[1], 1, 100, 5)]
    items, first = leaderboard(base, program=UNKNOWN)
    assert (items, first["total"]) == ([], 0)


def test_groups_on_a_small_export(small: tuple[str, Path]) -> None:
    base, _ = small
    keys = ("group", "known", "tasks", "tasks_measured", "engagement", "reach",
            "memberships", "memberships_with_sales", "sales", "rate_rank", "sales_rank")
    items, _ = whole_list(base, f"{API}/breakdown?by=platform&sort=sales")
    assert [tuple(i[k] for k in keys) for i in items] == [
        ("TikTok", True, 3, 2, 30, 200, 3, 2, 200, None, 1),
        ("Instagram", True, 2, 2, 6, 60, 2, 2, 150, None, 2),
        (UNKNOWN, False, 1, 1, 3, 30, 1, 1, 30, None, None)]
    # Too few measured tasks to rank a rate, said in the note.
    assert items[0]["note"] == "rate on 2 measured tasks (< 100): not ranked"
    assert items[2]["note"] == "no platform known: shown, not ranked"
    items, _ = whole_list(base, f"{API}/breakdown?by=brand&sort=sales")
    assert [tuple(i[k] for k in keys) for i in items] == [
        ("Acme", True, 4, 3, 35, 250, 3, 2, 200, None, 1),
        ("Beta", True, 1, 1, 1, 10, 2, 2, 120, None, 2),
        (UNKNOWN, False, 1, 1, 3, 30, 1, 1, 30, None, None)]
    assert [i["sales_share"] for i in items] == [200 / 350, 120 / 350, 30 / 350]
    items, first = whole_list(base, f"{API}/breakdown?by=program&sort=group")
    assert [(i["group"], i["brand"], i["memberships"], i["sales"]) for i in items] == [
        (P1, "Acme", 3, 200), (P2, "Beta", 2, 120), (P3, None, 1, 30)]
    assert first["columns"][-2:] == ["brand", "brands"]


def test_totals_and_options_on_a_small_export(small: tuple[str, Path]) -> None:
    base, _ = small
    totals = fetch(base, f"{API}/totals")
    assert {k: totals[k] for k in ("advocates", "memberships", "memberships_with_sales",
                                   "programs", "brands", "tasks", "tasks_measured",
                                   "engagement", "reach", "sales", "files_loaded",
                                   "files_rejected")} == {
        "advocates": 6, "memberships": 6, "memberships_with_sales": 5, "programs": 3,
        "brands": 2, "tasks": 6, "tasks_measured": 5, "engagement": 39, "reach": 290,
        "sales": 350, "files_loaded": 6, "files_rejected": 0}
    # "NaN" likes, "no-data" sales, a null brand, an "unknown" platform.
    assert totals["data_quality_issues"] == 4
    assert get_json(base, f"{API}/options/platforms") == {
        "options": ["Instagram", "TikTok", UNKNOWN]}
    assert get_json(base, f"{API}/options/brands") == {"options": ["Acme", "Beta", UNKNOWN]}
    assert get_json(base, f"{API}/options/programs") == {"options": [P1, P2, P3]}
    headline = get_json(base, API)["headline"]
    assert headline == ("Top advocates by sales: 2 tie with 100.00 each (28.6% of all "
                        "attributed sales each); the top 10% of the 5 advocates with known "
                        "sales bring 29%.")


def test_a_rate_is_ranked_only_on_enough_measured_tasks(tmp_path: Path) -> None:
    """As the report: on 100 measured tasks or more, measured on half the group's tasks
    or more; the others are listed after the ranked ones, by rate, with the reason."""
    (tmp_path / "in").mkdir()
    for record in (
            advocate(1, program(P1, "Acme", 1.0, *(task("TikTok", 5, 100) for _ in range(120)))),
            advocate(2, program(P2, "Beta", 2.0, *(task("Facebook", 50, 100) for _ in range(20)))),
            advocate(3, program(P3, "Gamma", 3.0, *(task("YouTube", 10, 100) for _ in range(110)),
                                *(task("YouTube", 10, None) for _ in range(140)))),
            advocate(4, program(uid(9004), "Delta", 4.0,
                                *(task("X", 8, 100) for _ in range(150))))):
        (tmp_path / "in" / f"user_{record['user_id']}.json").write_text(json.dumps(record))
    sluice("advocacy", "ingest", "in", cwd=tmp_path)
    with serving(tmp_path / "warehouse.db", cwd=tmp_path) as base:
        items, _ = whole_list(base, f"{API}/breakdown?by=platform")
        assert [(i["group"], i["engagement_rate"], i["rate_rank"], i["rate_not_ranked"],
                 i["note"]) for i in items] == [
            ("X", 0.08, 1, False, None), ("TikTok", 0.05, 2, False, None),
            ("Facebook", 0.5, None, True, "rate on 20 measured tasks (< 100): not ranked"),
            ("YouTube", 0.1, None, True, "measured on 44.0% of its tasks: rate not ranked")]
        assert [i["coverage"] for i in items] == [1.0, 1.0, 1.0, 110 / 250]
        # Sales rank every known group that has sales, whatever its tasks.
        assert [(i["group"], i["sales_rank"]) for i in whole_list(
            base, f"{API}/breakdown?by=brand&sort=sales")[0]] == [
            ("Delta", 1), ("Gamma", 2), ("Beta", 3), ("Acme", 4)]


def test_the_largest_values_the_contract_holds_answer_exactly(tmp_path: Path) -> None:
    """Counts at their bound (10^12) and the largest amount: sums past DECIMAL(18) stay
    exact in every route, where the routes once failed on an overflow."""
    cap = 10**12
    extreme = {"task_id": uid(7), "platform": "TikTok", "post_url": "https://example.com/p",
               "likes": cap, "comments": cap, "shares": cap, "reach": cap}
    tasks = [extreme] * 3400
    (tmp_path / "in").mkdir()
    for record in [advocate(n, program(P1, "Acme", 1.0, *tasks)) for n in range(1, 12)] + [
            advocate(12, program(P1, "Acme", 999999999999.99, *tasks),
                     program(P2, "Beta", 999999999999.99, *tasks))]:
        (tmp_path / "in" / f"user_{record['user_id']}.json").write_text(json.dumps(record))
    sluice("advocacy", "ingest", "in", cwd=tmp_path)
    engagement = 3400 * 3 * cap
    with serving(tmp_path / "warehouse.db", cwd=tmp_path) as base:
        for route in ROUTES:
            fetch(base, f"{API}/{route}")
        totals = fetch(base, f"{API}/totals")
        assert (totals["engagement"], totals["reach"]) == (13 * engagement, 13 * 3400 * cap)
        top = fetch(base, f"{API}/leaderboard?by=engagement&limit=1")["items"][0]
        assert (top["advocate_id"], top["engagement"]) == (uid(12), 2 * engagement)
        by_metric = {i["metric"]: i for i in fetch(base, f"{API}/outliers")["items"]}
        assert by_metric["engagement"]["fence"] == engagement
        assert by_metric["sales"]["sales"] == 2 * Decimal("999999999999.99")


# --- no advocacy data ---------------------------------------------------------------------


ROUTES = ["totals", "leaderboard", "leaderboard?by=reach&platform=TikTok", "breakdown",
          "breakdown?by=program", "options/platforms", "options/brands", "options/programs",
          "outliers", "views/outliers"]


def test_a_warehouse_without_advocacy_data_answers_no_data(tmp_path: Path) -> None:
    sluice("votes", "ingest", str(EXAMPLE), cwd=tmp_path)
    with serving(tmp_path / "warehouse.db", cwd=tmp_path) as base:
        for route in ROUTES:
            answer = get_json(base, f"{API}/{route}", status=404)
            assert list(answer) == ["error"], route
            assert answer["error"].startswith("no data for advocacy in this warehouse yet") or (
                answer["error"].startswith("no data for advocacy's outliers in this warehouse yet")
                and route == "views/outliers"), route
        overview = get_json(base, API)
        assert (overview["last_run"], overview["headline"]) == (None, None)
        assert get(base, "/pipelines/advocacy")[0] == 200


def test_advocacy_tables_without_an_advocate_answer_empty(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "user_broken.json").write_text("this is not JSON")
    sluice("advocacy", "ingest", "in", cwd=tmp_path, expect=None)
    with serving(tmp_path / "warehouse.db", cwd=tmp_path) as base:
        board = fetch(base, f"{API}/leaderboard")
        assert (board["items"], board["total"], board["ranked"]) == ([], 0, 0)
        totals = fetch(base, f"{API}/totals")
        assert (totals["advocates"], totals["sales"], totals["engagement_rate"]) == (
            0, None, None)
        assert totals["files_rejected"] == 1
        assert fetch(base, f"{API}/breakdown")["items"] == []
        assert get_json(base, f"{API}/options/brands") == {"options": []}
        assert get_json(base, API)["headline"] is None


# --- PostgreSQL ---------------------------------------------------------------------------


def test_postgresql_answers_as_duckdb(tmp_path: Path, postgres_url: str) -> None:
    sluice("advocacy", "generate", "export", "--advocates", "400", cwd=tmp_path)
    duck = tmp_path / "w.db"
    pg = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "pgq")}
    sluice("advocacy", "ingest", "export", cwd=tmp_path, env={"SLUICE_WAREHOUSE": str(duck)})
    sluice("advocacy", "ingest", "export", cwd=tmp_path, env=pg)
    data = read(duck)
    brand, program = some_values(data)
    paged = [f"{API}/leaderboard?" + urlencode({"by": by, **extra})
             for by in ("sales", "engagement", "reach")
             for extra in ({}, {"platform": "TikTok"}, {"brand": brand, "platform": UNKNOWN},
                           {"program": program}, {"sort": "name", "order": "asc"})]
    paged += [f"{API}/breakdown?by={by}" for by in ("platform", "brand", "program")]
    paged += [f"{API}/outliers"]
    whole = [f"{API}/totals", f"{API}/options/platforms", f"{API}/options/brands",
             f"{API}/options/programs"]
    with serving(duck, cwd=tmp_path) as on_duckdb, \
            serving(postgres_url, cwd=tmp_path, env=pg) as on_postgres:
        for route in paged:
            answer, _ = whole_list(on_postgres, route, page=150)
            assert answer == whole_list(on_duckdb, route, page=150)[0], route
        for route in whole:
            assert fetch(on_postgres, route) == fetch(on_duckdb, route), route
        board, _ = whole_list(on_postgres, f"{API}/leaderboard?by=sales")
        assert board_of(board) == board_of(expected_board(data, "sales"))
        assert get_json(on_postgres, API)["headline"] == get_json(on_duckdb, API)["headline"]
        # A value PostgreSQL text cannot hold is refused before the query, as on DuckDB.
        assert get_json(on_postgres, f"{API}/leaderboard?brand=a%00b", status=422) == {
            "error": "brand: a value cannot hold a NUL character"}
