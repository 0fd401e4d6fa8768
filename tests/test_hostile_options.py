"""Hostile options and environment: bad values, warehouses that are missing, folders or
text, archives that are not archives; no engine text reaches the user (docs/reliability.md,
"No engine text reaches the user", "Exit codes")."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import hostile
import pytest
from hostile import tried

from conftest import EXAMPLE, query, sluice, vote, write_lines

ENGINE_TEXT = ("Traceback", "Binder Error", "Parser Error", "Catalog Error", "IO Error",
               "Invalid Input Error", "Conversion Error", "duckdb", "_duckdb")
NOT_GZIP = b"\x1f\x8b\x08\x00 this is not gzip data at all" * 20


def assert_no_engine_text(result: subprocess.CompletedProcess[str]) -> None:
    for text in ENGINE_TEXT:
        assert text not in result.stderr and text not in result.stdout, (text, result.stderr)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """stderr is exactly one line, `error: ...`, in sluice's words."""
    assert_no_engine_text(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def assert_usage_error(result: subprocess.CompletedProcess[str], option: str) -> None:
    """A usage error from the command-line parser (its usage message): exit 2, names the
    option."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert_no_engine_text(result)
    assert option in result.stderr, result.stderr


def own_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("warehouse.db"))


# --- options -------------------------------------------------------------------------------

BAD_OPTIONS = [
    (("runs", "--limit", "-1"), "--limit", "`sluice runs --limit -1`"),
    (("runs", "--limit", "lots"), "--limit", "`sluice runs --limit lots`"),
    (("advocacy", "ingest", "export", "--batch-size", "0"), "--batch-size",
     "`sluice advocacy ingest export --batch-size 0`"),
    (("votes", "generate", "v.jsonl", "--votes", "-1"), "--votes",
     "`sluice votes generate v.jsonl --votes -1`"),
    (("advocacy", "generate", "out", "--messy-share", "2"), "--messy-share",
     "`sluice advocacy generate out --messy-share 2`"),
]
OPTION_CASES = [pytest.param(args, option, id=tried(
    "options", case, f"exit 2, a usage error naming {option}; no engine text, nothing "
                     "written").case) for args, option, case in BAD_OPTIONS]


@pytest.mark.parametrize(("args", "option"), OPTION_CASES)
def test_a_bad_option_value_is_a_usage_error(work: Path, args: tuple[str, ...],
                                             option: str) -> None:
    (work / "export").mkdir()
    result = sluice(*args, cwd=work, expect=2)
    assert_usage_error(result, option)
    assert sorted(p.name for p in work.iterdir()) == ["export"], "nothing may be written"


# --- environment ---------------------------------------------------------------------------

MEMORY = {
    "lots": "SLUICE_MEMORY_LIMIT=lots",
    "-1GB": "SLUICE_MEMORY_LIMIT=-1GB",
    "0%": "SLUICE_MEMORY_LIMIT=0%",
    "1KB": "SLUICE_MEMORY_LIMIT=1KB (too small to run)",
    "1GB; DROP TABLE x": "SLUICE_MEMORY_LIMIT holding SQL",
}
MEMORY_CASES = [pytest.param(value, id=tried(
    "options", case, "exit 2, one line naming SLUICE_MEMORY_LIMIT; no warehouse is created"
).case) for value, case in MEMORY.items()]


@pytest.mark.parametrize("value", MEMORY_CASES)
def test_a_bad_memory_limit_is_one_line(work: Path, value: str) -> None:
    result = sluice("votes", "ingest", str(EXAMPLE), cwd=work,
                    env={"SLUICE_MEMORY_LIMIT": value}, expect=2)
    assert_one_line_error(result, "SLUICE_MEMORY_LIMIT")
    assert own_files(work) == []


WAREHOUSE_PLACES = {
    "missing folder": "SLUICE_WAREHOUSE pointing into a folder that does not exist",
    "folder": "SLUICE_WAREHOUSE pointing at a folder",
}
PLACE_CASES = [pytest.param(place, id=tried(
    "options", case, "exit 2, one line naming the path; nothing is created").case)
    for place, case in WAREHOUSE_PLACES.items()]


@pytest.mark.parametrize("place", PLACE_CASES)
def test_a_warehouse_that_cannot_be_a_file(work: Path, place: str) -> None:
    (work / "folder").mkdir()
    target = "nowhere/w.db" if place == "missing folder" else "folder"
    result = sluice("votes", "ingest", str(EXAMPLE), cwd=work,
                    env={"SLUICE_WAREHOUSE": target}, expect=2)
    assert_one_line_error(result, str((work / target).resolve()) if place == "folder"
                          else "nowhere")
    assert sorted(p.name for p in work.iterdir()) == ["folder"]
    assert list((work / "folder").iterdir()) == []


TEXT_WAREHOUSE = tried("options", "SLUICE_WAREHOUSE pointing at a text file",
                       "one line: not a DuckDB warehouse file; the text file is untouched")


def test_a_warehouse_that_is_a_text_file(work: Path) -> None:
    notes = work / "notes.txt"
    notes.write_text("just some text\n" * 100)
    before = notes.read_bytes()
    for args in (("votes", "ingest", str(EXAMPLE)), ("runs",), ("votes", "outliers")):
        result = sluice(*args, cwd=work, env={"SLUICE_WAREHOUSE": "notes.txt"}, expect=None)
        # 1 (what test_cli expects of --warehouse) or 2 (a bad environment variable).
        assert result.returncode in (1, 2), (args, result.returncode, result.stderr)
        assert_one_line_error(result, "notes.txt", "not a DuckDB warehouse")
    assert notes.read_bytes() == before
    assert sorted(p.name for p in work.iterdir()) == ["notes.txt"]


READ_ONLY = [("runs",), ("votes", "outliers"), ("advocacy", "report")]
READ_ONLY_CASES = [pytest.param(args, id=tried(
    "options", f"`sluice {' '.join(args)}` on a warehouse that does not exist",
    "exit 2, one line saying the warehouse does not exist; no warehouse file is created"
).case) for args in READ_ONLY]


@pytest.mark.parametrize("args", READ_ONLY_CASES)
def test_a_read_only_verb_on_a_missing_warehouse(work: Path, args: tuple[str, ...]) -> None:
    result = sluice(*args, cwd=work, expect=2)
    assert_one_line_error(result, "warehouse.db", "does not exist")
    assert list(work.iterdir()) == []
    result = sluice(*args, "--warehouse", "other.db", cwd=work, expect=2)
    assert_one_line_error(result, "other.db", "does not exist")
    assert list(work.iterdir()) == []


# --- exit codes ----------------------------------------------------------------------------

ALL_UNREADABLE = tried("options", "a run in which every offered file is unreadable",
                       "the run commits its ledger rows and exits 5, not 0")


def test_a_run_that_could_read_nothing_exits_5(work: Path) -> None:
    (work / "in").mkdir()
    (work / "in" / "a.jsonl.gz").write_bytes(NOT_GZIP)
    (work / "in" / "b.jsonl.gz").write_bytes(NOT_GZIP + b"b")
    result = sluice("votes", "ingest", "in", cwd=work, expect=5)
    assert_no_engine_text(result)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    assert query(db, "SELECT status, files, records_read FROM sluice.runs") == [
        ("succeeded", 2, 0)]
    assert query(db, "SELECT status FROM sluice.files") == [("unreadable",)] * 2
    hostile.assert_rerun_changes_nothing("votes", "ingest", "in", cwd=work, db=db, expect=5)


# --- archives that are not archives --------------------------------------------------------

NOT_ARCHIVES = {
    "random bytes": (b"\x00\x17 not an archive at all " * 50, "random bytes named .tar.gz"),
    "gzipped text": (gzip.compress(b"just text, not a tar\n" * 100, mtime=0),
                     "a valid gzip of plain text named .tar.gz"),
    "empty": (b"", "an empty file named .tar.gz"),
    "damaged gzip": (NOT_GZIP, "a damaged gzip stream named .tar.gz"),
}
ARCHIVE_CASES = [pytest.param(content, id=tried(
    "options", f"`sluice advocacy ingest` given {case}",
    "exit 2, one line saying it cannot be unpacked; nothing is loaded").case)
    for content, case in NOT_ARCHIVES.values()]


@pytest.mark.parametrize("content", ARCHIVE_CASES)
def test_a_file_named_tar_gz_that_is_not_an_archive(work: Path, content: bytes) -> None:
    (work / "export.tar.gz").write_bytes(content)
    result = sluice("advocacy", "ingest", "export.tar.gz", cwd=work, expect=2)
    assert_one_line_error(result, "export.tar.gz")
    db = work / "warehouse.db"
    if db.exists():
        hostile.assert_promises(db)
        assert query(db, "SELECT count(*) FROM sluice.runs WHERE status = 'succeeded'") == [
            (0,)]


GOOD_AFTER_BAD = tried("options", "a good ingest after each refused command in the same folder",
                       "works as if the refused commands never ran")


def test_refused_commands_leave_nothing_in_the_way(work: Path) -> None:
    sluice("runs", cwd=work, expect=2)
    sluice("votes", "ingest", str(EXAMPLE), cwd=work, env={"SLUICE_MEMORY_LIMIT": "lots"},
           expect=2)
    sluice("runs", "--limit", "-1", cwd=work, expect=2)
    write_lines(work / "v.jsonl", [vote(1)])
    sluice("votes", "ingest", "v.jsonl", cwd=work)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    assert query(db, "SELECT run_id, status, loaded FROM sluice.runs") == [(1, "succeeded", 1)]
