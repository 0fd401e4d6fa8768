"""Hostile advocacy folders: documents nested without end, stray and huge files, names
that are glob patterns or not UTF-8, sluice's own files inside the folder, files the
read misses. Every entry is loaded, or in the ledger with its reason."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile import Tried, assert_promises, assert_rerun_changes_nothing, measured, tried
from test_advocacy_ingest import advocate

from conftest import query, sluice

MEMORY_BOUND_MB = 600


def user(n: int) -> str:
    return str(uuid.UUID(int=n + 1, version=4))


def write_advocate(path: Path, n: int, **changes: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(advocate(user(n), name=f"Advocate {n}", **changes)))


def summary_of(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


def ledger(db: Path) -> dict[str, tuple[str, int, int, str | None]]:
    return {path: (status, read, rejected, note) for path, status, read, rejected, note in query(
        db, "SELECT path, status, records_read, rejected, note FROM sluice.files")}


# --- nesting, and repairs only one parser accepts ---------------------------------------------------------------------------------

NESTING = [
    (tried("bytes", "advocate file cut short after 1,000 nested [",
           "quarantined: 'invalid JSON, nested more than 512 levels deep'; the run goes on"),
     '{"user_id": "x", "deep": ' + "[" * 1_000, False),
    (tried("bytes", "advocate file cut short after 100,000 nested [",
           "quarantined: 'invalid JSON, nested more than 512 levels deep'; the run goes on"),
     '{"user_id": "x", "deep": ' + "[" * 100_000, False),
    (tried("bytes", "valid advocate file with a field nested 100,000 levels deep",
           "loads (the engine's JSON functions do not recurse)"),
     json.dumps(advocate(user(9)))[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}",
     True),
    (tried("bytes", "valid JSON nested 100,000 levels deep that is not an object",
           "quarantined: 'not a JSON object'"),
     "[" * 100_000 + "]" * 100_000, False),
    (tried("bytes", "a file cut short holding a lone surrogate escape \\udc00 (Python's "
                    "parser accepts it, the engine's does not)",
           "quarantined: 'invalid JSON, closing brackets do not make valid JSON'; the run "
           "goes on"),
     '{"user_id": "x", "name": "\\udc00", "tags": [1', False),
]


@pytest.fixture(scope="module")
def nested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run over a folder holding every nesting case and a good file."""
    work = tmp_path_factory.mktemp("nesting")
    write_advocate(work / "in" / "a_good.json", 1)
    for n, (_, text, _) in enumerate(NESTING):
        (work / "in" / f"deep_{n}.json").write_text(text)
    summary = summary_of(sluice("advocacy", "ingest", "in", "--json", cwd=work))
    loads = sum(1 for _, _, loads in NESTING if loads)
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (
        len(NESTING) + 1, loads + 1, len(NESTING) - loads)
    return work


@pytest.mark.parametrize("index", range(len(NESTING)), ids=[c.case for c, _, _ in NESTING])
def test_deep_nesting_never_fails_the_run(nested: Path, index: int) -> None:
    case, _, loads = NESTING[index]
    status, read, rejected, _ = ledger(nested / "warehouse.db")[f"deep_{index}.json"]
    assert (status, read, rejected) == (("loaded", 1, 0) if loads else ("rejected", 1, 1))
    reasons = query(nested / "warehouse.db", "SELECT reasons FROM sluice.quarantine "
                                             f"WHERE source_file = 'deep_{index}.json'")
    expected = case.outcome.split("'")[1] if not loads else None
    assert reasons == ([([expected],)] if expected else [])


def test_the_nesting_run_balances_and_reruns_change_nothing(nested: Path) -> None:
    db = nested / "warehouse.db"
    assert_promises(db)
    assert_rerun_changes_nothing("advocacy", "ingest", "in", cwd=nested, db=db)


DEEP_LINE = tried("bytes", "JSON Lines: a line cut short after 100,000 nested [",
                  "that line quarantined with its reason; the others load")


@pytest.mark.parametrize("case", [DEEP_LINE], ids=[DEEP_LINE.case])
def test_deep_line_of_json_lines(work: Path, case: Tried) -> None:
    lines = [json.dumps(advocate(user(1))), '{"deep": ' + "[" * 100_000,
             json.dumps(advocate(user(2)))]
    (work / "export.jsonl").write_text("\n".join(lines) + "\n")
    summary = summary_of(sluice("advocacy", "ingest", "export.jsonl", "--json", cwd=work))
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (3, 2, 1)
    assert_promises(work / "warehouse.db")


# --- strays and big files --------------------------------------------------------------------

BIG_FILES = [
    tried("folders", "a stray export.bin of 2 GB (sparse) in the folder",
          "skipped 'not a .json file' from its name; never read (peak memory < 600 MB)"),
    tried("folders", "a macOS resource fork ._user.json of 300 MB",
          "skipped 'macOS resource fork' from its name; never read"),
    tried("folders", "an advocate .json file of 300 MB (sparse)",
          "rejected as one record 'file larger than 64 MiB', never read into memory; "
          "copy kept in quarantine; a re-run skips it as quarantined before"),
]


def sparse(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        stream.truncate(size)


@pytest.mark.parametrize("case", [BIG_FILES[0]], ids=[BIG_FILES[0].case])
def test_big_strays_and_a_huge_json_file_are_never_read(work: Path, case: Tried) -> None:
    write_advocate(work / "in" / "user_1.json", 1)
    sparse(work / "in" / "export.bin", 2 << 30)
    sparse(work / "in" / "._user_1.json", 300 << 20)
    sparse(work / "in" / "huge.json", 300 << 20)
    run = measured("advocacy", "ingest", "in", "--json", cwd=work)
    assert run.returncode == 0, run.stderr
    assert run.peak_mb < MEMORY_BOUND_MB, f"peak {run.peak_mb:.0f} MB"
    summary = json.loads(run.stdout)
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (2, 1, 1)
    db = work / "warehouse.db"
    files = ledger(db)
    assert files["export.bin"][:2] == ("skipped", 0)
    assert files["export.bin"][3] == "skipped: not a .json file"
    assert files["._user_1.json"][3] == "skipped: macOS resource fork"
    status, read, rejected, note = files["huge.json"]
    assert (status, read, rejected) == ("rejected", 1, 1)
    assert note is not None and note.startswith("file larger than 64 MiB; copy kept at ")
    assert query(db, "SELECT source_file, reasons FROM sluice.quarantine") == [
        ("huge.json", ["file larger than 64 MiB"])]
    kept = list((work / "warehouse.db.quarantine").glob("run-*/huge.json"))
    assert len(kept) == 1 and kept[0].stat().st_size == 300 << 20
    assert_promises(db)
    assert_rerun_changes_nothing("advocacy", "ingest", "in", cwd=work, db=db)


# --- names -----------------------------------------------------------------------------------

LONG_FOLDER = os.sep.join(["f" * 200] * 6)
NAMES: list[tuple[Tried, str]] = [
    (tried("names", "x\\[1].json: a backslash then a bracket", "loads as itself"),
     "x\\[1].json"),
    (tried("names", "back\\slash.json", "loads as itself"), "back\\slash.json"),
    (tried("names", "a\\*.json: a backslash then a star", "loads as itself"), "a\\*.json"),
    (tried("names", "user [copy?] *1*.json: glob characters", "loads as itself"),
     "user [copy?] *1*.json"),
    (tried("names", "a]b.json", "loads as itself"), "a]b.json"),
    (tried("names", "[.json", "loads as itself"), "[.json"),
    (tried("names", "**.json", "loads as itself"), "**.json"),
    (tried("names", "{a,b}.json: brace and comma", "loads as itself"), "{a,b}.json"),
    (tried("names", "a newline inside the name", "loads as itself"), "new\nline.json"),
    (tried("names", "a tab inside the name", "loads as itself"), "tab\there.json"),
    (tried("names", "a leading space", "loads as itself"), " leading.json"),
    (tried("names", "user.json  (trailing spaces)",
           "skipped 'not a .json file': the name does not end in .json"), "user.json  "),
    (tried("names", "non-UTF-8 bytes: b'caf\\xe9.json'",
           "loads; shown as caf\\xe9.json in the ledger"), "caf\udce9.json"),
    (tried("names", "a non-UTF-8 folder name: b'sub\\xff/x.json'",
           "loads; shown as sub\\xff/x.json"), "sub\udcff" + os.sep + "x.json"),
    (tried("names", "é composed and decomposed: two files", "both load, as two files"),
     "\u00e9.json"),
    (tried("names", "é decomposed (e + combining accent)", "loads as its own file"),
     "e\u0301.json"),
    (tried("names", "a name of 255 bytes", "loads as itself"), "n" * 250 + ".json"),
    (tried("names", "a path of 1,200 characters (six nested 200-character folders)",
           "loads as itself"), LONG_FOLDER + os.sep + "deep.json"),
    (tried("names", "quotes and percent signs: it's \"%s\" %d.json", "loads as itself"),
     "it's \"%s\" %d.json"),
    (tried("names", "a name starting with a dash", "loads as itself"), "-rf.json"),
    (tried("names", "emoji in the name", "loads as itself"), "🚀 launch.json"),
]


def shown(name: str) -> str:
    """How sluice shows a name: bytes that are not UTF-8 as \\xNN."""
    return os.fsencode(name).decode("utf-8", errors="backslashreplace")


@pytest.fixture(scope="module")
def names_loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("names")
    for n, (_, name) in enumerate(NAMES):
        write_advocate(work / "in" / name, n)
    sluice("advocacy", "ingest", "in", "--batch-size", "4", cwd=work)
    return work


@pytest.mark.parametrize("index", range(len(NAMES)), ids=[c.case for c, _ in NAMES])
def test_every_name_loads_or_is_accounted_for(names_loaded: Path, index: int) -> None:
    name = shown(NAMES[index][1])
    db = names_loaded / "warehouse.db"
    files = ledger(db)
    assert name in files, f"{name!r} has no ledger row"
    status, read, _, note = files[name]
    if name.endswith(".json"):
        assert (status, read) == ("loaded", 1), (status, note)
        assert query(db, f"SELECT count(*) FROM advocacy.advocates WHERE name = "
                         f"'Advocate {index}'") == [(1,)]
    else:
        assert (status, note) == ("skipped", "skipped: not a .json file")


def test_the_names_run_balances_and_reruns_change_nothing(names_loaded: Path) -> None:
    db = names_loaded / "warehouse.db"
    assert len(ledger(db)) == len(NAMES)
    assert_promises(db)
    assert_rerun_changes_nothing("advocacy", "ingest", "in", cwd=names_loaded, db=db)


MISSED = tried("names", "a file the engine's scan misses, and that cannot be read at all",
               "recorded 'unreadable' with the reason (never silently missing); exit 5")


@pytest.mark.parametrize("case", [MISSED], ids=[MISSED.case])
def test_a_file_the_scan_misses_is_never_silently_missing(
        work: Path, case: Tried, monkeypatch: pytest.MonkeyPatch) -> None:
    """The safety net, in process: the read of a batch is made to skip one file (as the
    engine's scan once skipped names with a backslash), and reading it again fails."""
    from sluice.pipelines import advocacy
    from sluice.pipelines.advocacy import sources
    from sluice.warehouse import Warehouse

    for n in range(3):
        write_advocate(work / "in" / f"user_{n}.json", n)
    groups, read_file = sources._groups, sources._read_file
    passes: list[int] = []

    def missing_one(rows: list[tuple[Any, ...]]) -> Iterator[Any]:
        passes.append(len(rows))
        first = len(passes) == 1
        return groups([r for r in rows if not (first and r[1] == "user_1.json")])

    def failing_read(path: str, size: int) -> tuple[bytes, os.stat_result]:
        if os.path.basename(path) == "user_1.json":
            raise PermissionError(13, "Permission denied", str(path))
        return read_file(path, size)

    monkeypatch.setattr(sources, "_groups", missing_one)
    monkeypatch.setattr(sources, "_read_file", failing_read)
    with Warehouse(work / "warehouse.db") as warehouse:
        run = advocacy.ingest(warehouse, str(work / "in"))
    assert passes == [3, 1]  # the batch, then the file it missed
    assert run.unreadable == 1
    db = work / "warehouse.db"
    assert ledger(db)["user_1.json"] == (
        "unreadable", 0, 0, "cannot read file: Permission denied")
    assert query(db, "SELECT count(*) FROM advocacy.advocates") == [(2,)]
    assert_promises(db)


CHANGED = tried("folders", "an advocate file that grows between the listing and the read",
                "recorded 'unreadable: changed while being read', nothing of it loaded; "
                "the next run loads it")


@pytest.mark.parametrize("case", [CHANGED], ids=[CHANGED.case])
def test_a_file_changed_while_read_is_not_loaded(
        work: Path, case: Tried, monkeypatch: pytest.MonkeyPatch) -> None:
    def grow(path: Path) -> None:
        with path.open("a") as stream:
            stream.write("   ")

    db = _ingest_changing_one_file(work, monkeypatch, grow)
    monkeypatch.undo()
    assert summary_of(sluice("advocacy", "ingest", "in", "--json", cwd=work))["loaded"] == 1
    assert_promises(db)


def test_a_file_replaced_by_a_pipe_never_blocks_the_read(
        work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An advocate file replaced by a named pipe between the listing and the read, with
    nothing ever writing to it: the read does not wait on the pipe; the file is
    'unreadable: changed while being read' and the other files load."""
    def swap(path: Path) -> None:
        path.unlink()
        os.mkfifo(path)

    _ingest_changing_one_file(work, monkeypatch, swap)


def _ingest_changing_one_file(work: Path, monkeypatch: pytest.MonkeyPatch,
                              change: Callable[[Path], None]) -> Path:
    """Three advocate files; `change` is done to the second between the listing and the
    read. It is recorded 'unreadable: changed while being read' and the two others load.
    Returns the warehouse."""
    from sluice.pipelines import advocacy
    from sluice.pipelines.advocacy import sources
    from sluice.warehouse import Warehouse

    for n in range(3):
        write_advocate(work / "in" / f"user_{n}.json", n)
    read_files = sources._read_files

    def changed(warehouse: Warehouse, root: Path, rows: list[tuple[Any, ...]]) -> None:
        change(root / "user_1.json")
        read_files(warehouse, root, rows)

    monkeypatch.setattr(sources, "_read_files", changed)
    db = work / "warehouse.db"
    with Warehouse(db) as warehouse:
        assert advocacy.ingest(warehouse, str(work / "in")).unreadable == 1
    status, _, _, note = ledger(db)["user_1.json"]
    assert status == "unreadable" and note is not None
    assert note.startswith("changed while being read")
    assert query(db, "SELECT count(*) FROM advocacy.advocates") == [(2,)]
    assert_promises(db)
    return db


JSONL_NAMES = [
    (tried("names", "a JSON Lines file named export [1]*.jsonl", "read as itself"),
     "export [1]*.jsonl"),
    (tried("names", "a JSON Lines file named back\\slash.jsonl", "read as itself"),
     "back\\slash.jsonl"),
    (tried("names", "a JSON Lines file named b'caf\\xe9.jsonl'",
           "read as itself; the ledger shows its full path with \\xe9"), "caf\udce9.jsonl"),
]


@pytest.mark.parametrize(("case", "name"), JSONL_NAMES, ids=[c.case for c, _ in JSONL_NAMES])
def test_json_lines_file_names(work: Path, case: Tried, name: str) -> None:
    path = work / name
    path.write_text(json.dumps(advocate(user(1))) + "\n")
    summary = summary_of(sluice("advocacy", "ingest", name, "--json", cwd=work))
    assert summary["loaded"] == 1
    assert list(ledger(work / "warehouse.db")) == [shown(str(path.resolve()))]
    assert_promises(work / "warehouse.db")


DAMAGED_GZ = tried("compression", "an advocacy .jsonl.gz whose CRC does not match",
                   "unreadable with the reason, a copy kept, none of its lines loaded; exit 5")


@pytest.mark.parametrize("case", [DAMAGED_GZ], ids=[DAMAGED_GZ.case])
def test_a_damaged_json_lines_gz_is_unreadable(work: Path, case: Tried) -> None:
    data = bytearray(gzip.compress(
        "".join(json.dumps(advocate(user(n))) + "\n" for n in range(50)).encode()))
    data[-8] ^= 0xFF
    (work / "export.jsonl.gz").write_bytes(bytes(data))
    result = sluice("advocacy", "ingest", "export.jsonl.gz", "--json", cwd=work, expect=5)
    assert (summary_of(result)["loaded"], summary_of(result)["files_unreadable"]) == (0, 1)
    (status, _, _, note), = ledger(work / "warehouse.db").values()
    assert status == "unreadable" and note is not None and note.startswith(
        "damaged gzip data (CRC mismatch); copy kept at ")
    assert list((work / "warehouse.db.quarantine").glob("run-*/export.jsonl.gz"))
    assert_promises(work / "warehouse.db")


# --- the folder itself -----------------------------------------------------------------------

OWN = tried("folders", "the warehouse, its .wal, .tmp and .quarantine folder inside the "
                       "ingested folder", "never read as input: a re-run changes nothing")
UNLISTABLE = tried("folders", "a subfolder that cannot be listed (mode 000)",
                   "recorded 'unreadable' with the reason; the rest loads; exit 5")
UNREADABLE = tried("folders", "an advocate file that cannot be opened (mode 000)",
                   "recorded 'unreadable' with the reason; the rest loads; exit 5")
BOM = tried("bytes", "an advocate file starting with a UTF-8 byte-order mark",
            "loads (the mark is ignored, as in JSON Lines)")
NOT_OBJECT = tried("bytes", "an advocate file holding a JSON array, a string, a number",
                   "each quarantined 'not a JSON object'")


@pytest.mark.parametrize("case", [OWN], ids=[OWN.case])
def test_sluices_own_files_are_never_input(work: Path, case: Tried) -> None:
    write_advocate(work / "in" / "user_1.json", 1)
    (work / "in" / "cut.json").write_text('{"user_id": "cut in a str')
    args = ("advocacy", "ingest", "in", "--warehouse", "in/warehouse.db")
    sluice(*args, cwd=work)
    db = work / "in" / "warehouse.db"
    assert list((work / "in" / "warehouse.db.quarantine").glob("run-*/cut.json"))
    assert_promises(db)
    assert_rerun_changes_nothing(*args, cwd=work, db=db)
    files = ledger(db)
    own = {p for p, (_, _, _, note) in files.items() if note and "sluice's own" in note}
    assert own >= {"warehouse.db", "warehouse.db.quarantine"}
    assert set(files) - own == {"user_1.json", "cut.json"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and lists anything")
@pytest.mark.parametrize("case", [UNLISTABLE, UNREADABLE], ids=[UNLISTABLE.case, UNREADABLE.case])
def test_what_cannot_be_read_is_recorded(work: Path, case: Tried) -> None:
    write_advocate(work / "in" / "user_1.json", 1)
    target = work / "in" / ("locked" if case is UNLISTABLE else "locked.json")
    if case is UNLISTABLE:
        write_advocate(target / "user_2.json", 2)
    else:
        write_advocate(target, 2)
    target.chmod(0)
    try:
        result = sluice("advocacy", "ingest", "in", "--json", cwd=work, expect=5)
    finally:
        target.chmod(0o755)
    assert summary_of(result)["loaded"] == 1
    files = ledger(work / "warehouse.db")
    status, _, _, note = files[target.name]
    assert status == "unreadable" and note is not None and note.endswith("Permission denied")
    assert_promises(work / "warehouse.db")


UNLISTABLE_IN_PROCESS = tried(
    "folders", "a subfolder whose listing fails (PermissionError, simulated: the tests run "
               "as root)", "recorded 'unreadable: cannot list folder' with the reason; the "
               "rest loads")


@pytest.mark.parametrize("case", [UNLISTABLE_IN_PROCESS], ids=[UNLISTABLE_IN_PROCESS.case])
def test_a_folder_that_cannot_be_listed_is_recorded(
        work: Path, case: Tried, monkeypatch: pytest.MonkeyPatch) -> None:
    from sluice.pipelines import advocacy
    from sluice.warehouse import Warehouse

    write_advocate(work / "in" / "user_1.json", 1)
    write_advocate(work / "in" / "locked" / "user_2.json", 2)
    scandir = os.scandir

    def refusing(path: str | os.PathLike[str]) -> object:
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    db = work / "warehouse.db"
    with Warehouse(db) as warehouse:
        assert advocacy.ingest(warehouse, str(work / "in")).unreadable == 1
    monkeypatch.undo()
    assert ledger(db)["locked"] == ("unreadable", 0, 0, "cannot list folder: Permission denied")
    assert query(db, "SELECT count(*) FROM advocacy.advocates") == [(1,)]
    assert_promises(db)


@pytest.mark.parametrize("case", [BOM], ids=[BOM.case])
def test_byte_order_mark(work: Path, case: Tried) -> None:
    (work / "in").mkdir()
    (work / "in" / "bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(advocate()).encode())
    summary = summary_of(sluice("advocacy", "ingest", "in", "--json", cwd=work))
    assert summary["loaded"] == 1
    assert_promises(work / "warehouse.db")


@pytest.mark.parametrize("case", [NOT_OBJECT], ids=[NOT_OBJECT.case])
def test_json_that_is_not_an_object(work: Path, case: Tried) -> None:
    for name, text in (("array.json", "[1, 2]"), ("string.json", '"x"'), ("number.json", "7")):
        (work / "in").mkdir(exist_ok=True)
        (work / "in" / name).write_text(text)
    summary = summary_of(sluice("advocacy", "ingest", "in", "--json", cwd=work))
    assert (summary["read"], summary["rejected"]) == (3, 3)
    assert {r[0] for (r,) in query(work / "warehouse.db", "SELECT reasons FROM "
                                                          "sluice.quarantine")} == {
        "not a JSON object"}
    assert_promises(work / "warehouse.db")
