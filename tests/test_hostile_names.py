"""Hostile names: paths with glob characters that exist literally, spaces, quotes,
backslashes, newlines, leading dashes, bytes that are not UTF-8, very long names; and
warehouse files named like the warehouse's own schemas (docs/votes.md, "Input";
docs/reliability.md, "The quarantine folder")."""

from __future__ import annotations

import json
import os
from pathlib import Path

import hostile
import pytest
from hostile import tried

from conftest import EXAMPLE, query, sluice, vote, write_lines

NOT_GZIP = b"\x1f\x8b\x08\x00 this is not gzip data at all" * 20


def ids(db: Path) -> list[int]:
    return [i for (i,) in query(db, "SELECT Id FROM blog_analysis.votes ORDER BY Id")]


# --- glob characters in names that exist ---------------------------------------------------

# (the name offered, a decoy the same text matches as a glob, is it a folder)
LITERAL = [
    ("exp [1]", "exp 1", True,
     tried("names", "a folder literally named `exp [1]` named on the command line, beside a "
                    "folder `exp 1` that the text matches as a glob",
           "the folder `exp [1]` is read, not treated as a glob; `exp 1` is not touched")),
    ("v[1].jsonl", "v1.jsonl", False,
     tried("names", "a file literally named `v[1].jsonl` named directly, beside `v1.jsonl`",
           "that file is read (also by the engine, which globs paths of its own)")),
    ("a*.jsonl", "ab.jsonl", False,
     tried("names", "a file literally named `a*.jsonl` named directly, beside `ab.jsonl`",
           "only the file of that name is read")),
    ("q?.jsonl", "qx.jsonl", False,
     tried("names", "a file literally named `q?.jsonl` named directly, beside `qx.jsonl`",
           "only the file of that name is read")),
]


@pytest.mark.parametrize(("name", "decoy", "folder"),
                         [pytest.param(n, d, f, id=t.case) for n, d, f, t in LITERAL])
def test_a_name_with_glob_characters_that_exists_is_read_literally(
        work: Path, name: str, decoy: str, folder: bool) -> None:
    if folder:
        write_lines(work / name / "a.jsonl", [vote(1), "{broken"])
        write_lines(work / decoy / "b.jsonl", [vote(2)])
    else:
        # The decoy has as many lines, so that only reading the right file passes.
        write_lines(work / name, [vote(1), "{broken"])
        write_lines(work / decoy, [vote(2), "{other"])
    sluice("votes", "ingest", name, cwd=work)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    assert ids(db) == [1]
    expected = (work / name / "a.jsonl") if folder else (work / name)
    assert query(db, "SELECT path, status, records_read, loaded, rejected FROM sluice.files"
                 ) == [(str(expected.resolve()), "loaded", 2, 1, 1)]
    assert query(db, "SELECT source_file, line_number FROM sluice.quarantine") == [
        (str(expected.resolve()), 2)]
    hostile.assert_rerun_changes_nothing("votes", "ingest", name, cwd=work, db=db, expect=0)


# --- awkward characters --------------------------------------------------------------------

AWKWARD = {
    "my votes.jsonl": "spaces",
    "it's \"quoted\".jsonl": "single and double quotes",
    "back\\slash.jsonl": "a backslash",
    "new\nline.jsonl": "a newline",
    "$HOME %s%d {x}.jsonl": "shell and format characters",
    "caf\udce9.jsonl": "a byte that is not UTF-8 (0xE9)",
    "é" * 121 + ".jsonl": "a 248-byte name of two-byte characters",
    "x" * 249 + ".jsonl": "a 255-byte name, the longest a file system allows",
}
AWKWARD_CASE = tried(
    "names", "file names with " + ", ".join(AWKWARD.values()) + ", named directly and "
             "inside a folder", "every file loads; its ledger row and its rejects' source "
                                "are the same path")


def assert_loaded_with_its_reject(db: Path, expected_files: int) -> None:
    """Each file holds a vote and a broken line: loaded 1, rejected 1, and the reject's
    source is its file's path."""
    files = query(db, "SELECT file_id, path, status, records_read, loaded, rejected "
                      "FROM sluice.files WHERE run_id = (SELECT max(run_id) FROM sluice.runs)")
    assert len(files) == expected_files, files
    for file_id, path, *counts in files:
        assert counts == ["loaded", 2, 1, 1], (path, counts)
        assert query(db, f"SELECT source_file, line_number FROM sluice.quarantine "
                         f"WHERE file_id = {file_id}") == [(path, 2)]


@pytest.mark.parametrize("name", list(AWKWARD), ids=list(AWKWARD.values()))
def test_awkward_file_names_named_directly(work: Path, name: str) -> None:
    write_lines(work / name, [vote(1), "{broken"])
    sluice("votes", "ingest", name, cwd=work)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    assert_loaded_with_its_reject(db, 1)
    assert ids(db) == [1]
    hostile.assert_rerun_changes_nothing("votes", "ingest", name, cwd=work, db=db, expect=0)


def test_awkward_file_names_inside_a_folder(work: Path) -> None:
    for n, name in enumerate(AWKWARD, 1):
        write_lines(work / "in" / name, [vote(n), "{broken"])
    sluice("votes", "ingest", "in", cwd=work)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    assert_loaded_with_its_reject(db, len(AWKWARD))
    assert ids(db) == list(range(1, len(AWKWARD) + 1))
    hostile.assert_rerun_changes_nothing("votes", "ingest", "in", cwd=work, db=db, expect=0)


DASH = tried("names", "a file named `-x.jsonl`, named as `-- -x.jsonl` and as `./-x.jsonl`",
             "read as a file, not taken for an option")


@pytest.mark.parametrize("args", [["--", "-x.jsonl"], ["./-x.jsonl"]], ids=["--", "./"])
def test_a_leading_dash(work: Path, args: list[str]) -> None:
    write_lines(work / "-x.jsonl", [vote(1), "{broken"])
    result = sluice("votes", "ingest", "--json", *args, cwd=work)
    assert json.loads(result.stdout)["loaded"] == 1
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    assert query(db, "SELECT path FROM sluice.files") == [(str((work / "-x.jsonl").resolve()),)]
    hostile.assert_rerun_changes_nothing("votes", "ingest", "--json", *args, cwd=work, db=db,
                                         expect=0)


LONG_PATH = tried("names", "a file 16 folders deep, its path about 3,900 bytes long",
                  "read like any other")


def test_a_very_long_path(work: Path) -> None:
    folder = work / "in"
    for level in range(16):
        folder = folder / (f"{level:02d}" + "d" * 238)
    path = write_lines(folder / "votes.jsonl", [vote(1), "{broken"])
    assert 3_800 < len(os.fsencode(path)) < 4_000
    sluice("votes", "ingest", "in", cwd=work)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    assert_loaded_with_its_reject(db, 1)
    hostile.assert_rerun_changes_nothing("votes", "ingest", "in", cwd=work, db=db, expect=0)


LONG_UNREADABLE = tried(
    "names", "an unreadable .gz with a 255-byte name (no room for a `.why.txt` beside it)",
    "recorded as unreadable, one copy kept in the run's quarantine folder, exit 5; no crash")


def test_an_unreadable_file_with_the_longest_name(work: Path) -> None:
    name = "z" * 246 + ".jsonl.gz"
    assert len(name) == 255
    (work / "in").mkdir()
    (work / "in" / name).write_bytes(NOT_GZIP)
    write_lines(work / "in" / "good.jsonl", [vote(1)])
    sluice("votes", "ingest", "in", cwd=work, expect=5)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    assert sorted(query(db, "SELECT status FROM sluice.files")) == [("loaded",), ("unreadable",)]
    kept = [p for p in (work / "warehouse.db.quarantine" / "run-1").rglob("*")
            if p.is_file() and p.read_bytes() == NOT_GZIP]
    assert len(kept) == 1, kept
    hostile.assert_rerun_changes_nothing("votes", "ingest", "in", cwd=work, db=db, expect=5)


# --- warehouse names -----------------------------------------------------------------------

WAREHOUSE_NAMES = ["sluice.db", "blog_analysis.db", "advocacy.db", "temp.db", "main.db",
                   "memory.db", "system.db"]
WAREHOUSE_CASE = tried(
    "names", "warehouse files named like schemas and catalogs: " + ", ".join(WAREHOUSE_NAMES),
    "each works for votes ingest, runs and votes outliers")


@pytest.mark.parametrize("name", WAREHOUSE_NAMES)
def test_a_warehouse_named_like_a_schema(work: Path, name: str) -> None:
    ingest = sluice("votes", "ingest", str(EXAMPLE), "--warehouse", name, "--json", cwd=work)
    assert json.loads(ingest.stdout)["loaded"] == 16
    db = work / name
    hostile.assert_promises(db)
    runs = json.loads(sluice("runs", "--warehouse", name, "--json", cwd=work).stdout)
    assert [(r["pipeline"], r["status"], r["loaded"]) for r in runs] == [
        ("votes", "succeeded", 16)]
    weeks = json.loads(sluice("votes", "outliers", "--warehouse", name, "--json",
                              cwd=work).stdout)
    assert len(weeks["outlier_weeks"]) == 6
    hostile.assert_rerun_changes_nothing("votes", "ingest", str(EXAMPLE), "--warehouse", name,
                                         cwd=work, db=db, expect=0)
    assert not (work / "warehouse.db").exists()
