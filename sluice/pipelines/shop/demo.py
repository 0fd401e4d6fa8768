"""The shop demo step: a delivery of items and transactions by the members the
applications demo made (it runs first), loaded, and the two answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sluice.demo import run_totals
from sluice.pipelines import shop
from sluice.pipelines.shop import members
from sluice.pipelines.shop.generate import generate_shop
from sluice.pipelines.shop.report import build_report
from sluice.progress import Progress
from sluice.warehouse import Warehouse

DEMO_ITEMS = 200
DEMO_TRANSACTIONS = 20_000


def run_demo(warehouse: Warehouse, folder: Path, progress: Progress) -> dict[str, Any]:
    generate_shop(folder, members.membership_ids(warehouse), DEMO_ITEMS, DEMO_TRANSACTIONS)
    loaded = shop.load(warehouse, str(folder), progress)
    report = build_report(warehouse)
    top_member = report.rows("top_members_by_spending")[0]
    top_item = report.rows("top_items_by_quantity")[0]
    summary = run_totals(loaded.run)
    summary["headline"] = (
        f"top spender {top_member['membership_id']} ({top_member['spending']:,}); most "
        f"bought item {top_item['item']} ({top_item['quantity']:,} units)")
    return summary
