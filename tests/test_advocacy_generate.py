"""The demo advocate generator: same seed same bytes, realistic shapes, and every count it
reports matches what a reader finds on disk."""

from __future__ import annotations

import json
import re
import statistics
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sluice.pipelines.advocacy.generate import (
    BRANDS,
    MESS_WEIGHTS,
    PLATFORMS,
    PROGRAMS,
    GeneratedAdvocates,
    generate_advocates,
    write_jsonl,
)
from sluice.pipelines.advocacy.repair import complete_brackets

Record = dict[str, Any]
METRICS = ("likes", "comments", "shares", "reach")
HANDLES = ("instagram_handle", "tiktok_handle")
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
JOINED_AT = re.compile(r"202[2-5]-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def read_folder(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def is_clean(record: Record) -> bool:
    """What a strict contract accepts: right types, no sentinels, normalised values."""
    def handle_ok(handle: object) -> bool:
        return isinstance(handle, str) and re.fullmatch(r"@[a-z0-9._]+", handle) is not None

    def task_ok(task: Record) -> bool:
        metrics = [task[m] for m in METRICS]
        return (task["platform"] in PLATFORMS and task["post_url"].startswith("https://")
                and all(type(m) is int and m >= 0 for m in metrics)
                and task["reach"] > sum(metrics[:3]))

    def program_ok(program: Record) -> bool:
        sales = program["total_sales_attributed"]
        return (UUID4.fullmatch(program["program_id"]) is not None
                and program["brand"] in BRANDS and type(sales) is float
                and sales >= 0 and round(sales, 2) == sales
                and all(task_ok(task) for task in program["tasks_completed"]))

    user_id = record.get("user_id")
    return (isinstance(user_id, str) and UUID4.fullmatch(user_id) is not None
            and str(uuid.UUID(user_id)) == user_id and uuid.UUID(user_id).version == 4
            and record["name"] != "???"
            and re.fullmatch(r"[a-z0-9._]+@[a-z0-9.]+\.[a-z]+", record["email"]) is not None
            and all(handle_ok(record[h]) for h in HANDLES)
            and JOINED_AT.fullmatch(record["joined_at"]) is not None
            and datetime.fromisoformat(record["joined_at"]).year in range(2022, 2026)
            and bool(record["advocacy_programs"])
            and all(program_ok(p) for p in record["advocacy_programs"]))


def tasks(record: Record) -> list[Record]:
    return [t for p in record["advocacy_programs"] for t in p["tasks_completed"]]


# How a reader recognises each kind of value mess in a file that parses.
DETECTORS: dict[str, Callable[[Record], bool]] = {
    "user_id_null": lambda r: "user_id" in r and r["user_id"] is None,
    "user_id_absent": lambda r: "user_id" not in r,
    "program_id_empty": lambda r: any(p["program_id"] == "" for p in r["advocacy_programs"]),
    "name_unknown": lambda r: r["name"] == "???",
    "email_invalid": lambda r: r["email"] == "invalid-email",
    "email_unnormalised": lambda r: r["email"] != r["email"].strip().lower(),
    "handle_error": lambda r: any(r[h] in (None, "#error_handle") for h in HANDLES),
    "handle_unnormalised": lambda r: any(
        isinstance(r[h], str) and r[h] != "#error_handle"
        and (not r[h].startswith("@") or r[h] != r[h].strip() or " " in r[h]) for h in HANDLES),
    "joined_at_invalid": lambda r: r["joined_at"] == "not-a-date",
    "brand_number": lambda r: any(isinstance(p["brand"], int) for p in r["advocacy_programs"]),
    "platform_number": lambda r: any(isinstance(t["platform"], int) for t in tasks(r)),
    "post_url_broken": lambda r: any(t["post_url"] == "broken_link" for t in tasks(r)),
    "metric_missing": lambda r: any(t[m] in (None, "NaN") for t in tasks(r) for m in METRICS),
    "reach_negative": lambda r: any(isinstance(t["reach"], int) and t["reach"] < 0
                                    for t in tasks(r)),
    "sales_no_data": lambda r: any(p["total_sales_attributed"] == "no-data"
                                   for p in r["advocacy_programs"]),
}


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> tuple[GeneratedAdvocates, dict[str, bytes]]:
    made = generate_advocates(tmp_path_factory.mktemp("advocates") / "users", 2000)
    return made, read_folder(made.folder)


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = generate_advocates(tmp_path / "a", 300)
    b = generate_advocates(tmp_path / "b", 300)
    c = generate_advocates(tmp_path / "c", 300, seed=8)
    assert a.as_dict() | {"folder": ""} == b.as_dict() | {"folder": ""}
    assert read_folder(a.folder) == read_folder(b.folder)
    assert read_folder(a.folder) != read_folder(c.folder)
    assert a.files == len(read_folder(a.folder))
    assert json.loads(json.dumps(a.as_dict())) == {
        "folder": str(tmp_path / "a"), "files": a.files, "advocates": 300,
        "clean_files": a.clean_files, "messy_files": a.messy_files, "truncated": a.truncated,
        "unrepairable": a.unrepairable, "stray": a.stray,
        "duplicated_user_ids": a.duplicated_user_ids, "identical_copies": a.identical_copies,
        "missing_user_id": a.missing_user_id, "mess": dict(a.mess)}


def test_counts_match_what_is_on_disk(
    messy: tuple[GeneratedAdvocates, dict[str, bytes]],
) -> None:
    made, files = messy
    assert len(files) == made.files == made.clean_files + made.messy_files + made.stray
    assert 0.35 < made.messy_files / (made.clean_files + made.messy_files) < 0.65

    not_utf8 = [n for n, data in files.items() if not _is_utf8(data)]
    assert not_utf8 and all(n.startswith("._user_") for n in not_utf8)
    assert all(files[n].startswith(b"\x00\x05\x16\x07") for n in not_utf8)
    assert files["empty.json"] == b"" and "notes.txt" in files
    assert made.stray == len(not_utf8) + 2

    texts = {n: data.decode() for n, data in files.items() if n not in not_utf8}
    failing = [n for n, text in texts.items() if loads(text) is None]
    assert len(failing) + len(not_utf8) == made.truncated + made.unrepairable + made.stray
    cut = [n for n in failing if n.startswith("user_")]
    # The pipeline's own repair: the generator's cuts must be what it can and cannot mend.
    repaired = {n: loads(complete_brackets(texts[n]).text or "") for n in cut}
    assert sum(r is not None for r in repaired.values()) == made.truncated > 0
    assert sum(r is None for r in repaired.values()) == made.unrepairable > 0

    records = {n: loads(t) for n, t in texts.items() if n.startswith("user_") and n not in cut}
    records.update({n: r for n, r in repaired.items() if r is not None})
    assert sum(r.get("user_id") is None for r in records.values()) == made.missing_user_id > 0
    # Files cut inside a string still start with their user_id.
    unrepairable_ids = [re.match(r'\{"user_id": "([0-9a-f-]{36})"', texts[n])
                        for n, r in repaired.items() if r is None]
    ids = [r["user_id"] for r in records.values() if r.get("user_id") is not None]
    ids += [m.group(1) for m in unrepairable_ids if m]
    assert len(ids) == len(files) - made.stray - made.missing_user_id
    assert len(ids) - len(set(ids)) == made.duplicated_user_ids + made.identical_copies

    by_bytes = Counter(data for n, data in files.items() if n.startswith("user_"))
    assert sum(n - 1 for n in by_bytes.values()) == made.identical_copies > 0
    copies = [n for n in files if n.endswith(" copy.json")]
    assert len(copies) == made.identical_copies
    assert all(files[n] == files[n.replace(" copy.json", ".json")] for n in copies)


def test_every_kind_of_mess_is_where_it_is_counted(
    messy: tuple[GeneratedAdvocates, dict[str, bytes]],
) -> None:
    made, files = messy
    records = [loads(data.decode()) for n, data in files.items() if n.startswith("user_")]
    whole = [r for r in records if r is not None]
    found = {kind: sum(detect(r) for r in whole) for kind, detect in DETECTORS.items()}
    assert found == {kind: made.mess[kind] for kind in DETECTORS}
    assert all(n > 0 for n in made.mess.values()) and set(made.mess) == set(MESS_WEIGHTS)
    # Clean files, later exports and copies pass a strict contract; nothing else does.
    assert sum(is_clean(r) for r in whole) == (
        made.clean_files + made.duplicated_user_ids + made.identical_copies)
    several = sum(sum(detect(r) for detect in DETECTORS.values()) >= 2 for r in whole)
    assert several > 0.1 * made.messy_files


def test_clean_advocates_look_real(tmp_path: Path) -> None:
    made = generate_advocates(tmp_path / "users", 2000, messy_share=0)
    files = read_folder(made.folder)
    assert set(files) == {f"user_{n:04d}.json" for n in range(1, 2001)}
    assert made.files == made.clean_files == 2000 and made.messy_files == made.stray == 0
    records = [json.loads(data) for data in files.values()]
    assert all(is_clean(r) for r in records)

    programs = [p for r in records for p in r["advocacy_programs"]]
    brand_of = {p["program_id"]: p["brand"] for p in programs}
    assert len(brand_of) == PROGRAMS and set(brand_of.values()) == set(BRANDS)
    assert all(brand_of[p["program_id"]] == p["brand"] for p in programs)
    popularity = Counter(p["program_id"] for p in programs).most_common()
    assert popularity[0][1] > 5 * popularity[-1][1]

    several = [r for r in records if len(r["advocacy_programs"]) >= 2]
    assert 0.1 < len(several) / len(records) < 0.2
    assert all(2 <= len(r["advocacy_programs"]) <= 4 for r in several)
    assert max(len(tasks(r)) for r in several) >= 8
    single = [r for r in records if len(r["advocacy_programs"]) == 1]
    assert {len(tasks(r)) for r in single} == {1, 2, 3}

    reach = [t["reach"] for r in records for t in tasks(r)]
    assert max(reach) > 50 * statistics.median(reach)  # a few viral posts
    assert {t["platform"] for r in records for t in tasks(r)} == set(PLATFORMS)
    sales = [p["total_sales_attributed"] for p in programs]
    assert max(sales) > 20 * statistics.median(sales)  # outliers to find
    years = Counter(r["joined_at"][:4] for r in records)
    assert set(years) == {"2022", "2023", "2024", "2025"} and years["2025"] > years["2022"]
    assert len({r["email"] for r in records}) > 0.8 * len(records)


def test_same_advocates_whatever_the_messy_share(tmp_path: Path) -> None:
    clean = read_folder(generate_advocates(tmp_path / "clean", 200, messy_share=0).folder)
    messy = read_folder(generate_advocates(tmp_path / "messy", 200).folder)
    same = [n for n in clean if messy[n] == clean[n]]
    assert 0.35 * len(clean) < len(same) < 0.65 * len(clean)


def test_all_messy(tmp_path: Path) -> None:
    made = generate_advocates(tmp_path / "users", 100, messy_share=1)
    assert made.clean_files == 0 and made.messy_files == 100
    assert made.duplicated_user_ids == made.identical_copies == 0  # they copy clean files


def test_write_jsonl_one_object_per_line(tmp_path: Path) -> None:
    lines = write_jsonl(tmp_path / "a.jsonl", 1000)
    write_jsonl(tmp_path / "b.jsonl", 1000)
    write_jsonl(tmp_path / "c.jsonl", 1000, seed=8)
    data = (tmp_path / "a.jsonl").read_bytes()
    assert data == (tmp_path / "b.jsonl").read_bytes() != (tmp_path / "c.jsonl").read_bytes()
    assert data.endswith(b"\n") and lines == data.count(b"\n") > 1000
    records = [json.loads(line) for line in data.decode().splitlines()]
    assert all(isinstance(r, dict) for r in records)
    assert any(not is_clean(r) for r in records) and sum(map(is_clean, records)) > 400
    ids = [r["user_id"] for r in records if r.get("user_id")]
    assert len(ids) > len(set(ids))  # later exports and copies repeat a user_id


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="messy_share"):
        generate_advocates(tmp_path, 10, messy_share=1.5)
    with pytest.raises(ValueError, match="advocates"):
        write_jsonl(tmp_path / "x.jsonl", -1)
    empty = generate_advocates(tmp_path / "none", 0)
    assert empty.files == 0 and not any(empty.folder.iterdir())


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True
