"""`sluice advocacy report` as text: a heading that says what the figures mean, the
findings, then each section as a table under its title, its notes, and a line for what
it left out.

Numbers never wrap inside a cell. Where the terminal is narrower than a table, its
least needed columns are left out (a line says which; `--json` has every figure);
piped output keeps every column at its natural width, as every sluice table does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text

from sluice import console
from sluice.pipelines.advocacy.report import (
    CONFIDENCE,
    LABELS,
    MIN_COVERAGE,
    Report,
    Row,
    Section,
    count_text,
    money_text,
    part_text,
    percent,
    short_id,
)


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[Row], str]
    right: bool = False  # a number: right-aligned, never wrapped
    drop: int = 0  # 0: always shown; else left out first (highest) on a narrow terminal


def _field(key: str, show: Callable[[Any], str] = str, right: bool = False,
           header: str | None = None, drop: int = 0) -> Column:
    return Column(header or key.replace("_", " "),
                  lambda row: "" if row.get(key) is None else show(row[key]), right, drop)


def _rate_cell(row: Row) -> str:
    rate, high = row.get("engagement_rate"), row.get("engagement_rate_high")
    if rate is None:
        return ""
    if high is None:
        return percent(rate, 2)
    return f"{percent(rate, 2)} ±{(high - rate) * 100:.2f}"


def _mean_cell(row: Row) -> str:
    mean, high = row.get("sales_per_membership"), row.get("sales_per_membership_high")
    if mean is None:
        return ""
    return money_text(mean) if high is None else f"{money_text(mean)} ±{money_text(high - mean)}"


def _brand_of_program(row: Row) -> str:
    if row["brand"]:
        return str(row["brand"])
    return f"({row['brands']} brands)" if row["brands"] > 1 else ""


_RANK = _field("rank", right=True)
_PROGRAM = [Column("program", lambda r: short_id(r["program_id"])),
            Column("brand", _brand_of_program)]
_MEASURED = Column("measured", lambda r: part_text(r["tasks_measured"], r["tasks"]), True, 1)


def columns(section: Section) -> list[Column]:
    """The text columns of a section: its JSON columns, some merged into one cell
    ("3,883 (96.6%)", "7.33% ±0.53") so that a table fits a terminal."""
    name = section.view.name
    if name == "files":
        return [_field("outcome"), _field("files", count_text, True)]
    if name.startswith("top_advocates"):
        head = [_RANK, Column("name", lambda r: str(r["name"] or "(no name)")),
                _field("advocate_id", short_id, header="advocate id", drop=3)]
        if name.endswith("sales"):
            return [*head, _field("sales", money_text, True),
                    _field("sales_share", percent, True, "share", 1),
                    Column("with sales", lambda r: part_text(r["programs_with_sales"],
                                                             r["programs"]), True, 2)]
        if name.endswith("engagement"):
            return [*head, _field("engagement", count_text, True),
                    _field("reach", count_text, True, drop=2),
                    Column("rate", lambda r: percent(r["engagement_rate"], 2), True, 4),
                    _MEASURED]
        return [*head, _field("reach", count_text, True),
                _field("engagement", count_text, True, drop=2), _MEASURED]
    if name == "sales_concentration":
        return [_field("top_group", header="advocates by sales"),
                _field("advocates", count_text, True), _field("sales", money_text, True),
                _field("sales_share", percent, True, "share")]
    if name in LABELS and name.startswith("engagement_by_"):
        label = LABELS[name][0]
        labels = _PROGRAM if label == "program_id" else [_field(label)]
        return [_RANK, *labels, _field("tasks", count_text, True, drop=2),
                Column("measured", lambda r: part_text(r["tasks_measured"], None,
                                                       r["coverage"]), True),
                _field("engagement", count_text, True, drop=3),
                _field("reach", count_text, True, drop=4),
                Column("engagement rate", _rate_cell, True)]
    if name in LABELS:
        label = LABELS[name][0]
        labels = _PROGRAM if label == "program_id" else [_field(label)]
        return [_RANK, *labels, _field("memberships", count_text, True, drop=3),
                _field("coverage", percent, True, "sales known", 2),
                _field("sales", money_text, True), _field("sales_share", percent, True, "share"),
                Column("per membership", _mean_cell, True, 1)]
    if name == "engagement_and_sales":
        return [_field("unit"),
                Column("measure", lambda r: {"spearman_rho": "Spearman rho",
                                             "pearson_r": "Pearson r"}[r["measure"]]),
                _field("n", count_text, True), _field("coefficient", "{:.3f}".format, True),
                Column(f"{CONFIDENCE:.0%} interval", lambda r: "" if r["low"] is None else
                       f"{r['low']:.3f} to {r['high']:.3f}", True),
                Column("p value", lambda r: "" if r["p_value"] is None else
                       ("< 0.001" if r["p_value"] < 0.001 else f"{r['p_value']:.3f}"), True)]
    if name == "sales_by_engagement_quartile":
        return [_field("quartile", right=True), _field("memberships", count_text, True),
                Column("engagement", lambda r: f"{r['engagement_from']:,} to "
                                               f"{r['engagement_to']:,}", True),
                _field("median_sales", money_text, True),
                _field("sales_per_membership", money_text, True, "per membership", 1),
                _field("sales_share", percent, True, "share")]
    if name == "outliers":
        return [_field("metric"),
                Column("advocates", lambda r: part_text(r["advocates"], None,
                                                        r["advocates_share"]), True),
                _field("fence", money_text, True), _field("largest", money_text, True, drop=1),
                Column("share of total", lambda r: percent(r["total_share"]), True)]
    if name == "data_quality_issues":
        return [_field("entity", drop=1), _field("field"), _field("rule"),
                _field("issues", count_text, True),
                Column("share of records", lambda r: percent(r["share"], 2), True)]
    if name == "data_quality_by_field":
        return [_field("entity"), _field("field"), _field("records", count_text, True, drop=1),
                Column("with an issue", lambda r: part_text(r["records_with_issues"], None,
                                                            r["share"]), True),
                _field("most_common_rule", header="most common rule", drop=2)]
    return [_field("platform"), _field("tasks", count_text, True),
            Column("with an issue", lambda r: part_text(r["tasks_with_issues"], None,
                                                        r["share"]), True),
            Column("measured", lambda r: part_text(r["tasks_measured"], None, r["coverage"]),
                   True, 2),
            _field("most_common_issue", header="most common issue", drop=1)]


def describe(report: Report) -> str:
    """What the figures mean, printed above them."""
    settings = report.settings
    lists = ("every row of each list" if settings.top is None else
             f"the top {settings.top:,} of each list (--top N; --all for every row)")
    return (f"Engagement rate = (likes + comments + shares) / reach over measured tasks "
            f"(all four known, reach above 0); ± is a {CONFIDENCE:.0%} confidence interval. "
            f"A rate on fewer than {settings.min_tasks:,} measured tasks (--min-tasks), or on "
            f"less than {percent(MIN_COVERAGE, 0)} of a group's tasks, is shown but not "
            "ranked; an unknown platform, brand or program is shown last, never ranked. "
            f"Showing {lists}; --json has every figure.")


_LABEL_WIDTH = 12  # the narrowest a name or label may be made; wider ones wrap


def _widest(texts: list[str]) -> int:
    return max((len(word) for text in texts for word in text.split()), default=1)


def _table(section: Section, shown: list[Column]) -> Table:
    table = Table(title=section.view.title, title_justify="left")
    for column in shown:
        table.add_column(column.header, justify="right" if column.right else "left",
                         no_wrap=column.right, overflow="fold",
                         min_width=None if column.right else min(_LABEL_WIDTH, _widest(
                             [column.header, *(column.cell(row) for row in section.rows)])))
    for row in section.rows:
        table.add_row(*(Text(column.cell(row)) for column in shown))
    return table


def _fitting(section: Section) -> tuple[Table, list[str]]:
    """The section's table with the columns a terminal of the console's width can
    hold: the least needed ones left out first, never a rank, a name or the measure."""
    out = console.out
    natural = out.options.update_width(console.PIPED_WIDTH)
    shown = columns(section)
    table = _table(section, shown)
    left_out: list[str] = []
    while (out.measure(table, options=natural).maximum > out.width
           and any(c.drop for c in shown)):
        least = max(shown, key=lambda c: c.drop)
        shown = [c for c in shown if c is not least]
        left_out.append(least.header)
        table = _table(section, shown)
    return table, left_out


def show(report: Report, where: str) -> None:
    out = console.out
    totals = report.totals
    out.print(f"advocacy report for {where}: {totals['advocates']:,} advocates, "
              f"{totals['memberships']:,} memberships, {totals['tasks']:,} tasks",
              markup=False)
    out.print(describe(report), markup=False)
    out.print("")
    out.print("What the data says", markup=False)
    for finding in report.findings:
        out.print(f"- {finding}", markup=False)
    for section in report.sections:
        out.print("")
        table, left_out = _fitting(section)
        out.print(table)
        for row in section.rows:
            if row.get("note"):
                out.print(f"  {_label(row)}: {row['note']}", markup=False)
        if left_out:
            out.print(f"  (too narrow a terminal for: {', '.join(left_out)})", markup=False)
        shown = len(section.rows)
        out.print(section.more_line or f"{shown:,} row{'s' if shown != 1 else ''}",
                  markup=False)


def _label(row: Row) -> str:
    if "program_id" in row:
        return f"program {short_id(row['program_id'])}"
    return str(row.get("label"))
