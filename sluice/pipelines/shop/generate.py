"""Demo input for the shop: a catalogue (items.csv) and a year of transactions
(transactions.jsonl) made by the warehouse's members, with the skew real sales have.

Shapes: manufacturers' catalogues follow a Zipf law (a few make most items); item
popularity follows a Zipf law over a shuffled catalogue (a handful of items are in most
baskets); so does member activity (a few members make a large share of the
transactions, most buy once or twice). Baskets hold 1 to 8 lines, mostly 1 to 3; most
lines are one unit, but consumables (batteries, paper, cable ties, ...) are bought by the
box, so the items bought in the largest quantities are not the ones in most
transactions. Cost and weight are lognormal around each kind of item's typical values.
Times spread over 2024, more of them in the afternoon and on weekends.

Trouble, unless `clean`, in about 2% of the transactions (each with exactly one fault, so
that a load's counts can be checked against what was written): an unknown membership id,
an unknown item, a quantity that is not a positive integer, a stated total price that
disagrees with the lines, a line cut short (invalid JSON), a transaction delivered twice
(a duplicate) and one delivered again with other lines (a conflict).

The catalogue is the same whatever the seed (`--items N` takes the first N items of it),
so deliveries made with several seeds load side by side: their items.csv repeat the same
items, and their transaction ids (`T<seed>-<n>`) never clash. Same seed and same members,
same files. Python loops once per transaction, as it must to build each one.
"""

from __future__ import annotations

import csv
import json
import math
import random
from bisect import bisect
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from pathlib import Path
from typing import Any

from sluice.pipelines.shop.inputs import ITEMS_FILE, TRANSACTIONS_FILE, replacing

CENT, GRAM = Decimal("0.01"), Decimal("0.001")
CATALOGUE_SEED = 2024
START = datetime(2024, 1, 1)
DAYS = 366
TROUBLE_SHARE = 0.02

# (kind of item, typical cost, typical weight in kg, bought by the box)
_KINDS = (
    ("Battery Pack", 6.5, 0.12, True), ("Light Bulb", 4.0, 0.06, True),
    ("Cable Ties", 3.5, 0.2, True), ("Printer Paper", 7.0, 2.5, True),
    ("Pen Set", 5.0, 0.05, True), ("Notebook", 3.0, 0.3, True),
    ("Screwdriver", 12.0, 0.2, False), ("Cordless Drill", 95.0, 1.8, False),
    ("Kettle", 35.0, 1.1, False), ("Blender", 60.0, 3.2, False),
    ("Bath Towel", 15.0, 0.5, False), ("Coffee Beans", 18.0, 1.0, False),
    ("Dog Food", 42.0, 10.0, False), ("Desk Lamp", 30.0, 1.2, False),
    ("Headphones", 80.0, 0.3, False), ("Phone Charger", 20.0, 0.15, False),
    ("Backpack", 55.0, 0.9, False), ("Water Bottle", 12.0, 0.25, False),
    ("Garden Hose", 28.0, 2.5, False), ("Wall Paint", 22.0, 1.3, False),
)
_STYLES = ("Classic", "Pro", "Compact", "Eco", "Deluxe", "Ultra", "Basic", "Smart",
           "Heavy-Duty", "Mini", "Max", "Lite", "Premium", "Travel", "Studio")
_MANUFACTURERS = (
    "Acme Corporation", "Northwind Traders", "Globex", "Initech", "Umbrella Supplies",
    "Stark Industries", "Wayne Enterprises", "Wonka Industries", "Tyrell Home",
    "Cyberdyne Tools", "Soylent Foods", "Hooli Devices", "Vandelay Imports",
    "Gringotts Goods", "Oceanic Outfitters", "Massive Dynamic", "Aperture Living",
    "Monarch Kitchen", "Blue Sun", "Dunder Paper", "Pied Piper Audio", "Nakatomi Trading",
    "Oscorp Garden", "Sterling Cooper Home", "Bluth Company", "Kwik-E Supplies",
    "Prestige Worldwide", "Gekko & Co", "Virtucon", "Rekall Electronics",
)


@dataclass
class Generated:
    folder: Path
    members: int
    manufacturers: int
    items: int
    transactions: int  # distinct transactions written (their first version)
    lines: int          # JSON lines in transactions.jsonl
    unknown_member: int = 0
    unknown_item: int = 0
    bad_quantity: int = 0
    wrong_total: int = 0
    broken: int = 0
    duplicates: int = 0
    conflicts: int = 0

    @property
    def rejected(self) -> int:
        """Transactions a load rejects (the first version of a conflict loads)."""
        return (self.unknown_member + self.unknown_item + self.bad_quantity
                + self.wrong_total + self.broken + self.conflicts)

    def as_dict(self) -> dict[str, Any]:
        summary = asdict(self)
        summary["folder"] = str(self.folder)
        summary["rejected"] = self.rejected
        return summary


@dataclass(frozen=True)
class _Item:
    name: str
    manufacturer: str
    cost: Decimal
    weight: Decimal
    by_the_box: bool


class _Zipf:
    """Draws from a list, the n-th element with weight 1/n**s (a few dominate)."""

    def __init__(self, values: list[Any], s: float, rng: random.Random) -> None:
        self.values, self.rng = values, rng
        self.cumulative = list(accumulate(1 / (n ** s) for n in range(1, len(values) + 1)))

    def draw(self) -> Any:
        return self.values[bisect(self.cumulative, self.rng.random() * self.cumulative[-1])]


def generate_shop(folder: Path, membership_ids: list[str], items: int = 200,
                  transactions: int = 10_000, seed: int = 7, clean: bool = False) -> Generated:
    """Write folder/items.csv and folder/transactions.jsonl; returns what was written."""
    if transactions and not membership_ids:
        raise ValueError("transactions need members")
    rng = random.Random(seed)
    catalogue = _catalogue(items)
    # Who buys most and what sells most belong to the shop, not to one delivery: the same
    # members and items lead whatever the seed; the seed draws the transactions.
    order = random.Random(CATALOGUE_SEED)
    members = sorted(set(membership_ids))
    order.shuffle(members)
    buyers = _Zipf(members, 0.8, rng)
    popular = list(catalogue)
    order.shuffle(popular)
    picks = _Zipf(popular, 0.8, rng)
    generated = Generated(folder, len(members), len({i.manufacturer for i in catalogue}),
                          len(catalogue), transactions, 0)
    records = [_transaction(n, rng, buyers, picks) for n in range(transactions)]
    records.sort(key=lambda record: record["bought_at"])
    for n, record in enumerate(records, 1):  # unique across seeds: deliveries never clash
        record["transaction_id"] = f"T{seed}-{n:07d}"
    by_name = {item.name: item for item in catalogue}
    lines = [json.dumps(_with_totals(record, by_name), separators=(",", ":"))
             for record in records]
    if not clean:
        lines = _with_trouble(lines, rng, generated, set(members))
    generated.lines = len(lines)
    folder.mkdir(parents=True, exist_ok=True)
    with replacing(folder / ITEMS_FILE) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["name", "manufacturer", "cost", "weight_kg"])
        writer.writerows([i.name, i.manufacturer, f"{i.cost}", f"{i.weight}"] for i in catalogue)
    with replacing(folder / TRANSACTIONS_FILE) as stream:
        stream.write("".join(line + "\n" for line in lines))
    return generated


def _catalogue(count: int) -> list[_Item]:
    """The company's catalogue: the same whatever the seed, and the first `count` items
    of a longer one (a later delivery's catalogue repeats the earlier one's items, with
    the same cost and weight, as a real shop's does)."""
    order = random.Random(CATALOGUE_SEED)
    makers = list(_MANUFACTURERS)
    order.shuffle(makers)
    weights = list(accumulate(1 / (n ** 0.9) for n in range(1, len(makers) + 1)))
    names = [(style, kind) for kind in _KINDS for style in _STYLES]
    order.shuffle(names)
    catalogue = []
    for n in range(count):
        own = random.Random(CATALOGUE_SEED * 1_000_003 + n)  # this item's own draws
        style, (kind, cost, weight, by_the_box) = names[n % len(names)]
        series = n // len(names)
        name = f"{style} {kind}" + (f" Mk {series + 1}" if series else "")
        catalogue.append(_Item(
            name, makers[bisect(weights, own.random() * weights[-1])],
            max(Decimal("0.50"), Decimal(cost * math.exp(own.gauss(0, 0.35))).quantize(CENT)),
            max(Decimal("0.010"), Decimal(weight * math.exp(own.gauss(0, 0.25))).quantize(GRAM)),
            by_the_box))
    return catalogue


def _transaction(n: int, rng: random.Random, buyers: _Zipf, picks: _Zipf) -> dict[str, Any]:
    day = rng.randrange(DAYS)
    weekend = (START + timedelta(days=day)).weekday() >= 5
    if not weekend and rng.random() < 0.3:  # weekends are busier
        day = rng.randrange(DAYS)
    hour = min(21, max(8, round(rng.gauss(15, 3))))
    moment = START + timedelta(days=day, hours=hour, minutes=rng.randrange(60),
                               seconds=rng.randrange(60))
    count = min(8, 1 + int(rng.expovariate(0.8)))
    chosen: list[_Item] = []
    for _ in range(count * 3):
        item = picks.draw()
        if item not in chosen:
            chosen.append(item)
        if len(chosen) == count:
            break
    return {"transaction_id": "", "membership_id": buyers.draw(),
            "bought_at": moment.isoformat(timespec="seconds"),
            "lines": [{"item": item.name, "quantity": _quantity(rng, item)} for item in chosen]}


def _quantity(rng: random.Random, item: _Item) -> int:
    if item.by_the_box:
        return rng.choice((6, 10, 12, 12, 20, 24, 24, 50))
    roll = rng.random()
    return 1 if roll < 0.8 else 2 if roll < 0.95 else rng.randint(3, 4)


def _with_totals(record: dict[str, Any], by_name: dict[str, _Item]) -> dict[str, Any]:
    price = sum((by_name[line["item"]].cost * line["quantity"] for line in record["lines"]),
                Decimal(0))
    weight = sum((by_name[line["item"]].weight * line["quantity"] for line in record["lines"]),
                 Decimal(0))
    return {**record, "total_price": _number(price), "total_weight": _number(weight)}


def _number(value: Decimal) -> float | int:
    """A JSON number with the decimal's digits (a float's shortest form is exact for
    amounts of cents and grams well below 2**53)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _with_trouble(lines: list[str], rng: random.Random, generated: Generated,
                  members: set[str]) -> list[str]:
    """About TROUBLE_SHARE of the transactions, each given one fault; duplicates and
    conflicts are later copies of a clean transaction."""
    faults = ("unknown_member", "unknown_item", "bad_quantity", "wrong_total", "broken",
              "duplicates", "conflicts")
    chosen = rng.sample(range(len(lines)), min(len(lines), round(len(lines) * TROUBLE_SHARE)))
    out = list(lines)
    later: list[tuple[int, str]] = []
    for n, index in enumerate(chosen):
        fault = faults[n % len(faults)]
        record = json.loads(lines[index])
        setattr(generated, fault, getattr(generated, fault) + 1)
        if fault == "unknown_member":
            unknown = f"unknown-{rng.randrange(10**6):06d}"
            while unknown in members:
                unknown += "x"
            record["membership_id"] = unknown
        elif fault == "unknown_item":
            record["lines"][0]["item"] = "Discontinued Gizmo"
        elif fault == "bad_quantity":
            record["lines"][-1]["quantity"] = rng.choice((0, -1, 1.5, "two"))
        elif fault == "wrong_total":
            record["total_price"] = _number(Decimal(str(record["total_price"])) + Decimal("1.00"))
        elif fault == "broken":
            out[index] = lines[index][: len(lines[index]) // 2]
            continue
        elif fault == "duplicates":
            later.append((index + rng.randint(1, 50), lines[index]))
            continue
        else:  # a conflict: the same id again, one more unit on its first line
            record["lines"][0]["quantity"] += 1
            record.pop("total_price")
            record.pop("total_weight")
            later.append((index + rng.randint(1, 50), json.dumps(record, separators=(",", ":"))))
            continue
        out[index] = json.dumps(record, separators=(",", ":"))
    for position, line in sorted(later, key=lambda pair: pair[0], reverse=True):
        out.insert(min(position, len(out)), line)
    generated.lines = len(out)
    return out
