"""The kinds of value a contract's fields can hold, each as SQL templates.

A kind turns a field's text `{s}` (its JSON value as text, NULL when the field is absent
or null; `{t}` its JSON type, for kinds that need it; `{p}` the kind's `prepare`d
column) into its clean typed `value` (NULL when the text does not fit), and says why a
present value did not come out clean (`problem`: a short phrase such as "not an
integer"). What a contract does with a problem (reject the record, or keep the record
with the value NULL and record an issue) is the contract's choice, not the kind's.
Nothing is ever turned into zero.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    sql_type: str
    value: str
    problem: str
    prepare: str | None = None
    needs_type: bool = False
    is_list: bool = False  # only whether the value is a list; its items are read elsewhere
    # Whether the value keeps its text as it is (then the text's exact form matters:
    # the engine's JSON reader prints some numbers differently from its JSON functions).
    keeps_text: bool = False


# --- strict kinds: a value that does not fit is an error in the record ----------------------

# TRY_CAST alone would round "1.5" to 2 and read " 5", "0x5" or "5_0"; a value with any
# character besides digits and signs is not an integer (GLOB is far cheaper than a regex).
# The common form proves itself first, more cheaply still: it prints back as it arrived.
NOT_DIGITS = "*[!0-9+-]*"


def integer(sql_type: str) -> Kind:
    cast = f"TRY_CAST({{s}} AS {sql_type})"
    return Kind(
        name=sql_type.lower(), sql_type=sql_type,
        value=(f"CASE WHEN CAST({cast} AS VARCHAR) = {{s}} OR NOT ({{s}} GLOB '{NOT_DIGITS}') "
               f"THEN {cast} END"),
        problem=(f"CASE WHEN regexp_full_match({{s}}, '[+-]?[0-9]+') "
                 f"THEN 'out of range for {sql_type}' ELSE 'not an integer' END"))


BIGINT, INTEGER, SMALLINT = integer("BIGINT"), integer("INTEGER"), integer("SMALLINT")

# A timestamp is YYYY-MM-DDTHH:MM:SS (or a space for the T), every field zero-padded,
# with an optional fraction of 1 to 6 digits. The shape is checked first because the
# engine's strptime also takes unpadded fields and surrounding whitespace. A UTC offset
# is rejected rather than silently shifted: the warehouse stores naive timestamps in the
# source's clock. A 7th fraction digit would be lost by microsecond timestamps.
_DATE_TIME = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][T ][0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
WHOLE_SECONDS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")
FRACTIONAL_SECONDS = ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def _first_parse(formats: tuple[str, ...]) -> str:
    """COALESCE tries a second format only if the first fails."""
    return "COALESCE(" + ", ".join(f"try_strptime({{s}}, '{f}')" for f in formats) + ")"


# The common form (milliseconds) is proven cheaply: separators in their places and a
# digit last (a GLOB of wildcards, where one of digits costs three times as much), a
# parse, and a year of four digits. The parse takes no whitespace or sign inside a
# field, so only a space before the year (a year below 1000) or after the fraction (no
# digit last) could slip past the shape. Any other text is held to the strict shape.
_MILLISECONDS_SHAPE = "????-??-??T??:??:??.??[0-9]"
TIMESTAMP = Kind(
    name="timestamp", sql_type="TIMESTAMP",
    prepare=f"try_strptime({{s}}, '{FRACTIONAL_SECONDS[0]}')",
    value=(f"CASE WHEN {{s}} GLOB '{_MILLISECONDS_SHAPE}' "
           "AND {p} >= TIMESTAMP '1000-01-01' THEN {p} "
           "WHEN length({s}) BETWEEN 21 AND 26 "
           f"AND {{s}} GLOB '{_DATE_TIME}.[0-9]*' "
           "AND NOT substr({s}, 21) GLOB '*[!0-9]*' "
           f"THEN {_first_parse(FRACTIONAL_SECONDS)} "
           f"WHEN length({{s}}) = 19 AND {{s}} GLOB '{_DATE_TIME}' "
           f"THEN {_first_parse(WHOLE_SECONDS)} END"),
    problem="'not a timestamp (YYYY-MM-DDTHH:MM:SS.fff)'")

# A calendar date written YYYY-MM-DD, and a boolean written true or false (JSON's way).
DATE = Kind(
    name="date", sql_type="DATE",
    value=("CASE WHEN {s} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' "
           "THEN TRY_CAST({s} AS DATE) END"),
    problem="'not a date (YYYY-MM-DD)'")
BOOLEAN = Kind(
    name="boolean", sql_type="BOOLEAN",
    value="CASE {s} WHEN 'true' THEN true WHEN 'false' THEN false END",
    problem="'not true or false'")

# Any JSON scalar's text, as it is.
STRING = Kind(name="string", sql_type="VARCHAR", value="{s}", problem="NULL", keeps_text=True)


# --- cleaning kinds: sentinels and placeholders become NULL, with the rule they broke -------

KNOWN_PLATFORMS = ("Instagram", "TikTok", "YouTube", "Facebook", "X", "Twitter", "Pinterest",
                   "Snapchat", "LinkedIn", "Twitch")
PLACEHOLDER_TEXT = ("", "???", "?", "n/a", "na", "null", "none", "unknown", "-")

_IS_STRING = "{t} = 'VARCHAR'"
_IS_NUMBER = "{t} IN ('UBIGINT', 'BIGINT', 'DOUBLE')"
_DOUBLE = "TRY_CAST({s} AS DOUBLE)"
# The engine's JSON parser reads NaN, Infinity, -Infinity (any case) as numbers: they
# are the only numbers written without a digit. A finite number too large for a double
# (1e400) keeps its digits, and is out of range, not "not a number".
_FINITE = f"{_IS_NUMBER} AND (isfinite({_DOUBLE}) OR regexp_matches({{s}}, '[0-9]'))"
# Year 0 parses, as 1 BC: out of range (years 1 to 9999; 5-digit years do not parse).
_YEAR_0 = "starts_with({s}, '0000')"
_PARSED_UTC = ("COALESCE(try_strptime({s}, '%Y-%m-%dT%H:%M:%S.%gZ'), "
               "try_strptime({s}, '%Y-%m-%dT%H:%M:%SZ'))")
_PLACEHOLDERS = ", ".join(f"'{p}'" for p in PLACEHOLDER_TEXT)
_PLATFORM_CASES = " ".join(f"WHEN '{p.lower()}' THEN '{p}'" for p in KNOWN_PLATFORMS)
_TEXT = (f"CASE WHEN {_IS_STRING} AND lower(trim({{s}})) NOT IN ({_PLACEHOLDERS}) "
         "THEN trim({s}) END")

UUID = Kind(
    name="uuid", sql_type="UUID", needs_type=True,
    value=f"CASE WHEN {_IS_STRING} THEN TRY_CAST({{s}} AS UUID) END",
    problem="CASE WHEN {s} = '' THEN 'empty' ELSE 'not a uuid' END")
NAME = Kind(
    name="name", sql_type="VARCHAR", needs_type=True, value=_TEXT,
    problem=f"CASE WHEN NOT {_IS_STRING} THEN 'not text' ELSE 'placeholder' END")
TEXT = Kind(
    name="text", sql_type="VARCHAR", needs_type=True, value=_TEXT,
    problem=(f"CASE WHEN {_IS_NUMBER} THEN 'number instead of text' "
             f"WHEN NOT {_IS_STRING} THEN 'not text' ELSE 'placeholder' END"))
EMAIL = Kind(
    name="email", sql_type="VARCHAR", needs_type=True,
    value=(f"CASE WHEN {_IS_STRING} AND regexp_full_match(lower(trim({{s}})), "
           r"'[^@\s]+@[^@\s]+\.[a-z]{{2,}}') THEN lower(trim({s})) END"),
    problem="'invalid email'")
HANDLE = Kind(
    name="handle", sql_type="VARCHAR", needs_type=True,
    value=(f"CASE WHEN {_IS_STRING} AND regexp_full_match(lower(ltrim(trim({{s}}), '@')), "
           "'[a-z0-9._]{{1,30}}') THEN lower(ltrim(trim({s}), '@')) END"),
    problem="'invalid handle'")
UTC_TIMESTAMP = Kind(
    name="utc timestamp", sql_type="TIMESTAMP", needs_type=True,
    value=f"CASE WHEN {_IS_STRING} AND NOT {_YEAR_0} THEN {_PARSED_UTC} END",
    problem=(f"CASE WHEN {_IS_STRING} AND {_YEAR_0} AND {_PARSED_UTC} IS NOT NULL "
             "THEN 'out of range' ELSE 'not a date' END"))
PLATFORM = Kind(
    name="platform", sql_type="VARCHAR", needs_type=True,
    value=(f"CASE WHEN {_IS_STRING} AND trim({{s}}) <> '' THEN "
           f"CASE lower(trim({{s}})) {_PLATFORM_CASES} ELSE trim({{s}}) END END"),
    problem=f"CASE WHEN {_IS_NUMBER} THEN 'number instead of text' ELSE 'not text' END")
URL = Kind(
    name="url", sql_type="VARCHAR", needs_type=True,
    value=(f"CASE WHEN {_IS_STRING} AND regexp_full_match(trim({{s}}), 'https?://[^\\s]+') "
           "THEN trim({s}) END"),
    problem="'not a URL'")


def count(maximum: int | None = None) -> Kind:
    """A count written as a whole number in any form (7, 7.0, 7e0) is that count; no
    other number is rounded to one. Above `maximum` (None: what BIGINT holds) a count
    is out of range."""
    within = "" if maximum is None else f" AND TRY_CAST({{s}} AS BIGINT) <= {maximum:d}"
    double_within = "" if maximum is None else f" AND {_DOUBLE} <= {maximum:d}"
    return Kind(
        name="count", sql_type="BIGINT", needs_type=True,
        value=("CASE WHEN {t} IN ('UBIGINT', 'BIGINT') AND TRY_CAST({s} AS BIGINT) >= 0"
               f"{within} THEN TRY_CAST({{s}} AS BIGINT) "
               f"WHEN {_FINITE} AND {_DOUBLE} >= 0 AND {_DOUBLE} = trunc({_DOUBLE})"
               f"{double_within} THEN TRY_CAST({_DOUBLE} AS BIGINT) END"),
        problem=(f"CASE WHEN NOT ({_FINITE}) THEN 'not a number' "
                 f"WHEN {_DOUBLE} < 0 THEN 'negative' "
                 f"WHEN {_DOUBLE} <> trunc({_DOUBLE}) THEN 'not a whole number' "
                 "ELSE 'out of range' END"))


COUNT = count()
# From the number's text, rounded half away from zero to the cent.
MONEY = Kind(
    name="money", sql_type="DECIMAL(14, 2)", needs_type=True,
    value=f"CASE WHEN {_FINITE} AND {_DOUBLE} >= 0 THEN TRY_CAST({{s}} AS DECIMAL(14, 2)) END",
    problem=(f"CASE WHEN NOT ({_FINITE}) THEN 'not a number' "
             f"WHEN {_DOUBLE} < 0 THEN 'negative' ELSE 'out of range' END"))
# Only whether the value is a list: its items are records of their own.
LIST = Kind(name="list", sql_type="JSON", needs_type=True, is_list=True, value="NULL",
            problem="'not a list'")
