"""`sluice advocacy ingest`: repair, sentinels to NULL with issues, identities, strays."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path
from typing import Any

from conftest import query, sluice, sluice_json

ANN = "6f1c2a1e-9f0b-4b8e-9a43-0c3d2b1a5e71"
BO = "7a2d3b2f-0a1c-4c9f-8b54-1d4e3c2b6f82"
PROGRAM = "11111111-2222-4333-8444-555555555551"
TASK = "21111111-2222-4333-8444-555555555551"


def advocate(user_id: str | None = ANN, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "user_id": user_id, "name": "Ann Lee", "email": "ann@example.com",
        "instagram_handle": "@ann.lee", "tiktok_handle": "@annlee",
        "joined_at": "2024-05-02T23:33:17.161Z",
        "advocacy_programs": [{
            "program_id": PROGRAM, "brand": "Acme Outdoor", "total_sales_attributed": 120.5,
            "tasks_completed": [{"task_id": TASK, "platform": "Instagram",
                                 "post_url": "https://instagram.com/p/1", "likes": 10,
                                 "comments": 2, "shares": 1, "reach": 500}],
        }],
    }
    record.update(changes)
    return record


def write(folder: Path, name: str, record: dict[str, Any] | str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(record, bytes):
        path.write_bytes(record)
    else:
        path.write_text(record if isinstance(record, str) else json.dumps(record))
    return path


def issues(work: Path) -> set[tuple[str, str, str | None, str]]:
    return set(query(work / "warehouse.db",
                     "SELECT entity, field, raw_value, rule FROM advocacy.dq_issues"))


def test_clean_file_fills_every_table(work: Path) -> None:
    write(work / "in", "user_1.json", advocate())
    summary = sluice_json("advocacy", "ingest", "in", cwd=work)
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (1, 1, 0)
    db = work / "warehouse.db"
    assert query(db, "SELECT advocate_id, name, email, instagram_handle, tiktok_handle, "
                     "strftime(joined_at, '%Y-%m-%d %H:%M:%S.%g') FROM advocacy.advocates") == [
        (ANN, "Ann Lee", "ann@example.com", "ann.lee", "annlee", "2024-05-02 23:33:17.161")]
    assert query(db, "SELECT brand FROM advocacy.brands") == [("Acme Outdoor",)]
    assert query(db, "SELECT CAST(program_id AS VARCHAR), brand FROM advocacy.programs") == [
        (PROGRAM, "Acme Outdoor")]
    assert query(db, "SELECT advocate_id, CAST(total_sales_attributed AS DOUBLE) "
                     "FROM advocacy.memberships") == [(ANN, 120.5)]
    assert query(db, "SELECT platform, post_url, likes, comments, shares, reach "
                     "FROM advocacy.tasks") == [
        ("Instagram", "https://instagram.com/p/1", 10, 2, 1, 500)]
    assert query(db, "SELECT count(*) FROM advocacy.raw_records") == [(1,)]
    assert issues(work) == set()


def test_sentinels_become_null_and_each_is_an_issue(work: Path) -> None:
    messy = advocate(
        name="???", email="invalid-email", instagram_handle="#error_handle", tiktok_handle=None,
        joined_at="not-a-date",
        advocacy_programs=[{
            "program_id": "", "brand": 12345, "total_sales_attributed": "no-data",
            "tasks_completed": [{"task_id": TASK, "platform": 42, "post_url": "broken_link",
                                 "likes": "NaN", "comments": None, "shares": 3,
                                 "reach": -100}],
        }])
    write(work / "in", "user_1.json", messy)
    sluice("advocacy", "ingest", "in", cwd=work)
    db = work / "warehouse.db"
    assert query(db, "SELECT name, email, instagram_handle, tiktok_handle, joined_at "
                     "FROM advocacy.advocates") == [(None, None, None, None, None)]
    assert query(db, "SELECT program_id, brand, total_sales_attributed "
                     "FROM advocacy.memberships") == [(None, None, None)]
    assert query(db, "SELECT platform, post_url, likes, comments, shares, reach "
                     "FROM advocacy.tasks") == [(None, None, None, None, 3, None)]
    assert issues(work) == {
        ("advocate", "name", '"???"', "placeholder"),
        ("advocate", "email", '"invalid-email"', "placeholder"),
        ("advocate", "instagram_handle", '"#error_handle"', "placeholder"),
        ("advocate", "tiktok_handle", "null", "missing"),
        ("advocate", "joined_at", '"not-a-date"', "placeholder"),
        ("membership", "program_id", '""', "empty"),
        ("membership", "brand", "12345", "number instead of text"),
        ("membership", "total_sales_attributed", '"no-data"', "placeholder"),
        ("task", "platform", "42", "number instead of text"),
        ("task", "post_url", '"broken_link"', "placeholder"),
        ("task", "likes", '"NaN"', "placeholder"),
        ("task", "comments", "null", "missing"),
        ("task", "reach", "-100", "negative"),
    }


def test_emails_and_handles_are_normalised(work: Path) -> None:
    write(work / "in", "a.json", advocate(email="  Ann@Example.COM ", instagram_handle=" Ann.Lee",
                                          tiktok_handle="@@AnnLee"))
    sluice("advocacy", "ingest", "in", cwd=work)
    assert query(work / "warehouse.db", "SELECT email, instagram_handle, tiktok_handle "
                 "FROM advocacy.advocates") == [("ann@example.com", "ann.lee", "annlee")]


def test_truncated_file_is_repaired_and_recorded_cut_in_string_is_quarantined(
        work: Path) -> None:
    text = json.dumps(advocate())
    write(work / "in", "cut.json", text[:-3])            # lost "}]}" at the end
    write(work / "in", "cut_in_string.json", text[:40])  # cut inside the user_id string
    summary = sluice_json("advocacy", "ingest", "in", cwd=work)
    by_name = {Path(f["path"]).name: f for f in summary["file_details"]}
    assert by_name["cut.json"]["status"] == "loaded"
    assert by_name["cut.json"]["note"] == "repaired: appended }]}"
    assert by_name["cut_in_string.json"]["status"] == "rejected"
    db = work / "warehouse.db"
    assert query(db, "SELECT source_file, repaired FROM advocacy.raw_records") == [
        ("cut.json", True)]
    assert query(db, "SELECT count(*) FROM advocacy.tasks") == [(1,)]
    assert query(db, "SELECT source_file, raw, reasons FROM sluice.quarantine") == [
        ("cut_in_string.json", text[:40], ["invalid JSON, cut inside a string"])]
    assert (work / "warehouse.db.quarantine").exists()
    assert query(db, "SELECT outcome, files FROM advocacy.file_summary ORDER BY outcome") == [
        ("rejected", 1), ("repaired", 1)]


def test_same_named_broken_files_in_two_subfolders_are_both_kept(work: Path) -> None:
    text = json.dumps(advocate())
    write(work / "in" / "march", "user_1.json", text[:40])
    write(work / "in" / "april", "user_1.json", text[:41])
    summary = sluice_json("advocacy", "ingest", "in", cwd=work)
    assert summary["rejected"] == 2
    kept = work / "warehouse.db.quarantine" / f"run-{summary['run_id']}"
    assert (kept / "march" / "user_1.json").read_text() == text[:40]
    assert (kept / "april" / "user_1.json").read_text() == text[:41]
    assert "cut inside a string" in (kept / "april" / "user_1.json.why.txt").read_text()


def test_missing_user_id_gets_a_stable_key_from_the_content(work: Path) -> None:
    seven = write(work / "in", "user_7.json", advocate(user_id=None))
    eight = write(work / "in", "user_8.json",
                  {k: v for k, v in advocate().items() if k != "user_id"})
    sluice("advocacy", "ingest", "in", cwd=work)
    keys = query(work / "warehouse.db", "SELECT advocate_id FROM advocacy.advocates ORDER BY 1")
    assert keys == sorted((f"doc:{hashlib.sha256(p.read_bytes()).hexdigest()}#1",)
                          for p in (seven, eight))
    # The same on a new warehouse: derived from the content, never random.
    sluice("advocacy", "ingest", "in", "--warehouse", "again.db", cwd=work)
    assert query(work / "again.db", "SELECT advocate_id FROM advocacy.advocates ORDER BY 1"
                 ) == keys


def test_identical_files_with_different_names_are_different_records(work: Path) -> None:
    nameless = advocate(user_id=None)
    write(work / "in", "a.json", nameless)
    write(work / "in", "b.json", nameless)
    summary = sluice_json("advocacy", "ingest", "in", cwd=work)
    assert summary["loaded"] == 2
    assert query(work / "warehouse.db", "SELECT count(*) FROM advocacy.advocates") == [(2,)]


def test_same_user_id_is_one_advocate_the_later_file_wins_and_the_change_is_kept(
        work: Path) -> None:
    write(work / "in", "user_1.json", advocate(name="Ann Lee"))
    write(work / "in", "user_2.json", advocate(name="Ann Lee-Smith", email="ann@new.example"))
    write(work / "in", "user_3.json", advocate(BO, name="Bo", email="ann@new.example"))
    sluice("advocacy", "ingest", "in", cwd=work)
    db = work / "warehouse.db"
    assert query(db, "SELECT advocate_id, name, email FROM advocacy.advocates ORDER BY name") == [
        (ANN, "Ann Lee-Smith", "ann@new.example"), (BO, "Bo", "ann@new.example")]
    assert set(query(db, "SELECT advocate_id, field, old_value, new_value "
                         "FROM advocacy.advocate_changes")) == {
        (ANN, "name", "Ann Lee", "Ann Lee-Smith"),
        (ANN, "email", "ann@example.com", "ann@new.example")}
    assert query(db, f"SELECT count(*) FROM advocacy.memberships WHERE advocate_id = '{ANN}'"
                 ) == [(1,)]


def test_later_run_replaces_an_advocate_and_rerun_changes_nothing(work: Path) -> None:
    write(work / "in", "user_1.json", advocate())
    sluice("advocacy", "ingest", "in", cwd=work)
    again = sluice_json("advocacy", "ingest", "in", cwd=work)
    assert (again["files_skipped"], again["loaded"]) == (1, 0)
    write(work / "in", "user_1_update.json", advocate(tiktok_handle="@ann_new"))
    update = sluice_json("advocacy", "ingest", "in", cwd=work)
    assert (update["files_skipped"], update["loaded"]) == (1, 1)
    db = work / "warehouse.db"
    assert query(db, "SELECT tiktok_handle FROM advocacy.advocates") == [("ann_new",)]
    assert query(db, "SELECT count(*) FROM advocacy.tasks") == [(1,)]
    assert query(db, "SELECT field, old_value, new_value FROM advocacy.advocate_changes") == [
        ("tiktok_handle", "annlee", "ann_new")]


def test_stray_files_are_skipped_with_a_reason(work: Path) -> None:
    write(work / "in", "user_1.json", advocate())
    write(work / "in", "._user_1.json", b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X\xff\xfe")
    write(work / "in", "empty.json", "")
    write(work / "in", "notes.txt", "exported by the platform")
    summary = sluice_json("advocacy", "ingest", "in", cwd=work)
    notes = {Path(f["path"]).name: f["note"] for f in summary["file_details"]
             if f["status"] == "skipped"}
    assert notes == {"._user_1.json": "skipped: macOS resource fork",
                     "empty.json": "skipped: empty file",
                     "notes.txt": "skipped: not a .json file"}
    assert summary["loaded"] == 1


def test_links_and_pipes_are_skipped_not_read(work: Path) -> None:
    """A pipe would block a reader forever and a broken link cannot be opened: both are
    skipped with a reason; a link to a real file is read through."""
    write(work, "elsewhere.json", advocate(BO, name="Bo"))
    write(work / "in", "user_1.json", advocate())
    (work / "in" / "broken.json").symlink_to(work / "nowhere.json")
    (work / "in" / "linked.json").symlink_to(work / "elsewhere.json")
    (work / "in" / "folder_link").symlink_to(work / "in", target_is_directory=True)
    os.mkfifo(work / "in" / "pipe.json")
    summary = sluice_json("advocacy", "ingest", "in", cwd=work)
    skipped = {f["path"]: f["note"] for f in summary["file_details"] if f["status"] == "skipped"}
    reason = "skipped: not a regular file (a link to a folder, a broken link, a pipe)"
    assert skipped == {"broken.json": reason, "folder_link": reason, "pipe.json": reason}
    assert query(work / "warehouse.db", "SELECT name FROM advocacy.advocates ORDER BY 1") == [
        ("Ann Lee",), ("Bo",)]
    again = sluice_json("advocacy", "ingest", "in", cwd=work)
    assert again["loaded"] == 0 and again["status"] == "succeeded"


def test_many_programs_and_tasks_per_advocate(work: Path) -> None:
    programs = [{"program_id": f"11111111-2222-4333-8444-55555555555{p}", "brand": f"Brand {p}",
                 "total_sales_attributed": 10 * p,
                 "tasks_completed": [{"task_id": f"21111111-2222-4333-8444-5555555555{p}{t}",
                                      "platform": "TikTok", "post_url": "https://t.co/x",
                                      "likes": t, "comments": 0, "shares": 0, "reach": 10}
                                     for t in range(p)]}
                for p in range(1, 4)]
    write(work / "in", "a.json", advocate(advocacy_programs=programs))
    sluice("advocacy", "ingest", "in", cwd=work)
    db = work / "warehouse.db"
    assert query(db, "SELECT count(*) FROM advocacy.memberships") == [(3,)]
    assert query(db, "SELECT count(*), sum(likes) FROM advocacy.tasks") == [(6, 4)]
    assert query(db, "SELECT count(*) FROM advocacy.brands") == [(3,)]


def test_a_tar_gz_of_the_folder_loads_the_same(work: Path) -> None:
    write(work / "in", "user_1.json", advocate())
    write(work / "in", "user_2.json", advocate(BO, name="Bo"))
    with tarfile.open(work / "export.tar.gz", "w:gz") as archive:
        archive.add(work / "in", arcname="export")
    summary = sluice_json("advocacy", "ingest", "export.tar.gz", cwd=work)
    assert summary["loaded"] == 2
    assert query(work / "warehouse.db", "SELECT source_file FROM advocacy.raw_records "
                 "ORDER BY 1") == [("export/user_1.json",), ("export/user_2.json",)]


def test_missing_folder_and_wrong_file_are_one_line_errors(work: Path) -> None:
    result = sluice("advocacy", "ingest", "nowhere", cwd=work, expect=2)
    assert result.stderr.strip() == "error: no such file or folder: nowhere"
    write(work, "data.csv", "a,b")
    result = sluice("advocacy", "ingest", "data.csv", cwd=work, expect=2)
    assert result.stderr.strip() == (
        "error: data.csv is not a folder, a .tar.gz archive or a JSON Lines file (.jsonl)")


def test_json_lines_file_of_advocates(work: Path) -> None:
    text = json.dumps(advocate())
    lines = [json.dumps(advocate(user_id=None)), "", text[:-3], text[:40],
             json.dumps(advocate(BO, name="Bo")).replace("Bo", "B\u00f6").encode().decode(),
             json.dumps(advocate(BO, name="Bo", instagram_handle="#error_handle"))]
    data = "\n".join(lines).encode() + b"\n" + b'{"user_id": "caf\xe9"}\n'
    (work / "export.jsonl").write_bytes(data)
    summary = sluice_json("advocacy", "ingest", "export.jsonl", cwd=work)
    # Six records (the blank line is none): four loaded, one repaired among them, one cut
    # inside a string, one not UTF-8.
    assert (summary["files"], summary["read"], summary["loaded"], summary["rejected"]) == (
        1, 6, 4, 2)
    db = work / "warehouse.db"
    assert query(db, "SELECT advocate_id, name FROM advocacy.advocates ORDER BY 1") == [
        (ANN, "Ann Lee"), (BO, "Bo"),
        (f"doc:{hashlib.sha256(lines[0].encode()).hexdigest()}#1", "Ann Lee")]
    assert query(db, "SELECT source_file, line_number, reasons FROM sluice.quarantine "
                     "ORDER BY line_number") == [
        ("export.jsonl:4", 4, ["invalid JSON, cut inside a string"]),
        ("export.jsonl:7", 7, ["invalid UTF-8"])]
    assert query(db, "SELECT field, rule FROM advocacy.dq_issues WHERE source_file = "
                     "'export.jsonl:6'") == [("instagram_handle", "placeholder")]
    again = sluice_json("advocacy", "ingest", "export.jsonl", cwd=work)
    assert (again["files_skipped"], again["loaded"]) == (1, 0)
