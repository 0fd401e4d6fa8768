"""Declarative record contracts, compiled to SQL that the engine runs on every record.

A contract names the fields of a record, their warehouse types and whether they are
required. Compiled, it yields one typed expression per field and, for a record that
breaks it, the list of every reason why, so nothing is rejected without an explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# TRY_CAST alone would round "1.5" to 2 and read "1e3" as 1000; a value with any
# character besides digits and signs is not an integer (GLOB is far cheaper than a regex).
NOT_DIGITS = "*[!0-9+-]*"
# A timestamp is YYYY-MM-DDTHH:MM:SS (or a space for the T), every field zero-padded,
# with an optional fraction of 1 to 6 digits. The shape is checked first because the
# engine's strptime also takes unpadded fields and surrounding whitespace. A UTC offset
# is rejected rather than silently shifted: the warehouse stores naive timestamps in the
# source's clock. A 7th fraction digit would be lost by microsecond timestamps.
_DATE_TIME = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][T ][0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
WHOLE_SECONDS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")
FRACTIONAL_SECONDS = ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")
MILLISECONDS = "%Y-%m-%dT%H:%M:%S.%g"

INVALID_JSON = "invalid JSON"
NOT_AN_OBJECT = "not a JSON object"
INVALID_UTF8 = "invalid UTF-8"
DUPLICATE_FIELD = "duplicate field"


class Kind(Enum):
    INTEGER = "integer"
    TIMESTAMP = "timestamp"
    TEXT = "text"


@dataclass(frozen=True)
class Field:
    name: str
    sql_type: str
    required: bool = False

    @property
    def kind(self) -> Kind:
        if self.sql_type in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT"}:
            return Kind.INTEGER
        if self.sql_type == "TIMESTAMP":
            return Kind.TIMESTAMP
        return Kind.TEXT

    @property
    def raw(self) -> str:
        """The column holding the field's text as extracted from the JSON line."""
        return f'"{self.name}__raw"'

    @property
    def parsed(self) -> str:
        """A timestamp field's column holding its text parsed leniently (see `typed`)."""
        return f'"{self.name}__parsed"'

    def parse(self) -> str | None:
        """SQL for the `parsed` column, for timestamp fields only."""
        if self.kind is not Kind.TIMESTAMP:
            return None
        return f"try_strptime({self.raw}, '{FRACTIONAL_SECONDS[0]}')"

    def typed(self) -> str:
        """SQL for the field's typed value, NULL where the raw text does not fit."""
        raw = self.raw
        if self.kind is Kind.INTEGER:
            return (f"CASE WHEN NOT ({raw} GLOB '{NOT_DIGITS}') "
                    f"THEN TRY_CAST({raw} AS {self.sql_type}) END")
        if self.kind is Kind.TIMESTAMP:
            # The common form (milliseconds) proves itself by printing back exactly as
            # it arrived, which a lenient parse alone does not; any other text is held
            # to the strict shape. COALESCE tries a second format only if the first fails.
            whole, fractional = (
                "COALESCE(" + ", ".join(f"try_strptime({raw}, '{f}')" for f in formats) + ")"
                for formats in (WHOLE_SECONDS, FRACTIONAL_SECONDS))
            return (f"CASE WHEN strftime({self.parsed}, '{MILLISECONDS}') = {raw} "
                    f"THEN {self.parsed} "
                    f"WHEN length({raw}) BETWEEN 21 AND 26 "
                    f"AND {raw} GLOB '{_DATE_TIME}.[0-9]*' "
                    f"AND NOT substr({raw}, 21) GLOB '*[!0-9]*' THEN {fractional} "
                    f"WHEN length({raw}) = 19 AND {raw} GLOB '{_DATE_TIME}' THEN {whole} END")
        return raw

    def reason(self) -> str:
        """SQL for why the field breaks the contract, NULL when it does not."""
        raw, typed = self.raw, f'"{self.name}"'
        missing = f"'missing {self.name}'" if self.required else "NULL"
        if self.kind is Kind.INTEGER:
            wrong = (f"CASE WHEN regexp_full_match({raw}, '[+-]?[0-9]+') "
                     f"THEN '{self.name} is out of range for {self.sql_type}' "
                     f"ELSE '{self.name} is not an integer' END")
        elif self.kind is Kind.TIMESTAMP:
            wrong = f"'{self.name} is not a timestamp (YYYY-MM-DDTHH:MM:SS.fff)'"
        else:
            wrong = "NULL"
        return (f"CASE WHEN {raw} IS NULL THEN {missing} "
                f"WHEN {typed} IS NULL THEN {wrong} END")


@dataclass(frozen=True)
class Contract:
    """The fields of a record; `key` identifies a record across files and runs."""

    fields: tuple[Field, ...]
    key: str

    def __post_init__(self) -> None:
        key_fields = [f for f in self.fields if f.name == self.key]
        if not key_fields or not key_fields[0].required:
            raise ValueError(f"contract key {self.key!r} must be one of its required fields")

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def columns_ddl(self) -> str:
        return ",\n    ".join(
            f'"{f.name}" {f.sql_type}{" NOT NULL" if f.required else ""}' for f in self.fields
        )

    def json_paths(self) -> str:
        return "[" + ", ".join(f"'$.\"{f.name}\"'" for f in self.fields) + "]"

    def raw_columns(self, values: str) -> str:
        """Select list taking each field's text out of `values`, the extracted list."""
        return ", ".join(f"{values}[{i}] AS {f.raw}" for i, f in enumerate(self.fields, 1))

    def parsed_columns(self) -> str:
        """Select list of the lenient parses that `typed_columns` checks (may be empty)."""
        return "".join(f", {f.parse()} AS {f.parsed}" for f in self.fields if f.parse())

    def typed_columns(self) -> str:
        """Typed select list over the raw (and parsed) columns."""
        return ",\n       ".join(f'{f.typed()} AS "{f.name}"' for f in self.fields)

    def duplicated_fields(self, values: str, line: str) -> str:
        """SQL for the contract's fields that the object in `line` repeats (the engine
        would silently keep the first value), NULL when none. Listing an object's keys
        is costly, so it is done only for lines longer than the compact form of the
        fields found in them (`{"k":"v",...}`): a line of exactly that length has no room
        for another key. Needs the raw columns."""
        compact = " + ".join(f"coalesce(strlen({f.raw}) + {len(f.name.encode()) + 6}, 0)"
                             for f in self.fields)
        names = ", ".join(f"'{n}'" for n in self.names)
        return (f"CASE WHEN {values} IS NOT NULL AND strlen({line}) <> 1 + {compact} "
                f"THEN nullif(list_filter([{names}], lambda n: "
                f"len(list_filter(json_keys({line}), lambda k: k = n)) > 1), []) END")

    def broken(self, values: str, duplicates: str) -> str:
        """SQL that is true when a record with typed and raw columns breaks the contract;
        `values` is NULL for a line that is not JSON, `duplicates` the column of
        `duplicated_fields`."""
        tests = [f"{values} IS NULL", f"{duplicates} IS NOT NULL"]
        for f in self.fields:
            tests.append(f'("{f.name}" IS NULL AND {f.raw} IS NOT NULL)')
            if f.required:
                tests.append(f'"{f.name}" IS NULL')
        return " OR ".join(tests)

    def reasons(self, values: str, line: str, duplicates: str) -> str:
        """SQL for the list of every reason a record breaks the contract."""
        field_reasons = ", ".join(f.reason() for f in self.fields)
        return (f"CASE WHEN {values} IS NULL THEN ['{INVALID_JSON}'] "
                f"WHEN json_type({line}) <> 'OBJECT' THEN ['{NOT_AN_OBJECT}'] "
                f"ELSE list_concat(list_transform(coalesce({duplicates}, []), "
                f"lambda n: '{DUPLICATE_FIELD} ' || n), "
                f"list_filter([{field_reasons}], lambda r: r IS NOT NULL)) END")
