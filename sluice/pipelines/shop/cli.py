"""`sluice shop ...`: generate a delivery, load one, report the answers.

Imported by `--help`: Typer and light modules at the top; each verb imports the engine
and the output when it runs (tests/test_cli_startup.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sluice.cli_options import JsonOption, WarehouseOption, check_folder_target, pipeline_app
from sluice.pipelines import shop
from sluice.pipelines.shop.settings import ITEMS_FILE, TRANSACTIONS_FILE

app = pipeline_app(shop.HELP)


@app.command("generate")
def shop_generate(
    folder: Annotated[Path, typer.Argument(
        help=f"The folder to write {ITEMS_FILE} and {TRANSACTIONS_FILE} into.")],
    items: Annotated[int, typer.Option("--items", min=1, help="Items in the catalogue.")] = 200,
    transactions: Annotated[int, typer.Option(
        "--transactions", min=0, help="Transactions to write.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Same seed and members, same files.")] = 7,
    clean: Annotated[bool, typer.Option(
        "--clean", help="No faulty, duplicate or conflicting transactions.")] = False,
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Write a delivery: items, and transactions by the warehouse's members (skewed)."""
    from sluice import console
    from sluice.pipelines.shop import members
    from sluice.pipelines.shop.generate import generate_shop
    from sluice.warehouse import Warehouse

    check_folder_target(folder, "FOLDER")
    members.check_warehouse_exists(warehouse)
    with Warehouse(warehouse, read_only=True) as wh:
        ids = members.membership_ids(wh)
    generated = generate_shop(folder, ids, items, transactions, seed=seed, clean=clean)
    faults = generated.rejected + generated.duplicates
    console.show_summary(
        generated.as_dict(), json,
        f"wrote {ITEMS_FILE} ({generated.items:,} items from {generated.manufacturers:,} "
        f"manufacturers) and {TRANSACTIONS_FILE} ({generated.transactions:,} transactions by "
        f"{generated.members:,} members; {faults:,} line{'' if faults == 1 else 's'} with trouble: "
        f"{generated.duplicates:,} duplicates, {generated.conflicts:,} conflicts, "
        f"{generated.rejected - generated.conflicts:,} faulty) to {folder}")


@app.command("load")
def shop_load(
    folder: Annotated[str, typer.Argument(
        help=f"A delivery folder holding {ITEMS_FILE} and/or {TRANSACTIONS_FILE}.")],
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Refresh members from the successful applications; load items and transactions
    (bad ones go to quarantine) as one run; rebuild the models."""
    from sluice import console
    from sluice.lifecycle import check_all_read
    from sluice.pipelines.shop import members
    from sluice.warehouse import Warehouse

    members.check_warehouse_exists(warehouse)
    with Warehouse(warehouse) as wh, console.progress_bar(not json) as progress:
        loaded = shop.load(wh, folder, progress)
    if json:
        console.print_json(loaded.as_dict())
    else:
        console.show_run(loaded.run, False)
        refreshed = loaded.members
        console.out.print(
            f"members: {refreshed.membership_ids:,} membership ids ({refreshed.new:,} new, "
            f"{refreshed.shared:,} shared by more than one applicant)", markup=False)
    check_all_read(loaded.run)


@app.command("report")
def shop_report(
    warehouse: WarehouseOption = None,
    csv: Annotated[Path | None, typer.Option(
        "--csv", metavar="FOLDER", help="Also write each answer to FOLDER, one CSV file named after it.")] = None,
    json: JsonOption = False,
) -> None:
    """Print the top members by spending and the items bought most often."""
    from sluice import console
    from sluice.pipelines.shop.report import build_report, write_csv
    from sluice.warehouse import Warehouse

    if csv is not None:
        check_folder_target(csv, "--csv")
    with Warehouse(warehouse, must_exist=True) as wh:
        shop.build_models(wh)
        report = build_report(wh)
    written = write_csv(report, csv) if csv is not None else []
    console.show_views(report.views, json, report.findings)
    if written and not json:
        console.out.print(f"wrote {', '.join(p.name for p in written)} to {csv}", markup=False)
