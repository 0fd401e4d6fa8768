"""The application's contract: what a successful application is, as SQL over its CSV line.

The target table (`applications.successful`) holds successful applications only, keyed
by `application_key`, a digest of the cleaned application: the same application sent
again (in any of the date formats, with or without a title) is a duplicate, not a second
member. Every rule is SQL the engine runs on all lines at once (docs/applications.md
gives each rule's reason):

- the name loses its titles and suffixes; its last word is the last name, the words
  before it the first name; a name of one word has no last name, so no membership id;
- the birth date is read by its shape, never guessed: YYYY/MM/DD, YYYY-MM-DD, MM/DD/YYYY
  (slash, year last: month first), DD-MM-YYYY (dash, year last: day first);
- over 18 means 18 or older on the reference day (1 January 2022): born on or before
  the same day 18 years earlier;
- a mobile number is 8 digits; spaces between digit groups are formatting;
- the email is a valid address ending in .com or .net.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sluice import kinds
from sluice.contracts import Contract, Field, OnInvalid
from sluice.errors import DamagedInput

HEADER = ("name", "email", "date_of_birth", "mobile_no")
AGE_ON = date(2022, 1, 1)
ADULT_YEARS = 18
MOBILE_DIGITS = 8
EMAIL_ENDINGS = (".com", ".net")
OLDEST_BIRTH_YEAR = 1900
TITLES = ("mr", "mrs", "ms", "miss", "mx", "dr", "prof")
SUFFIXES = ("jr", "sr", "ii", "iii", "iv", "md", "dds", "dvm", "phd", "esq")
# The four birth-date formats, told apart by their shape (records_sql's `date_shape`):
# year first (4 digits) with a slash or a dash; year last with a slash (month first) or a
# dash (day first). Month and day have 1 or 2 digits.
DATE_FORMATS = ("YYYY/MM/DD", "YYYY-MM-DD", "MM/DD/YYYY", "DD-MM-YYYY")
_EMAIL_ATOM = "[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL_PATTERN = (f"{_EMAIL_ATOM}(\\.{_EMAIL_ATOM})*@"
                 "([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}")
# A CSV field after a comma (the line gets one in front): quoted, with "" for a quote,
# or plain. Fields that do not join back into the whole line mean unbalanced quotes.
_CSV_FIELD = ',("(?:[^"]|"")*"|[^,"]*)'
HEADER_BYTES = 65_536

CONTRACT = Contract(
    fields=(
        Field("first_name", kinds.STRING, required=True),
        Field("last_name", kinds.STRING, required=True),
        Field("email", kinds.STRING, required=True),
        Field("date_of_birth", kinds.DATE, required=True),
        Field("mobile_no", kinds.STRING, required=True),
        Field("above_18", kinds.BOOLEAN, required=True),
        Field("membership_id", kinds.STRING, required=True),
        Field("application_key", kinds.STRING, required=True),
    ),
    key="application_key",
    on_invalid=OnInvalid.REJECT,
)

# The application as it arrived (each field's text, unquoted), kept beside the contract's
# columns for the unsuccessful output.
ORIGINAL_COLUMNS = tuple(f"{name}_text" for name in HEADER)


def adult_born_by(age_on: date) -> date:
    """The last birthday that makes someone 18 on `age_on`: the same day 18 years
    earlier, or 28 February when `age_on` is 29 February."""
    year = age_on.year - ADULT_YEARS
    try:
        return age_on.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def _trimmed(column: str) -> str:
    """SQL for the column without surrounding whitespace (spaces, tabs, line ends), on
    a line that has some (`padded`)."""
    return (f"CASE WHEN padded THEN trim({column}, ' ' || chr(9) || chr(10) || chr(13) "
            f"|| chr(12)) ELSE {column} END")


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class ApplicationRecords:
    """The `staging.RecordReader` of application CSV files: one line, one application."""

    age_on: date = AGE_ON
    # Each field's 1-based place on a line, from the file's header.
    positions: tuple[int, int, int, int] = (1, 2, 3, 4)

    @property
    def record_columns(self) -> list[str]:
        return [*CONTRACT.names, *ORIGINAL_COLUMNS]

    def staging_columns(self) -> str:
        return ", ".join([CONTRACT.staging_columns(),
                          *(f'"{c}" VARCHAR' for c in ORIGINAL_COLUMNS)])

    def for_file(self, path: Path) -> ApplicationRecords:
        return replace(self, positions=header_positions(path))

    @property
    def deferred(self) -> bool:
        """Files of applications are many and small: their records are read in one
        query for the run; each line carries where its file has each field."""
        return True

    def line_constants(self) -> str:
        name, email, birth, mobile = self.positions
        return (f"{name} AS p_name, {email} AS p_email, {birth} AS p_birth, "
                f"{mobile} AS p_mobile, {_sql_text(self.header_text)} AS header_text")

    @property
    def header_text(self) -> str:
        """The header line as this file has it, lower-cased, without spaces or quotes."""
        by_place = sorted(zip(self.positions, HEADER, strict=True))
        return ",".join(name for _, name in by_place)

    def records_sql(self, source: str) -> str:
        """Every line of `source` as an application: `file_id`, `blank` (no record:
        empty, or a header line), the contract's columns, the original fields, and for
        an unsuccessful one its `reasons` and `raw` line. Built as layers, each adding
        columns computed once from the layer below; the costly parts (regular
        expressions) run only on the rows that need them."""
        sql = f"SELECT *, line AS l FROM {source}"  # the line reader took off line ends
        for columns, dropped in self._layers():
            exclude = f" EXCLUDE ({', '.join(dropped)})" if dropped else ""
            sql = f"SELECT *{exclude},\n    {columns}\nFROM ({sql})"
        originals = ", ".join(f'"{c}"' for c in ORIGINAL_COLUMNS)
        return f"""
            SELECT file_id, blank, first_name, last_name, email, date_of_birth, mobile_no,
                   above_18,
                   CASE WHEN ok THEN last_name || '_' || left(sha256(born_text), 5) END
                       AS membership_id,
                   CASE WHEN ok THEN md5(concat_ws('|', first_name, last_name, email,
                                                    born_text, mobile_no)) END
                       AS application_key,
                   {originals},
                   reasons,
                   -- only a broken record keeps its line
                   CASE WHEN NOT ok AND NOT blank THEN line END AS raw
            FROM ({sql})"""

    def _layers(self) -> list[tuple[str, tuple[str, ...]]]:
        """(columns added, columns dropped), from the line up to the reasons."""
        titles, suffixes = "|".join(TITLES), "|".join(SUFFIXES)
        endings = " OR ".join(f"suffix(e, '{e}')" for e in EMAIL_ENDINGS)
        return [
            # A header line (repeated where files were joined) has an underscore: only
            # such lines are compared with it.
            ("""contains(l, '"') AS quoted,
                l IS NULL OR NOT l GLOB '*[! \t]*' OR CASE WHEN contains(l, '_') THEN
                    lower(replace(replace(l, ' ', ''), '"', '')) = header_text ELSE false END
                    AS blank""", ("header_text",)),
            (f"""CASE WHEN quoted THEN regexp_extract_all(',' || l, '{_CSV_FIELD}', 1)
                     ELSE string_split(l, ',') END AS cells""", ()),
            ("""CASE WHEN quoted THEN len(cells) + list_sum(list_transform(cells, lambda c: length(c)))
                    = length(l) + 1 ELSE true END AS quotes_ok,
                CASE WHEN quoted THEN list_transform(cells, lambda c:
                    CASE WHEN starts_with(c, '"') THEN replace(c[2:-2], '""', '"') ELSE c END)
                     ELSE cells END AS fields""", ()),
            (",\n    ".join(
                [f"CASE WHEN len(cells) = 4 AND quotes_ok THEN fields[{place}] END AS \"{column}\""
                 for place, column in zip(("p_name", "p_email", "p_birth", "p_mobile"),
                                          ORIGINAL_COLUMNS, strict=True)]
                + ["len(cells) AS n_fields",
                   # whether any field may have whitespace around it: looked for once a
                   # line, which costs less than trimming every field of every line
                   "contains(l, ' ,') OR contains(l, ', ') OR contains(l, chr(9)) "
                   "OR contains(l, chr(13)) OR contains(l, chr(12)) OR starts_with(l, ' ') "
                   "OR suffix(l, ' ') OR quoted AS padded"]),
             ("cells", "fields", "p_name", "p_email", "p_birth", "p_mobile", "l")),
            # the four fields, trimmed; a name's runs of spaces made one
            (f"""CASE WHEN contains(name_text, '  ') OR contains(name_text, chr(9))
                          OR contains(name_text, chr(10)) OR contains(name_text, chr(13))
                          OR contains(name_text, chr(12))
                     THEN nullif(trim(regexp_replace(name_text, '\\s+', ' ', 'g')), '')
                     ELSE nullif({_trimmed("name_text")}, '') END AS n,
                nullif(lower({_trimmed("email_text")}), '') AS e,
                nullif({_trimmed("date_of_birth_text")}, '') AS b,
                nullif({_trimmed("mobile_no_text")}, '') AS m""", ("padded",)),
            (f"""string_split(n, ' ') AS name_words,
                regexp_full_match(e, {_sql_text(EMAIL_PATTERN)}) AS email_ok,
                NOT m GLOB '*[!0-9 ]*' AS mobile_ok,
                replace(m, ' ', '') AS digits,
                -- a date is digits and one kind of separator, in three parts
                CASE WHEN b GLOB '*[!0-9/-]*' OR (contains(b, '/') AND contains(b, '-')) THEN NULL
                     ELSE string_split(b, CASE WHEN contains(b, '/') THEN '/' ELSE '-' END)
                END AS parts""", ()),
            # the date's shape: 1 year first (YYYY/MM/DD or YYYY-MM-DD), 2 MM/DD/YYYY,
            # 3 DD-MM-YYYY, 0 none; a name with a title, a suffix or a comma
            (f"""CASE WHEN len(parts) <> 3 OR length(parts[2]) NOT BETWEEN 1 AND 2 THEN 0
                     WHEN length(parts[1]) = 4 AND length(parts[3]) BETWEEN 1 AND 2 THEN 1
                     WHEN length(parts[1]) BETWEEN 1 AND 2 AND length(parts[3]) = 4
                     THEN CASE WHEN contains(b, '/') THEN 2 ELSE 3 END
                     ELSE 0 END AS date_shape,
                len(name_words) > 1 AND (contains(n, ',')
                    OR regexp_full_match(name_words[1], '(?i)(?:{titles})\\.?')
                    OR regexp_full_match(name_words[-1], '(?i)(?:{suffixes})\\.?'))
                    AS reshaped""", ()),
            (f"""CAST(CASE date_shape WHEN 1 THEN parts[1] ELSE parts[3] END AS INTEGER) AS yy,
                CAST(CASE date_shape WHEN 1 THEN parts[2] WHEN 2 THEN parts[1]
                                     ELSE parts[2] END AS INTEGER) AS mm,
                CAST(CASE date_shape WHEN 1 THEN parts[3] WHEN 2 THEN parts[2]
                                     ELSE parts[1] END AS INTEGER) AS dd,
                -- titles off the front, suffixes off the end, "Last, First" turned round
                CASE WHEN reshaped THEN string_split(trim(
                    regexp_replace(regexp_replace(regexp_replace(n,
                        '^(?:(?:{titles})\\.?\\s+)+(\\S.*)$', '\\1', 'i'),
                        '^(.*?\\S)(?:,?\\s+(?:{suffixes})\\.?)+$', '\\1', 'i'),
                        '^([^,]+?)\\s*,\\s*([^,]+)$', '\\2 \\1')), ' ')
                     ELSE name_words END AS words""", ("parts", "reshaped", "name_words")),
            # a real date: month 1-12, day within the month
            ("""CASE WHEN date_shape > 0 AND yy BETWEEN 1 AND 9999 AND mm BETWEEN 1 AND 12
                          AND dd >= 1
                     THEN CASE WHEN dd <= day(last_day(make_date(yy, mm, 1)))
                               THEN make_date(yy, mm, dd) END END AS date_of_birth,
                CASE WHEN len(words) >= 2 THEN words[-1] END AS last_name,
                CASE WHEN len(words) >= 2 THEN array_to_string(words[1:-2], ' ')
                     WHEN len(words) = 1 THEN words[1] END AS first_name""",
             ("yy", "mm", "dd", "words")),
            (f"""CASE WHEN mobile_ok AND length(digits) = {MOBILE_DIGITS} THEN digits END
                    AS mobile_no,
                CASE WHEN email_ok THEN e END AS email,
                date_of_birth <= DATE '{adult_born_by(self.age_on).isoformat()}' AS above_18,
                strftime(date_of_birth, '%Y%m%d') AS born_text""", ()),
            # why each rule failed, in the docs' order
            (f"""CASE WHEN n IS NULL THEN 'missing name'
                     WHEN last_name IS NULL THEN 'name has no last name' END AS r_name,
                CASE WHEN e IS NULL THEN 'missing email'
                     WHEN NOT email_ok THEN 'invalid email'
                     WHEN NOT ({endings}) THEN 'email does not end in .com or .net' END
                    AS r_email,
                CASE WHEN b IS NULL THEN 'missing date_of_birth'
                     WHEN date_shape = 0 THEN 'date_of_birth is not in a known format'
                     WHEN date_of_birth IS NULL THEN 'date_of_birth is not a real date'
                     WHEN year(date_of_birth) < {OLDEST_BIRTH_YEAR}
                     THEN 'date_of_birth is before {OLDEST_BIRTH_YEAR}'
                     WHEN date_of_birth > current_date THEN 'date_of_birth is in the future'
                     WHEN NOT above_18 THEN 'not over 18 on {self.age_on.isoformat()}' END
                    AS r_birth,
                CASE WHEN m IS NULL THEN 'missing mobile_no'
                     WHEN NOT mobile_ok THEN 'mobile_no is not digits'
                     WHEN length(digits) <> {MOBILE_DIGITS}
                     THEN 'mobile_no has ' || length(digits) || ' digits, not {MOBILE_DIGITS}'
                END AS r_mobile""", ()),
            ("""NOT blank AND quotes_ok AND n_fields = 4 AND r_name IS NULL AND r_email IS NULL
                    AND r_birth IS NULL AND r_mobile IS NULL AS ok""", ()),
            ("""CASE WHEN ok OR blank THEN NULL
                     WHEN NOT quotes_ok THEN ['unbalanced quotes']
                     WHEN n_fields <> 4 THEN ['has ' || n_fields || ' fields, expected 4']
                     ELSE list_filter([r_name, r_email, r_birth, r_mobile],
                                      lambda r: r IS NOT NULL) END AS reasons""",
             ("r_name", "r_email", "r_birth", "r_mobile")),
        ]


def header_positions(path: Path) -> tuple[int, int, int, int]:
    """Where each field is on a line, from the file's header: the four names in any
    order, any case, with spaces or quotes around them. A file without that header
    cannot be read as applications."""
    first = _first_line(path)
    if not first.strip():
        raise DamagedInput("empty file: no header line "
                           f"({','.join(HEADER)})")
    names = [cell.strip().lower() for cell in next(csv.reader([first]))]
    if sorted(names) != sorted(HEADER):
        shown = first if len(first) <= 200 else first[:200] + "..."
        raise DamagedInput(f"the header is {shown!r}, not the columns "
                           f"{','.join(HEADER)} (in any order)")
    name, email, birth, mobile = (names.index(column) + 1 for column in HEADER)
    return name, email, birth, mobile


def _first_line(path: Path) -> str:
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as stream:
            head = stream.readline(HEADER_BYTES)
    except (OSError, EOFError) as error:
        raise DamagedInput(f"cannot read the header: {error}") from None
    try:
        return head.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise DamagedInput("the header is not UTF-8 text") from None
