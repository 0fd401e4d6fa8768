"""The shop on the dashboard: its views (top members by spending, items bought most
often) as tables, and a headline naming the top spender and the most bought item."""

from __future__ import annotations

from typing import Any

from sluice.pipelines.shop import VIEWS
from sluice.warehouse import Warehouse
from sluice.web.part import WebPart


def _rows(warehouse: Warehouse, name: str) -> list[dict[str, Any]]:
    view = next(v for v in VIEWS if v.name == name)
    return view.query(warehouse).dicts()


def _firsts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows ranked first (RANK(): several when tied)."""
    return [row for row in rows if row["rank"] == rows[0]["rank"]] if rows else []


def headline(warehouse: Warehouse) -> str | None:
    members = _firsts(_rows(warehouse, "top_members_by_spending"))
    items = _firsts(_rows(warehouse, "top_items_by_quantity"))
    if not members or not items:
        return None
    spenders = ", ".join(str(m["membership_id"]) for m in members)
    bought = ", ".join(str(i["item"]) for i in items)
    return (f"top spender{'s' if len(members) > 1 else ''} {spenders} "
            f"({members[0]['spending']:,}{' each' if len(members) > 1 else ''}); "
            f"most bought item{'s' if len(items) > 1 else ''} {bought} "
            f"({items[0]['quantity']:,} units{' each' if len(items) > 1 else ''})")


PART = WebPart(headline=headline)
