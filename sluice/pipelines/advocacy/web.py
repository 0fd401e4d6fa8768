"""Advocacy on the dashboard: the totals; a leaderboard of advocates by sales, engagement
or reach, sortable, filtered by platform, brand and program, a page at a time; engagement
and sales by platform, brand and program; the outlying advocates; the data-quality
summary.

The figures mean what they mean in `sluice advocacy report` (docs/advocacy.md):
engagement and reach are summed over *measured* tasks (likes, comments, shares and reach
known, reach above 0), a rate is Σ engagement / Σ reach over them, sales are summed over
the memberships whose figure is known. A group (platform, brand, program) is ranked by
its rate only when the rate rests on `MIN_TASKS` measured tasks or more, measured on at
least half its tasks; the bucket of tasks (memberships) whose platform, brand or program
is unknown is shown, last, labelled `(unknown)`, and never ranked.

Filters and sales. A task has a platform, a brand and a program; a membership (an
advocate in a program, the unit sales are attributed to) has a brand and a program, but
no platform: its sales are not split by post. So a brand or program filter keeps the
memberships of that brand or program and their tasks; a platform filter keeps the tasks
on that platform and the memberships with at least one of them, each with its *whole*
sales. Those sales are the sales of advocates' programs in which they posted on the
platform, not sales the platform brought: a membership that posted on two platforms
counts under both, so sales by platform overlap and add up to more than all sales.
Nothing is pro-rated by posts: that would invent a split the data does not have.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from sluice.destinations import Result
from sluice.pipelines.advocacy.report import (
    MIN_COVERAGE,
    MIN_TASKS,
    money_text,
    percent,
    short_id,
)
from sluice.warehouse import Warehouse
from sluice.web.answers import (
    ApiError,
    JSONText,
    Limit,
    Offset,
    Options,
    ReadersDep,
    RowsPage,
    answer,
    options,
    sliced,
    sliced_items,
)
from sluice.web.part import Choice, Column, Panel, Series, WebPart
from sluice.web.readers import Readers

UNKNOWN = "(unknown)"  # the label of the bucket whose platform, brand or program is unknown
WHAT = "advocacy"  # what a 404 says there is no data for

Row = dict[str, Any]


# --- parameters --------------------------------------------------------------------------


class Measure(StrEnum):
    """What the leaderboard ranks advocates by."""

    sales = "sales"
    engagement = "engagement"
    reach = "reach"


class SortColumn(StrEnum):
    """The leaderboard's sort columns; `measure` is the one `by` names (its rank)."""

    measure = "measure"
    sales = "sales"
    engagement = "engagement"
    reach = "reach"
    engagement_rate = "engagement_rate"
    tasks = "tasks"
    tasks_measured = "tasks_measured"
    programs = "programs"
    name = "name"
    advocate_id = "advocate_id"


class Order(StrEnum):
    desc = "desc"
    asc = "asc"


class GroupBy(StrEnum):
    platform = "platform"
    brand = "brand"
    program = "program"


class GroupSort(StrEnum):
    """The breakdown's orders; by `engagement_rate` (`sales`) the ranked groups come
    first, then the others of that measure; the unknown bucket is always last."""

    engagement_rate = "engagement_rate"
    sales = "sales"
    engagement = "engagement"
    reach = "reach"
    tasks = "tasks"
    memberships = "memberships"
    group = "group"


class Metric(StrEnum):
    sales = "sales"
    engagement = "engagement"


MAX_VALUE = 2_000  # characters of a filter's value


def _filter(plural: str, singular: str, keeps: str) -> Any:
    return Query(min_length=1, max_length=MAX_VALUE, description=(
        f"An exact value from options/{plural}; `(unknown)` is the bucket with no {singular} "
        f"known. {keeps}"))


Platform = Annotated[str | None, _filter(
    "platforms", "platform", "Keeps the tasks on this platform and the memberships with at "
    "least one of them, each with its whole sales (sales are attributed per membership, "
    "not per post).")]
Brand = Annotated[str | None, _filter(
    "brands", "brand", "Keeps the memberships of this brand and their tasks.")]
Program = Annotated[str | None, _filter(
    "programs", "program", "A program id (a UUID). Keeps the memberships of this program "
    "and their tasks.")]


def program_value(program: str | None) -> str | None:
    """A program filter as the warehouse writes a program id (a UUID in lower case), or
    `(unknown)`; anything else is a 422."""
    if program is None or program == UNKNOWN:
        return program
    try:
        return str(uuid.UUID(program))
    except ValueError:
        raise ApiError(422, f"program: {program!r} is not a program id (a UUID) nor "
                            f"{UNKNOWN!r}; options/programs lists them") from None


# --- totals ------------------------------------------------------------------------------

TOTALS = """
SELECT (SELECT count(*) FROM advocacy.advocates) AS advocates,
       (SELECT count(*) FROM advocacy.memberships) AS memberships,
       (SELECT count(total_sales_attributed) FROM advocacy.memberships)
         AS memberships_with_sales,
       (SELECT count(DISTINCT program_id) FROM advocacy.memberships) AS programs,
       (SELECT count(DISTINCT brand) FROM advocacy.memberships) AS brands,
       (SELECT count(*) FROM advocacy.tasks) AS tasks,
       (SELECT count(rated_reach) FROM advocacy.task_engagement) AS tasks_measured,
       (SELECT CAST(sum(rated_engagement) AS DECIMAL(38, 0)) FROM advocacy.task_engagement)
         AS engagement,
       (SELECT CAST(sum(rated_reach) AS DECIMAL(38, 0)) FROM advocacy.task_engagement) AS reach,
       (SELECT sum(total_sales_attributed) FROM advocacy.memberships) AS sales,
       (SELECT count(*) FROM advocacy.dq_issues) AS data_quality_issues,
       (SELECT count(*) FROM (SELECT DISTINCT entity, record_key FROM advocacy.dq_issues)
          AS flagged) AS records_with_issues
"""
# advocacy.file_summary's outcomes, as the totals name them.
FILE_OUTCOMES = {"clean": "files_clean", "repaired": "files_repaired",
                 "replaced by a later version": "files_replaced",
                 "rejected": "files_rejected", "unreadable": "files_unreadable",
                 "not an advocate file, skipped": "files_skipped"}


class Totals(BaseModel):
    advocates: int
    memberships: int
    memberships_with_sales: int
    programs: int
    brands: int
    tasks: int
    tasks_measured: int
    engagement: int | None
    reach: int | None
    engagement_rate: float | None
    sales: float | None  # every digit kept in the JSON (a decimal number)
    files_loaded: int
    files_clean: int
    files_repaired: int
    files_replaced: int
    files_rejected: int
    files_unreadable: int
    files_skipped: int
    data_quality_issues: int
    records_with_issues: int


def _share(part: Any, whole: Any) -> float | None:
    """part / whole as a float, correctly rounded from the exact numbers."""
    if part is None or whole is None or not whole:
        return None
    return float(Fraction(part) / Fraction(whole))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def totals(warehouse: Warehouse) -> Row:
    row = warehouse.destination.query(TOTALS).dicts()[0]
    files = {FILE_OUTCOMES[outcome]: int(count) for outcome, count in warehouse.destination
             .query("SELECT outcome, files FROM advocacy.file_summary").rows
             if outcome in FILE_OUTCOMES}
    counts = {key: _int(value) for key, value in row.items() if key != "sales"}
    found: Row = {
        **{key: counts[key] for key in ("advocates", "memberships", "memberships_with_sales",
                                        "programs", "brands", "tasks", "tasks_measured",
                                        "engagement", "reach")},
        "engagement_rate": _share(counts["engagement"], counts["reach"]),
        "sales": row["sales"],
        # Every document loaded: the current versions and those a later one replaced.
        "files_loaded": sum(files.get(key, 0) for key in ("files_clean", "files_repaired",
                                                          "files_replaced")),
        **{key: files.get(key, 0) for key in FILE_OUTCOMES.values()},
        "data_quality_issues": counts["data_quality_issues"],
        "records_with_issues": counts["records_with_issues"],
    }
    return found


# --- the leaderboard ---------------------------------------------------------------------

LEADERBOARD_COLUMNS = ["rank", "advocate_id", "name", "sales", "engagement", "reach",
                       "engagement_rate", "tasks", "tasks_measured", "programs",
                       "programs_with_sales"]

# One query: the memberships the filters keep (`chosen`), their tasks the filters keep,
# each advocate's sums over them, the rank by the measure (ties share it; no rank without
# a figure), the place in the chosen order, and the page; the one-row count on the left
# keeps `total` when the page is past the end. {membership_filter}, {task_filter},
# {join}, {measure}, {sort} and {order} are fixed fragments chosen from the parameters'
# enums; values arrive as parameters.
LEADERBOARD = """
WITH chosen AS (
    SELECT m.membership_id, m.advocate_id, m.total_sales_attributed
    FROM advocacy.memberships m
    WHERE {membership_filter}
),
t AS (
    SELECT t.advocate_id, count(*) AS tasks, count(t.rated_reach) AS tasks_measured,
           sum(t.rated_engagement) AS engagement, sum(t.rated_reach) AS reach
    FROM advocacy.task_engagement t JOIN chosen c ON c.membership_id = t.membership_id
    WHERE {task_filter}
    GROUP BY t.advocate_id
),
s AS (
    SELECT advocate_id, count(*) AS programs,
           count(total_sales_attributed) AS programs_with_sales,
           sum(total_sales_attributed) AS sales
    FROM chosen GROUP BY advocate_id
),
board AS (
    SELECT a.advocate_id, a.name, s.sales, CAST(t.engagement AS DECIMAL(38, 0)) AS engagement,
           CAST(t.reach AS DECIMAL(38, 0)) AS reach,
           CAST(t.engagement AS DOUBLE PRECISION)
             / CAST(nullif(t.reach, 0) AS DOUBLE PRECISION) AS engagement_rate,
           coalesce(t.tasks, 0) AS tasks, coalesce(t.tasks_measured, 0) AS tasks_measured,
           coalesce(s.programs, 0) AS programs,
           coalesce(s.programs_with_sales, 0) AS programs_with_sales
    FROM advocacy.advocates a
    {join} s ON s.advocate_id = a.advocate_id
    LEFT JOIN t ON t.advocate_id = a.advocate_id
),
ranked AS (
    SELECT board.*,
           CASE WHEN {measure} IS NOT NULL
                THEN rank() OVER (ORDER BY {measure} DESC NULLS LAST) END AS rank
    FROM board
),
placed AS (
    SELECT ranked.*,
           row_number() OVER (ORDER BY {sort} {order} NULLS LAST, advocate_id) AS place
    FROM ranked
),
counted AS (
    SELECT count(*) AS total, count({measure}) AS ranked FROM ranked
)
SELECT n.total, n.ranked, p.place, {columns}
FROM counted n LEFT JOIN placed p ON p.place > ? AND p.place <= ?
ORDER BY p.place
"""


def _filters(platform: str | None, brand: str | None, program: str | None
             ) -> tuple[str, list[Any], str, list[Any]]:
    """The WHERE conditions (and their parameters) on memberships and on tasks."""
    on_memberships: list[str] = []
    membership_params: list[Any] = []
    on_tasks: list[str] = []
    task_params: list[Any] = []
    if brand is not None:
        on_memberships.append("m.brand IS NULL" if brand == UNKNOWN else "m.brand = ?")
        membership_params += [] if brand == UNKNOWN else [brand]
    if program is not None:
        on_memberships.append("m.program_id IS NULL" if program == UNKNOWN
                              else "CAST(m.program_id AS VARCHAR) = ?")
        membership_params += [] if program == UNKNOWN else [program]
    if platform is not None:
        on_platform = "p.platform IS NULL" if platform == UNKNOWN else "p.platform = ?"
        on_memberships.append("EXISTS (SELECT 1 FROM advocacy.tasks p WHERE "
                              f"p.membership_id = m.membership_id AND {on_platform})")
        membership_params += [] if platform == UNKNOWN else [platform]
        on_tasks.append("t.platform IS NULL" if platform == UNKNOWN else "t.platform = ?")
        task_params += [] if platform == UNKNOWN else [platform]
    return (" AND ".join(on_memberships) or "1 = 1", membership_params,
            " AND ".join(on_tasks) or "1 = 1", task_params)


def leaderboard_query(by: Measure, sort: SortColumn, order: Order, platform: str | None,
                      brand: str | None, program: str | None, limit: int,
                      offset: int) -> tuple[str, list[Any]]:
    membership_filter, membership_params, task_filter, task_params = _filters(
        platform, brand, program)
    filtered = platform is not None or brand is not None or program is not None
    # With a filter, the advocates with a membership it keeps; without, every advocate.
    sql = LEADERBOARD.format(
        membership_filter=membership_filter, task_filter=task_filter,
        join="JOIN" if filtered else "LEFT JOIN", measure=by.value,
        sort=by.value if sort is SortColumn.measure else sort.value, order=order.value.upper(),
        columns=", ".join(f"p.{column}" for column in LEADERBOARD_COLUMNS))
    return sql, [*membership_params, *task_params, offset, offset + limit]


def leaderboard(by: Measure, sort: SortColumn, order: Order, platform: str | None,
                brand: str | None, program: str | None, limit: int, offset: int
                ) -> Callable[[Warehouse], Row]:
    def compute(warehouse: Warehouse) -> Row:
        sql, params = leaderboard_query(by, sort, order, platform, brand, program, limit,
                                        offset)
        result = warehouse.destination.query(sql, params)
        total, ranked = (int(result.rows[0][0]), int(result.rows[0][1])) if result.rows \
            else (0, 0)
        items = [dict(zip(LEADERBOARD_COLUMNS, row[3:], strict=True))
                 for row in result.rows if row[2] is not None]
        for item in items:
            item["advocate_id"] = str(item["advocate_id"])
            item["rank"] = _int(item["rank"])
        return {"columns": LEADERBOARD_COLUMNS, "items": items, "total": total,
                "limit": limit, "offset": offset, "by": by.value, "ranked": ranked,
                "filters": {"platform": platform, "brand": brand, "program": program}}

    return compute


class Leaderboard(RowsPage):
    by: str
    ranked: int  # advocates (of `total`) with the measure known: the ranked ones
    filters: dict[str, str | None]


LEADERBOARD_NOTE = (
    "Ranked by the chosen measure; ties share a rank; an advocate without the figure is "
    "listed, unranked, last. Engagement and reach are over measured tasks (likes, "
    "comments, shares and reach known, reach above 0). Filters: a brand or program keeps "
    "its memberships and their tasks; a platform keeps the tasks on it and the "
    "memberships with at least one such task, each with its whole sales, because sales "
    "are attributed per membership, not per post: with a platform filter, sales are the "
    "sales of programs in which the advocate posted there, not sales the platform "
    "brought.")


# --- engagement and sales by group -------------------------------------------------------

_RATE_SUMS = "tasks, tasks_measured, engagement, reach"
_SALES_SUMS = "memberships, memberships_with_sales, sales"
# A membership counts for each platform it has a task on, with its whole sales.
_SALES_BY_PLATFORM = (
    "SELECT coalesce(p.platform, '(unknown)') AS grp, p.platform IS NOT NULL AS known, "
    "count(*) AS memberships, count(m.total_sales_attributed) AS memberships_with_sales, "
    "sum(m.total_sales_attributed) AS sales "
    "FROM (SELECT DISTINCT membership_id, platform FROM advocacy.tasks) p "
    "JOIN advocacy.memberships m ON m.membership_id = p.membership_id GROUP BY p.platform")
_GROUPS = {
    GroupBy.platform: (f"SELECT platform AS grp, known, {_RATE_SUMS} "
                       "FROM advocacy.engagement_by_platform", _SALES_BY_PLATFORM),
    GroupBy.brand: (f"SELECT brand AS grp, known, {_RATE_SUMS} FROM advocacy.engagement_by_brand",
                    f"SELECT brand AS grp, known, {_SALES_SUMS} FROM advocacy.sales_by_brand"),
    GroupBy.program: (
        "SELECT coalesce(CAST(program_id AS VARCHAR), '(unknown)') AS grp, known, "
        f"{_RATE_SUMS} FROM advocacy.engagement_by_program",
        "SELECT coalesce(CAST(program_id AS VARCHAR), '(unknown)') AS grp, known, "
        f"{_SALES_SUMS} FROM advocacy.sales_by_program"),
}
# Every group with tasks or memberships; a group and the unknown bucket never meet, even
# if a group's value is spelt like the bucket's label (`known` tells them apart).
BREAKDOWN = """
WITH e AS ({engagement}),
s AS ({sales}),
k AS (SELECT grp, known FROM e UNION SELECT grp, known FROM s)
SELECT k.grp, k.known, coalesce(e.tasks, 0) AS tasks,
       coalesce(e.tasks_measured, 0) AS tasks_measured,
       CAST(e.engagement AS DECIMAL(38, 0)) AS engagement, CAST(e.reach AS DECIMAL(38, 0)) AS reach,
       coalesce(s.memberships, 0) AS memberships,
       coalesce(s.memberships_with_sales, 0) AS memberships_with_sales, s.sales{extra}
FROM k LEFT JOIN e ON e.grp = k.grp AND e.known = k.known
LEFT JOIN s ON s.grp = k.grp AND s.known = k.known{join}
ORDER BY k.known DESC, k.grp
"""
_PROGRAM_BRAND = (", b.brand, coalesce(b.brands, 0) AS brands",
                  "\nLEFT JOIN advocacy.program_brands b "
                  "ON k.known AND CAST(b.program_id AS VARCHAR) = k.grp")

BREAKDOWN_COLUMNS = ["group", "label", "known", "tasks", "tasks_measured", "coverage",
                     "engagement", "reach", "engagement_rate", "rate_rank",
                     "rate_not_ranked", "memberships", "memberships_with_sales", "sales",
                     "sales_share", "sales_rank", "sales_not_ranked", "note"]


def _rank(rows: list[Row], key: str, eligible: Callable[[Row], bool], into: str) -> None:
    """`into`: the rank of each eligible row by `key`, highest first (ties share it);
    None for the others."""
    chosen = sorted((r for r in rows if eligible(r)), key=lambda r: -r[key])
    previous, rank = None, 0
    for place, row in enumerate(chosen, start=1):
        if row[key] != previous:
            rank, previous = place, row[key]
        row[into] = rank
    for row in rows:
        row.setdefault(into, None)


def _note(row: Row, by: GroupBy) -> str | None:
    notes = []
    if not row["known"]:
        notes.append(f"no {by.value} known: shown, not ranked")
    elif row["engagement_rate"] is None:
        notes.append("no measured task: rate not ranked")
    else:
        if row["tasks_measured"] < MIN_TASKS:
            notes.append(f"rate on {row['tasks_measured']:,} measured tasks "
                         f"(< {MIN_TASKS:,}): not ranked")
        if (row["coverage"] or 0) < MIN_COVERAGE:
            notes.append(f"measured on {percent(row['coverage'])} of its tasks: "
                         "rate not ranked")
    if row["known"] and row["sales"] is None:
        notes.append("no sales known")
    if row.get("brands", 0) > 1:
        notes.append(f"its memberships name {row['brands']} brands")
    return "; ".join(notes) or None


def breakdown_rows(warehouse: Warehouse, by: GroupBy) -> list[Row]:
    """Every group of `by`, with its rate and sales ranks, in the warehouse's order
    (known groups by name, the unknown bucket last)."""
    engagement, sales = _GROUPS[by]
    extra, join = _PROGRAM_BRAND if by is GroupBy.program else ("", "")
    rows = warehouse.destination.query(BREAKDOWN.format(
        engagement=engagement, sales=sales, extra=extra, join=join)).dicts()
    whole = warehouse.destination.scalar(
        "SELECT sum(total_sales_attributed) FROM advocacy.memberships")
    items = []
    for row in rows:
        group, known = str(row["grp"]), bool(row["known"])
        item: Row = {"group": group, "known": known,
                     "label": group if by is not GroupBy.program or not known
                     else short_id(group) + (f" ({row['brand']})" if row["brand"] else "")}
        for key in ("tasks", "tasks_measured", "engagement", "reach", "memberships",
                    "memberships_with_sales"):
            item[key] = _int(row[key])
        item["sales"] = row["sales"]
        item["coverage"] = _share(item["tasks_measured"], item["tasks"])
        item["engagement_rate"] = _share(item["engagement"], item["reach"])
        item["sales_share"] = _share(item["sales"], whole)
        if by is GroupBy.program:
            item["brand"], item["brands"] = row["brand"], int(row["brands"])
        items.append(item)
    _rank(items, "engagement_rate", lambda r: r["known"] and r["engagement_rate"] is not None
          and r["tasks_measured"] >= MIN_TASKS and (r["coverage"] or 0) >= MIN_COVERAGE,
          "rate_rank")
    _rank(items, "sales", lambda r: r["known"] and r["sales"] is not None, "sales_rank")
    for item in items:
        item["rate_not_ranked"] = item["rate_rank"] is None
        item["sales_not_ranked"] = item["sales_rank"] is None
        item["note"] = _note(item, by)
    return items


def _order(items: list[Row], sort: GroupSort) -> list[Row]:
    """Known groups first; by a rate or sales, the ranked ones first, by rank; then by the
    column, highest first (no figure last), then by name; the unknown bucket last."""
    def key(row: Row) -> tuple[Any, ...]:
        if sort is GroupSort.group:
            return (not row["known"], row["group"])
        column = sort.value
        rank = {"engagement_rate": "rate_rank", "sales": "sales_rank"}.get(column)
        value = row[column]
        return (not row["known"], rank is not None and row[rank] is None, value is None,
                -(value or 0), row["group"])

    return sorted(items, key=key)


def breakdown(by: GroupBy, sort: GroupSort) -> Callable[[Warehouse], list[Row]]:
    def compute(warehouse: Warehouse) -> list[Row]:
        return _order(breakdown_rows(warehouse, by), sort)

    return compute


class Breakdown(RowsPage):
    by: str
    sort: str


BREAKDOWN_NOTE = (
    f"Engagement rate = Σ engagement / Σ reach over measured tasks; ranked only on "
    f"{MIN_TASKS:,} measured tasks or more, measured on at least "
    f"{percent(MIN_COVERAGE, 0)} of the group's tasks (red: not ranked). Sales by platform: "
    "a membership counts, with its whole sales, under each platform it posted on, so "
    "platforms overlap and add up to more than all sales; the (unknown) bucket is last, "
    "never ranked.")


# --- outlying advocates ------------------------------------------------------------------

OUTLIERS = """
SELECT o.metric, o.advocate_id, o.name, a.sales, CAST(a.engagement AS DECIMAL(38, 0)) AS engagement,
       CAST(o.fence AS DECIMAL(38, 2)) AS fence
FROM advocacy.outliers o JOIN advocacy.engagement_by_advocate a
  ON a.advocate_id = o.advocate_id
{where}
ORDER BY o.metric, o.value DESC, o.advocate_id
"""


def outliers(metric: Metric | None) -> Callable[[Warehouse], Result]:
    def compute(warehouse: Warehouse) -> Result:
        if metric is None:
            return warehouse.destination.query(OUTLIERS.format(where=""))
        return warehouse.destination.query(OUTLIERS.format(where="WHERE o.metric = ?"),
                                           [metric.value])

    return compute


# --- the headline -----------------------------------------------------------------------

HEADLINE = """
WITH s AS (
    SELECT advocate_id, name, sales, rank() OVER (ORDER BY sales DESC) AS r,
           row_number() OVER (ORDER BY sales DESC, advocate_id) AS place,
           count(*) OVER () AS n
    FROM advocacy.engagement_by_advocate WHERE sales IS NOT NULL
)
SELECT max(n), sum(sales), sum(CASE WHEN 10 * (place - 1) < n THEN sales END),
       count(CASE WHEN r = 1 THEN 1 END), max(CASE WHEN place = 1 THEN sales END),
       max(CASE WHEN place = 1 THEN coalesce(name, advocate_id) END)
FROM s
"""


def headline(warehouse: Warehouse) -> str | None:
    """The top advocate by sales and how concentrated sales are."""
    advocates, whole, top_tenth, leaders, best, name = (
        warehouse.destination.query(HEADLINE).rows[0])
    if not advocates or not whole:
        return None
    share = percent(_share(best, whole))
    if leaders == 1:
        top = (f"Top advocate by sales: {name} with {money_text(best)} ({share} of all "
               "attributed sales)")
    else:
        top = (f"Top advocates by sales: {int(leaders):,} tie with {money_text(best)} each "
               f"({share} of all attributed sales each)")
    return (f"{top}; the top 10% of the {int(advocates):,} advocates with known sales "
            f"bring {percent(_share(top_tenth, whole), 0)}.")


# --- the routes --------------------------------------------------------------------------

OPTIONS = {
    "platforms": "SELECT DISTINCT platform FROM advocacy.tasks",
    "brands": "SELECT DISTINCT brand FROM advocacy.memberships",
    "programs": "SELECT DISTINCT CAST(program_id AS VARCHAR) FROM advocacy.memberships",
}


def option_values(kind: str) -> Callable[[Warehouse], dict[str, list[str]]]:
    """Known values in order, then `(unknown)` when some have none."""
    def compute(warehouse: Warehouse) -> dict[str, list[str]]:
        values = [row[0] for row in warehouse.destination.query(OPTIONS[kind]).rows]
        known = sorted(str(v) for v in values if v is not None)
        return options(list(dict.fromkeys(
            [*known, *([UNKNOWN] if any(v is None for v in values) else [])])))

    return compute


def options_route(kind: str) -> Callable[[Readers], JSONText]:
    def values(source: ReadersDep) -> JSONText:
        return JSONText(answer(source, ("advocacy", "options", kind), option_values(kind),
                               WHAT))

    return values


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/totals", response_model=Totals, response_class=JSONText,
             summary="Advocacy at a glance: records, figures, files, data quality")
    def advocacy_totals(source: ReadersDep) -> JSONText:
        """Advocates, memberships, programs and brands (distinct, among memberships),
        tasks and measured tasks; engagement, reach and their rate over measured tasks;
        sales attributed (over memberships whose figure is known); the documents loaded
        (current, repaired, replaced by a later version) and those rejected, unreadable
        or skipped; data-quality issues and the records with one."""
        return JSONText(answer(source, ("advocacy", "totals"), totals, WHAT))

    @api.get("/leaderboard", response_model=Leaderboard, response_class=JSONText,
             summary="Advocates ranked by sales, engagement or reach, filtered and sorted")
    def advocacy_leaderboard(
            source: ReadersDep,
            by: Annotated[Measure, Query(description="The measure ranked.")] = Measure.sales,
            sort: Annotated[SortColumn, Query(description=(
                "The column sorted by; `measure`: the one `by` names."))] = SortColumn.measure,
            order: Annotated[Order, Query(description=(
                "Of the sort column's values; advocates without a value are last either "
                "way, ties by advocate id."))] = Order.desc,
            platform: Platform = None, brand: Brand = None, program: Program = None,
            limit: Limit = 20, offset: Offset = 0) -> JSONText:
        """Every advocate (with a filter: every advocate with a membership it keeps),
        with `rank` by `by` (ties share a rank; none without the figure), sales,
        engagement, reach and rate, tasks and measured tasks, programs (memberships) and
        those with known sales, computed over what the filters keep: a brand or program
        keeps its memberships and their tasks; a platform keeps the tasks on it and the
        memberships with at least one such task, each with its **whole** sales, since
        sales are attributed per membership, not per post. With a platform filter, sales
        are those of the advocate's programs in which they posted on that platform, not
        sales the platform brought. `total`: the advocates listed; `ranked`: those with
        the measure known."""
        chosen = program_value(program)
        key = ("advocacy", "leaderboard", by, sort, order, platform, brand, chosen, limit,
               offset)
        return JSONText(answer(source, key, leaderboard(
            by, sort, order, platform, brand, chosen, limit, offset), WHAT))

    for kind in OPTIONS:
        api.add_api_route(
            f"/options/{kind}", options_route(kind), methods=["GET"], response_model=Options,
            response_class=JSONText, name=f"advocacy_{kind}", summary=(
                f"The {kind} to filter by: known ones in order, then {UNKNOWN} when some "
                "records have none"))

    @api.get("/breakdown", response_model=Breakdown, response_class=JSONText,
             summary="Engagement and sales by platform, brand or program")
    def advocacy_breakdown(
            source: ReadersDep,
            by: Annotated[GroupBy, Query(description="The groups.")] = GroupBy.platform,
            sort: Annotated[GroupSort, Query(description=(
                "The order: by a rate or sales, the ranked groups first."))]
            = GroupSort.engagement_rate,
            limit: Limit = 100, offset: Offset = 0) -> JSONText:
        """Per group: tasks, measured tasks and coverage, engagement, reach and the
        engagement rate over measured tasks (`rate_rank` when the rate rests on
        enough measured tasks, measured on at least half of the group's tasks), and
        sales attributed over its memberships (`sales_rank`). By platform, a membership
        counts with its whole sales under each platform it has a task on (sales are
        per membership, not per post), so platforms overlap. The bucket of records with
        no platform, brand or program known is last, `known` false, never ranked."""
        rows = answer(source, ("advocacy", "breakdown", by, sort), breakdown(by, sort), WHAT)
        columns = BREAKDOWN_COLUMNS + (["brand", "brands"] if by is GroupBy.program else [])
        return JSONText({**sliced_items(columns, rows, limit, offset), "by": by.value,
                         "sort": sort.value})

    @api.get("/outliers", response_model=RowsPage, response_class=JSONText,
             summary="The outlying advocates: sales or engagement above Q3 + 3 IQR")
    def advocacy_outliers(
            source: ReadersDep,
            metric: Annotated[Metric | None, Query(description="Sales or engagement; "
                                                   "both when absent.")] = None,
            limit: Limit = 50, offset: Offset = 0) -> JSONText:
        """Advocates whose total sales (engagement over measured tasks) is above Tukey's
        far-out fence, Q3 + 3 x IQR of all advocates' totals; by metric, largest first."""
        rows = answer(source, ("advocacy", "outliers", metric), outliers(metric), WHAT)
        return JSONText(sliced(rows, limit, offset))

    return api


def _views(name: str) -> str:
    return f"views/{name}"


PART = WebPart(
    panels=(
        Panel("stats", "advocacy at a glance", "totals"),
        Panel("table", "advocates", "leaderboard", columns=(
            Column("rank", format="number"), Column("name"),
            Column("advocate_id", "advocate id"), Column("sales", format="number"),
            Column("engagement", format="number"), Column("reach", format="number"),
            Column("engagement_rate", "engagement rate", format="percent"),
            Column("tasks", format="number"),
            Column("tasks_measured", "measured tasks", format="number"),
            Column("programs", format="number")),
            controls=(
                Choice("by", "rank by", tuple(m.value for m in Measure), default="sales"),
                Choice("platform", "platform", options_from="options/platforms"),
                Choice("brand", "brand", options_from="options/brands"),
                Choice("program", "program", options_from="options/programs"),
                Choice("sort", "sort by", tuple(s.value for s in SortColumn),
                       default="measure"),
                Choice("order", "order", tuple(o.value for o in Order), default="desc")),
            page_size=20, note=LEADERBOARD_NOTE),
        Panel("chart", "engagement rate by group", "breakdown?sort=engagement_rate",
              controls=(Choice("by", "by", tuple(g.value for g in GroupBy),
                               default="platform"),),
              x="label", series=(Series("engagement_rate", "engagement rate",
                                        highlight="rate_not_ranked"),),
              note=BREAKDOWN_NOTE),
        Panel("chart", "sales by group", "breakdown?sort=sales",
              controls=(Choice("by", "by", tuple(g.value for g in GroupBy),
                               default="brand"),),
              x="label", series=(Series("sales", "sales attributed",
                                        highlight="sales_not_ranked"),)),
        Panel("table", "engagement and sales by group", "breakdown", columns=(
            Column("label", "group"), Column("tasks", format="number"),
            Column("tasks_measured", "measured tasks", format="number"),
            Column("coverage", format="percent"), Column("engagement", format="number"),
            Column("reach", format="number"),
            Column("engagement_rate", "engagement rate", format="percent"),
            Column("rate_rank", "rate rank", format="number"),
            Column("memberships", format="number"), Column("sales", format="number"),
            Column("sales_share", "share of sales", format="percent"),
            Column("sales_rank", "sales rank", format="number"), Column("note")),
            controls=(Choice("by", "by", tuple(g.value for g in GroupBy), default="platform"),
                      Choice("sort", "sort by", tuple(s.value for s in GroupSort),
                             default="engagement_rate"))),
        Panel("table", "outliers (above Q3 + 3 IQR)", _views("outliers")),
        Panel("table", "outlying advocates", "outliers", columns=(
            Column("metric"), Column("name"), Column("advocate_id", "advocate id"),
            Column("sales", format="number"), Column("engagement", format="number"),
            Column("fence", format="number")),
            controls=(Choice("metric", "metric", tuple(m.value for m in Metric)),)),
        Panel("table", "data-quality issues, by rule", _views("data_quality_issues")),
        Panel("table", "data quality by field", _views("data_quality_by_field")),
        Panel("table", "data quality by platform", _views("data_quality_by_platform")),
    ),
    router=router, headline=headline, views_shown=False)
