"""`sluice advocacy report`: what a marketing team asks first (who the best advocates
are; which platforms, brands and programs perform; whether engagement goes with sales),
each answer with its figure and how sure it is, then the evidence, section by section.

The views (`advocacy.VIEWS`) give exact counts and sums; this module derives the rates,
shares, confidence intervals, ranks and notes from them in Python, from those exact
numbers, so that the answers are the same on every engine, bit for bit. Every list is
cut to the top N (`--top`, default 10; `--all` for every row) and says what it left out
(the rows, and their totals); a bucket of records whose platform, brand or program is
unknown is always shown, last, and never ranked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from statistics import NormalDist
from typing import Any

from sluice.pipelines.advocacy import PIPELINE
from sluice.registry import View
from sluice.warehouse import Warehouse

TOP = 10  # rows of each list, unless --top N or --all
# A rate resting on fewer measured tasks than this is flagged and not ranked: a floor
# that keeps out rates that are an anecdote of a few dozen posts. It is no guarantee: in
# generated data with 1% viral posts a platform's rate over 100 random tasks still
# ranges over ±28-44% of the true rate, over 1,000 tasks ±18-24% (docs/advocacy.md,
# "How sure"); the interval says how sure each rate is, --min-tasks moves the bar.
MIN_TASKS = 100
# ... and so is one measured on less than this share of its group's tasks: the tasks
# with a figure may not be like those without one.
MIN_COVERAGE = 0.5
# A note when one post carries this share of a group's reach or more: its rate is
# then mostly that post's.
DOMINANT_POST = 0.25
CONFIDENCE = 0.95
_Z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)
_CENT = Decimal("0.01")

Row = dict[str, Any]


@dataclass(frozen=True)
class Settings:
    """How the report is cut and what it trusts."""

    top: int | None = TOP  # None: every row
    min_tasks: int = MIN_TASKS

    def as_dict(self) -> Row:
        return {"top": self.top, "min_tasks_measured": self.min_tasks,
                "min_coverage": MIN_COVERAGE, "dominant_post_share": DOMINANT_POST,
                "confidence": CONFIDENCE}


@dataclass
class Section:
    """One view of the report: the rows it shows, and what it left out (`more`: how
    many rows, and the totals of their additive columns)."""

    view: View
    columns: list[str]
    rows: list[Row]
    more: Row
    more_line: str = ""  # the text line for what was left out, "" when nothing was
    every: list[Row] = field(default_factory=list)  # every row, for the findings


@dataclass
class Report:
    settings: Settings
    totals: Row
    sections: list[Section] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    headline: str = ""

    def section(self, name: str) -> Section:
        return next(s for s in self.sections if s.view.name == name)

    def as_json(self) -> Row:
        """Each view's rows under its name, what each left out under `more`, the
        settings and totals, and the findings."""
        payload: Row = {s.view.name: [{c: row.get(c) for c in s.columns} for row in s.rows]
                        for s in self.sections}
        payload["more"] = {s.view.name: s.more for s in self.sections}
        payload["settings"] = self.settings.as_dict()
        payload["totals"] = self.totals
        payload["findings"] = list(self.findings)
        return payload


def build_report(warehouse: Warehouse, settings: Settings | None = None) -> Report:
    settings = settings or Settings()
    views = {view.name: view for view in PIPELINE.views}
    report = Report(settings, _totals(warehouse))
    for name, build in _SECTIONS.items():
        report.sections.append(build(warehouse, views[name], settings, report.totals))
    report.findings = _findings(report)
    report.headline = _headline(report)
    return report


def _totals(warehouse: Warehouse) -> Row:
    row = warehouse.destination.query(
        "SELECT (SELECT count(*) FROM advocacy.advocates), "
        "(SELECT count(*) FROM advocacy.memberships), "
        "(SELECT count(total_sales_attributed) FROM advocacy.memberships), "
        "(SELECT sum(total_sales_attributed) FROM advocacy.memberships), "
        "(SELECT count(*) FROM advocacy.tasks), "
        "(SELECT count(*) FROM advocacy.task_engagement WHERE measured)").rows[0]
    advocates, memberships, with_sales, sales, tasks, measured = row
    return {"advocates": int(advocates), "memberships": int(memberships),
            "memberships_with_sales": int(with_sales), "sales": sales,
            "tasks": int(tasks), "tasks_measured": int(measured)}


# --- arithmetic on exact numbers ----------------------------------------------------------


def _fraction(value: Any) -> Fraction:
    return Fraction(value) if isinstance(value, int | Decimal) else Fraction(str(value))


def _share(part: Any, whole: Any) -> float | None:
    """part / whole as a float, correctly rounded from the exact numbers."""
    if part is None or whole is None or not whole:
        return None
    return float(_fraction(part) / _fraction(whole))


def _rate_interval(row: Row) -> tuple[float | None, float | None, float | None]:
    """A group's engagement rate (Σ engagement / Σ reach over its measured tasks) and its
    confidence interval: the delta method for a ratio of sums, each task one unit,
    Var(R) = Σ (e - R r)² / (n (n - 1) r̄²), from the exact sums of squares."""
    n, engagement, reach = row["tasks_measured"], row["engagement"], row["reach"]
    if not n or not reach:
        return None, None, None
    rate = _fraction(engagement) / _fraction(reach)
    if n < 2:
        return float(rate), None, None
    squares = (_fraction(row["engagement_squares"])
               - 2 * rate * _fraction(row["engagement_reach_products"])
               + rate * rate * _fraction(row["reach_squares"]))
    variance = squares * n / ((n - 1) * _fraction(reach) ** 2)
    margin = _Z * math.sqrt(max(float(variance), 0.0))
    return float(rate), max(float(rate) - margin, 0.0), float(rate) + margin


def _mean_interval(total: Any, squares: Any, n: int
                   ) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """The mean of n amounts to the cent, and its confidence interval (normal)."""
    if not n or total is None:
        return None, None, None
    mean = _fraction(total) / n
    cents = Decimal(mean.numerator) / Decimal(mean.denominator)
    mean_cents = cents.quantize(_CENT, ROUND_HALF_UP)
    if n < 2 or squares is None:
        return mean_cents, None, None
    variance = (_fraction(squares) - n * mean * mean) / (n - 1)
    margin = Decimal(repr(_Z * math.sqrt(max(float(variance), 0.0) / n)))
    low = max(cents - margin, Decimal(0)).quantize(_CENT, ROUND_HALF_UP)
    return mean_cents, low, (cents + margin).quantize(_CENT, ROUND_HALF_UP)


def _ranked(rows: list[Row], key: str, eligible: Callable[[Row], bool]) -> list[Row]:
    """Rows in report order: the eligible ones by `key`, highest first, ranked (ties
    share a rank); then the others by `key` (unranked); the unknown bucket last."""
    def order(row: Row) -> tuple[Any, ...]:
        value = row[key]
        return (value is None, -(value or 0), str(row.get("label") or ""))

    first = sorted((r for r in rows if r.get("known", True) and eligible(r)), key=order)
    rest = sorted((r for r in rows if r.get("known", True) and not eligible(r)), key=order)
    unknown = [r for r in rows if not r.get("known", True)]
    rank, previous = 0, None
    for place, row in enumerate(first, start=1):
        if place == 1 or row[key] != previous:
            rank = place
        row["rank"], previous = rank, row[key]
    for row in [*rest, *unknown]:
        row["rank"] = None
    return [*first, *rest, *unknown]


def _cut(rows: list[Row], top: int | None, sums: Sequence[str]) -> tuple[list[Row], Row]:
    """The rows a list shows: the first `top` (and any row tied with the last of them),
    then the unknown bucket whatever its place; and what it left out."""
    if top is None:
        return rows, _more([], sums)
    pinned = [r for r in rows if not r.get("known", True)]
    ordered = [r for r in rows if r.get("known", True)]
    end = min(top, len(ordered))
    last_rank = ordered[end - 1].get("rank") if end else None
    while end < len(ordered) and last_rank is not None and ordered[end].get("rank") == last_rank:
        end += 1
    return [*ordered[:end], *pinned], _more(ordered[end:], sums)


def _more(hidden: list[Row], sums: Sequence[str]) -> Row:
    more: Row = {"rows": len(hidden)}
    for key in sums:
        values = [r[key] for r in hidden if r.get(key) is not None]
        more[key] = sum(values) if values else (0 if not hidden else None)
    return more


# --- the sections ---------------------------------------------------------------------------

SectionBuilder = Callable[[Warehouse, View, Settings, Row], Section]


def _rows(warehouse: Warehouse, view: View) -> list[Row]:
    return view.query(warehouse).dicts()


def _files(warehouse: Warehouse, view: View, settings: Settings, totals: Row) -> Section:
    every = _rows(warehouse, view)
    rows, more = _cut(every, settings.top, ["files"])
    line = f"… {more['rows']:,} more outcomes ({more['files']:,} files)" if more["rows"] else ""
    return Section(view, ["outcome", "files"], rows, more, line, every)


_ADVOCATE_MEASURES = {
    "top_advocates_by_sales": ("sales", ["rank", "name", "advocate_id", "sales", "sales_share",
                                         "programs", "programs_with_sales"]),
    "top_advocates_by_engagement": ("engagement", [
        "rank", "name", "advocate_id", "engagement", "engagement_rate", "reach", "tasks",
        "tasks_measured"]),
    "top_advocates_by_reach": ("reach", ["rank", "name", "advocate_id", "reach", "engagement",
                                         "engagement_rate", "tasks", "tasks_measured"]),
}


def _advocates(warehouse: Warehouse, view: View, settings: Settings, totals: Row) -> Section:
    """Advocates ranked by a measure; the cut is made in the warehouse (there may be
    millions), and the rest is counted and summed there."""
    measure, columns = _ADVOCATE_MEASURES[view.name]
    destination = warehouse.destination
    if settings.top is None:
        rows = _rows(warehouse, view)
        hidden, hidden_sum = 0, None
    else:
        rows = destination.query(f"SELECT * FROM ({view.sql}) AS ranked WHERE rank <= ? "
                                 "ORDER BY rank, advocate_id", [settings.top]).dicts()
        hidden, hidden_sum = destination.query(
            f"SELECT count(*), sum({measure}) FROM ({view.sql}) AS ranked WHERE rank > ?",
            [settings.top]).rows[0]
    ranked = destination.scalar(f"SELECT count(*) FROM advocacy.engagement_by_advocate "
                                f"WHERE {measure} IS NOT NULL")
    whole = destination.scalar(f"SELECT sum({measure}) FROM advocacy.engagement_by_advocate")
    for row in rows:
        row["advocate_id"] = str(row["advocate_id"])
        if measure == "sales":
            row["sales_share"] = _share(row["sales"], whole)
        else:
            row["engagement_rate"] = _share(row["engagement"], row["reach"])
    more: Row = {"rows": int(hidden), measure: hidden_sum if hidden else 0,
                 f"{measure}_share": _share(hidden_sum, whole) if hidden else 0.0,
                 "not_ranked": totals["advocates"] - int(ranked)}
    noun = {"sales": "with known sales", "engagement": "with a measured task",
            "reach": "with a measured task"}[measure]
    parts = []
    if hidden:
        amount = money_text(hidden_sum) if measure == "sales" else count_text(hidden_sum)
        parts.append(f"… {int(hidden):,} more advocates {noun}: {amount} "
                     f"({percent(more[f'{measure}_share'])} of all)")
    if more["not_ranked"]:
        parts.append(f"{more['not_ranked']:,} advocates with no {measure} known are not ranked")
    line = "; ".join(parts) + ("; --all lists every advocate" if hidden else "")
    return Section(view, columns, rows, more, line, rows)


def _concentration(warehouse: Warehouse, view: View, settings: Settings,
                   totals: Row) -> Section:
    every = _rows(warehouse, view)
    for row in every:
        row["sales_share"] = _share(row["sales"], row["all_sales"])
    rows, more = _cut(every, settings.top, [])
    line = f"… {more['rows']:,} more groups" if more["rows"] else ""
    return Section(view, ["top_group", "advocates", "sales", "sales_share"], rows, more, line,
                   every)


LABELS = {"engagement_by_platform": ("platform", "platforms", "platform"),
          "engagement_by_brand": ("brand", "brands", "brand"),
          "engagement_by_program": ("program_id", "programs", "program id"),
          "sales_by_brand": ("brand", "brands", "brand"),
          "sales_by_program": ("program_id", "programs", "program id")}
_RATE_COLUMNS = ["tasks", "tasks_measured", "coverage", "engagement", "reach",
                 "engagement_rate", "engagement_rate_low", "engagement_rate_high",
                 "largest_post_share", "known", "note"]
_SALES_COLUMNS = ["memberships", "memberships_with_sales", "coverage", "sales", "sales_share",
                  "sales_per_membership", "sales_per_membership_low",
                  "sales_per_membership_high", "advocates", "known", "note"]


def _engagement_groups(warehouse: Warehouse, view: View, settings: Settings,
                       totals: Row) -> Section:
    """Groups of tasks ranked by engagement rate, among those whose rate rests on enough
    measured tasks, measured on enough of their tasks; the others are listed after them,
    unranked, with the reason."""
    label, plural, word = LABELS[view.name]
    rows = _rows(warehouse, view)
    for row in rows:
        row["label"] = row[label]
        row["coverage"] = _share(row["tasks_measured"], row["tasks"])
        row["engagement_rate"], row["engagement_rate_low"], row["engagement_rate_high"] = (
            _rate_interval(row))
        row["largest_post_share"] = _share(row["largest_reach"], row["reach"])
        row["note"] = _rate_note(row, settings, word)
    rows = _ranked(rows, "engagement_rate", lambda r: _trusted(r, settings))
    shown, more = _cut(rows, settings.top, ["tasks", "tasks_measured", "engagement", "reach"])
    columns = ["rank", label, *(["brand", "brands"] if label == "program_id" else []),
               *_RATE_COLUMNS]
    line = ""
    if more["rows"]:
        line = (f"… {more['rows']:,} more {plural}: {more['tasks']:,} tasks, "
                f"{more['tasks_measured']:,} measured; --all lists them")
    return Section(view, columns, shown, more, line, rows)


def _trusted(row: Row, settings: Settings) -> bool:
    return (row["engagement_rate"] is not None and row["tasks_measured"] >= settings.min_tasks
            and (row["coverage"] or 0) >= MIN_COVERAGE)


def _rate_note(row: Row, settings: Settings, word: str) -> str | None:
    notes = []
    if not row["known"]:
        notes.append(f"no {word} known: not ranked")
    elif row["engagement_rate"] is None:
        notes.append("no measured task: not ranked")
    else:
        if row["tasks_measured"] < settings.min_tasks:
            notes.append(f"rate on {row['tasks_measured']:,} tasks "
                         f"(< {settings.min_tasks:,}): not ranked")
        if (row["coverage"] or 0) < MIN_COVERAGE:
            notes.append(f"measured on {percent(row['coverage'])} of tasks: not ranked")
    if row["largest_post_share"] is not None and row["largest_post_share"] >= DOMINANT_POST:
        notes.append(f"one post has {percent(row['largest_post_share'], 0)} of the reach")
    if row.get("brands", 0) > 1:
        notes.append(f"its memberships name {row['brands']} brands")
    return "; ".join(notes) or None


def _sales_groups(warehouse: Warehouse, view: View, settings: Settings,
                  totals: Row) -> Section:
    """Groups of memberships ranked by the sales attributed to them (a sum: every known
    group is ranked); the sales per membership with its interval say how they compare."""
    label, plural, word = LABELS[view.name]
    rows = _rows(warehouse, view)
    for row in rows:
        row["label"] = row[label]
        row["coverage"] = _share(row["memberships_with_sales"], row["memberships"])
        row["sales_share"] = _share(row["sales"], totals["sales"])
        row["sales_per_membership"], row["sales_per_membership_low"], \
            row["sales_per_membership_high"] = _mean_interval(
                row["sales"], row["sales_squares"], row["memberships_with_sales"])
        notes = []
        if not row["known"]:
            notes.append(f"no {word} known: not ranked")
        elif row["sales"] is None:
            notes.append("no sales known: not ranked")
        elif (row["coverage"] or 0) < MIN_COVERAGE:
            notes.append(f"sales known for {percent(row['coverage'])} of memberships")
        if row.get("brands", 0) > 1:
            notes.append(f"its memberships name {row['brands']} brands")
        row["note"] = "; ".join(notes) or None
    rows = _ranked(rows, "sales", lambda r: r["sales"] is not None)
    shown, more = _cut(rows, settings.top, ["memberships", "memberships_with_sales", "sales"])
    shown_ids = {id(r) for r in shown}
    more["single_membership"] = sum(1 for r in rows if id(r) not in shown_ids
                                    and r["memberships"] == 1)
    more["sales_share"] = _share(more["sales"], totals["sales"]) if more["rows"] else 0.0
    columns = ["rank", label, *(["brand", "brands"] if label == "program_id" else []),
               *_SALES_COLUMNS]
    line = ""
    if more["rows"]:
        single = (f" ({more['single_membership']:,} of them with one membership)"
                  if more["single_membership"] else "")
        line = (f"… {more['rows']:,} more {plural}{single}: {more['memberships']:,} "
                f"memberships, {money_text(more['sales'])} of sales "
                f"({percent(more['sales_share'])}); --all lists them")
    return Section(view, columns, shown, more, line, rows)


def _correlation(warehouse: Warehouse, view: View, settings: Settings,
                 totals: Row) -> Section:
    """Spearman's rank correlation and Pearson's between engagement and sales, for
    memberships (the unit sales are attributed to) and for advocates, with a 95%
    interval and a p-value from Fisher's z = atanh(r), whose variance is 1 / (n - 3) for
    Pearson's r and 1.06 / (n - 3) for Spearman's (Fieller, Hartley and Pearson 1957)."""
    pairs: dict[str, tuple[list[float], list[float]]] = {}
    for unit, engagement, sales in view.query(warehouse).rows:
        xs, ys = pairs.setdefault(str(unit), ([], []))
        xs.append(float(engagement))
        ys.append(float(sales))
    rows = []
    for unit in ("memberships", "advocates"):
        xs, ys = pairs.get(unit, ([], []))
        for measure, coefficient, spread in (
                ("spearman_rho", _pearson(_ranks(xs), _ranks(ys)), 1.06),
                ("pearson_r", _pearson(xs, ys), 1.0)):
            rows.append({"unit": unit, "measure": measure, "n": len(xs),
                         "coefficient": coefficient,
                         **_fisher(coefficient, len(xs), spread)})
    shown, more = _cut(rows, settings.top, [])
    line = f"… {more['rows']:,} more coefficients" if more["rows"] else ""
    return Section(view, ["unit", "measure", "n", "coefficient", "low", "high", "p_value"],
                   shown, more, line, rows)


def _ranks(values: list[float]) -> list[float]:
    """Ranks from 1, ties given their mean rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for k in range(start, end + 1):
            ranks[order[k]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def _pearson(xs: list[float], ys: list[float]) -> float | None:
    n = len(xs)
    if n < 3:
        return None
    mx, my = math.fsum(xs) / n, math.fsum(ys) / n
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    if not sxx or not syy:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def _fisher(r: float | None, n: int, spread: float) -> Row:
    """The interval and two-sided p-value of a correlation, from Fisher's z; `spread` is
    the variance of z times n - 3."""
    if r is None or n < 4:
        return {"low": None, "high": None, "p_value": None}
    z = math.atanh(max(-0.999999999, min(0.999999999, r)))
    se = math.sqrt(spread / (n - 3))
    return {"low": math.tanh(z - _Z * se), "high": math.tanh(z + _Z * se),
            "p_value": math.erfc(abs(z / se) / math.sqrt(2))}


def _quartiles(warehouse: Warehouse, view: View, settings: Settings, totals: Row) -> Section:
    rows = _rows(warehouse, view)
    whole = sum((r["sales"] for r in rows), Decimal(0))
    for row in rows:
        row["sales_per_membership"] = _mean_interval(row["sales"], None, row["memberships"])[0]
        row["sales_share"] = _share(row["sales"], whole)
    shown, more = _cut(rows, settings.top, ["memberships", "sales"])
    line = f"… {more['rows']:,} more quartiles" if more["rows"] else ""
    return Section(view, ["quartile", "memberships", "engagement_from", "engagement_to",
                          "median_sales", "sales_per_membership", "sales", "sales_share"],
                   shown, more, line, rows)


def _outliers(warehouse: Warehouse, view: View, settings: Settings, totals: Row) -> Section:
    rows = _rows(warehouse, view)
    for row in rows:
        row["advocates_measured"] = row["measured"]
        row["advocates_share"] = _share(row["advocates"], row["measured"])
        row["total_share"] = _share(row["outlying"], row["total"])
    shown, more = _cut(rows, settings.top, ["advocates"])
    line = f"… {more['rows']:,} more measures" if more["rows"] else ""
    return Section(view, ["metric", "advocates", "fence", "largest", "advocates_measured",
                          "advocates_share", "total_share"], shown, more, line, rows)


def _dq_rules(warehouse: Warehouse, view: View, settings: Settings, totals: Row) -> Section:
    rows = _rows(warehouse, view)
    for row in rows:
        row["share"] = _share(row["issues"], row["records"])
    shown, more = _cut(rows, settings.top, ["issues"])
    line = (f"… {more['rows']:,} more rules: {more['issues']:,} issues; --all lists them"
            if more["rows"] else "")
    return Section(view, ["entity", "field", "rule", "issues", "records", "share"], shown,
                   more, line, rows)


def _dq_fields(warehouse: Warehouse, view: View, settings: Settings, totals: Row) -> Section:
    """Each field's share of records with an unusable value (NULL, with an issue), the
    entity's own share (any field) first."""
    rows = _rows(warehouse, view)
    for row in rows:
        row["share"] = _share(row["records_with_issues"], row["records"])
        row["known"] = row["field"] != "(any field)"  # pinned: shown whatever the cut
    entities = [r for r in rows if not r["known"]]
    fields = sorted((r for r in rows if r["known"]),
                    key=lambda r: (-(r["share"] or 0), r["position"]))
    rows = [*entities, *fields]
    shown, more = _cut([*fields, *entities], settings.top, ["records_with_issues"])
    shown = [*(r for r in shown if not r["known"]), *(r for r in shown if r["known"])]
    line = (f"… {more['rows']:,} more fields ({more['records_with_issues']:,} records with "
            "an issue); --all lists them" if more["rows"] else "")
    return Section(view, ["entity", "field", "records", "records_with_issues", "share",
                          "most_common_rule"], shown, more, line, rows)


def _dq_platforms(warehouse: Warehouse, view: View, settings: Settings,
                  totals: Row) -> Section:
    rows = _rows(warehouse, view)
    for row in rows:
        row["label"] = row["platform"]
        row["share"] = _share(row["tasks_with_issues"], row["tasks"])
        row["coverage"] = _share(row["tasks_measured"], row["tasks"])
    rows = _ranked(rows, "share", lambda r: True)
    for row in rows:
        del row["rank"]
    shown, more = _cut(rows, settings.top, ["tasks", "tasks_with_issues", "issues"])
    line = (f"… {more['rows']:,} more platforms: {more['tasks']:,} tasks, "
            f"{more['tasks_with_issues']:,} with an issue; --all lists them"
            if more["rows"] else "")
    return Section(view, ["platform", "tasks", "tasks_with_issues", "share", "issues",
                          "tasks_measured", "coverage", "most_common_issue", "known"],
                   shown, more, line, rows)


_SECTIONS: dict[str, SectionBuilder] = {
    "files": _files,
    "top_advocates_by_sales": _advocates,
    "top_advocates_by_engagement": _advocates,
    "top_advocates_by_reach": _advocates,
    "sales_concentration": _concentration,
    "engagement_by_platform": _engagement_groups,
    "sales_by_brand": _sales_groups,
    "engagement_by_brand": _engagement_groups,
    "sales_by_program": _sales_groups,
    "engagement_by_program": _engagement_groups,
    "engagement_and_sales": _correlation,
    "sales_by_engagement_quartile": _quartiles,
    "outliers": _outliers,
    "data_quality_issues": _dq_rules,
    "data_quality_by_field": _dq_fields,
    "data_quality_by_platform": _dq_platforms,
}


# --- findings -------------------------------------------------------------------------------


def _findings(report: Report) -> list[str]:
    totals = report.totals
    if not totals["advocates"]:
        return ["No advocates loaded yet: ingest an export with `sluice advocacy ingest "
                "FOLDER`."]
    return [_advocate_finding(report), _platform_finding(report), _brand_finding(report),
            _program_finding(report), _correlation_finding(report),
            _quality_finding(report)]


def _all_rows(report: Report, name: str) -> list[Row]:
    return report.section(name).every


def _advocate_finding(report: Report) -> str:
    totals = report.totals
    by_sales = _all_rows(report, "top_advocates_by_sales")
    by_engagement = _all_rows(report, "top_advocates_by_engagement")
    parts = []
    if by_sales:
        best = by_sales[0]
        parts.append(f"Best advocates: {_who(best)} leads sales attributed with "
                     f"{money_text(best['sales'])} ({percent(best['sales_share'])} of all).")
        parts.append(_concentration_sentence(report))
    if by_engagement:
        best = by_engagement[0]
        parts.append(f"{_who(best)} leads engagement: {count_text(best['engagement'])} over "
                     f"{best['tasks_measured']:,} measured tasks (rate "
                     f"{percent(best['engagement_rate'], 2)}).")
    coverage = _share(totals["memberships_with_sales"], totals["memberships"])
    if coverage is not None:
        parts.append(f"Sales are known for {percent(coverage)} of memberships "
                     f"({totals['memberships_with_sales']:,} of {totals['memberships']:,}); "
                     "an advocate's sales are the sum of the known ones.")
    return " ".join(parts) or "No advocate has known sales or a measured task."


def _concentration_sentence(report: Report) -> str:
    rows = {r["top_group"]: r for r in report.section("sales_concentration").every}
    top, whole = rows.get("top 10%"), rows.get("all with known sales")
    if not top or not whole:
        return "No sales figures loaded yet."
    return (f"The top 10% of advocates by sales bring {percent(top['sales_share'], 0)} of all "
            f"attributed sales ({whole['advocates']:,} advocates with known sales).")


def _rate_text(row: Row) -> str:
    if row["engagement_rate_low"] is None:
        return f"{percent(row['engagement_rate'], 2)} (no interval: one measured task)"
    return (f"{percent(row['engagement_rate'], 2)} of reach (95% CI "
            f"{percent(row['engagement_rate_low'], 2)} to {percent(row['engagement_rate_high'], 2)}, "
            f"{row['tasks_measured']:,} measured tasks, {percent(row['coverage'], 0)} of its tasks)")


def _compare(best: Row, second: Row | None, name: Callable[[Row], str]) -> str:
    """Whether the best group is ahead of the second beyond their intervals."""
    if second is None:
        return ""
    if best["engagement_rate_low"] is not None and second["engagement_rate_high"] is not None \
            and best["engagement_rate_low"] > second["engagement_rate_high"]:
        return (f"; clearly ahead of {name(second)} at "
                f"{percent(second['engagement_rate'], 2)}: the intervals do not overlap")
    return (f"; but not clearly ahead of {name(second)} at "
            f"{percent(second['engagement_rate'], 2)}: the intervals overlap")


def _platform_finding(report: Report) -> str:
    section = report.section("engagement_by_platform")
    ranked = [r for r in section.every if r["rank"] is not None]
    flagged = [r for r in section.every if r["rank"] is None and r["known"]]
    unknown = [r for r in section.every if not r["known"]]
    settings = report.settings
    if ranked:
        best = ranked[0]
        text = (f"Platforms: {best['platform']} engages best, {_rate_text(best)}"
                + _compare(best, ranked[1] if len(ranked) > 1 else None,
                         lambda r: str(r["platform"])) + ".")
    else:
        text = (f"Platforms: no platform has a rate on {settings.min_tasks:,} measured tasks "
                f"or more, measured on at least {percent(MIN_COVERAGE, 0)} of its tasks; none "
                "is ranked.")
    if flagged:
        text += " Not ranked: " + ", ".join(
            f"{r['platform']} ({r['tasks_measured']:,} of {r['tasks']:,} tasks measured)"
            for r in flagged[:5]) + ("" if len(flagged) <= 5 else f" and {len(flagged) - 5:,} more") + "."
    dominated = [r for r in ranked if (r["largest_post_share"] or 0) >= DOMINANT_POST]
    if dominated:
        text += (" One post carries a quarter or more of the reach of " + ", ".join(
            f"{r['platform']} ({percent(r['largest_post_share'], 0)})" for r in dominated[:3])
            + ": their rates are mostly that post's.")
    if unknown:
        share = _share(unknown[0]["tasks"], report.totals["tasks"])
        text += (f" {unknown[0]['tasks']:,} tasks ({percent(share)}) have no known platform and "
                 "are not ranked.")
    return text


def _brand_finding(report: Report) -> str:
    sales = report.section("sales_by_brand")
    ranked = [r for r in sales.every if r["rank"] is not None]
    brands = len([r for r in sales.every if r["known"]])
    if not ranked:
        return "Brands: no brand has known sales."
    best = ranked[0]
    text = (f"Brands ({brands:,}): {best['brand']} brings the most attributed sales, "
            f"{money_text(best['sales'])} ({percent(best['sales_share'])} of all) over "
            f"{best['memberships_with_sales']:,} memberships with known sales")
    if best["sales_per_membership_low"] is not None:
        text += (f", {money_text(best['sales_per_membership'])} per membership (95% CI "
                 f"{money_text(best['sales_per_membership_low'])} to "
                 f"{money_text(best['sales_per_membership_high'])})")
    text += "."
    single = len([r for r in sales.every if r["known"] and r["memberships"] == 1])
    if single:
        text += f" {single:,} brands have a single membership."
    text += _brand_spellings([str(r["brand"]) for r in sales.every if r["known"]])
    unknown = [r for r in sales.every if not r["known"]]
    if unknown:
        u = unknown[0]
        text += (f" Memberships without a known brand: {u['memberships']:,} "
                 f"({percent(_share(u['memberships'], report.totals['memberships']))} of all), "
                 f"{percent(u['sales_share'])} of sales; not ranked.")
    engagement = [r for r in report.section("engagement_by_brand").every if r["rank"] is not None]
    if engagement:
        text += (f" Best engagement rate among brands: {engagement[0]['brand']}, "
                 f"{_rate_text(engagement[0])}"
                 + _compare(engagement[0], engagement[1] if len(engagement) > 1 else None,
                            lambda r: str(r["brand"])) + ".")
    return text


def _brand_spellings(brands: list[str]) -> str:
    """A sentence on brand names that differ only in letter case or spaces, which the
    report (like the export) counts as different brands; or nothing."""
    spellings: dict[str, list[str]] = {}
    for brand in brands:
        spellings.setdefault("".join(brand.lower().split()), []).append(brand)
    alike = sorted((sorted(names) for names in spellings.values() if len(names) > 1),
                   key=lambda names: (-len(names), names))
    if not alike:
        return ""
    count = sum(len(names) for names in alike)
    example = " and ".join(f"'{name}'" for name in alike[0][:2])
    return (f" {count:,} brand names differ from another only in letter case or spaces "
            f"(such as {example}) and are counted apart.")


def _program_name(row: Row) -> str:
    brand = row.get("brand") or ("several brands" if row.get("brands", 0) > 1 else
                                 "no brand known")
    return f"program {short_id(row['program_id'])} ({brand})"


def _program_finding(report: Report) -> str:
    sales = report.section("sales_by_program")
    ranked = [r for r in sales.every if r["rank"] is not None]
    programs = len([r for r in sales.every if r["known"]])
    if not ranked:
        return "Programs: no program has known sales."
    best = ranked[0]
    text = (f"Programs ({programs:,}): {_program_name(best)} brings the most sales, "
            f"{money_text(best['sales'])} ({percent(best['sales_share'])} of all) over "
            f"{best['memberships']:,} memberships.")
    engagement = report.section("engagement_by_program")
    rated = [r for r in engagement.every if r["rank"] is not None]
    unranked = len([r for r in engagement.every if r["rank"] is None and r["known"]])
    if rated:
        text += (f" Best engagement rate: {_program_name(rated[0])}, {_rate_text(rated[0])}"
                 + _compare(rated[0], rated[1] if len(rated) > 1 else None, _program_name)
                 + ".")
    if unranked:
        text += (f" {unranked:,} programs are not ranked by rate: too few measured tasks, "
                 "or measured on too few of their tasks.")
    unknown = [r for r in sales.every if not r["known"]]
    if unknown:
        text += (f" {unknown[0]['memberships']:,} memberships have no program id "
                 f"({percent(unknown[0]['sales_share'])} of sales); not ranked.")
    return text


def _correlation_finding(report: Report) -> str:
    rows = {(r["unit"], r["measure"]): r for r in report.section("engagement_and_sales").every}
    rho, r = rows.get(("memberships", "spearman_rho")), rows.get(("memberships", "pearson_r"))
    if not rho or rho["coefficient"] is None or rho["low"] is None:
        n = rho["n"] if rho else 0
        return (f"Engagement and sales: too few memberships with sales known and every task "
                f"measured ({n:,}) to correlate them (Spearman rho needs at least 4).")
    text = (f"Engagement and sales, over {rho['n']:,} memberships with sales known and every "
            f"task measured: Spearman rho = {rho['coefficient']:.2f} (95% CI "
            f"{rho['low']:.2f} to {rho['high']:.2f}, {_p(rho['p_value'])}), "
            f"{_strength(rho['coefficient'])} between their ranks")
    if r and r["coefficient"] is not None and r["low"] is not None:
        text += (f"; Pearson r = {r['coefficient']:.2f} ({r['low']:.2f} to {r['high']:.2f}), "
                 f"{_strength(r['coefficient'])} between the amounts")
        if abs(rho["coefficient"] - r["coefficient"]) >= 0.2:
            text += (" (a few extreme values dominate the amounts, so rank order is the "
                     "better guide)")
    text += "."
    quartiles = report.section("sales_by_engagement_quartile").every
    if len(quartiles) == 4 and quartiles[0]["median_sales"]:
        low, high = quartiles[0]["median_sales"], quartiles[3]["median_sales"]
        text += (f" The quarter of memberships with the most engagement has median sales of "
                 f"{money_text(high)}, the quarter with the least {money_text(low)} "
                 f"({float(high / low):.1f} times).")
    text += (" This is an association in observational data: it fits engagement driving "
             "sales but does not prove it, since what makes an advocate active or a program "
             "popular can raise both.")
    return text


def _headline(report: Report) -> str:
    """One line for `sluice demo`: engagement and sales, and how concentrated sales are."""
    rows = {(r["unit"], r["measure"]): r for r in report.section("engagement_and_sales").every}
    rho = rows.get(("memberships", "spearman_rho"))
    if not rho or rho["low"] is None:
        return f"{_correlation_finding(report)} {_concentration_sentence(report)}"
    text = (f"Engagement and sales over {rho['n']:,} memberships: Spearman rho = "
            f"{rho['coefficient']:.2f} (95% CI {rho['low']:.2f} to {rho['high']:.2f}, "
            f"{_p(rho['p_value'])})")
    quartiles = report.section("sales_by_engagement_quartile").every
    if len(quartiles) == 4 and quartiles[0]["median_sales"]:
        ratio = quartiles[3]["median_sales"] / quartiles[0]["median_sales"]
        text += (f"; the most engaged quarter's median sales are {float(ratio):.1f} times the "
                 "least engaged quarter's")
    return f"{text}. {_concentration_sentence(report)}"


def _quality_finding(report: Report) -> str:
    fields = report.section("data_quality_by_field").every
    entities = {r["entity"]: r for r in fields if r["field"] == "(any field)"}
    parts = [f"{percent(entities[e]['share'])} of {e}s"
             for e in ("advocate", "membership", "task") if e in entities]
    text = ("Data quality: " + ", ".join(parts) + " have at least one unusable value "
            "(kept as NULL, with an issue)")
    worst = next((r for r in fields if r["field"] != "(any field)"
                  and r["records_with_issues"]), None)
    if worst:
        text += (f"; the most affected field is {worst['entity']} {worst['field']} "
                 f"({percent(worst['share'])}, mostly '{worst['most_common_rule']}')")
    totals = report.totals
    measured = _share(totals["tasks_measured"], totals["tasks"])
    if measured is not None:
        text += (f". Rates rest on the {percent(measured)} of tasks that are measured "
                 f"({totals['tasks_measured']:,} of {totals['tasks']:,})")
    platforms = [r for r in report.section("data_quality_by_platform").every if r["known"]]
    if platforms:
        worst_platform = platforms[0]
        text += (f"; {worst_platform['platform']} has the largest share of tasks with an "
                 f"issue ({percent(worst_platform['share'])})")
    return text + "."


def _strength(coefficient: float) -> str:
    size = abs(coefficient)
    if size < 0.1:
        return "no relationship"
    direction = "positive" if coefficient > 0 else "negative"
    if size < 0.3:
        return f"a weak {direction} relationship"
    if size < 0.5:
        return f"a moderate {direction} relationship"
    return f"a strong {direction} relationship"


def _p(p: float | None) -> str:
    if p is None:
        return "p unknown"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _who(row: Row) -> str:
    return f"{row['name'] or '(no name)'} ({short_id(row['advocate_id'])})"


# --- text -----------------------------------------------------------------------------------


def count_text(value: Any) -> str:
    return "" if value is None else f"{value:,}"


def money_text(value: Any) -> str:
    return "" if value is None else f"{Decimal(value):,.2f}"


def percent(value: float | None, digits: int = 1) -> str:
    if value is None:
        return ""
    text = f"{value * 100:.{digits}f}%"
    if value < 1 and text == f"{100:.{digits}f}%":  # never 100% when one is missing
        text = f"{math.floor(value * 100 * 10**digits) / 10**digits:.{digits}f}%"
    return text


def short_id(value: Any) -> str:
    """An id as text shows it: a UUID's first 8 characters, a `doc:` key's first 8 of its
    checksum with its occurrence; JSON carries the whole id."""
    if value is None:
        return "(unknown)"
    text = str(value)
    if text.startswith("doc:") and "#" in text:
        return f"doc:{text[4:12]}…{text[text.rindex('#'):]}"
    return text if len(text) <= 12 else f"{text[:8]}…"


def part_text(part: Any, whole: Any, share: float | None = None) -> str:
    if part is None:
        return ""
    text = f"{part:,}"
    if share is not None:
        text += f" ({percent(share)})"
    elif whole is not None:
        text += f" of {whole:,}"
    return text
