"""The applications rules, row by row, through `sluice applications run`: every rule, every
birth-date format, every title and suffix, the membership id's hash, and what each output
row carries (docs/applications.md)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import pytest

from conftest import query, sluice, sluice_json

HEADER = "name,email,date_of_birth,mobile_no"


def run_rows(folder: Path, lines: list[str], *options: str) -> dict[str, Any]:
    """Write one inbox file of these lines (after the header), process it, and return
    the pass's JSON with the two outputs read back as lists of dicts."""
    inbox = folder / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "applications.csv").write_text("\n".join([HEADER, *lines]) + "\n",
                                             encoding="utf-8")
    result = sluice_json("applications", "run", "--inbox", "inbox", "--out", "out",
                         "--min-age", "0", "--warehouse", "w.db", *options, cwd=folder)
    for kind in ("successful", "unsuccessful"):
        path = Path(result["outputs"][kind]["file"])
        with path.open(encoding="utf-8", newline="") as stream:
            result[kind] = list(csv.DictReader(stream))
    return result


def one(folder: Path, line: str, *options: str) -> dict[str, str]:
    """The output row of one application, with `outcome` added."""
    result = run_rows(folder, [line], *options)
    rows = [(kind, row) for kind in ("successful", "unsuccessful") for row in result[kind]]
    assert len(rows) == 1, rows
    kind, row = rows[0]
    return {**row, "outcome": kind}


# --- names -------------------------------------------------------------------------------

TITLES = ["Mr.", "Mrs.", "Ms.", "Dr.", "Mr", "MRS.", "Miss", "Prof."]
SUFFIXES = ["Jr.", "II", "III", "MD", "DDS", "DVM", "PhD", "jr", "Sr.", "IV"]


@pytest.mark.parametrize("title", TITLES)
def test_a_title_before_the_name_is_removed(tmp_path: Path, title: str) -> None:
    row = one(tmp_path, f"{title} Jessica Gibson,j@gibson.com,1986-01-10,12345678")
    assert (row["outcome"], row["first_name"], row["last_name"]) == (
        "successful", "Jessica", "Gibson")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_suffix_after_the_name_is_removed(tmp_path: Path, suffix: str) -> None:
    row = one(tmp_path, f"Jessica Gibson {suffix},j@gibson.com,1986-01-10,12345678")
    assert (row["first_name"], row["last_name"], row["membership_id"]) == (
        "Jessica", "Gibson", "Gibson_3864b")


@pytest.mark.parametrize(("name", "first", "last"), [
    ("Mrs. Jessica Gibson DDS", "Jessica", "Gibson"),
    ("Dr. John Dixon, Jr.", "John", "Dixon"),
    ("Mr. Dr. John Dixon PhD MD", "John", "Dixon"),
    ("  Mary   Ann  Smith  ", "Mary Ann", "Smith"),
    ("Smith, Anna", "Anna", "Smith"),
    ("Drew Barrymore", "Drew", "Barrymore"),       # "Dr" only as a word of its own
    ("Mrsmith Jones", "Mrsmith", "Jones"),
    ("Anna Mdina", "Anna", "Mdina"),               # "MD" only as a word of its own
    ("Jean-Luc O'Neil", "Jean-Luc", "O'Neil"),
    ("Zoë Ångström", "Zoë", "Ångström"),
])
def test_names_split_into_first_and_last(tmp_path: Path, name: str, first: str,
                                         last: str) -> None:
    row = one(tmp_path, f'"{name}",a@b.com,1986-01-10,12345678')
    assert (row["outcome"], row["first_name"], row["last_name"]) == ("successful", first, last)


@pytest.mark.parametrize(("name", "reason"), [
    ("", "missing name"),
    ("   ", "missing name"),
    ("Madonna", "name has no last name"),
    ("Mr. Smith", "name has no last name"),
    ("Dr.", "name has no last name"),
])
def test_a_row_without_a_full_name_is_unsuccessful(tmp_path: Path, name: str,
                                                   reason: str) -> None:
    row = one(tmp_path, f'"{name}",a@b.com,1986-01-10,12345678')
    assert (row["outcome"], row["reasons"]) == ("unsuccessful", reason)


# --- birth dates -------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "yyyymmdd"), [
    ("1971/03/07", "19710307"),   # YYYY/MM/DD
    ("1971-03-07", "19710307"),   # YYYY-MM-DD
    ("03/07/1971", "19710307"),   # MM/DD/YYYY: slash, year last, month first
    ("07-03-1971", "19710307"),   # DD-MM-YYYY: dash, year last, day first
    ("3/7/1971", "19710307"),
    ("7-3-1971", "19710307"),
    ("1971/3/7", "19710307"),
    ("12/31/1999", "19991231"),
    ("31-12-1999", "19991231"),
    ("2000/02/29", "20000229"),   # a leap day
])
def test_each_date_format_means_one_thing(tmp_path: Path, written: str, yyyymmdd: str) -> None:
    row = one(tmp_path, f"Ann Lee,ann@lee.com,{written},12345678")
    assert (row["outcome"], row["date_of_birth"]) == ("successful", yyyymmdd)


def test_an_ambiguous_date_is_read_by_its_format_not_guessed(tmp_path: Path) -> None:
    result = run_rows(tmp_path, ["Ann Lee,ann@lee.com,03/07/1971,12345678",
                                 "Bo Lee,bo@lee.com,03-07-1971,12345678"])
    assert [r["date_of_birth"] for r in result["successful"]] == ["19710307", "19710703"]


@pytest.mark.parametrize(("written", "reason"), [
    ("1996/02/31", "date_of_birth is not a real date"),
    ("1900/02/29", "date_of_birth is not a real date"),   # 1900 was not a leap year
    ("13/01/1990", "date_of_birth is not a real date"),   # month 13
    ("1990-13-01", "date_of_birth is not a real date"),
    ("1819/05/03", "date_of_birth is before 1900"),
    ("3000-01-01", "date_of_birth is in the future"),
    ("1990.01.02", "date_of_birth is not in a known format"),
    ("19900102", "date_of_birth is not in a known format"),
    ("1990/01/02 10:00", "date_of_birth is not in a known format"),
    ("Jan 2 1990", "date_of_birth is not in a known format"),
    ("1971/03-07", "date_of_birth is not in a known format"),
    ("03-07/1971", "date_of_birth is not in a known format"),
    ("1971/003/07", "date_of_birth is not in a known format"),
    ("0000-01-01", "date_of_birth is not a real date"),
    ("", "missing date_of_birth"),
])
def test_a_date_that_is_not_a_birth_date_is_unsuccessful(tmp_path: Path, written: str,
                                                         reason: str) -> None:
    row = one(tmp_path, f"Ann Lee,ann@lee.com,{written},12345678")
    assert (row["outcome"], row["reasons"]) == ("unsuccessful", reason)


# --- age ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("born", "above_18"), [
    ("2004-01-01", "true"),     # exactly 18 on 2022-01-01: counts
    ("2003-12-31", "true"),
    ("2004-01-02", "false"),
    ("2004-02-29", "false"),    # a leap-day birthday, 18 only in March 2022
    ("1940-06-15", "true"),
])
def test_over_18_on_1_january_2022(tmp_path: Path, born: str, above_18: str) -> None:
    row = one(tmp_path, f"Ann Lee,ann@lee.com,{born},12345678")
    assert row["above_18"] == above_18
    assert row["outcome"] == ("successful" if above_18 == "true" else "unsuccessful")
    if above_18 == "false":
        assert row["reasons"] == "not over 18 on 2022-01-01"


@pytest.mark.parametrize(("age_on", "born", "above_18"), [
    ("2024-02-29", "2006-02-28", "true"),    # 18 years before a leap day: 28 February
    ("2024-02-29", "2006-03-01", "false"),
    ("2022-03-01", "2004-02-29", "true"),
])
def test_the_reference_day_can_be_set(tmp_path: Path, age_on: str, born: str,
                                      above_18: str) -> None:
    row = one(tmp_path, f"Ann Lee,ann@lee.com,{born},12345678", "--age-on", age_on)
    assert row["above_18"] == above_18


# --- mobile numbers and emails -----------------------------------------------------------

@pytest.mark.parametrize(("mobile", "clean", "reason"), [
    ("12345678", "12345678", None),
    ("1234 5678", "12345678", None),        # spaces between digit groups are formatting
    ("12 34 56 78", "12345678", None),
    ("1234  5678", "12345678", None),
    ("1234567", None, "mobile_no has 7 digits, not 8"),
    ("12345", None, "mobile_no has 5 digits, not 8"),
    ("123456789", None, "mobile_no has 9 digits, not 8"),
    ("1234 567", None, "mobile_no has 7 digits, not 8"),
    ("+6512345678", None, "mobile_no is not digits"),
    ("1234-5678", None, "mobile_no is not digits"),
    ("1234567a", None, "mobile_no is not digits"),
    ("", None, "missing mobile_no"),
])
def test_a_mobile_number_has_8_digits(tmp_path: Path, mobile: str, clean: str | None,
                                      reason: str | None) -> None:
    row = one(tmp_path, f"Ann Lee,ann@lee.com,1980-01-01,{mobile}")
    if reason is None:
        assert (row["outcome"], row["mobile_no"]) == ("successful", clean)
    else:
        assert (row["outcome"], row["reasons"], row["mobile_no"]) == (
            "unsuccessful", reason, mobile)


@pytest.mark.parametrize(("email", "reason"), [
    ("ann@lee.com", None),
    ("ann.lee@mail.lee.net", None),
    ("Ann.Lee@LEE.COM", None),
    ("ann+tag@lee.com", None),
    ("ann@lee.org", "email does not end in .com or .net"),
    ("ann@lee.biz", "email does not end in .com or .net"),
    ("ann@lee.info", "email does not end in .com or .net"),
    ("ann@lee.com.sg", "email does not end in .com or .net"),
    ("ann@lee.network", "email does not end in .com or .net"),
    ("annlee.com", "invalid email"),
    ("ann@@lee.com", "invalid email"),
    ("ann lee@lee.com", "invalid email"),
    ("ann@lee", "invalid email"),
    ("ann@.com", "invalid email"),
    (".ann@lee.com", "invalid email"),
    ("ann..lee@lee.com", "invalid email"),
    ("", "missing email"),
])
def test_an_email_is_valid_and_ends_in_com_or_net(tmp_path: Path, email: str,
                                                  reason: str | None) -> None:
    row = one(tmp_path, f"Ann Lee,{email},1980-01-01,12345678")
    if reason is None:
        assert (row["outcome"], row["email"]) == ("successful", email.lower())
    else:
        assert (row["outcome"], row["reasons"]) == ("unsuccessful", reason)


# --- the membership id -------------------------------------------------------------------

def test_the_membership_id_is_the_last_name_and_the_birthdays_hash(tmp_path: Path) -> None:
    row = one(tmp_path, "Mr. Sam Dixon,sam@dixon.com,1986/01/10,12345678")
    assert row["membership_id"] == "Dixon_3864b"
    assert hashlib.sha256(b"19860110").hexdigest()[:5] == "3864b"


@pytest.mark.parametrize("born", ["1950-07-31", "1999-12-01", "2000-02-29", "1970-01-01"])
def test_the_hash_is_sha256_of_yyyymmdd(tmp_path: Path, born: str) -> None:
    row = one(tmp_path, f"Ann Lee,ann@lee.com,{born},12345678")
    digest = hashlib.sha256(born.replace("-", "").encode()).hexdigest()[:5]
    assert row["membership_id"] == f"Lee_{digest}"


def test_every_reason_is_kept_with_every_original_field(tmp_path: Path) -> None:
    row = one(tmp_path, '"  ",not-an-email,1996/02/31,12 3')
    assert row["outcome"] == "unsuccessful"
    assert row["reasons"].split("; ") == [
        "missing name", "invalid email", "date_of_birth is not a real date",
        "mobile_no has 3 digits, not 8"]
    assert (row["name"], row["email"], row["date_of_birth"], row["mobile_no"]) == (
        "  ", "not-an-email", "1996/02/31", "12 3")


def test_an_unsuccessful_row_carries_what_could_be_derived(tmp_path: Path) -> None:
    row = one(tmp_path, "Dr. Ann Lee MD,ann@lee.org,03/07/2010,1234 5678")
    assert {k: row[k] for k in ("first_name", "last_name", "date_of_birth_yyyymmdd",
                                "above_18", "reasons")} == {
        "first_name": "Ann", "last_name": "Lee", "date_of_birth_yyyymmdd": "20100307",
        "above_18": "false",
        "reasons": "email does not end in .com or .net; not over 18 on 2022-01-01"}


def test_successful_rows_are_loaded_and_unsuccessful_ones_quarantined(tmp_path: Path) -> None:
    result = run_rows(tmp_path, ["Ann Lee,ann@lee.com,1980-01-01,12345678",
                                 "Bo Lee,bo@lee.org,1980-01-01,12345678",
                                 "Cy Tan,cy@tan.net,1990/02/03,8765 4321"])
    run = result["run"]
    assert (run["read"], run["loaded"], run["rejected"]) == (3, 2, 1)
    db = tmp_path / "w.db"
    assert query(db, "SELECT first_name, last_name, email, date_of_birth::VARCHAR, "
                     "mobile_no, above_18, membership_id FROM applications.successful "
                     "ORDER BY first_name") == [
        ("Ann", "Lee", "ann@lee.com", "1980-01-01", "12345678", True,
         "Lee_" + hashlib.sha256(b"19800101").hexdigest()[:5]),
        ("Cy", "Tan", "cy@tan.net", "1990-02-03", "87654321", True,
         "Tan_" + hashlib.sha256(b"19900203").hexdigest()[:5])]
    assert query(db, "SELECT line_number, raw, reasons FROM sluice.quarantine") == [
        (3, "Bo Lee,bo@lee.org,1980-01-01,12345678", ["email does not end in .com or .net"])]
    assert [r["line_number"] for r in result["successful"]] == ["2", "4"]


def test_the_help_names_every_option(tmp_path: Path) -> None:
    text = sluice("applications", "run", "--help", cwd=tmp_path).stdout
    for option in ("--inbox", "--out", "--archive", "--format", "--min-age", "--age-on",
                   "--warehouse", "--json"):
        assert option in text


@pytest.mark.parametrize("line", [
    " Ann Lee , ann@lee.com , 1980-01-01 , 12345678 ",
    "\tAnn Lee\t,\tann@lee.com\t,\t1980-01-01\t,\t12345678\t",
    'Ann Lee,"  ann@lee.com  ",1980-01-01,"12345678 "',
])
def test_whitespace_around_a_field_is_formatting(tmp_path: Path, line: str) -> None:
    row = one(tmp_path, line)
    assert {k: row[k] for k in ("outcome", "first_name", "last_name", "email",
                                "date_of_birth", "mobile_no")} == {
        "outcome": "successful", "first_name": "Ann", "last_name": "Lee",
        "email": "ann@lee.com", "date_of_birth": "19800101", "mobile_no": "12345678"}
