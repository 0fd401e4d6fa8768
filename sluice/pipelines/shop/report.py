"""`sluice shop report`: the two answers (top members by spending, items bought most
often by quantity and by transactions), what their ties and shared ids mean, and their
rows as CSV files."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sluice.console import iso_time
from sluice.pipelines.shop import PIPELINE, TOP_ITEMS, TOP_MEMBERS, inputs
from sluice.registry import View
from sluice.warehouse import Result, Warehouse


@dataclass
class Report:
    """The pipeline's views (`shop.VIEWS`) with their rows, and findings in words."""

    views: dict[View, Result] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)

    def rows(self, name: str) -> list[dict[str, Any]]:
        return next(result.dicts() for view, result in self.views.items() if view.name == name)


def build_report(warehouse: Warehouse) -> Report:
    report = Report({view: view.query(warehouse) for view in PIPELINE.views})
    members = report.rows("top_members_by_spending")
    if not members:
        report.findings.append("No transactions loaded yet: load a delivery with "
                               "`sluice shop load FOLDER`.")
        return report
    report.findings += _member_findings(members)
    report.findings += _item_findings(report.rows("top_items_by_quantity"),
                                      report.rows("top_items_by_transactions"))
    return report


def _member_findings(members: list[dict[str, Any]]) -> list[str]:
    count = len(members)
    listed = (f"{count} member{'s' if count != 1 else ''} ranked {TOP_MEMBERS} or better by "
              "spending (the sum of their transactions' totals, derived from the lines). "
              "Ranks are RANK(): members with the same spending share a rank and the next "
              f"rank is skipped, so a tie can make the list longer than {TOP_MEMBERS}.")
    ties = _ties(members, "spending", "members")
    shared = [m for m in members if m["shared"]]
    if shared:
        ids = ", ".join(str(m["membership_id"]) for m in shared)
        shared_line = (f"{len(shared)} of them {'is a membership id' if len(shared) == 1 else 'are membership ids'} "
                       f"shared by more than one applicant (shared = true: {ids}): "
                       "transactions carry only the id, so their spending cannot be split "
                       "between the applicants.")
    else:
        shared_line = "None of them is a membership id shared by more than one applicant."
    return [listed + ties, shared_line]


def _item_findings(by_quantity: list[dict[str, Any]], by_transactions: list[dict[str, Any]]
                   ) -> list[str]:
    definition = (f"Items bought most often, two ways: by quantity (units summed over all "
                  f"transaction lines) and by number of transactions (transactions with at "
                  f"least one line of the item); each list holds every item ranked "
                  f"{TOP_ITEMS} or better.")
    definition += _ties(by_quantity, "quantity", "items", "by quantity")
    definition += _ties(by_transactions, "transactions", "items", "by transactions")
    first = [str(row["item"]) for row in by_quantity]
    second = [str(row["item"]) for row in by_transactions]
    if first == second:
        verdict = f"The two agree: {_names(first)}."
    elif set(first) == set(second):
        verdict = (f"The same items by both measures, in another order: by quantity "
                   f"{_names(first)}; by transactions {_names(second)}.")
    else:
        verdict = (f"The two differ: by quantity {_names(first)}; by number of transactions "
                   f"{_names(second)}.")
        only_quantity = [name for name in first if name not in second]
        if only_quantity:
            verdict += (f" Bought in large quantities by fewer transactions: "
                        f"{_names(only_quantity)}.")
    return [definition, verdict]


def _ties(rows: list[dict[str, Any]], measure: str, things: str, how: str = "") -> str:
    """A sentence naming the ranks that several rows share, or nothing."""
    shared: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        shared.setdefault(int(row["rank"]), []).append(row)
    tied = [f"rank {rank} is shared by {len(group)} {things} ({_amount(group[0][measure])} "
            f"each)" for rank, group in sorted(shared.items()) if len(group) > 1]
    if not tied:
        return f" No ties{' ' + how if how else ''}."
    return f" Ties{' ' + how if how else ''}: " + "; ".join(tied) + "."


def _amount(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int | Decimal) else str(value)


def _names(names: Iterable[str]) -> str:
    return ", ".join(names)


# --- CSV ---------------------------------------------------------------------------------------


def write_csv(report: Report, folder: Path) -> list[Path]:
    """One CSV file per view, named as the view, its columns as in JSON; each file
    replaces the old one only when complete."""
    written = []
    for view, result in report.views.items():
        path = folder / f"{view.name}.csv"
        with inputs.replacing(path) as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(result.columns)
            writer.writerows([csv_value(value) for value in row] for row in result.rows)
        written.append(path)
    return written


def csv_value(value: Any) -> str:
    """A value as in JSON, as text: decimals with all their digits, true/false, times
    in UTC with a Z, nothing for NULL."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return iso_time(value)
    return str(value)
