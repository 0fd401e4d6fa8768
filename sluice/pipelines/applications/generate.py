"""Realistic membership-application CSV files of any size, with the trouble the real ones
carry, and a count of every kind of trouble planted.

The real files come from a Faker-like tool: `name,email,date_of_birth,mobile_no`, one
applicant a line. Names are mostly `First Last`, some with a title before (`Mr.`, `Dr.`)
or a suffix after (`Jr.`, `PhD`), a few both, a few missing. Dates of birth come in four
formats at random (`YYYY/MM/DD`, `YYYY-MM-DD`, `MM/DD/YYYY`, `DD-MM-YYYY`), spread over
1940-2015 so that about one applicant in six is under 18 on 2022-01-01; a few are not
real dates (`1996/02/31`) or have absurd years (`1819`, `2095`). Mobile numbers have 8
digits, some written `1234 5678`, some too short. Emails are `first.last@domain` or
`firstlast42@domain` on .com, .net, .org, .biz and .info domains, a few invalid. A few
pairs of different applicants share a last name and a birthday, so their membership ids
collide. About a third of applications fail one rule or more, as in the real data.

Python loops once per row (no Faker: small built-in name lists and one `random.Random`
per file, seeded from `seed` and the file's index, so a file's content depends only on
those and its row count). Lines are built in lists and written in chunks; each file is
written under a hidden `.name.partial` name and renamed when complete, so a folder
watcher never sees half a file.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

HEADER = "name,email,date_of_birth,mobile_no"
ADULT_BORN_BY = date(2004, 1, 1)  # 18 on 2022-01-01, the day the rules judge age on
BIRTH_FIRST = date(1940, 1, 1)
BIRTH_LAST = date(2015, 12, 31)
CHUNK_ROWS = 100_000

# Share of rows with each trait.
MISSING_NAME = 0.02
TITLE = 0.08
SUFFIX = 0.05
IMPOSSIBLE_DATE = 0.005
ABSURD_YEAR = 0.002  # a fifth of them in the future (2090s), the rest in the 1800s
SPACED_MOBILE = 0.10
SHORT_MOBILE = 0.10
OTHER_TLD = 0.10  # valid emails not on .com or .net
INVALID_EMAIL = 0.01
MIXED_CASE_EMAIL = 0.01  # `Jessica.Gibson@gmail.com`: valid once lower-cased
COLLISION_EVERY = 10_000  # one pair of colliding membership ids per this many rows

_FIRST_FEMALE = (
    "Jessica", "Jennifer", "Amanda", "Ashley", "Sarah", "Stephanie", "Melissa", "Nicole",
    "Elizabeth", "Heather", "Tiffany", "Michelle", "Amber", "Megan", "Rachel", "Amy",
    "Kimberly", "Christina", "Lauren", "Crystal", "Brittany", "Rebecca", "Laura", "Danielle",
    "Emily", "Samantha", "Angela", "Erin", "Kelly", "Sara", "Lisa", "Katherine", "Andrea",
    "Mary", "Patricia", "Linda", "Barbara", "Susan", "Karen", "Nancy", "Donna", "Carol",
    "Sandra", "Sharon", "Cynthia", "Kathleen", "Anna", "Olivia", "Emma", "Sophia",
)
_FIRST_MALE = (
    "Michael", "Christopher", "Matthew", "Joshua", "David", "James", "Daniel", "Robert",
    "John", "Joseph", "Jason", "Justin", "Andrew", "Ryan", "William", "Brian", "Brandon",
    "Jonathan", "Nicholas", "Anthony", "Eric", "Adam", "Kevin", "Thomas", "Steven",
    "Timothy", "Richard", "Jeremy", "Jeffrey", "Kyle", "Benjamin", "Aaron", "Charles",
    "Mark", "Jacob", "Stephen", "Patrick", "Scott", "Nathan", "Paul", "Sean", "Travis",
    "Gregory", "Kenneth", "Dustin", "Jose", "Tyler", "Noah", "Liam", "Ethan",
)
_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
    "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen",
    "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams",
    "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins",
    "Reyes", "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez",
    "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos",
    "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood", "James",
    "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez", "Castillo",
    "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez", "Dixon", "Gibson",
    "Hunt", "Black", "Daniels", "Palmer", "Mills", "Nichols", "Grant", "Knight", "Ferguson",
    "Rose", "Stone", "Hawkins", "Dunn", "Perkins", "Hudson", "Spencer", "Gardner", "Stephens",
    "Payne", "Pierce", "Berry", "Matthews", "Arnold", "Wagner", "Willis", "Ray", "Watkins",
    "Olson", "Carroll", "Duncan", "Snyder", "Hart", "Cunningham", "Bradley", "Lane",
    "Andrews", "Harper", "Fox", "Riley", "Armstrong", "Carpenter", "Weaver", "Greene",
)
_TITLES_FEMALE = ("Mrs.", "Ms.", "Mrs.", "Ms.", "Dr.")
_TITLES_MALE = ("Mr.", "Mr.", "Mr.", "Dr.")
_SUFFIXES_FEMALE = ("MD", "DDS", "DVM", "PhD")
_SUFFIXES_MALE = ("Jr.", "Jr.", "II", "III", "MD", "DDS", "DVM", "PhD")
_FREE_DOMAINS = ("gmail.com", "gmail.com", "yahoo.com", "hotmail.com")
_OTHER_TLDS = ("org", "biz", "info")
_IMPOSSIBLE_DAYS = ((2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31))


@dataclass
class _Tally:
    """What was planted, counted as rows are made (the same names as the report's)."""

    successful: int = 0
    titled_names: int = 0
    suffixed_names: int = 0
    titled_and_suffixed_names: int = 0
    missing_names: int = 0
    dates_ymd_slash: int = 0
    dates_ymd_dash: int = 0
    dates_mdy_slash: int = 0
    dates_dmy_dash: int = 0
    impossible_dates: int = 0
    years_before_1900: int = 0
    years_in_future: int = 0
    under_18: int = 0
    spaced_mobiles: int = 0
    short_mobiles: int = 0
    other_tld_emails: int = 0
    invalid_emails: int = 0
    mixed_case_emails: int = 0
    colliding_ids: int = 0


@dataclass(frozen=True)
class GeneratedApplications:
    """The files written and what was planted in them. `successful` is the number of rows
    that pass every rule (judged on a day before 2090); `colliding_ids` counts pairs of
    different applicants planted with the same membership id. Chance collisions come on
    top and dominate large inputs (about 150 last names times 23,000 adult birthdays:
    1,000,000 rows give some 58,000 shared ids); in small ones the planted pairs are
    nearly all there is."""

    folder: Path
    files: list[Path]
    rows: int
    successful: int
    titled_names: int
    suffixed_names: int
    titled_and_suffixed_names: int
    missing_names: int
    dates_ymd_slash: int
    dates_ymd_dash: int
    dates_mdy_slash: int
    dates_dmy_dash: int
    impossible_dates: int
    years_before_1900: int
    years_in_future: int
    under_18: int
    spaced_mobiles: int
    short_mobiles: int
    other_tld_emails: int
    invalid_emails: int
    mixed_case_emails: int
    colliding_ids: int

    @property
    def unsuccessful(self) -> int:
        return self.rows - self.successful

    @property
    def absurd_years(self) -> int:
        return self.years_before_1900 + self.years_in_future

    def as_dict(self) -> dict[str, object]:
        counts = {f.name: getattr(self, f.name) for f in fields(self)
                  if f.name not in ("folder", "files")}
        return {"folder": str(self.folder), "files": len(self.files), **counts,
                "unsuccessful": self.unsuccessful, "absurd_years": self.absurd_years}


def generate_applications(folder: Path, rows: int, files: int = 1, seed: int = 7,
                          first_index: int = 0) -> GeneratedApplications:
    """Write `rows` applications into `files` CSV files `applications_<NNNNNN>.csv` in
    `folder` (NNNNNN from `first_index`), rows spread as evenly as possible."""
    if rows < 0 or files < 1 or first_index < 0:
        raise ValueError("rows must be >= 0, files >= 1 and first_index >= 0")
    folder.mkdir(parents=True, exist_ok=True)
    tally = _Tally()
    written: list[Path] = []
    for i in range(files):
        index = first_index + i
        count = rows // files + (1 if i < rows % files else 0)
        path = folder / f"applications_{index:06d}.csv"
        _write_file(path, count, random.Random(f"applications:{seed}:{index}"), tally)
        written.append(path)
    return GeneratedApplications(folder=folder, files=written, rows=rows, **asdict(tally))


def _write_file(path: Path, rows: int, rng: random.Random, tally: _Tally) -> None:
    partial = path.with_name(f".{path.name}.partial")
    pairs = _collision_positions(rows, rng)
    partners: dict[int, tuple[str, str, date]] = {}
    with partial.open("w", encoding="utf-8", newline="") as stream:
        lines = [HEADER + "\n"]
        for position in range(rows):
            if position in pairs:
                first, last, born = _person_for_collision(rng)
                partners[pairs[position]] = (first, last, born)
                lines.append(_clean_row(rng, tally, first, last, born))
            elif position in partners:
                other, last, born = partners.pop(position)
                first = other
                while first == other:
                    first = _pick(rng, _FIRST_FEMALE if rng.random() < 0.5 else _FIRST_MALE)
                lines.append(_clean_row(rng, tally, first, last, born))
                tally.colliding_ids += 1
            else:
                lines.append(_row(rng, tally))
            if len(lines) >= CHUNK_ROWS:
                stream.write("".join(lines))
                lines.clear()
        stream.write("".join(lines))
    os.replace(partial, path)


def _collision_positions(rows: int, rng: random.Random) -> dict[int, int]:
    """Row positions of the first applicant of each colliding pair -> their partner's."""
    pairs = rows // COLLISION_EVERY or (1 if rows >= 20 else 0)
    chosen = sorted(rng.sample(range(rows), 2 * pairs))
    return {chosen[k]: chosen[k + 1] for k in range(0, len(chosen), 2)}


def _row(rng: random.Random, tally: _Tally) -> str:
    rand = rng.random
    female = rand() < 0.5
    first = _pick(rng, _FIRST_FEMALE if female else _FIRST_MALE)
    last = _pick(rng, _LAST)
    good = True

    if rand() < MISSING_NAME:
        name = ""
        tally.missing_names += 1
        good = False
    else:
        name = f"{first} {last}"
        titled = rand() < TITLE
        suffixed = rand() < SUFFIX
        if titled:
            name = f"{_pick(rng, _TITLES_FEMALE if female else _TITLES_MALE)} {name}"
            tally.titled_names += 1
        if suffixed:
            name = f"{name} {_pick(rng, _SUFFIXES_FEMALE if female else _SUFFIXES_MALE)}"
            tally.suffixed_names += 1
        tally.titled_and_suffixed_names += titled and suffixed

    email, email_good = _email(rng, tally, first, last)
    good = good and email_good

    roll = rand()
    style = _below(rng, 4)
    if roll < IMPOSSIBLE_DATE:
        month, day = _pick(rng, _IMPOSSIBLE_DAYS)
        year = 1940 + _below(rng, 64)
        if month == 2 and day == 30 and rand() < 0.3:
            day, year = 29, _pick(rng, (1941, 1962, 1975, 1990, 1998, 2001))  # not leap
        born = _format_date(style, year, month, day)
        tally.impossible_dates += 1
        good = False
    elif roll < IMPOSSIBLE_DATE + ABSURD_YEAR:
        month, day = 1 + _below(rng, 12), 1 + _below(rng, 28)
        if rand() < 0.2:
            year = 2090 + _below(rng, 10)
            tally.years_in_future += 1
        else:
            year = 1800 + _below(rng, 100)
            tally.years_before_1900 += 1
        born = _format_date(style, year, month, day)
        good = False
    else:
        when = date.fromordinal(_FIRST_ORDINAL + _below(rng, _LAST_ORDINAL - _FIRST_ORDINAL + 1))
        born = _format_date(style, when.year, when.month, when.day)
        if when > ADULT_BORN_BY:
            tally.under_18 += 1
            good = False
    _count_format(tally, style)

    roll = rand()
    if roll < SPACED_MOBILE:
        mobile = f"{_below(rng, 10_000):04d} {_below(rng, 10_000):04d}"
        tally.spaced_mobiles += 1
    elif roll < SPACED_MOBILE + SHORT_MOBILE:
        digits = 5 + _below(rng, 3)
        mobile = f"{_below(rng, 10 ** digits):0{digits}d}"
        tally.short_mobiles += 1
        good = False
    else:
        mobile = f"{_below(rng, 100_000_000):08d}"

    tally.successful += good
    return f"{name},{email},{born},{mobile}\n"


def _email(rng: random.Random, tally: _Tally, first: str, last: str) -> tuple[str, bool]:
    """An email for this person and whether it passes the email rules."""
    local = _local_part(rng, first, last)
    other_tld = rng.random() < OTHER_TLD
    if other_tld:
        domain = f"{_company(rng)}.{_pick(rng, _OTHER_TLDS)}"
    elif rng.random() < 0.5:
        domain = _pick(rng, _FREE_DOMAINS)
    else:
        domain = f"{_company(rng)}.{'net' if rng.random() < 0.25 else 'com'}"
    if rng.random() < INVALID_EMAIL:
        tally.invalid_emails += 1
        local = local.lower()
        kind = _below(rng, 4)
        if kind == 0:
            return f"{local}{domain}", False  # no @
        if kind == 1:
            return f"{local}@@{domain}", False
        if kind == 2:
            spaced = local.replace(".", " ") if "." in local else f"{local[:3]} {local[3:]}"
            return f"{spaced}@{domain}", False
        return f"{local}@{domain.rsplit('.', 1)[0]}", False  # no top-level domain
    if rng.random() < MIXED_CASE_EMAIL:
        tally.mixed_case_emails += 1
    else:
        local = local.lower()
    tally.other_tld_emails += other_tld
    return f"{local}@{domain}", not other_tld


def _local_part(rng: random.Random, first: str, last: str) -> str:
    """`First.Last` or `FirstLast42`, as written before lower-casing."""
    if rng.random() < 0.6:
        return f"{first}.{last}"
    return f"{first}{last}{1 + _below(rng, 99)}"


def _company(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return _pick(rng, _LAST).lower()
    return f"{_pick(rng, _LAST).lower()}-{_pick(rng, _LAST).lower()}"


def _person_for_collision(rng: random.Random) -> tuple[str, str, date]:
    first = _pick(rng, _FIRST_FEMALE if rng.random() < 0.5 else _FIRST_MALE)
    born = date.fromordinal(_FIRST_ORDINAL + _below(rng, ADULT_BORN_BY.toordinal() - _FIRST_ORDINAL + 1))
    return first, _pick(rng, _LAST), born


def _clean_row(rng: random.Random, tally: _Tally, first: str, last: str, born: date) -> str:
    """A row that passes every rule (half of a planted membership-id collision)."""
    style = _below(rng, 4)
    _count_format(tally, style)
    tally.successful += 1
    local = _local_part(rng, first, last).lower()
    return (f"{first} {last},{local}@{_pick(rng, _FREE_DOMAINS)},"
            f"{_format_date(style, born.year, born.month, born.day)},"
            f"{_below(rng, 100_000_000):08d}\n")


def _below(rng: random.Random, n: int) -> int:
    """A whole number in [0, n): `randrange` costs five times as much, in pure Python."""
    return int(rng.random() * n)


def _pick(rng: random.Random, options: Sequence[T]) -> T:
    return options[int(rng.random() * len(options))]


def _format_date(style: int, year: int, month: int, day: int) -> str:
    if style == 0:
        return f"{year:04d}/{month:02d}/{day:02d}"
    if style == 1:
        return f"{year:04d}-{month:02d}-{day:02d}"
    if style == 2:
        return f"{month:02d}/{day:02d}/{year:04d}"
    return f"{day:02d}-{month:02d}-{year:04d}"


def _count_format(tally: _Tally, style: int) -> None:
    if style == 0:
        tally.dates_ymd_slash += 1
    elif style == 1:
        tally.dates_ymd_dash += 1
    elif style == 2:
        tally.dates_mdy_slash += 1
    else:
        tally.dates_dmy_dash += 1


_FIRST_ORDINAL = BIRTH_FIRST.toordinal()
_LAST_ORDINAL = BIRTH_LAST.toordinal()
