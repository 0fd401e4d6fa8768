"""`sluice applications run`: one pass over an inbox, through the CLI. Outputs and their
exact rows, the archive, the ledger, duplicates and shared membership ids, Parquet, bad
files of every kind, files still being written, crashes on either side of the commit,
bad arguments, and outputs that live inside the inbox."""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hostile import assert_promises, snapshot

from conftest import query, sluice, sluice_json

HEADER = "name,email,date_of_birth,mobile_no"
SUCCESSFUL_HEADER = ["first_name", "last_name", "email", "date_of_birth", "mobile_no",
                     "above_18", "membership_id", "shared_membership_id", "source_file",
                     "line_number"]
UNSUCCESSFUL_HEADER = ["name", "email", "date_of_birth", "mobile_no", "first_name",
                       "last_name", "date_of_birth_yyyymmdd", "above_18", "reasons",
                       "source_file", "line_number", "raw_line"]
STAMP = r"\d{8}T\d{6}Z"
# sha256("19860110") starts 3864b (the rules' own example).
DIXON = "Dixon_3864b"


def write(path: Path, *lines: str | bytes, newline: bytes = b"\n", header: bool = True
          ) -> Path:
    """A CSV file of these lines (after the header), each ended by `newline`."""
    encoded = [line.encode() if isinstance(line, str) else line
               for line in ([HEADER] if header else []) + list(lines)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + newline for line in encoded))
    return path


def applications_run(work: Path, *extra: str, expect: int = 0,
                     env: dict[str, str] | None = None) -> dict[str, Any]:
    """One pass over work/in, outputs in work/out, the warehouse work/warehouse.db; files
    are taken at once unless `--min-age` is given."""
    options = ["--inbox", "in", "--out", "out"]
    if "--min-age" not in extra:
        options += ["--min-age", "0"]
    result = sluice_json("applications", "run", *options, *extra, cwd=work, env=env,
                         expect=expect)
    assert isinstance(result, dict)
    return result


def totals(summary: dict[str, Any]) -> tuple[int, ...]:
    run = summary["run"]
    return (run["files"], run["files_skipped"], run["files_unreadable"], run["read"],
            run["loaded"], run["duplicates"], run["rejected"])


def details(summary: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Each file of the run by its path inside the inbox: status and counts."""
    inbox = summary["run"]["file_details"][0]["path"].split("/in/")[0] + "/in/"
    return {f["path"].removeprefix(inbox): (f["status"], f["read"], f["loaded"],
                                            f["duplicates"], f["rejected"])
            for f in summary["run"]["file_details"]}


def output_files(work: Path, kind: str) -> list[Path]:
    folder = work / "out" / kind
    return sorted(folder.iterdir()) if folder.is_dir() else []


def the_output(work: Path, kind: str, run_id: int, fmt: str = "csv") -> Path:
    """The one output file of this kind of this run, named as documented."""
    found = [p for p in output_files(work, kind) if p.name.endswith(f"-run-{run_id}.{fmt}")]
    assert len(found) == 1, output_files(work, kind)
    assert re.fullmatch(rf"applications-{STAMP}-run-{run_id}\.{fmt}", found[0].name), found
    return found[0]


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as stream:
        header, *rows = list(csv.reader(stream))
    return header, rows


def successful_rows(work: Path, run_id: int) -> list[list[str]]:
    header, rows = read_csv(the_output(work, "successful", run_id))
    assert header == SUCCESSFUL_HEADER
    return rows


def unsuccessful_rows(work: Path, run_id: int) -> list[list[str]]:
    header, rows = read_csv(the_output(work, "unsuccessful", run_id))
    assert header == UNSUCCESSFUL_HEADER
    return rows


def files_in(folder: Path) -> list[str]:
    """Every file below the folder, as paths relative to it."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def ledger_files(db: Path) -> list[tuple[Any, ...]]:
    return query(db, "SELECT run_id, regexp_replace(path, '^.*/in/', ''), status, "
                     "records_read, loaded, duplicates, rejected FROM sluice.files "
                     "ORDER BY file_id")


def members(db: Path) -> list[tuple[Any, ...]]:
    return query(db, "SELECT first_name, last_name, email, strftime(date_of_birth, '%Y%m%d'),"
                     " mobile_no, membership_id FROM applications.successful "
                     "ORDER BY first_name, last_name, email")


# --- 1. a pass -----------------------------------------------------------------------------

def test_a_pass_publishes_exact_outputs_archives_its_files_and_balances(work: Path) -> None:
    inbox = (work / "in").resolve()
    a = write(inbox / "a.csv",
              "Mr. John Dixon,John.Dixon@Example.com,1986/01/10,1234 5678",
              "Ann Lee,ann@example.net,05-02-1990,87654321",
              "Bob,bob@example.org,2010-01-01,123")
    b = write(inbox / "sub" / "b.csv", "Kim Park Jr.,kim@example.com,12/31/1999,11112222")
    originals = {"a.csv": a.read_bytes(), "sub/b.csv": b.read_bytes()}

    summary = applications_run(work)

    run = summary["run"]
    assert (run["run_id"], run["status"]) == (1, "succeeded")
    assert totals(summary) == (2, 0, 0, 4, 3, 0, 1)
    assert details(summary) == {"a.csv": ("loaded", 3, 2, 0, 1),
                                "sub/b.csv": ("loaded", 1, 1, 0, 0)}
    # The files left the inbox for the run's archive folder, byte for byte.
    assert files_in(inbox) == []
    archive = work / "out" / "archive" / "run-1"
    assert files_in(archive) == ["a.csv", "sub/b.csv"]
    assert {name: (archive / name).read_bytes() for name in originals} == originals
    assert summary["archived"] == 2 and summary["waiting"] == []
    # The outputs: published, named by run, exactly these rows.
    successful = the_output(work, "successful", 1)
    unsuccessful = the_output(work, "unsuccessful", 1)
    assert summary["outputs"] == {
        "successful": {"rows": 3, "file": str(successful.resolve())},
        "unsuccessful": {"rows": 1, "file": str(unsuccessful.resolve())}}
    assert sorted(summary["published"]) == sorted(
        [str(successful.resolve()), str(unsuccessful.resolve())])
    assert successful_rows(work, 1) == [
        ["John", "Dixon", "john.dixon@example.com", "19860110", "12345678", "true", DIXON,
         "false", str(a), "2"],
        ["Ann", "Lee", "ann@example.net", "19900205", "87654321", "true", "Lee_" +
         _digest("19900205"), "false", str(a), "3"],
        ["Kim", "Park", "kim@example.com", "19991231", "11112222", "true", "Park_" +
         _digest("19991231"), "false", str(b), "2"],
    ]
    assert unsuccessful_rows(work, 1) == [
        ["Bob", "bob@example.org", "2010-01-01", "123", "Bob", "", "20100101", "false",
         "name has no last name; email does not end in .com or .net; "
         "not over 18 on 2022-01-01; mobile_no has 3 digits, not 8", str(a), "4", ""],
    ]
    assert not (work / "out" / ".partial").exists()
    assert files_in(work / "out") == sorted([
        "archive/run-1/a.csv", "archive/run-1/sub/b.csv",
        f"successful/{successful.name}", f"unsuccessful/{unsuccessful.name}"])
    # The warehouse: the ledger, the quarantine, the members with their file's id.
    db = work / "warehouse.db"
    assert ledger_files(db) == [(1, "a.csv", "loaded", 3, 2, 0, 1),
                                (1, "sub/b.csv", "loaded", 1, 1, 0, 0)]
    assert query(db, "SELECT run_id, status, files, records_read, loaded, duplicates, "
                     "rejected FROM sluice.runs") == [(1, "succeeded", 2, 4, 3, 0, 1)]
    assert query(db, "SELECT source_file, line_number, raw, reasons FROM sluice.quarantine") == [
        (str(a), 4, "Bob,bob@example.org,2010-01-01,123",
         ["name has no last name", "email does not end in .com or .net",
          "not over 18 on 2022-01-01", "mobile_no has 3 digits, not 8"])]
    assert query(db, "SELECT s.last_name, regexp_replace(f.path, '^.*/in/', '') FROM "
                     "applications.successful s JOIN sluice.files f ON f.file_id = s._file_id "
                     "ORDER BY ALL") == [("Dixon", "a.csv"), ("Lee", "a.csv"),
                                         ("Park", "sub/b.csv")]
    assert_promises(db)


def _digest(yyyymmdd: str) -> str:
    import hashlib

    return hashlib.sha256(yyyymmdd.encode()).hexdigest()[:5]


def test_age_on_moves_the_day_applicants_must_be_18(work: Path) -> None:
    inbox = (work / "in").resolve()
    write(inbox / "a.csv", "Eve Young,eve@example.com,2005-06-01,12345678")
    first = applications_run(work)
    assert (first["run"]["loaded"], first["run"]["rejected"]) == (0, 1)
    assert [row[7:9] for row in unsuccessful_rows(work, 1)] == [
        ["false", "not over 18 on 2022-01-01"]]
    write(inbox / "b.csv", "Eve Young,eve@example.com,2005-06-01,12345678", "",
          "Tom Young,tom@example.com,2005-06-02,12345678")
    second = applications_run(work, "--age-on", "2023-06-01")  # Eve is 18 that very day
    assert (second["run"]["loaded"], second["run"]["rejected"]) == (1, 1)
    assert [row[:2] + row[5:6] for row in successful_rows(work, 2)] == [
        ["Eve", "Young", "true"]]
    assert [row[8] for row in unsuccessful_rows(work, 2)] == ["not over 18 on 2023-06-01"]
    assert_promises(work / "warehouse.db")


def test_starting_over_with_a_new_warehouse_never_overwrites_the_archive(work: Path) -> None:
    """The archive is named by run; a new warehouse (the old one deleted to start over,
    or another one) numbers its runs from 1 again. An input file archived earlier must
    not be replaced by a later one of the same name: that would lose it."""
    inbox = (work / "in").resolve()
    first = write(inbox / "a.csv", ok(1)).read_bytes()
    applications_run(work, "--warehouse", "first.db")
    second = write(inbox / "a.csv", ok(2)).read_bytes()
    summary = applications_run(work, "--warehouse", "second.db")
    assert summary["run"]["run_id"] == 1 and summary["archived"] == 1
    archived = sorted(p.read_bytes() for p in (work / "out" / "archive").rglob("*")
                      if p.is_file())
    assert sorted([first, second]) == sorted(archived), (
        "an archived input file was overwritten: "
        + str(files_in(work / "out" / "archive")))


# --- 2. the same content again -----------------------------------------------------------

def test_content_processed_before_is_skipped_archived_and_adds_nothing(work: Path) -> None:
    inbox = work / "in"
    write(inbox / "a.csv", "John Dixon,john@example.com,1986/01/10,12345678",
          "Bob,bob@example.com,1986/01/10,12345678")
    applications_run(work)
    db = work / "warehouse.db"
    before = snapshot(db)
    shutil.copy(work / "out" / "archive" / "run-1" / "a.csv", inbox / "again.csv")

    summary = applications_run(work)

    assert summary["run"]["run_id"] == 2
    assert totals(summary) == (1, 1, 0, 0, 0, 0, 0)
    [offered] = summary["run"]["file_details"]
    assert offered["status"] == "skipped"
    assert "already loaded" in offered["note"] and offered["note"].endswith(
        "already loaded"), offered["note"]
    assert files_in(inbox) == []
    assert files_in(work / "out" / "archive" / "run-2") == ["again.csv"]
    assert summary["archived"] == 1
    assert summary["outputs"]["successful"]["rows"] == 0
    assert summary["outputs"]["unsuccessful"]["rows"] == 0
    assert successful_rows(work, 2) == [] and unsuccessful_rows(work, 2) == []
    assert snapshot(db) == before  # no member, no quarantine row added
    assert members(db) == [("John", "Dixon", "john@example.com", "19860110", "12345678",
                            DIXON)]
    assert ledger_files(db)[-1] == (2, "again.csv", "skipped", 0, 0, 0, 0)
    assert_promises(db)

    # An empty inbox: no run at all.
    result = sluice("applications", "run", "--inbox", "in", "--out", "out", "--min-age", "0",
                    cwd=work)
    assert result.stdout == "nothing to process: no new complete files in the inbox\n"
    empty = applications_run(work)
    assert empty == {"run": None, "outputs": {}, "published": [], "archived": 0,
                     "waiting": []}
    assert query(db, "SELECT count(*) FROM sluice.runs") == [(2,)]


# --- 3. duplicates -------------------------------------------------------------------------

def test_the_same_application_is_a_duplicate_in_one_run_and_across_runs(work: Path) -> None:
    inbox = (work / "in").resolve()
    a = write(inbox / "a.csv",
              "John Dixon,john@example.com,1986/01/10,12345678",
              "Ann Lee,ann@example.com,1990-05-05,87654321",
              "John Dixon,john@example.com,1986/01/10,12345678")   # the same line again
    write(inbox / "b.csv",
          "Mr. John Dixon,JOHN@example.com,10-01-1986,1234 5678",   # title, day first, case
          '"Dixon, John",john@example.com,01/10/1986,12345678')     # Last, First; month first
    first = applications_run(work)
    assert totals(first) == (2, 0, 0, 5, 2, 3, 0)
    assert details(first) == {"a.csv": ("loaded", 3, 2, 1, 0),
                              "b.csv": ("loaded", 2, 0, 2, 0)}
    # A duplicate is in neither output; the member is there once, shared with nobody.
    assert successful_rows(work, 1) == [
        ["John", "Dixon", "john@example.com", "19860110", "12345678", "true", DIXON, "false",
         str(a), "2"],
        ["Ann", "Lee", "ann@example.com", "19900505", "87654321", "true",
         "Lee_" + _digest("19900505"), "false", str(a), "3"]]
    assert unsuccessful_rows(work, 1) == []

    write(inbox / "c.csv",
          "Dr John Dixon Jr.,john@example.com,1986-01-10,12345678",
          "Bo Kim,bo@example.com,1970-01-01,22223333")
    second = applications_run(work)
    assert totals(second) == (1, 0, 0, 2, 1, 1, 0)
    assert [row[:2] for row in successful_rows(work, 2)] == [["Bo", "Kim"]]

    db = work / "warehouse.db"
    assert members(db) == [
        ("Ann", "Lee", "ann@example.com", "19900505", "87654321", "Lee_" + _digest("19900505")),
        ("Bo", "Kim", "bo@example.com", "19700101", "22223333", "Kim_" + _digest("19700101")),
        ("John", "Dixon", "john@example.com", "19860110", "12345678", DIXON)]
    assert query(db, "SELECT sum(duplicates) FROM sluice.files") == [(4,)]
    assert_promises(db)
    report = sluice_json("applications", "report", cwd=work)
    assert report["applications"] == [
        {"outcome": "duplicates", "applications": 4},
        {"outcome": "successful", "applications": 3},
        {"outcome": "unsuccessful", "applications": 0}]
    assert report["shared_membership_ids"] == []


# --- 4. shared membership ids --------------------------------------------------------------

def test_two_applicants_with_one_last_name_and_birthday_share_a_membership_id(
        work: Path) -> None:
    inbox = (work / "in").resolve()
    a = write(inbox / "a.csv",
              "John Dixon,john@example.com,1986/01/10,12345678",
              "Jane Dixon,jane@example.net,10-01-1986,87654321",
              "Ann Lee,ann@example.com,1990-05-05,11112222")
    applications_run(work)
    assert successful_rows(work, 1) == [
        ["John", "Dixon", "john@example.com", "19860110", "12345678", "true", DIXON, "true",
         str(a), "2"],
        ["Jane", "Dixon", "jane@example.net", "19860110", "87654321", "true", DIXON, "true",
         str(a), "3"],
        ["Ann", "Lee", "ann@example.com", "19900505", "11112222", "true",
         "Lee_" + _digest("19900505"), "false", str(a), "4"]]

    # A third Dixon born that day, in a later run, shares it with those loaded before; a
    # duplicate of John is no new holder.
    b = write(inbox / "b.csv",
              "Jim Dixon,jim@example.com,01/10/1986,22223333",
              "John Dixon,john@example.com,1986/01/10,12345678")
    summary = applications_run(work)
    assert totals(summary) == (1, 0, 0, 2, 1, 1, 0)
    assert successful_rows(work, 2) == [
        ["Jim", "Dixon", "jim@example.com", "19860110", "22223333", "true", DIXON, "true",
         str(b), "2"]]
    db = work / "warehouse.db"
    assert query(db, "SELECT count(*) FROM applications.successful WHERE membership_id = ?"
                 .replace("?", f"'{DIXON}'")) == [(3,)]
    report = sluice_json("applications", "report", cwd=work)
    assert report["shared_membership_ids"] == [
        {"membership_id": DIXON, "applications": 3, "first_applicant": "Jane Dixon",
         "last_applicant": "John Dixon"}]
    assert_promises(db)


# --- 5. Parquet ----------------------------------------------------------------------------

def test_parquet_outputs_keep_types_and_reasons_as_a_list(work: Path) -> None:
    inbox = (work / "in").resolve()
    a = write(inbox / "a.csv",
              "John Dixon,john@example.com,1986/01/10,12345678",
              "Bob,bob@example.org,2010-01-01,123",
              "a,b,c")
    summary = applications_run(work, "--format", "parquet")
    assert totals(summary) == (1, 0, 0, 3, 1, 0, 2)
    successful = the_output(work, "successful", 1, "parquet")
    unsuccessful = the_output(work, "unsuccessful", 1, "parquet")
    assert summary["outputs"]["successful"] == {"rows": 1, "file": str(successful.resolve())}
    assert output_files(work, "successful") == [successful]
    con = duckdb.connect(":memory:")
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)",
                                [str(successful)]).fetchall()
        assert [(c[0], c[1]) for c in described] == [
            ("first_name", "VARCHAR"), ("last_name", "VARCHAR"), ("email", "VARCHAR"),
            ("date_of_birth", "VARCHAR"), ("mobile_no", "VARCHAR"), ("above_18", "BOOLEAN"),
            ("membership_id", "VARCHAR"), ("shared_membership_id", "BOOLEAN"),
            ("source_file", "VARCHAR"), ("line_number", "BIGINT")]
        assert con.execute("SELECT * FROM read_parquet(?)", [str(successful)]).fetchall() == [
            ("John", "Dixon", "john@example.com", "19860110", "12345678", True, DIXON, False,
             str(a), 2)]
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * "
                                 "FROM read_parquet(?))", [str(unsuccessful)]).fetchall())
        assert types["reasons"] == "VARCHAR[]"
        rows = con.execute("SELECT name, reasons, line_number, raw_line FROM read_parquet(?) "
                           "ORDER BY line_number", [str(unsuccessful)]).fetchall()
    finally:
        con.close()
    assert rows == [
        ("Bob", ["name has no last name", "email does not end in .com or .net",
                 "not over 18 on 2022-01-01", "mobile_no has 3 digits, not 8"], 3, None),
        (None, ["has 3 fields, expected 4"], 4, "a,b,c")]
    assert_promises(work / "warehouse.db")


# --- 6. bad files --------------------------------------------------------------------------

def ok(n: int) -> str:
    """A successful application, different for every n (1-28)."""
    return f"Ann Lee{n},ann{n}@example.com,1990-01-{n:02d},1234567{n % 10}"


def ok_row(n: int, source: Path, line: int) -> list[str]:
    date = f"199001{n:02d}"
    return ["Ann", f"Lee{n}", f"ann{n}@example.com", date, f"1234567{n % 10}", "true",
            f"Lee{n}_{_digest(date)}", "false", str(source), str(line)]


DAMAGED_GZIP = gzip.compress((HEADER + "\n" + ok(20) + "\n").encode())[:30]


def test_bad_files_and_bad_lines_are_all_accounted_for(work: Path) -> None:
    inbox = (work / "in").resolve()
    wrong_header = write(inbox / "wrong_header.csv", "nom,mail,dob,phone", ok(1), header=False)
    header_only = write(inbox / "header_only.csv")
    zero = inbox / "zero.csv"
    zero.write_bytes(b"")
    utf8 = write(inbox / "not_utf8.csv", ok(2),
                 b"Caf\xe9 Owner,cafe@example.com,1990-01-01,12345678", ok(3))
    packed = inbox / "sub" / "packed.csv.gz"
    packed.parent.mkdir()
    packed.write_bytes(gzip.compress(f"{HEADER}\n{ok(4)}\n{ok(5)}\n".encode()))
    damaged = inbox / "damaged.csv.gz"
    damaged.write_bytes(DAMAGED_GZIP)
    hidden = write(inbox / ".hidden.csv", ok(6))
    notes = inbox / "notes.txt"
    notes.write_text("not applications\n")
    crlf = write(inbox / "crlf.csv", ok(7), ok(8), newline=b"\r\n")
    bom = inbox / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + f"{HEADER}\n{ok(9)}\n".encode())
    mixed = write(inbox / "mixed.csv",
                  ok(10),                                                # 2
                  HEADER,                                                # 3 header again
                  "",                                                    # 4 blank
                  "   ",                                                 # 5 blank
                  '"Lee, Bo",bo@example.com,1990-02-02,"1234 5678"',     # 6 quoted comma
                  '"Al ""The"" Smith",al@example.com,1990-02-03,12345678',  # 7 "" in a field
                  "a,b,c",                                               # 8 three fields
                  "a,b,c,d,e",                                           # 9 five fields
                  '"Broken,b@example.com,1990-01-01,12345678',           # 10 unbalanced
                  ok(11))                                                # 11

    result = sluice("applications", "run", "--inbox", "in", "--out", "out", "--min-age", "0",
                    "--json", cwd=work, expect=5)
    assert "Traceback" not in result.stderr
    assert json.loads(result.stderr) == {
        "error": "3 of 11 files could not be read (status unreadable, with the reason, in the "
                 "ledger); the rest was committed in run 1", "exit_code": 5}
    summary = json.loads(result.stdout)
    assert totals(summary) == (11, 2, 3, 15, 11, 0, 4)
    assert details(summary) == {
        ".hidden.csv": ("skipped", 0, 0, 0, 0),
        "bom.csv": ("loaded", 1, 1, 0, 0),
        "crlf.csv": ("loaded", 2, 2, 0, 0),
        "damaged.csv.gz": ("unreadable", 0, 0, 0, 0),
        "header_only.csv": ("loaded", 0, 0, 0, 0),
        "mixed.csv": ("loaded", 7, 4, 0, 3),
        "not_utf8.csv": ("loaded", 3, 2, 0, 1),
        "notes.txt": ("skipped", 0, 0, 0, 0),
        "sub/packed.csv.gz": ("loaded", 2, 2, 0, 0),
        "wrong_header.csv": ("unreadable", 0, 0, 0, 0),
        "zero.csv": ("unreadable", 0, 0, 0, 0)}
    notes_by_file = {Path(f["path"]).name: f["note"] for f in summary["run"]["file_details"]}
    assert notes_by_file[".hidden.csv"] == "hidden"
    assert notes_by_file["notes.txt"] == "not an input file name (.csv, .csv.gz)"
    assert notes_by_file["wrong_header.csv"].startswith(
        "the header is 'nom,mail,dob,phone', not the columns "
        "name,email,date_of_birth,mobile_no (in any order)")
    assert notes_by_file["zero.csv"].startswith("empty file: no header line")
    assert notes_by_file["damaged.csv.gz"].startswith("cannot read the header")

    # Every line accounted for: what was read is in an output or counted a duplicate.
    success, failure = successful_rows(work, 1), unsuccessful_rows(work, 1)
    run = summary["run"]
    assert run["read"] == len(success) + run["duplicates"] + len(failure)
    assert summary["outputs"]["successful"]["rows"] == len(success) == 11
    assert summary["outputs"]["unsuccessful"]["rows"] == len(failure) == 4
    assert success == [
        ok_row(9, bom, 2), ok_row(7, crlf, 2), ok_row(8, crlf, 3), ok_row(10, mixed, 2),
        ["Bo", "Lee", "bo@example.com", "19900202", "12345678", "true",
         "Lee_" + _digest("19900202"), "false", str(mixed), "6"],
        ['Al "The"', "Smith", "al@example.com", "19900203", "12345678", "true",
         "Smith_" + _digest("19900203"), "false", str(mixed), "7"],
        ok_row(11, mixed, 11), ok_row(2, utf8, 2), ok_row(3, utf8, 4),
        ok_row(4, packed, 2), ok_row(5, packed, 3)]
    nothing = ["", "", "", "", "", "", "", ""]
    assert failure == [
        [*nothing, "has 3 fields, expected 4", str(mixed), "8", "a,b,c"],
        [*nothing, "has 5 fields, expected 4", str(mixed), "9", "a,b,c,d,e"],
        [*nothing, "unbalanced quotes", str(mixed), "10",
         '"Broken,b@example.com,1990-01-01,12345678'],
        [*nothing, "invalid UTF-8", str(utf8), "3",
         "Caf\\xe9 Owner,cafe@example.com,1990-01-01,12345678"]]

    # Unreadable files: archived, a copy and a note of why in the run's quarantine folder.
    kept = work / "warehouse.db.quarantine" / "run-1"
    assert files_in(kept) == ["damaged.csv.gz", "damaged.csv.gz.why.txt", "wrong_header.csv",
                              "wrong_header.csv.why.txt", "zero.csv", "zero.csv.why.txt"]
    assert (kept / "damaged.csv.gz").read_bytes() == DAMAGED_GZIP
    assert "why: empty file: no header line" in (kept / "zero.csv.why.txt").read_text()
    # Hidden and other files stay in the inbox; everything else is archived.
    assert files_in(inbox) == [".hidden.csv", "notes.txt"]
    assert hidden.read_bytes() == f"{HEADER}\n{ok(6)}\n".encode()
    assert files_in(work / "out" / "archive" / "run-1") == [
        "bom.csv", "crlf.csv", "damaged.csv.gz", "header_only.csv", "mixed.csv",
        "not_utf8.csv", "sub/packed.csv.gz", "wrong_header.csv", "zero.csv"]
    assert summary["archived"] == 9
    for gone in (wrong_header, header_only, zero, damaged, crlf, bom, mixed, utf8, packed):
        assert not gone.exists()

    db = work / "warehouse.db"
    assert query(db, "SELECT line_number, raw, reasons FROM sluice.quarantine "
                     "ORDER BY source_file, line_number") == [
        (8, "a,b,c", ["has 3 fields, expected 4"]),
        (9, "a,b,c,d,e", ["has 5 fields, expected 4"]),
        (10, '"Broken,b@example.com,1990-01-01,12345678', ["unbalanced quotes"]),
        (3, "Caf\\xe9 Owner,cafe@example.com,1990-01-01,12345678", ["invalid UTF-8"])]
    assert query(db, "SELECT count(*) FROM applications.successful") == [(11,)]
    assert_promises(db)
    # What stays in the inbox is never a run of its own.
    again = sluice("applications", "run", "--inbox", "in", "--out", "out", "--min-age", "0",
                   cwd=work)
    assert again.stdout.startswith("nothing to process")
    assert query(db, "SELECT count(*) FROM sluice.runs") == [(1,)]


# --- 7. files still being written ----------------------------------------------------------

def test_a_file_younger_than_min_age_waits_in_the_inbox(work: Path) -> None:
    inbox = (work / "in").resolve()
    young = write(inbox / "young.csv", ok(1))
    summary = applications_run(work, "--min-age", "3600")
    assert summary["run"] is None and summary["outputs"] == {} and summary["archived"] == 0
    [waiting] = summary["waiting"]
    assert waiting["path"] == str(young)
    assert 3590 <= waiting["seconds_left"] <= 3600, waiting
    assert files_in(inbox) == ["young.csv"]
    db = work / "warehouse.db"
    assert query(db, "SELECT count(*) FROM sluice.runs") == [(0,)]
    assert output_files(work, "successful") == []

    plain = sluice("applications", "run", "--inbox", "in", "--out", "out", "--min-age", "3600",
                   cwd=work)
    assert plain.stdout.splitlines()[0].startswith("nothing to process")
    assert re.search(r"^waiting: young\.csv is still changing; taken in 3\d{3} s at the "
                     "earliest$", plain.stdout, re.MULTILINE), plain.stdout

    # An older file beside it is taken; the young one still waits.
    old = write(inbox / "old.csv", ok(2))
    an_hour_ago = time.time() - 7200
    os.utime(old, (an_hour_ago, an_hour_ago))
    summary = applications_run(work, "--min-age", "3600")
    assert totals(summary) == (1, 0, 0, 1, 1, 0, 0)
    assert [w["path"] for w in summary["waiting"]] == [str(young)]
    assert files_in(inbox) == ["young.csv"]
    assert files_in(work / "out" / "archive") == ["run-1/old.csv"]
    assert_promises(db)


# --- 8. crashes ------------------------------------------------------------------------

def test_a_crash_before_the_commit_publishes_nothing_and_the_next_pass_does_it_all(
        work: Path) -> None:
    inbox = (work / "in").resolve()
    write(inbox / "a.csv", ok(1), "Bob,bob@example.com,1986/01/10,12345678")
    write(inbox / "b.csv", ok(2))
    killed = sluice("applications", "run", "--inbox", "in", "--out", "out", "--min-age", "0",
                    cwd=work, env={"SLUICE_CRASH_AT": "before-commit"}, expect=None)
    assert killed.returncode == -signal.SIGKILL, killed
    assert "killed at crash point before-commit" in killed.stderr
    assert output_files(work, "successful") == [] and output_files(work, "unsuccessful") == []
    # The run's outputs were written aside before its transaction; they never show.
    assert [p.split("/")[0] for p in files_in(work / "out" / ".partial")] == ["run-1"] * 2
    assert files_in(inbox) == ["a.csv", "b.csv"]
    assert not (work / "out" / "archive").exists()

    summary = applications_run(work)
    assert summary["run"]["run_id"] == 2
    assert totals(summary) == (2, 0, 0, 3, 2, 0, 1)
    assert not (work / "out" / ".partial").exists()
    assert [p.name for p in output_files(work, "successful")] == [
        the_output(work, "successful", 2).name]
    assert len(successful_rows(work, 2)) == 2 and len(unsuccessful_rows(work, 2)) == 1
    assert files_in(inbox) == []
    assert files_in(work / "out" / "archive") == ["run-2/a.csv", "run-2/b.csv"]
    db = work / "warehouse.db"
    assert query(db, "SELECT run_id, status, records_read FROM sluice.runs ORDER BY 1") == [
        (1, "interrupted", None), (2, "succeeded", 3)]
    assert query(db, "SELECT count(*) FROM applications.successful") == [(2,)]
    assert_promises(db)


def test_a_crash_after_the_commit_is_published_by_the_next_pass_which_adds_nothing(
        work: Path) -> None:
    inbox = (work / "in").resolve()
    a = write(inbox / "a.csv", ok(1), "Bob,bob@example.com,1986/01/10,12345678")
    write(inbox / "b.csv", ok(2))
    killed = sluice("applications", "run", "--inbox", "in", "--out", "out", "--min-age", "0",
                    cwd=work, env={"SLUICE_CRASH_AT": "after-commit"}, expect=None)
    assert killed.returncode == -signal.SIGKILL, killed
    assert "killed at crash point after-commit" in killed.stderr
    # Committed, but not yet published nor archived.
    assert output_files(work, "successful") == [] and output_files(work, "unsuccessful") == []
    assert [p.split("/")[:2] for p in files_in(work / "out" / ".partial")] == [
        ["run-1", "successful"], ["run-1", "unsuccessful"]]
    assert files_in(inbox) == ["a.csv", "b.csv"]
    db = work / "warehouse.db"
    before = snapshot(db)
    assert query(db, "SELECT count(*) FROM applications.successful") == [(2,)]

    summary = applications_run(work)
    # Run 1's outputs are published now, under run 1's name, with run 1's rows.
    published = sorted(Path(p).name for p in summary["published"])
    assert len(published) == 4
    assert successful_rows(work, 1) == [ok_row(1, a, 2), ok_row(2, inbox / "b.csv", 2)]
    assert [row[8] for row in unsuccessful_rows(work, 1)] == ["name has no last name"]
    # This pass's run skips both files (their content was committed) and archives them.
    assert summary["run"]["run_id"] == 2
    assert totals(summary) == (2, 2, 0, 0, 0, 0, 0)
    assert {f["status"] for f in summary["run"]["file_details"]} == {"skipped"}
    assert successful_rows(work, 2) == [] and unsuccessful_rows(work, 2) == []
    assert files_in(inbox) == []
    assert files_in(work / "out" / "archive") == ["run-2/a.csv", "run-2/b.csv"]
    assert not (work / "out" / ".partial").exists()
    assert snapshot(db) == before
    assert query(db, "SELECT run_id, status, loaded FROM sluice.runs ORDER BY 1") == [
        (1, "succeeded", 2), (2, "succeeded", 0)]
    assert_promises(db)


# --- 9. wrong arguments ------------------------------------------------------------------

BAD_ARGUMENTS = [
    # (arguments, sluice's own one-line error or None for the parser's, the message)
    (("run", "--out", "out"), False, "Missing option '--inbox'."),
    (("run", "--inbox", "afile", "--out", "out"), True, "--inbox afile: not a folder"),
    (("run", "--inbox", "nowhere", "--out", "out"), True, "--inbox nowhere: no such folder"),
    (("run", "--inbox", "in", "--out", "afile"), True, "--out: afile is a file, not a folder"),
    (("run", "--inbox", "in", "--out", "afile/out"), True,
     "--out: afile is a file, not a folder"),
    (("run", "--inbox", "in", "--out", "out", "--archive", "afile"), True,
     "--archive: afile is a file, not a folder"),
    (("run", "--inbox", "in", "--out", "out", "--age-on", "2022-13-01"), True,
     "--age-on '2022-13-01' is not a date (YYYY-MM-DD)"),
    (("run", "--inbox", "in", "--out", "out", "--age-on", "yesterday"), True,
     "--age-on 'yesterday' is not a date (YYYY-MM-DD)"),
    (("run", "--inbox", "in", "--out", "out", "--format", "xml"), False,
     "Invalid value for '--format': Value error, 'xml' is not one of 'csv', 'parquet'."),
    (("run", "--inbox", "in", "--out", "out", "--min-age", "-1"), False,
     "Invalid value for '--min-age': Input should be greater than or equal to 0"),
    (("watch", "--inbox", "in", "--out", "out", "--every", "0"), False,
     "Invalid value for '--every': Input should be greater than or equal to 0.01"),
    (("watch", "--inbox", "afile", "--out", "out"), True, "--inbox afile: not a folder"),
    (("run", "--inbox", "in", "--out", "in"), True,
     "--out in is the inbox; outputs and archived files need a folder of their own (one "
     "inside the inbox is fine: it is never read as input)"),
    (("run", "--inbox", "in", "--out", "out", "--archive", "./in"), True,
     "--archive in is the inbox; outputs and archived files need a folder of their own "
     "(one inside the inbox is fine: it is never read as input)"),
]


@pytest.mark.parametrize(("args", "own", "message"), BAD_ARGUMENTS,
                         ids=[" ".join(a) for a, _, _ in BAD_ARGUMENTS])
def test_wrong_arguments_exit_2_with_one_clear_line(work: Path, args: tuple[str, ...],
                                                    own: bool, message: str) -> None:
    (work / "in").mkdir()
    write(work / "in" / "a.csv", ok(1))
    (work / "afile").write_text("a file\n")
    before = files_in(work)
    result = sluice("applications", *args, cwd=work, expect=2)
    assert "Traceback" not in result.stderr and result.stdout == ""
    if own:
        assert result.stderr == f"error: {message}\n"
    else:  # the command-line parser's usage error, naming the option
        option = re.findall(r"'(--[a-z-]+)'", message)[0]
        assert option in result.stderr, result.stderr
    as_json = sluice("applications", *args, "--json", cwd=work, expect=2) \
        if args[0] == "run" else None
    if as_json is not None:
        assert as_json.stdout == ""
        assert as_json.stderr.count("\n") == 1
        assert json.loads(as_json.stderr) == {"error": message, "exit_code": 2}
    assert files_in(work) == before, "nothing may be written"


# --- 10. outputs inside the inbox ---------------------------------------------------------

def test_outputs_archive_and_warehouse_inside_the_inbox_are_never_input(work: Path) -> None:
    inbox = (work / "in").resolve()
    write(inbox / "a.csv", ok(1), "Bob,bob@example.com,1986/01/10,12345678")
    (inbox / "bad.csv").write_text("not,a,header\n")
    options = ("applications", "run", "--inbox", "in", "--out", "in/out", "--min-age", "0",
               "--warehouse", "in/wh.db", "--json")
    first = json.loads(sluice(*options, cwd=work, expect=5).stdout)
    assert (first["run"]["loaded"], first["run"]["rejected"]) == (1, 1)
    # The inbox now holds .csv files of sluice's own: outputs, the archive, a quarantine copy.
    own = files_in(inbox)
    assert {"out/archive/run-1/a.csv", "out/archive/run-1/bad.csv",
            "wh.db.quarantine/run-1/bad.csv"} <= set(own), own
    assert len([p for p in own if p.startswith("out/successful/")]) == 1

    write(inbox / "b.csv", ok(2))
    second = json.loads(sluice(*options, cwd=work).stdout)
    read = {f["path"].removeprefix(str(inbox) + "/"): f["status"]
            for f in second["run"]["file_details"]}
    assert {path: status for path, status in read.items() if status != "skipped"} == {
        "b.csv": "loaded"}
    assert second["run"]["read"] == 1 and second["archived"] == 1
    # sluice's own files were listed as skipped, never read, never moved.
    assert set(files_in(inbox)) == (set(own) | {"out/archive/run-2/b.csv"}
                                    | {f"out/{kind}/{Path(p).name}" for p in
                                       second["published"] for kind in ("successful",
                                                                        "unsuccessful")
                                       if Path(p).parent.name == kind}) - {"wh.db.wal"}
    db = inbox / "wh.db"
    assert query(db, "SELECT count(*) FROM applications.successful") == [(2,)]
    assert query(db, "SELECT count(*) FROM sluice.files WHERE records_read > 0 "
                     "AND path NOT LIKE '%/in/a.csv' AND path NOT LIKE '%/in/b.csv'") == [(0,)]
    assert_promises(db)
    # Nothing new: no run, the outputs stay where they are.
    third = json.loads(sluice(*options, cwd=work).stdout)
    assert third["run"] is None
