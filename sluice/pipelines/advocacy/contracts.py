"""The advocacy records' contracts: an advocate, each of its program memberships, each
task of a membership. A value that does not fit becomes NULL, and the rule it broke a
data-quality issue (`advocacy.dq_issues`); the record itself is kept.

Each rule is named for what it found. The shared kinds (`sluice/kinds.py`) say that a
value does not fit ("invalid handle", "not a URL", "not a number"); the exports also hold
placeholders, text an exporter writes where it has no value (`"#error_handle"`,
`"invalid-email"`, `"not-a-date"`, `"no-data"`, `"broken_link"`, `"NaN"`, `"n/a"`), and
those are a different finding: nothing was there to repair, where a malformed handle or
URL is a real value mistyped. So every field here names a placeholder `placeholder`,
a value of the wrong JSON type for a text field `not text` (or `number instead of
text`), and keeps the kind's own name for a malformed value. A number field names text
that is not a placeholder `text instead of a number` (`"12 likes"`), apart from JSON's
own `NaN` and `Infinity`, which stay `not a number`.
"""

from __future__ import annotations

from dataclasses import replace

from sluice import kinds
from sluice.contracts import Contract, Field, OnInvalid

# Words that say there is no value. A placeholder is text made only of these words,
# separated by anything but letters and digits (`#error_handle`, `not-a-date`, `n/a`,
# `NaN`), or of no letters and digits at all (`???`, `-`, ``). It is only ever used to
# name a value that has already failed its field's check: it never rejects a value.
PLACEHOLDER_WORDS = (
    "error", "invalid", "broken", "missing", "unknown", "undefined", "none", "null", "nil",
    "nan", "na", "n", "a", "an", "no", "not", "tbd", "todo", "placeholder", "empty",
    "blank", "data", "date", "email", "mail", "handle", "link", "url", "value", "number",
    "id", "user", "name", "sales", "reach", "likes", "comments", "shares", "platform",
    "brand",
)
_WORD = "(?:" + "|".join(PLACEHOLDER_WORDS) + ")"
PLACEHOLDER_PATTERN = f"[^a-z0-9]*(?:{_WORD}(?:[^a-z0-9]+{_WORD})*[^a-z0-9]*)?"
_IS_STRING = "{t} = 'VARCHAR'"
_IS_PLACEHOLDER = f"regexp_full_match(lower(trim({{s}})), '{PLACEHOLDER_PATTERN}')"
# Platforms: only the generic placeholders (`unknown`, `n/a`, `???`, ``) are refused as a
# value, so that a task whose platform is "unknown" is unknown, not a platform of that
# name; any other text is kept as the platform's name.
_GENERIC_PLACEHOLDER = ("lower(trim({s})) IN ("
                        + ", ".join(f"'{p}'" for p in kinds.PLACEHOLDER_TEXT) + ")")


def _text_problem(malformed: str) -> str:
    """Why a text field's value failed: a placeholder, not text at all, or malformed."""
    return (f"CASE WHEN {_IS_STRING} AND {_IS_PLACEHOLDER} THEN 'placeholder' "
            f"WHEN NOT {_IS_STRING} THEN 'not text' ELSE '{malformed}' END")


def _number_problem(kind: kinds.Kind) -> str:
    """Text in a number field: a placeholder, or text instead of a number; any other
    value as the kind names it (NaN, negative, not a whole number, out of range)."""
    return (f"CASE WHEN {_IS_STRING} AND {_IS_PLACEHOLDER} THEN 'placeholder' "
            f"WHEN {_IS_STRING} THEN 'text instead of a number' ELSE {kind.problem} END")


UUID = replace(kinds.UUID, problem=(
    "CASE WHEN {s} = '' THEN 'empty' "
    f"WHEN {_IS_STRING} AND {_IS_PLACEHOLDER} THEN 'placeholder' ELSE 'not a uuid' END"))
EMAIL = replace(kinds.EMAIL, problem=_text_problem("invalid email"))
HANDLE = replace(kinds.HANDLE, problem=_text_problem("invalid handle"))
URL = replace(kinds.URL, problem=_text_problem("not a URL"))
UTC_TIMESTAMP = replace(kinds.UTC_TIMESTAMP, problem=(
    f"CASE WHEN {_IS_STRING} AND {_IS_PLACEHOLDER} THEN 'placeholder' "
    f"ELSE {kinds.UTC_TIMESTAMP.problem} END"))
PLATFORM = replace(
    kinds.PLATFORM,
    value=f"CASE WHEN NOT ({_GENERIC_PLACEHOLDER}) THEN {kinds.PLATFORM.value} END",
    problem=(f"CASE WHEN {_IS_STRING} THEN 'placeholder' ELSE {kinds.PLATFORM.problem} END"))
# No post has been liked, shared or seen a trillion times (the most watched videos are
# near 10^10 views); above that a count is out of range. The bound keeps every figure
# built on the counts exact: an engagement (three counts added) fits BIGINT, and a sum of
# squares of billions of them fits DECIMAL(38, 0).
MAX_COUNT = 10**12
_COUNT = kinds.count(MAX_COUNT)
COUNT = replace(_COUNT, problem=_number_problem(_COUNT))
MONEY = replace(kinds.MONEY, problem=_number_problem(kinds.MONEY))

ADVOCATE = Contract(
    fields=(
        Field("user_id", UUID),
        Field("name", kinds.NAME),
        Field("email", EMAIL),
        Field("instagram_handle", HANDLE),
        Field("tiktok_handle", HANDLE),
        Field("joined_at", UTC_TIMESTAMP),
        Field("advocacy_programs", kinds.LIST),
    ),
    on_invalid=OnInvalid.ISSUE,
)
MEMBERSHIP = Contract(
    fields=(
        Field("program_id", UUID),
        Field("brand", kinds.TEXT),
        Field("total_sales_attributed", MONEY),
        Field("tasks_completed", kinds.LIST),
    ),
    on_invalid=OnInvalid.ISSUE,
)
TASK = Contract(
    fields=(
        Field("task_id", UUID),
        Field("platform", PLATFORM),
        Field("post_url", URL),
        Field("likes", COUNT),
        Field("comments", COUNT),
        Field("shares", COUNT),
        Field("reach", COUNT),
    ),
    on_invalid=OnInvalid.ISSUE,
)
# The entities in the order the report lists them, with the table holding their records.
ENTITIES = (("advocate", "advocates", ADVOCATE), ("membership", "memberships", MEMBERSHIP),
            ("task", "tasks", TASK))
