"""Cleaning rules for advocacy exports: every sentinel becomes NULL and an issue.

Each field has a kind; a kind compiles to two SQL expressions over the field's JSON value
(`j`, NULL when the key is absent): the clean typed value, and the name of the rule the
raw value broke (NULL when clean). Nothing is ever turned into zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

KNOWN_PLATFORMS = ("Instagram", "TikTok", "YouTube", "Facebook", "X", "Twitter", "Pinterest",
                   "Snapchat", "LinkedIn", "Twitch")
PLACEHOLDER_TEXT = ("", "???", "?", "n/a", "na", "null", "none", "unknown", "-")


class Kind(Enum):
    UUID = "uuid"
    NAME = "name"
    EMAIL = "email"
    HANDLE = "handle"
    TIMESTAMP = "timestamp"
    TEXT = "text"
    PLATFORM = "platform"
    URL = "url"
    COUNT = "count"
    MONEY = "money"
    LIST = "list"  # advocacy_programs, tasks_completed: only whether they are lists


@dataclass(frozen=True)
class FieldRule:
    field: str
    kind: Kind

    def column(self) -> str:
        """The field's raw JSON value."""
        return f"j_{self.field}"

    def clean(self) -> str:
        return _CLEAN[self.kind].format(s=f"s_{self.field}", t=f"t_{self.field}")

    def issue(self) -> str:
        """The rule the raw value broke, given the clean value in column `field`."""
        broken = _BROKEN[self.kind].format(s=f"s_{self.field}", t=f"t_{self.field}")
        return (f"CASE WHEN t_{self.field} IS NULL OR t_{self.field} = 'NULL' THEN 'missing' "
                f"WHEN {self.field} IS NOT NULL THEN NULL ELSE {broken} END")


# {s}: the value as text; {t}: its JSON type (NULL when the key is absent).
_STRING = "{t} = 'VARCHAR'"
_NUMBER = "{t} IN ('UBIGINT', 'BIGINT', 'DOUBLE')"
_DOUBLE = "TRY_CAST({s} AS DOUBLE)"
# The engine's JSON parser reads NaN, Infinity, -Infinity (any case) as numbers: they
# are the only numbers written without a digit. A finite number too large for a double
# (1e400) keeps its digits, and is out of range, not "not a number".
_FINITE = f"{_NUMBER} AND (isfinite({_DOUBLE}) OR regexp_matches({{s}}, '[0-9]'))"
# Year 0 parses, as 1 BC: out of range (years 1 to 9999; 5-digit years do not parse).
_YEAR_0 = "starts_with({s}, '0000')"
_PARSED_TIMESTAMP = ("COALESCE(try_strptime({s}, '%Y-%m-%dT%H:%M:%S.%gZ'), "
                     "try_strptime({s}, '%Y-%m-%dT%H:%M:%SZ'))")
_PLACEHOLDERS = ", ".join(f"'{p}'" for p in PLACEHOLDER_TEXT)
_PLATFORM_CASES = " ".join(f"WHEN '{p.lower()}' THEN '{p}'" for p in KNOWN_PLATFORMS)

_CLEAN: dict[Kind, str] = {
    Kind.UUID: f"CASE WHEN {_STRING} THEN TRY_CAST({{s}} AS UUID) END",
    Kind.NAME: (f"CASE WHEN {_STRING} AND lower(trim({{s}})) NOT IN ({_PLACEHOLDERS}) "
                "THEN trim({s}) END"),
    Kind.EMAIL: (f"CASE WHEN {_STRING} AND regexp_full_match(lower(trim({{s}})), "
                 r"'[^@\s]+@[^@\s]+\.[a-z]{{2,}}') THEN lower(trim({s})) END"),
    Kind.HANDLE: (f"CASE WHEN {_STRING} AND regexp_full_match(lower(ltrim(trim({{s}}), '@')), "
                  "'[a-z0-9._]{{1,30}}') THEN lower(ltrim(trim({s}), '@')) END"),
    Kind.TIMESTAMP: f"CASE WHEN {_STRING} AND NOT {_YEAR_0} THEN {_PARSED_TIMESTAMP} END",
    Kind.TEXT: (f"CASE WHEN {_STRING} AND lower(trim({{s}})) NOT IN ({_PLACEHOLDERS}) "
                "THEN trim({s}) END"),
    Kind.PLATFORM: (f"CASE WHEN {_STRING} AND trim({{s}}) <> '' THEN "
                    f"CASE lower(trim({{s}})) {_PLATFORM_CASES} ELSE trim({{s}}) END END"),
    Kind.URL: (f"CASE WHEN {_STRING} AND regexp_full_match(trim({{s}}), 'https?://[^\\s]+') "
               "THEN trim({s}) END"),
    # A count written as a whole number in any form (7, 7.0, 7e0) is that count; no
    # other number is rounded to one.
    Kind.COUNT: ("CASE WHEN {t} IN ('UBIGINT', 'BIGINT') AND TRY_CAST({s} AS BIGINT) >= 0 "
                 "THEN TRY_CAST({s} AS BIGINT) "
                 f"WHEN {_FINITE} AND {_DOUBLE} >= 0 AND {_DOUBLE} = trunc({_DOUBLE}) "
                 f"THEN TRY_CAST({_DOUBLE} AS BIGINT) END"),
    # From the number's text, rounded half away from zero to the cent.
    Kind.MONEY: (f"CASE WHEN {_FINITE} AND {_DOUBLE} >= 0 "
                 "THEN TRY_CAST({s} AS DECIMAL(14, 2)) END"),
}

# Why a present value that did not come out clean was rejected.
_BROKEN: dict[Kind, str] = {
    Kind.UUID: "CASE WHEN {s} = '' THEN 'empty' ELSE 'not a uuid' END",
    Kind.NAME: f"CASE WHEN NOT {_STRING} THEN 'not text' ELSE 'placeholder' END",
    Kind.EMAIL: "'invalid email'",
    Kind.HANDLE: "'invalid handle'",
    Kind.TIMESTAMP: (f"CASE WHEN {_STRING} AND {_YEAR_0} AND {_PARSED_TIMESTAMP} IS NOT NULL "
                     "THEN 'out of range' ELSE 'not a date' END"),
    Kind.TEXT: (f"CASE WHEN {_NUMBER} THEN 'number instead of text' "
                f"WHEN NOT {_STRING} THEN 'not text' ELSE 'placeholder' END"),
    Kind.PLATFORM: f"CASE WHEN {_NUMBER} THEN 'number instead of text' ELSE 'not text' END",
    Kind.URL: "'not a URL'",
    Kind.COUNT: (f"CASE WHEN NOT ({_FINITE}) THEN 'not a number' "
                 f"WHEN {_DOUBLE} < 0 THEN 'negative' "
                 f"WHEN {_DOUBLE} <> trunc({_DOUBLE}) THEN 'not a whole number' "
                 "ELSE 'out of range' END"),
    Kind.MONEY: (f"CASE WHEN NOT ({_FINITE}) THEN 'not a number' "
                 f"WHEN {_DOUBLE} < 0 THEN 'negative' ELSE 'out of range' END"),
}

ADVOCATE_FIELDS = (
    FieldRule("user_id", Kind.UUID),
    FieldRule("name", Kind.NAME),
    FieldRule("email", Kind.EMAIL),
    FieldRule("instagram_handle", Kind.HANDLE),
    FieldRule("tiktok_handle", Kind.HANDLE),
    FieldRule("joined_at", Kind.TIMESTAMP),
    FieldRule("advocacy_programs", Kind.LIST),
)
PROGRAM_FIELDS = (
    FieldRule("program_id", Kind.UUID),
    FieldRule("brand", Kind.TEXT),
    FieldRule("total_sales_attributed", Kind.MONEY),
    FieldRule("tasks_completed", Kind.LIST),
)
TASK_FIELDS = (
    FieldRule("task_id", Kind.UUID),
    FieldRule("platform", Kind.PLATFORM),
    FieldRule("post_url", Kind.URL),
    FieldRule("likes", Kind.COUNT),
    FieldRule("comments", Kind.COUNT),
    FieldRule("shares", Kind.COUNT),
    FieldRule("reach", Kind.COUNT),
)


def _values(rules: tuple[FieldRule, ...]) -> list[FieldRule]:
    return [r for r in rules if r.kind is not Kind.LIST]


def extract_columns(rules: tuple[FieldRule, ...], document: str) -> str:
    """Select list pulling each field's JSON value out of `document`. One call with a list
    of paths parses the document once; the engine evaluates the repeated call once. A
    list field (whose items the caller reads) gets its JSON type, its issue, and its
    value only when it is not a list: serialising every list would cost more than all
    the other fields."""
    values = _values(rules)
    paths = "[" + ", ".join(f"'$.{r.field}'" for r in values) + "]"
    columns = [f"json_extract({document}, {paths})[{i}] AS {r.column()}"
               for i, r in enumerate(values, 1)]
    for r in rules:
        if r.kind is Kind.LIST:
            kind = f"json_type({document}, '$.{r.field}')"
            columns += [f"CASE WHEN {kind} IS DISTINCT FROM 'ARRAY' "
                        f"THEN json_extract({document}, '$.{r.field}') END AS {r.column()}",
                        f"CASE WHEN {kind} IS NULL OR {kind} = 'NULL' THEN 'missing' "
                        f"WHEN {kind} <> 'ARRAY' THEN 'not a list' END AS {r.field}__issue"]
    return ", ".join(columns)


def helper_columns(rules: tuple[FieldRule, ...]) -> str:
    """The intermediate text and type columns of `typed_sql`, to exclude from results."""
    return ", ".join(f"s_{r.field}, t_{r.field}" for r in _values(rules))


def typed_sql(rules: tuple[FieldRule, ...], source: str) -> str:
    """A query over `source` (which has the j_ columns) adding every field's clean value
    and the rule its raw value broke. Text and JSON type are taken once per field."""
    values = _values(rules)
    texts = ", ".join(f"json_extract_string({r.column()}, '$') AS s_{r.field}, "
                      f"json_type({r.column()}) AS t_{r.field}" for r in values)
    cleans = ", ".join(f"{r.clean()} AS {r.field}" for r in values)
    issues = ", ".join(f"{r.issue()} AS {r.field}__issue" for r in values)
    return (f"SELECT *, {issues} FROM (SELECT *, {cleans} FROM "
            f"(SELECT *, {texts} FROM ({source})))")
