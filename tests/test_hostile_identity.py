"""Identity of advocacy documents: by content, never by where they sit.

A document is identified by the SHA-256 of its bytes and its occurrence among the
byte-identical documents of one delivery (in name order, or line order). Re-delivering
an export in any form changes no table but the ledger's rows of the new run; a JSON
Lines file that is a superset of an earlier one adds only its new records.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from hostile import Tried, assert_promises, snapshot, tried
from test_advocacy_ingest import ANN, BO, advocate

from conftest import query, sluice

NAMELESS = json.dumps(advocate(user_id=None, name="No Id"))
NAMELESS_2 = json.dumps(advocate(user_id=None, name="No Id Either"))


def sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def summary(work: Path, source: str | Path, expect: int = 0) -> dict[str, object]:
    parsed: dict[str, object] = json.loads(sluice(
        "advocacy", "ingest", str(source), "--json", cwd=work, expect=expect).stdout)
    return parsed


def export(folder: Path) -> Path:
    """A delivery: advocates with and without user_id (two byte-identical anonymous
    files), a messy one, a file cut short, one beyond repair, and a stray."""
    folder.mkdir(parents=True)
    (folder / "a_nameless.json").write_text(NAMELESS)
    (folder / "b_nameless_copy.json").write_text(NAMELESS)
    (folder / "c_other_nameless.json").write_text(NAMELESS_2)
    (folder / "d_ann.json").write_text(json.dumps(advocate(ANN, email="invalid-email")))
    (folder / "sub").mkdir()
    (folder / "sub" / "e_bo.json").write_text(json.dumps(advocate(BO, name="Bo"))[:-3])
    (folder / "f_broken.json").write_text(json.dumps(advocate(BO))[:40])
    (folder / "notes.txt").write_text("exported")
    return folder


def assert_changes_nothing(work: Path, source: str | Path) -> dict[str, object]:
    """Ingest `source`: no table but the ledger's changes, and nothing is loaded."""
    db = work / "warehouse.db"
    before = snapshot(db)
    result = summary(work, source)
    assert snapshot(db) == before
    assert (result["loaded"], result["rejected"]) == (0, 0), result
    assert_promises(db)
    return result


def _same_folder(work: Path, original: Path) -> Path:
    return original


def _renamed_folder(work: Path, original: Path) -> Path:
    return Path(shutil.copytree(original, work / "export-renamed"))


def _tar_gz(work: Path, original: Path) -> Path:
    with tarfile.open(work / "export.tar.gz", "w:gz") as archive:
        archive.add(original, arcname=original.name)
    return work / "export.tar.gz"


def _parent_folder(work: Path, original: Path) -> Path:
    return original.parent


def _files_renamed(work: Path, original: Path) -> Path:
    copy = work / "other" / "renamed"
    for path in sorted(p for p in original.rglob("*") if p.is_file()):
        target = copy / path.parent.relative_to(original) / ("x_" + path.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return copy


FORMS: list[tuple[Tried, Callable[[Path, Path], Path]]] = [
    (tried("identity", "an advocacy folder ingested again", "changes nothing"), _same_folder),
    (tried("identity", "the same export under another folder name",
           "changes nothing: documents are known by content"), _renamed_folder),
    (tried("identity", "the .tar.gz of an ingested folder (names gain the folder as prefix)",
           "changes nothing: 'loaded before, unchanged'"), _tar_gz),
    (tried("identity", "the parent folder of an ingested folder",
           "changes nothing"), _parent_folder),
    (tried("identity", "the same export with every file renamed",
           "changes nothing; byte-identical anonymous files stay two advocates"),
     _files_renamed),
]


@pytest.mark.parametrize("form", [f for _, f in FORMS], ids=[c.case for c, _ in FORMS])
def test_re_delivery_in_any_form_changes_nothing(
        work: Path, form: Callable[[Path, Path], Path]) -> None:
    original = export(work / "deliveries" / "export")
    first = summary(work, original)
    assert (first["loaded"], first["rejected"], first["files_skipped"]) == (5, 1, 1)
    db = work / "warehouse.db"
    assert sorted(query(db, "SELECT advocate_id FROM advocacy.advocates")) == sorted([
        (ANN,), (BO,), (f"doc:{sha(NAMELESS)}#1",), (f"doc:{sha(NAMELESS)}#2",),
        (f"doc:{sha(NAMELESS_2)}#1",)])
    again = assert_changes_nothing(work, form(work, original))
    notes = {f["note"] for f in again["file_details"]  # type: ignore[attr-defined]
             if f["status"] == "skipped"}
    assert notes == {"skipped: loaded before, unchanged", "skipped: quarantined before, unchanged",
                     "skipped: not a .json file"}


ONE_DELIVERY = tried("identity", "byte-identical files without user_id in one delivery",
                     "two advocates doc:<sha256>#1 and #2; delivered again with a third "
                     "copy, only #3 is added")


@pytest.mark.parametrize("case", [ONE_DELIVERY], ids=[ONE_DELIVERY.case])
def test_identical_copies_in_one_delivery_are_separate(work: Path, case: Tried) -> None:
    for name in ("a.json", "b.json"):
        (work / "in").mkdir(exist_ok=True)
        (work / "in" / name).write_text(NAMELESS)
    assert summary(work, "in")["loaded"] == 2
    (work / "in" / "c.json").write_text(NAMELESS)
    assert summary(work, "in")["loaded"] == 1
    assert sorted(query(work / "warehouse.db", "SELECT advocate_id FROM advocacy.advocates")
                  ) == [(f"doc:{sha(NAMELESS)}#{n}",) for n in (1, 2, 3)]
    assert_promises(work / "warehouse.db")


# --- JSON Lines ------------------------------------------------------------------------------

SAME_STAT = tried("identity", "d2/export.jsonl: another file with the name, size and mtime "
                              "of a loaded d1/export.jsonl",
                  "loaded: the ledger holds the full path, skips go by checksum only")
RENAMED = tried("identity", "a loaded JSON Lines file renamed",
                "skipped 'loaded before, unchanged' (same checksum): changes nothing")
SUPERSET = tried("identity", "a JSON Lines file that is a superset of a loaded one (with its "
                             "broken and non-UTF-8 lines)",
                 "only the new lines load; the old ones count as duplicates, nothing is "
                 "quarantined twice, dq_summary does not double count")


@pytest.mark.parametrize("case", [SAME_STAT], ids=[SAME_STAT.case])
def test_json_lines_known_by_checksum_not_by_name_size_and_time(work: Path, case: Tried) -> None:
    one = json.dumps(advocate(ANN, name="Ann One"))
    two = json.dumps(advocate(BO, name="Bo Twoo"))
    assert len(one) == len(two)
    for folder, line in (("d1", one), ("d2", two)):
        (work / folder).mkdir()
        (work / folder / "export.jsonl").write_text(line + "\n")
        os.utime(work / folder / "export.jsonl", ns=(1_700_000_000_000_000_000,) * 2)
    summary(work, "d1/export.jsonl")
    second = summary(work, "d2/export.jsonl")
    assert second["loaded"] == 1
    db = work / "warehouse.db"
    assert sorted(query(db, "SELECT name FROM advocacy.advocates")) == [("Ann One",), ("Bo Twoo",)]
    assert sorted(query(db, "SELECT path, sha256 FROM sluice.files")) == sorted([
        (str((work / d / "export.jsonl").resolve()), sha(line + "\n"))
        for d, line in (("d1", one), ("d2", two))])
    assert_promises(db)


@pytest.mark.parametrize("case", [RENAMED], ids=[RENAMED.case])
def test_renamed_json_lines_file_changes_nothing(work: Path, case: Tried) -> None:
    lines = [NAMELESS, NAMELESS, json.dumps(advocate(ANN)), '{"cut": "in a str']
    (work / "export.jsonl").write_text("\n".join(lines) + "\n")
    first = summary(work, "export.jsonl")
    assert (first["loaded"], first["rejected"]) == (3, 1)
    (work / "export.jsonl").rename(work / "export-copy.jsonl")
    again = assert_changes_nothing(work, "export-copy.jsonl")
    assert again["files_skipped"] == 1


@pytest.mark.parametrize("case", [SUPERSET], ids=[SUPERSET.case])
def test_superset_json_lines_adds_only_the_new_records(work: Path, case: Tried) -> None:
    old = [NAMELESS, json.dumps(advocate(ANN, email="invalid-email")), '{"cut": "in a str',
           json.dumps(advocate(BO, name="Bo", instagram_handle="#error_handle"))]
    new = [NAMELESS, json.dumps(advocate(ANN, name="Ann Updated", email="invalid-email")),
           NAMELESS_2]
    bad = b'{"user_id": "caf\xe9"}\n'
    (work / "export.jsonl").write_bytes(("\n".join(old) + "\n").encode() + bad)
    first = summary(work, "export.jsonl")
    assert (first["read"], first["loaded"], first["rejected"]) == (5, 3, 2)
    db = work / "warehouse.db"
    issues_before = query(db, "SELECT sum(issues) FROM advocacy.dq_summary")
    before = snapshot(db)
    (work / "export-2.jsonl").write_bytes(
        ("\n".join(old) + "\n").encode() + bad + ("\n".join(new) + "\n").encode())
    second = summary(work, "export-2.jsonl")
    assert (second["read"], second["loaded"], second["duplicates"], second["rejected"]) == (
        8, 3, 5, 0)
    after = snapshot(db)
    assert after["sluice.quarantine"] == before["sluice.quarantine"]
    assert query(db, "SELECT count(*) FROM advocacy.raw_records") == [(6,)]
    assert sorted(query(db, "SELECT advocate_id, name FROM advocacy.advocates")) == sorted([
        (ANN, "Ann Updated"), (BO, "Bo"), (f"doc:{sha(NAMELESS)}#1", "No Id"),
        (f"doc:{sha(NAMELESS)}#2", "No Id"), (f"doc:{sha(NAMELESS_2)}#1", "No Id Either")])
    # Ann's old version is replaced: her invalid email is one issue, not two.
    assert query(db, f"SELECT count(*) FROM advocacy.dq_issues WHERE advocate_id = '{ANN}'"
                 ) == [(1,)]
    # Two new advocates without user_id add one issue each ('missing' user_id); Ann's
    # replaced version takes its issue with it.
    assert query(db, "SELECT sum(issues) FROM advocacy.dq_summary") == [
        (issues_before[0][0] + 2,)]
    assert query(db, "SELECT sum(issues) FROM advocacy.dq_summary") == query(
        db, "SELECT count(*) FROM advocacy.dq_issues")
    assert_promises(db)
    assert_changes_nothing(work, "export-2.jsonl")


REPLACED = tried("identity", "a later delivery replaces an advocate whose file had issues",
                 "the old version's memberships, tasks and dq_issues go with it")


@pytest.mark.parametrize("case", [REPLACED], ids=[REPLACED.case])
def test_replaced_advocate_leaves_no_stale_issues(work: Path, case: Tried) -> None:
    (work / "one").mkdir()
    (work / "one" / "ann.json").write_text(json.dumps(advocate(ANN, name="???")))
    (work / "one" / "ann_later.json").write_text(json.dumps(advocate(ANN, name="???", email="x")))
    summary(work, "one")
    db = work / "warehouse.db"
    assert sorted(query(db, "SELECT field, rule FROM advocacy.dq_issues")) == [
        ("email", "invalid email"), ("name", "placeholder")]
    (work / "two").mkdir()
    (work / "two" / "ann.json").write_text(json.dumps(advocate(ANN, name="Ann")))
    summary(work, "two")
    assert query(db, "SELECT count(*) FROM advocacy.dq_issues") == [(0,)]
    assert query(db, "SELECT count(*) FROM advocacy.memberships") == [(1,)]
    assert query(db, "SELECT count(*) FROM advocacy.tasks") == [(1,)]
    assert_promises(db)


OLD_WAREHOUSE = tried("identity", "a warehouse written before documents were known by content "
                                  "(no sha256, advocate_id or rejected_documents)",
                      "the columns are added and filled from the ledger and the documents; "
                      "a re-delivery changes nothing, a superset adds only its new lines")


def _make_it_old(db: Path) -> None:
    con = duckdb.connect(":memory:")
    con.execute("ATTACH ? AS w", [str(db)])
    con.execute("USE w")
    con.execute("ALTER TABLE advocacy.raw_records DROP COLUMN sha256; "
                "ALTER TABLE advocacy.dq_issues DROP COLUMN advocate_id; "
                "DROP TABLE advocacy.rejected_documents")
    con.close()


@pytest.mark.parametrize("case", [OLD_WAREHOUSE], ids=[OLD_WAREHOUSE.case])
def test_an_older_warehouse_learns_its_documents_identity(work: Path, case: Tried) -> None:
    original = export(work / "export")
    lines = [NAMELESS, json.dumps(advocate(ANN, name="Ann"))]
    (work / "export.jsonl").write_text("\n".join(lines) + "\n")
    summary(work, original)
    summary(work, "export.jsonl")
    db = work / "warehouse.db"
    checksums = sorted(query(db, "SELECT source_file, sha256 FROM advocacy.raw_records"))
    _make_it_old(db)
    unchanged = ("advocacy.advocates", "advocacy.memberships", "advocacy.tasks",
                 "sluice.quarantine")
    before = {table: rows for table, rows in snapshot(db).items() if table in unchanged}
    again = summary(work, _renamed_folder(work, original))
    assert (again["loaded"], again["rejected"]) == (0, 0)
    assert {table: rows for table, rows in snapshot(db).items() if table in unchanged
            } == before
    assert sorted(query(db, "SELECT source_file, sha256 FROM advocacy.raw_records")
                  ) == checksums
    new_line = json.dumps(advocate(BO, name="New"))
    (work / "more.jsonl").write_text("\n".join([*lines, new_line]) + "\n")
    more = summary(work, "more.jsonl")
    assert (more["loaded"], more["duplicates"]) == (1, 2)
    assert_promises(db)
