"""The applications rules in plain pandas: the baseline `bench/applications_run.py`
measures sluice against.

    python bench/applications_pandas.py INBOX OUT

Reads every `*.csv` in INBOX (not hidden files, not subfolders) and writes
`OUT/successful.csv` and `OUT/unsuccessful.csv`. The rules are those of the applications
pipeline, implemented the way a data engineer writes them first: vectorised pandas string
methods, `pd.to_datetime` with an explicit format per date shape, `hashlib` through `.map`.

Reading: the rules judge each physical line (a line without 4 fields is rejected with its
field count, an unbalanced quote rejects that line only), which `read_csv` alone cannot
report: it pads short lines, drops or fails on long ones and lets an open quote run on
into the next lines. So the lines' commas are counted first; a file without quotes or CRs
(the usual case) is then read by `pd.read_csv(dtype=str, keep_default_na=False)` and the
counts say which rows were short or long; a file with quotes or CRs is split line by line
in Python with a strict quote parser.

Choices where the rules leave room (sluice's, as far as known when this was written):
whitespace is Unicode whitespace (what `str.strip()` removes, tab and NBSP included); a
field is quoted whole or has no quote at all (`a, "b"` and `a"b` are unbalanced quotes);
a line ends at LF (a CR before it dropped); a repeated header is a line whose fields,
trimmed and lower-cased, are the header's names in the header's order; a file whose
header is not the four names, or that is not UTF-8, is skipped with a warning; year 0000
is not a real date; a date before 1900 or in the future has no above_18; identical
applications are all judged (the rules have no duplicate rule).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import sys
from datetime import date
from pathlib import Path

import pandas as pd

COLUMNS = ("name", "email", "date_of_birth", "mobile_no")
ADULT_BORN_BY = 20040101  # 18 on 2022-01-01
EARLIEST = 19000101

# Whitespace is what str.strip() removes and \s matches: Unicode whitespace (tab, NBSP, ...).
TITLES = re.compile(r"^(?:(?:mr|mrs|ms|miss|mx|dr|prof)\.?\s+)+", re.IGNORECASE)
SUFFIXES = re.compile(
    r"(?<=[^\s,])(?:(?:\s*,\s*|\s+)(?:jr|sr|ii|iii|iv|md|dds|dvm|phd|esq)\.?)+$", re.IGNORECASE)
SPACES = re.compile(r"\s+")
EMAIL = (r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
         r"@([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")
MOBILE = r"[0-9]+(?: +[0-9]+)*"
# Each shape with the format that reads it: year first (slash or dash), month first after
# a slash, day first after a dash. Month and day have 1 or 2 digits.
DATE_SHAPES = (
    (r"[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}", "%Y/%m/%d"),
    (r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", "%Y-%m-%d"),
    (r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}", "%m/%d/%Y"),
    (r"[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}", "%d-%m-%Y"),
)
SUCCESSFUL_COLUMNS = ["file", "line", "first_name", "last_name", "email", "date_of_birth",
                      "mobile_no", "above_18", "membership_id"]
UNSUCCESSFUL_COLUMNS = ["file", "line", "first_name", "last_name", "email", "date_of_birth",
                        "mobile_no", "above_18", "reasons", "raw_name", "raw_email",
                        "raw_date_of_birth", "raw_mobile_no"]


def run(inbox: Path, out: Path) -> tuple[int, int]:
    """Judge every application in INBOX's CSV files; (successful, unsuccessful) counts."""
    paths = sorted(p for p in inbox.iterdir()
                   if p.is_file() and p.suffix.lower() == ".csv" and not p.name.startswith("."))
    frames = [frame for frame in map(read_file, paths) if frame is not None]
    out.mkdir(parents=True, exist_ok=True)
    if not any(len(frame) for frame in frames):
        for name, columns in (("successful", SUCCESSFUL_COLUMNS),
                              ("unsuccessful", UNSUCCESSFUL_COLUMNS)):
            (out / f"{name}.csv").write_text(",".join(columns) + "\n")
        return 0, 0
    judged = judge(pd.concat(frames, ignore_index=True))
    ok = judged["reasons"] == ""
    good = judged[ok].copy()
    good["membership_id"] = good["last_name"] + "_" + good["date_of_birth"].map(
        lambda d: hashlib.sha256(d.encode()).hexdigest()[:5])
    good[SUCCESSFUL_COLUMNS].to_csv(out / "successful.csv", index=False, lineterminator="\n")
    judged[~ok][UNSUCCESSFUL_COLUMNS].to_csv(out / "unsuccessful.csv", index=False,
                                             lineterminator="\n")
    return len(good), int((~ok).sum())


def read_file(path: Path) -> pd.DataFrame | None:
    """One row per record: file, line number, the four fields (trimmed) and `bad`, the
    reason when the line is not CSV with 4 fields (its fields then NULL)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        print(f"warning: {path.name} is not UTF-8; skipped", file=sys.stderr)
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if "\r" in text:
        lines = [line.removesuffix("\r") for line in lines]
    header = _parse_quoted(lines[0]) if lines else ""
    names = [f.strip().lower() for f in header] if isinstance(header, list) else []
    if sorted(names) != sorted(COLUMNS):
        print(f"warning: {path.name} has no header {','.join(COLUMNS)}; skipped",
              file=sys.stderr)
        return None
    body = lines[1:]
    commas = pd.Series([line.count(",") for line in body], dtype="int64")
    if '"' in text or "\r" in text:
        # Quotes or CRs: each line on its own (read_csv would let a quote run on).
        rows = pd.DataFrame([_split(line) for line in body], columns=[*names, "bad"],
                            dtype="str")
    else:
        rows = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                           skip_blank_lines=False, quoting=csv.QUOTE_NONE,
                           on_bad_lines="skip")  # lines of 5+ fields: skipped
        rows.columns = names
        rows.index = commas.index[commas <= 3]
        rows = rows.reindex(commas.index)
        wrong = commas != 3  # read_csv pads short lines: their count says they are
        rows.loc[wrong, names] = None
        rows["bad"] = ("has " + (commas + 1).astype(str) + " fields, expected 4").where(wrong)
    blank = pd.Series([not line.strip() for line in body], dtype=bool)
    rows = rows[~blank]
    for column in COLUMNS:
        rows[column] = rows[column].str.strip()
    again = pd.Series(True, index=rows.index)
    for column in names:  # the header repeated (files concatenated): not a record
        again &= rows[column].str.lower() == column
    rows = rows[~again]
    return pd.DataFrame({"file": path.name, "line": rows.index + 2,
                         **{c: rows[c] for c in COLUMNS}, "bad": rows["bad"]})


def _split(line: str) -> list[str | None]:
    """A line's four fields and None, or four None and why the line is not 4 fields."""
    fields = _parse_quoted(line) if '"' in line else line.split(",")
    if isinstance(fields, str):
        return [None, None, None, None, fields]
    if len(fields) != 4:
        return [None, None, None, None, f"has {len(fields)} fields, expected 4"]
    return [*fields, None]


def _parse_quoted(line: str) -> list[str] | str:
    """A line's fields, or the reason it is not CSV. Strict: a field is quoted whole
    (no space before the opening or after the closing quote) or has no quote at all."""
    fields: list[str] = []
    at = 0
    while True:
        if line.startswith('"', at):  # a quoted field: up to the quote not doubled
            parts, at = [], at + 1
            while True:
                close = line.find('"', at)
                if close < 0:
                    return "unbalanced quotes"
                parts.append(line[at:close])
                if not line.startswith('"', close + 1):
                    break
                parts.append('"')
                at = close + 2
            fields.append("".join(parts))
            at = close + 1
            if at == len(line):
                return fields
            if line[at] != ",":  # text after the closing quote
                return "unbalanced quotes"
        else:
            comma = line.find(",", at)
            field = line[at:] if comma < 0 else line[at:comma]
            if '"' in field:  # a quote inside a field that is not quoted
                return "unbalanced quotes"
            fields.append(field)
            if comma < 0:
                return fields
            at = comma
        at += 1


def judge(raw: pd.DataFrame) -> pd.DataFrame:
    """The derived values and the reasons ("" when successful) of every record."""
    index = raw.index
    fits = raw["bad"].isna()
    name, email, born, mobile = (raw[c].where(fits) for c in COLUMNS)
    reasons = pd.Series("", index=index, dtype="str")

    def add(mask: pd.Series, reason: str | pd.Series) -> None:
        """Append `reason` (text, or a Series of texts for exactly the masked rows)."""
        mask = mask.fillna(False).astype(bool)
        reasons[mask] = reasons[mask] + "; " + reason

    # 1. name: titles off the front, suffixes off the end, then the last word is last_name.
    core = (name.str.replace(TITLES, "", regex=True).str.replace(SUFFIXES, "", regex=True)
            .str.replace(SPACES, " ", regex=True))
    parts = core.fillna("").str.rpartition(" ")
    one_word = parts[1] == ""
    first_name = parts[0].where(~one_word, parts[2]).where(name != "")
    last_name = parts[2].where(~one_word & (name != ""))
    add(fits & (name == ""), "missing name")
    add(fits & (name != "") & one_word, "name has no last name")

    # 2. email
    email = email.str.lower()
    valid = email.str.fullmatch(EMAIL)
    add(fits & (email == ""), "missing email")
    add(fits & (email != "") & ~valid, "invalid email")
    add(fits & valid & ~email.str.endswith((".com", ".net")),
        "email does not end in .com or .net")

    # 3, 4. date_of_birth, by shape; then its range and the applicant's age.
    parsed = pd.Series(pd.NaT, index=index, dtype="datetime64[us]")
    shaped = pd.Series(False, index=index)
    for pattern, fmt in DATE_SHAPES:  # the shapes exclude each other
        match = born.str.fullmatch(pattern).fillna(False).astype(bool)
        shaped |= match
        parsed[match] = pd.to_datetime(born[match], format=fmt, errors="coerce")
    parsed = parsed.where(parsed.dt.year != 0)  # no year 0 (ISO's fast path accepts one)
    ymd = (parsed.dt.year * 10000 + parsed.dt.month * 100 + parsed.dt.day).astype("Int64")
    today = int(date.today().strftime("%Y%m%d"))
    real = ymd.notna()
    in_range = real & (ymd >= EARLIEST) & (ymd <= today)
    above_18 = (ymd <= ADULT_BORN_BY).where(in_range)
    add(fits & (born == ""), "missing date_of_birth")
    add(fits & (born != "") & ~shaped, "date_of_birth is not in a known format")
    add(shaped & ~real, "date_of_birth is not a real date")
    add(real & (ymd < EARLIEST), "date_of_birth is before 1900")
    add(real & (ymd > today), "date_of_birth is in the future")
    add(in_range & ~above_18.astype("boolean"), "not over 18 on 2022-01-01")

    # 5. mobile_no
    digit_groups = mobile.str.fullmatch(MOBILE).fillna(False).astype(bool)
    digits = mobile.str.replace(" ", "", regex=False).where(digit_groups)
    count = digits.str.len()
    add(fits & (mobile == ""), "missing mobile_no")
    add(fits & (mobile != "") & ~digit_groups, "mobile_no is not digits")
    wrong = digit_groups & (count != 8)
    add(wrong, "mobile_no has " + count[wrong].astype(int).astype(str) + " digits, not 8")

    # 6. lines that are not CSV with 4 fields: that reason alone.
    add(~fits, raw["bad"][~fits])

    return pd.DataFrame({
        "file": raw["file"], "line": raw["line"],
        "first_name": first_name, "last_name": last_name, "email": email,
        "date_of_birth": ymd.astype(str).str.zfill(8).where(real),
        "mobile_no": digits,
        "above_18": above_18.map({True: "true", False: "false"}),
        "reasons": reasons.str.removeprefix("; "),
        "raw_name": raw["name"], "raw_email": raw["email"],
        "raw_date_of_birth": raw["date_of_birth"], "raw_mobile_no": raw["mobile_no"],
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inbox", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    successful, unsuccessful = run(args.inbox, args.out)
    print(f"successful {successful:,}, unsuccessful {unsuccessful:,}")


if __name__ == "__main__":
    main()
