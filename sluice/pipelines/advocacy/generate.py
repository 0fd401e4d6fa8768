"""Demo input for the advocacy pipeline: a folder with one JSON file per advocate, shaped
like a real export from a brand-advocacy platform, with the trouble such exports carry.

Shapes: 30 programs from 8 brands, a few programs far more popular than the rest; most
advocates in one program with 1-3 tasks, about 15% in 2-4 programs with several tasks
each; reach, likes, comments and shares lognormal with a few viral posts; sales attributed
lognormal with a few very large values; join dates spread over 2022-2025, more of them
recent.

Trouble, in about `messy_share` of the files: sentinel and wrongly typed values, emails and
handles that need normalising, files cut short (some repairable by closing brackets, some
not), later exports of the same advocate, byte-identical copies, and stray files that are
not JSON at all. Every count is returned, so tests and the demo can check a pipeline's
numbers against what was written.

Each file is one line written by `json.dumps` with its default separators, as a naive
exporter writes it; indenting would switch `json` to its pure-Python encoder and cost more
than building the records. Python loops once per advocate, as it must to write a file
each; random.choices and uuid.UUID were the hot spots and are replaced below.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import random
import re
import unicodedata
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any, TypeVar

Record = dict[str, Any]
T = TypeVar("T")

_FIRST = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sophia", "Lucas", "Isabella", "Ethan",
    "Mia", "Aiden", "Amelia", "Elijah", "Harper", "James", "Chloé", "Benjamin", "Zoë", "Leo",
    "Aaliyah", "Kai", "Priya", "Arjun", "Mei", "Hiroshi", "Fatima", "Omar", "Ingrid", "Lars",
    "Sofía", "José", "Amara", "Kwame", "Nadia", "Dmitri", "Aisha", "Diego", "Hannah", "Finn",
)
_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Nguyen", "Patel", "Kim", "Müller", "Schmidt", "Rossi", "Dubois",
    "Novak", "Kowalski", "Okafor", "Mensah", "Tanaka", "Sato", "Chen", "Wang", "Singh",
    "O'Brien", "Larsen", "Silva", "Haddad",
)
_EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com",
                  "proton.me")
_EMAIL_DOMAIN_WEIGHTS = (45, 15, 15, 10, 10, 5)
_EMAIL_PATTERNS = ("{f}.{l}", "{f}{l}{n}", "{i}{l}", "{f}_{l}", "{l}.{f}{n}", "{f}{n}")
_INSTAGRAM_PATTERNS = ("@{f}.{l}", "@{f}{l}", "@{f}_{l}{n}", "@the.{f}{l}", "@{f}.{l}.{n}")
_TIKTOK_PATTERNS = ("@{f}{l}{n}", "@{f}.{i2}", "@{f}_{s}", "@{l}{f}", "@{f}{l}")
_TIKTOK_SUFFIXES = ("official", "life", "daily", "vibes", "xo", "tv")

BRANDS = ("Acme Outdoor", "Lumen Skincare", "Northwind Coffee", "Bloom & Co", "Velo Cycles",
          "Pixel Audio", "Terra Threads", "Harbor Pet Supply")
PROGRAMS = 30
PROGRAM_SKEW = 0.8  # program k (from 1) is chosen with weight 1 / k**PROGRAM_SKEW
PLATFORMS = ("Instagram", "TikTok", "YouTube", "Facebook", "X")
_PLATFORM_WEIGHTS = (35, 30, 15, 10, 10)
_MEDIAN_REACH = {"Instagram": 2500, "TikTok": 6000, "YouTube": 3500, "Facebook": 1200, "X": 900}
# Likes per reach, drawn uniformly in this range: TikTok engages most, X and Facebook least.
_LIKE_RATE = {"Instagram": (0.01, 0.05), "TikTok": (0.03, 0.10), "YouTube": (0.02, 0.06),
              "Facebook": (0.005, 0.03), "X": (0.003, 0.02)}
SALES_ENGAGEMENT_POWER = 0.35  # sales grow with engagement**this: a loose relation
METRICS = ("likes", "comments", "shares", "reach")
MULTI_PROGRAM_SHARE = 0.15
VIRAL_SHARE = 0.01  # posts whose reach is 40-400 times the usual
NO_SALES_SHARE = 0.06
SALES_OUTLIER_SHARE = 0.01  # programs whose sales are 25-120 times the usual
JOINED_FROM = datetime(2022, 1, 1)  # UTC, written with a Z
_JOINED_SPAN_MS = int((datetime(2026, 1, 1) - JOINED_FROM).total_seconds() * 1000)
_HANDLES = ("instagram_handle", "tiktok_handle")

# Kinds of mess in a messy advocate file, with the weight each has when a file's kinds are
# drawn: one kind, with a 30% chance of a second and 10% of a third. Kinds in one group
# touch the same field, so a file never gets two of them and every kind drawn shows in
# the file. A cut ("truncated", "unrepairable") is always a file's only kind.
MESS_WEIGHTS: Mapping[str, int] = {
    "user_id_null": 4, "user_id_absent": 2, "program_id_empty": 6, "name_unknown": 7,
    "email_invalid": 7, "email_unnormalised": 8, "handle_error": 9, "handle_unnormalised": 8,
    "joined_at_invalid": 6, "brand_number": 5, "platform_number": 5, "post_url_broken": 7,
    "metric_missing": 10, "reach_negative": 4, "sales_no_data": 7,
    "truncated": 4, "unrepairable": 2,
}
_GROUPS = {"user_id_absent": "user_id_null", "email_unnormalised": "email_invalid",
           "handle_unnormalised": "handle_error", "reach_negative": "metric_missing"}
CUTS = ("truncated", "unrepairable")
EXTRA_KIND_CHANCES = (0.3, 0.1)
# Extra files, as shares of the advocates times messy_share: later exports of an advocate
# (same user_id, grown numbers) and byte-identical copies, both of clean files.
LATER_EXPORT_SHARE = 0.02
COPY_SHARE = 0.01
RESOURCE_FORK_SHARE = 0.003  # macOS `._` files, per numbered file, at least one

# A JSON string (with escapes) or one structural character; enough to find where a
# complete value ends and where a string starts without a full parser.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},]')


@dataclass(frozen=True)
class GeneratedAdvocates:
    """What was written. `files` = `clean_files` + `messy_files` + `stray`; messy files
    include the cut ones, later exports and copies. `mess` counts files per kind."""

    folder: Path
    files: int
    advocates: int
    clean_files: int
    messy_files: int
    truncated: int
    unrepairable: int
    stray: int
    duplicated_user_ids: int
    identical_copies: int
    missing_user_id: int
    mess: Mapping[str, int] = field(default_factory=dict, hash=False)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "folder": str(self.folder), "mess": dict(self.mess)}


def generate_advocates(
    folder: Path, advocates: int, seed: int = 7, messy_share: float = 0.5
) -> GeneratedAdvocates:
    """Write one JSON file per advocate to `folder` (`user_00001.json`, numbers as wide as
    the count), plus later exports, copies and stray files when `messy_share` > 0. The
    same arguments give the same bytes. Files already in the folder are overwritten when
    their names repeat and otherwise left alone, so use a fresh folder for exact counts."""
    _check(advocates, messy_share)
    export = _export(advocates, seed, messy_share, cuts=True)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in export.files:
        (folder / name).write_text(text, encoding="utf-8")
    strays = _strays(export, seed) if messy_share > 0 and advocates else []
    for name, data in strays:
        (folder / name).write_bytes(data)
    return GeneratedAdvocates(
        folder=folder, files=len(export.files) + len(strays), advocates=advocates,
        clean_files=export.clean, messy_files=len(export.files) - export.clean,
        truncated=export.mess["truncated"], unrepairable=export.mess["unrepairable"],
        stray=len(strays), duplicated_user_ids=export.later, identical_copies=export.copies,
        missing_user_id=export.mess["user_id_null"] + export.mess["user_id_absent"],
        mess={kind: export.mess[kind] for kind in MESS_WEIGHTS},
    )


def write_jsonl(path: Path, advocates: int, seed: int = 7) -> int:
    """Write the same kind of records as JSON Lines, one advocate a line, with the same
    value mess, later exports and copies (as repeated lines) but nothing cut short and no
    stray bytes. Returns the number of lines; the last one ends with a newline."""
    _check(advocates, 0.5)
    export = _export(advocates, seed, 0.5, cuts=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(text + "\n" for _, text in export.files), encoding="utf-8")
    return len(export.files)


def _check(advocates: int, messy_share: float) -> None:
    if advocates < 0:
        raise ValueError(f"advocates must be 0 or more, not {advocates}")
    if not 0 <= messy_share <= 1:
        raise ValueError(f"messy_share must be between 0 and 1, not {messy_share}")


@dataclass(frozen=True)
class _Export:
    files: list[tuple[str, str]]  # advocate files (name, text): originals, later, copies
    clean: int
    later: int
    copies: int
    mess: Counter[str]
    numbered: list[str]  # names of the `user_N` files, for the `._` resource forks


def _export(advocates: int, seed: int, messy_share: float, cuts: bool) -> _Export:
    """Records from one generator and mess from another, so the advocates themselves do
    not depend on `messy_share`: a clean advocate's text is the same whatever the share."""
    rng = random.Random(seed)
    mess_rng = random.Random(f"advocacy-mess-{seed}")
    programs = _programs(rng)
    records = [_advocate(rng, programs) for _ in range(advocates)]

    later = round(advocates * messy_share * LATER_EXPORT_SHARE)
    copies = round(advocates * messy_share * COPY_SHARE)
    target = round(messy_share * (advocates + later + copies))
    messy = set(mess_rng.sample(range(advocates), min(advocates, max(0, target - later - copies))))
    clean = [i for i in range(advocates) if i not in messy]
    later = min(later, len(clean))
    copies = min(copies, len(clean) - later)
    sources = mess_rng.sample(clean, later + copies)

    width = len(str(advocates + later))
    numbered = [f"user_{n:0{width}d}.json" for n in range(1, advocates + later + 1)]
    mess: Counter[str] = Counter()
    texts: list[str] = []
    for i, record in enumerate(records):
        if i not in messy:
            texts.append(_dumps(record))
            continue
        kinds = _draw_kinds(mess_rng, cuts)
        mess.update(kinds)
        for kind in kinds:
            if kind not in CUTS:
                _MESS[kind](mess_rng, record)
        text = _dumps(record)
        if "truncated" in kinds:
            text = _truncate(mess_rng, text)
        elif "unrepairable" in kinds:
            text = _cut_inside_string(mess_rng, text)
        texts.append(text)
    files = list(zip(numbered[:advocates], texts, strict=True))
    files += [(name, _dumps(_later_export(mess_rng, records[i])))
              for name, i in zip(numbered[advocates:], sources[:later], strict=True)]
    files += [(numbered[i].replace(".json", " copy.json"), texts[i]) for i in sources[later:]]
    return _Export(files=files, clean=len(clean), later=later, copies=copies, mess=mess,
                   numbered=numbered)


def _dumps(record: Record) -> str:
    return json.dumps(record, ensure_ascii=False)


# --- advocates -------------------------------------------------------------------------


def _uuid(rng: random.Random) -> str:
    """str(uuid.UUID(int=rng.getrandbits(128), version=4)), at half the cost."""
    bits = rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48) | 0x4000 << 64 | 0x8000 << 48
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _cumulative(weights: Sequence[float]) -> tuple[float, ...]:
    return tuple(accumulate(weights))


def _pick(rng: random.Random, items: Sequence[T], cumulative: Sequence[float]) -> T:
    """One of `items` by cumulative weight: random.choices(k=1) without its set-up cost,
    which dominated the time per advocate."""
    return items[bisect(cumulative, rng.random() * cumulative[-1])]


def _slug(name: str) -> str:
    """ASCII, lower case, letters only: 'Chloé' -> 'chloe', "O'Brien" -> 'obrien'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_name.lower() if c.isalpha())


_FIRST_NAMES = tuple((name, _slug(name)) for name in _FIRST)
_LAST_NAMES = tuple((name, _slug(name)) for name in _LAST)
_PROGRAM_CUM = _cumulative([1 / k**PROGRAM_SKEW for k in range(1, PROGRAMS + 1)])
_DOMAIN_CUM = _cumulative(_EMAIL_DOMAIN_WEIGHTS)
_PLATFORM_CUM = _cumulative(_PLATFORM_WEIGHTS)
_MULTI_PROGRAMS, _MULTI_PROGRAMS_CUM = (2, 3, 4), _cumulative((55, 30, 15))
_SINGLE_TASKS, _SINGLE_TASKS_CUM = (1, 2, 3), _cumulative((50, 30, 20))


def _programs(rng: random.Random) -> list[tuple[str, str]]:
    """(program_id, brand) pairs; every brand has at least three programs and popularity
    (the list order) does not follow the brand order."""
    brands = [BRANDS[k % len(BRANDS)] for k in range(PROGRAMS)]
    rng.shuffle(brands)
    return [(_uuid(rng), brand) for brand in brands]


def _advocate(rng: random.Random, programs: Sequence[tuple[str, str]]) -> Record:
    first, f = rng.choice(_FIRST_NAMES)
    last, ln = rng.choice(_LAST_NAMES)
    user_id = _uuid(rng)
    words = {"f": f, "l": ln, "i": f[0], "i2": ln[:2], "n": rng.randint(1, 99),
             "s": rng.choice(_TIKTOK_SUFFIXES)}
    domain = _pick(rng, _EMAIL_DOMAINS, _DOMAIN_CUM)
    instagram = rng.choice(_INSTAGRAM_PATTERNS).format(**words)
    tiktok = rng.choice(_TIKTOK_PATTERNS).format(**words)
    if rng.random() < MULTI_PROGRAM_SHARE:
        picked = _distinct(rng, _pick(rng, _MULTI_PROGRAMS, _MULTI_PROGRAMS_CUM))
        task_counts = [rng.randint(2, 5) for _ in picked]
    else:
        picked = _distinct(rng, 1)
        task_counts = [_pick(rng, _SINGLE_TASKS, _SINGLE_TASKS_CUM)]
    return {
        "user_id": user_id,
        "name": f"{first} {last}",
        "email": f"{rng.choice(_EMAIL_PATTERNS).format(**words)}@{domain}",
        "instagram_handle": instagram,
        "tiktok_handle": tiktok,
        "joined_at": _joined_at(rng),
        "advocacy_programs": [_program(rng, programs[k], tasks, instagram, tiktok)
                              for k, tasks in zip(picked, task_counts, strict=True)],
    }


def _distinct(rng: random.Random, count: int) -> list[int]:
    """`count` different program indexes, popular programs more likely."""
    picked: list[int] = []
    while len(picked) < count:
        k = _pick(rng, range(PROGRAMS), _PROGRAM_CUM)
        if k not in picked:
            picked.append(k)
    return picked


def _joined_at(rng: random.Random) -> str:
    """A moment in 2022-2025 as the platform writes it; later years have more joins."""
    at = JOINED_FROM + timedelta(milliseconds=int(_JOINED_SPAN_MS * rng.random() ** 0.8))
    return at.isoformat(timespec="milliseconds") + "Z"


def _program(rng: random.Random, program: tuple[str, str], tasks: int, instagram: str,
             tiktok: str) -> Record:
    """Sales are lognormal and grow a little with the program's engagement, so a report
    finds a positive but loose relation between them, not a law."""
    done = [_task(rng, instagram, tiktok) for _ in range(tasks)]
    if rng.random() < NO_SALES_SHARE:
        sales = 0.0
    else:
        engagement = sum(t["likes"] + t["comments"] + t["shares"] for t in done)
        sales = (rng.lognormvariate(math.log(25), 1.0)
                 * (engagement + 20) ** SALES_ENGAGEMENT_POWER)
        if rng.random() < SALES_OUTLIER_SHARE:
            sales *= rng.uniform(25, 120)
    return {
        "program_id": program[0],
        "brand": program[1],
        "total_sales_attributed": round(sales, 2),
        "tasks_completed": done,
    }


def _task(rng: random.Random, instagram: str, tiktok: str) -> Record:
    """Reach is lognormal around the platform's median, with a few viral posts; likes are
    at most 10% of reach and comments and shares a few percent of likes, so reach is
    always the largest number."""
    platform = _pick(rng, PLATFORMS, _PLATFORM_CUM)
    reach = 50 + int(_MEDIAN_REACH[platform] * rng.lognormvariate(0, 1.0))
    if rng.random() < VIRAL_SHARE:
        reach *= rng.randint(40, 400)
    likes = int(reach * rng.uniform(*_LIKE_RATE[platform]))
    return {
        "task_id": _uuid(rng),
        "platform": platform,
        "post_url": _post_url(rng, platform, instagram, tiktok),
        "likes": likes,
        "comments": int(likes * rng.uniform(0.005, 0.08)),
        "shares": int(likes * rng.uniform(0.0, 0.06)),
        "reach": reach,
    }


def _post_url(rng: random.Random, platform: str, instagram: str, tiktok: str) -> str:
    user = instagram.removeprefix("@")
    if platform == "Instagram":
        return f"https://www.instagram.com/p/{_code(rng, 11)}/"
    if platform == "TikTok":
        return f"https://www.tiktok.com/{tiktok}/video/{rng.randrange(7 * 10**18, 8 * 10**18)}"
    if platform == "YouTube":
        return f"https://www.youtube.com/watch?v={_code(rng, 11)}"
    if platform == "Facebook":
        return f"https://www.facebook.com/{user}/posts/{rng.randrange(10**15, 10**16)}"
    return f"https://x.com/{user}/status/{rng.randrange(10**18, 2 * 10**18)}"


def _code(rng: random.Random, length: int) -> str:
    """A URL-safe base64 id like Instagram's and YouTube's (6 random bits a character)."""
    return base64.urlsafe_b64encode(rng.randbytes((3 * length + 3) // 4)).decode()[:length]


def _later_export(rng: random.Random, record: Record) -> Record:
    """The same advocate exported again later: every number has grown (reach by the same
    factor as the rest, so it stays the largest), sometimes there is a new task, and
    some advocates have moved to another email address or renamed their TikTok account."""
    later = copy.deepcopy(record)
    if rng.random() < 0.3:
        local = later["email"].partition("@")[0]
        domains = [d for d in _EMAIL_DOMAINS if not later["email"].endswith(f"@{d}")]
        later["email"] = f"{local}@{rng.choice(domains)}"
    if rng.random() < 0.2:
        later["tiktok_handle"] += f"_{rng.choice(_TIKTOK_SUFFIXES)}"
    handles = (later["instagram_handle"], later["tiktok_handle"])
    for program in later["advocacy_programs"]:
        for task in program["tasks_completed"]:
            growth = rng.uniform(1.0, 1.5)
            for metric in METRICS:
                task[metric] = int(task[metric] * growth)
        program["total_sales_attributed"] = round(
            program["total_sales_attributed"] + rng.uniform(5, 300), 2)
    if rng.random() < 0.5:
        rng.choice(later["advocacy_programs"])["tasks_completed"].append(_task(rng, *handles))
    return later


# --- mess --------------------------------------------------------------------------------


def _draw_kinds(rng: random.Random, cuts: bool) -> list[str]:
    kinds = [kind for kind in MESS_WEIGHTS if cuts or kind not in CUTS]
    weights = [MESS_WEIGHTS[kind] for kind in kinds]
    first = rng.choices(kinds, weights)[0]
    if first in CUTS:
        return [first]
    drawn = [first]
    for chance in EXTRA_KIND_CHANCES:
        if rng.random() >= chance:
            break
        kind = rng.choices(kinds, weights)[0]
        groups = {_GROUPS.get(k, k) for k in drawn}
        if kind not in CUTS and _GROUPS.get(kind, kind) not in groups:
            drawn.append(kind)
    return drawn


def _any_program(rng: random.Random, record: Record) -> Record:
    program: Record = rng.choice(record["advocacy_programs"])
    return program


def _any_task(rng: random.Random, record: Record) -> Record:
    task: Record = rng.choice(_any_program(rng, record)["tasks_completed"])
    return task


def _set(key: str, value: object) -> Callable[[random.Random, Record], None]:
    def apply(rng: random.Random, record: Record) -> None:
        record[key] = value
    return apply


def _user_id_absent(rng: random.Random, record: Record) -> None:
    del record["user_id"]


def _program_id_empty(rng: random.Random, record: Record) -> None:
    _any_program(rng, record)["program_id"] = ""


def _email_unnormalised(rng: random.Random, record: Record) -> None:
    """Upper case somewhere and spaces around: what a form field gives when nobody trims."""
    email: str = record["email"]
    cased = rng.choice((email.upper(), email.title(), email[0].upper() + email[1:]))
    record["email"] = f"{rng.choice(('', ' ', '  '))}{cased}{rng.choice((' ', '  '))}"


def _handle_error(rng: random.Random, record: Record) -> None:
    record[rng.choice(_HANDLES)] = rng.choice(("#error_handle", None))


def _handle_unnormalised(rng: random.Random, record: Record) -> None:
    """No leading @, or spaces around: trimming and adding the @ recover the handle."""
    key = rng.choice(_HANDLES)
    handle: str = record[key]
    record[key] = rng.choice((handle[1:], f" {handle}", f"{handle} ", f" {handle[1:]} "))


def _brand_number(rng: random.Random, record: Record) -> None:
    _any_program(rng, record)["brand"] = 12345


def _platform_number(rng: random.Random, record: Record) -> None:
    _any_task(rng, record)["platform"] = rng.randint(0, len(PLATFORMS) - 1)


def _post_url_broken(rng: random.Random, record: Record) -> None:
    _any_task(rng, record)["post_url"] = "broken_link"


def _metric_missing(rng: random.Random, record: Record) -> None:
    _any_task(rng, record)[rng.choice(METRICS)] = rng.choice(("NaN", None))


def _reach_negative(rng: random.Random, record: Record) -> None:
    task = _any_task(rng, record)
    task["reach"] = -task["reach"]


def _sales_no_data(rng: random.Random, record: Record) -> None:
    _any_program(rng, record)["total_sales_attributed"] = "no-data"


_MESS: dict[str, Callable[[random.Random, Record], None]] = {
    "user_id_null": _set("user_id", None),
    "user_id_absent": _user_id_absent,
    "program_id_empty": _program_id_empty,
    "name_unknown": _set("name", "???"),
    "email_invalid": _set("email", "invalid-email"),
    "email_unnormalised": _email_unnormalised,
    "handle_error": _handle_error,
    "handle_unnormalised": _handle_unnormalised,
    "joined_at_invalid": _set("joined_at", "not-a-date"),
    "brand_number": _brand_number,
    "platform_number": _platform_number,
    "post_url_broken": _post_url_broken,
    "metric_missing": _metric_missing,
    "reach_negative": _reach_negative,
    "sales_no_data": _sales_no_data,
}


def _truncate(rng: random.Random, text: str) -> str:
    """Cut right after a complete value or an opening bracket, never inside the user_id
    and never keeping a trailing comma, so appending the missing closers repairs it."""
    after_user_id = text.index(",")
    cuts = [m.start() if m.group() in ",]}" else m.end()
            for m in _TOKEN.finditer(text, after_user_id) if m.group()[0] != '"']
    return text[:rng.choice(cuts)]


def _cut_inside_string(rng: random.Random, text: str) -> str:
    """Cut inside a key or string value after the user_id, leaving at least one of its
    characters on each side of the cut: no closing brackets can make it JSON again."""
    after_user_id = text.index(",")
    spans = [(m.start() + 2, m.end() - 1) for m in _TOKEN.finditer(text, after_user_id)
             if m.group()[0] == '"' and m.end() - m.start() >= 4]
    start, end = rng.choice(spans)
    return text[:rng.randrange(start, end)]


# --- stray files -------------------------------------------------------------------------


def _strays(export: _Export, seed: int) -> list[tuple[str, bytes]]:
    """macOS resource forks (`._` AppleDouble files, binary and not UTF-8), an empty
    `empty.json` and a `notes.txt` left by whoever made the export."""
    rng = random.Random(f"advocacy-stray-{seed}")
    forks = max(1, round(len(export.numbered) * RESOURCE_FORK_SHARE))
    strays = [(f"._{name}", _resource_fork(rng)) for name in rng.sample(export.numbered, forks)]
    notes = (f"Advocate export: {len(export.numbered):,} user files, one JSON object each.\n"
             "Some advocates were exported again after the first run; ask the platform team.\n")
    return [*strays, ("empty.json", b""), ("notes.txt", notes.encode())]


def _resource_fork(rng: random.Random) -> bytes:
    """AppleDouble header (magic, version, filler, two entries), then Finder info and
    junk; 0xFF never occurs in UTF-8, so the file can never be read as text."""
    header = (b"\x00\x05\x16\x07\x00\x02\x00\x00" + b"Mac OS X        " + b"\x00\x02"
              + b"\x00\x00\x00\x09\x00\x00\x00\x32\x00\x00\x0e\xb0"
              + b"\x00\x00\x00\x02\x00\x00\x0e\xe2\x00\x00\x01\x1e")
    return header + b"\xff" + rng.randbytes(rng.randint(200, 4000))
