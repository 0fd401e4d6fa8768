"""Training data lands in the warehouse like any other input: the shipped data set
through the core's ingest with the cars reader, bad lines quarantined with every reason,
a car delivered again a duplicate, the same inputs with another class a conflict, the
same file again skipped; alike on PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

from postgres_server import postgres_url

from conftest import query
from sluice.pipelines.cars.dataset import SHIPPED
from sluice.pipelines.cars.land import land
from sluice.warehouse import Warehouse

__all__ = ["postgres_url"]  # the fixture, used by name

MORE = ("vhigh,vhigh,2,2,small,low,acc\n"       # the same inputs, another class
        "cheap,x,2\n"                            # three values
        "\n"                                     # blank: no record
        "vhigh,vhigh,9,2,small,low,unacc\n"      # doors 9
        "low,low,5more,more,big,high,vgood\n"    # already in the data set
        "Low,low,5more,more,big,high,vgood\n")   # levels are lower case


def test_the_data_set_lands_and_bad_lines_keep_their_reasons(tmp_path: Path) -> None:
    shutil.copy(str(SHIPPED), tmp_path / "car.data")
    (tmp_path / "more.csv").write_text(MORE, encoding="utf-8")
    db = tmp_path / "w.db"
    with Warehouse(db) as warehouse:
        first = land(warehouse, tmp_path / "car.data")
        more = land(warehouse, tmp_path / "more.csv")
        again = land(warehouse, tmp_path / "car.data")
    assert (first.total("records_read"), first.total("loaded"), first.total("rejected")) == (
        1_728, 1_728, 0)
    assert (more.total("records_read"), more.total("loaded"), more.total("duplicates"),
            more.total("rejected")) == (5, 0, 1, 4)
    assert again.skipped == 1 and again.total("loaded") == 0
    assert query(db, "SELECT count(*), count(DISTINCT car_key) FROM cars.evaluations") == [
        (1_728, 1_728)]
    assert query(db, "SELECT buying, count(*) FROM cars.evaluations GROUP BY buying "
                     "ORDER BY buying") == [("high", 432), ("low", 432), ("med", 432),
                                            ("vhigh", 432)]
    assert sorted(query(db, "SELECT raw, reasons FROM sluice.quarantine "
                            "WHERE pipeline = 'cars'")) == sorted([
        ("vhigh,vhigh,2,2,small,low,acc",
         ["conflict: a record with this car_key was loaded first with different content"]),
        ("cheap,x,2", ["has 3 values, expected 7"]),
        ("vhigh,vhigh,9,2,small,low,unacc", ["doors '9' is not one of 2, 3, 4, 5more"]),
        ("Low,low,5more,more,big,high,vgood",
         ["buying 'Low' is not one of low, med, high, vhigh"]),
    ])


def test_the_same_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    (tmp_path / "more.csv").write_text(MORE, encoding="utf-8")
    with Warehouse(postgres_url) as warehouse:
        first = land(warehouse, Path(str(SHIPPED)))
        more = land(warehouse, tmp_path / "more.csv")
        counted = warehouse.destination.scalar("SELECT count(*) FROM cars.evaluations")
    assert (first.total("loaded"), more.total("duplicates"), more.total("rejected")) == (
        1_728, 1, 4)
    assert counted == 1_728
