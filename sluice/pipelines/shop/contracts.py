"""What a shop record must be.

A transaction (one JSON object a line of `transactions.jsonl`) has a contract of
`sluice.contracts`: a record that breaks it is rejected with every reason, by the core's
staging, like a vote. What the contract cannot see (each line of the transaction, a
membership id or an item the warehouse knows, stated totals that must equal the lines'
sum, a transaction id loaded before) is checked in SQL by `transactions.py`, with
reasons of the same form, all of them at once.

An item (one row of `items.csv`) is checked by the SQL below: names present, cost and
weight numbers that fit the warehouse's types without rounding.
"""

from __future__ import annotations

from sluice import kinds
from sluice.contracts import Contract, Field, OnInvalid
from sluice.kinds import Kind

# The JSON type of a field's text when the text is JSON (an object or a list arrives as
# its JSON text; a string's text need not be JSON at all).
_JSON_TYPE = "CASE WHEN json_valid({s}) THEN json_type({s}) END"

# An identifier: any JSON scalar's text, trimmed and not empty (an object or a list is
# not an identifier).
IDENTIFIER = Kind(
    name="identifier", sql_type="VARCHAR",
    value=(f"CASE WHEN trim({{s}}) <> '' AND {_JSON_TYPE} IS DISTINCT FROM 'OBJECT' "
           f"AND {_JSON_TYPE} IS DISTINCT FROM 'ARRAY' THEN trim({{s}}) END"),
    problem="CASE WHEN trim({s}) = '' THEN 'empty' ELSE 'not text' END")

# The lines: a JSON list with at least one element (each element is checked later).
LINES = Kind(
    name="lines", sql_type="VARCHAR",
    value=(f"CASE WHEN {_JSON_TYPE} = 'ARRAY' AND json_array_length({{s}}) > 0 THEN {{s}} END"),
    problem=f"CASE WHEN {_JSON_TYPE} = 'ARRAY' THEN 'an empty list' ELSE 'not a list' END")

# A stated total: a number of at least 0, kept as the text it arrived as (it is only
# compared with the lines' sum, and the reason for a disagreement quotes it).
NUMBER_TEXT = r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?"
STATED_TOTAL = Kind(
    name="total", sql_type="VARCHAR",
    value=(f"CASE WHEN regexp_full_match({{s}}, '{NUMBER_TEXT}') "
           "AND TRY_CAST({s} AS DECIMAL(38, 6)) >= 0 THEN {s} END"),
    problem=(f"CASE WHEN NOT regexp_full_match({{s}}, '{NUMBER_TEXT}') THEN 'not a number' "
             "WHEN TRY_CAST({s} AS DECIMAL(38, 6)) < 0 THEN 'negative' "
             "ELSE 'out of range' END"))

TRANSACTION = Contract(
    fields=(
        Field("transaction_id", IDENTIFIER, required=True),
        Field("membership_id", IDENTIFIER, required=True),
        Field("bought_at", kinds.TIMESTAMP, required=True),
        Field("lines", LINES, required=True),
        Field("total_price", STATED_TOTAL),
        Field("total_weight", STATED_TOTAL),
    ),
    key="transaction_id",
    on_invalid=OnInvalid.REJECT,
)

# The columns items.csv must name (in any order, any case; other columns are ignored).
ITEM_COLUMNS = ("name", "manufacturer", "cost", "weight_kg")
# Largest values the warehouse's types hold: DECIMAL(12, 2) and DECIMAL(10, 3).
COST_DECIMALS, COST_LIMIT = 2, "10000000000"
WEIGHT_DECIMALS, WEIGHT_LIMIT = 3, "10000000"
_CSV_NUMBER = r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)"


def decimal_check(column: str, text: str, decimals: int, limit: str) -> tuple[str, str]:
    """SQL for a CSV field's value as a decimal (NULL when it does not fit), and for why
    it does not fit (NULL when it does): missing, not a number, negative, more decimals
    than the warehouse keeps (never rounded), too large."""
    exact = f"TRY_CAST({text} AS DECIMAL(38, 10))"
    value = (f"CASE WHEN regexp_full_match({text}, '{_CSV_NUMBER}') AND {exact} >= 0 "
             f"AND {exact} = round({exact}, {decimals}) AND {exact} < {limit} "
             f"THEN CAST({exact} AS DECIMAL(38, {decimals})) END")
    problem = (f"CASE WHEN {text} IS NULL THEN 'missing {column}' "
               f"WHEN NOT regexp_full_match({text}, '{_CSV_NUMBER}') "
               f"THEN '{column} ''' || {text} || ''' is not a number' "
               f"WHEN {exact} < 0 THEN '{column} ' || {text} || ' is negative' "
               f"WHEN {exact} <> round({exact}, {decimals}) "
               f"THEN '{column} ' || {text} || ' has more than {decimals} decimals' "
               f"WHEN {exact} >= {limit} THEN '{column} ' || {text} || ' is too large' END")
    return value, problem
