"""Declarative record contracts, compiled to SQL that the engine runs on every record.

Every pipeline declares its records the same way: a `Contract` of `Field`s, each with a
name, a kind (`sluice.kinds`: its warehouse type, how its text is parsed strictly, and
why a value does not fit) and whether it is required; and what the contract does with a
value that does not fit: `REJECT` the record, with every reason why (votes), or keep the
record with the value NULL and record the rule it broke as a data-quality `ISSUE`
(advocacy: sentinels and placeholders). This module is the one piece of code that
compiles a contract to SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from sluice.kinds import Kind

INVALID_JSON = "invalid JSON"
NOT_AN_OBJECT = "not a JSON object"
INVALID_UTF8 = "invalid UTF-8"
DUPLICATE_FIELD = "duplicate field"
MISSING = "missing"
# JSON's whitespace, less LF: a line of only these is blank, not a record.
BLANK_CHARACTERS = " \t\r"


def _plain_name(name: str) -> bool:
    """A field name written the same in every JSON text: printable ASCII, nothing JSON
    escapes."""
    return name.isascii() and name.isprintable() and '"' not in name and "\\" not in name


class OnInvalid(Enum):
    REJECT = "reject"  # the record goes to quarantine with every reason
    ISSUE = "issue"    # the value becomes NULL; the rule it broke is recorded


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    required: bool = False

    @property
    def sql_type(self) -> str:
        return self.kind.sql_type

    @property
    def text(self) -> str:
        """The column holding the field's JSON value as text (NULL: absent or null)."""
        return f'"{self.name}__text"'

    @property
    def json_type(self) -> str:
        return f'"{self.name}__type"'

    @property
    def json_value(self) -> str:
        """The column holding the field's JSON value as it arrived (ISSUE contracts)."""
        return f'"{self.name}__json"'

    @property
    def prepared(self) -> str:
        return f'"{self.name}__prepared"'

    @property
    def issue(self) -> str:
        return f'"{self.name}__issue"'

    def _sql(self, template: str) -> str:
        return template.format(s=self.text, t=self.json_type, p=self.prepared)

    def value(self) -> str:
        """SQL for the field's clean typed value, NULL where its text does not fit."""
        return self._sql(self.kind.value)

    def problem(self) -> str:
        """SQL for why a present value did not come out clean."""
        return self._sql(self.kind.problem)

    def reject_reason(self) -> str:
        """SQL for why the field breaks a REJECT contract, NULL when it does not."""
        missing = f"'{MISSING} {self.name}'" if self.required else "NULL"
        return (f"CASE WHEN {self.text} IS NULL THEN {missing} "
                f"WHEN \"{self.name}\" IS NULL THEN '{self.name} is ' || ({self.problem()}) END")

    def issue_rule(self) -> str:
        """SQL for the rule the field's value broke in an ISSUE contract, NULL if none."""
        if self.kind.is_list:
            return (f"CASE WHEN {self.json_type} IS NULL OR {self.json_type} = 'NULL' "
                    f"THEN '{MISSING}' WHEN {self.json_type} <> 'ARRAY' "
                    f"THEN {self.problem()} END")
        return (f"CASE WHEN {self.json_type} IS NULL OR {self.json_type} = 'NULL' "
                f"THEN '{MISSING}' WHEN \"{self.name}\" IS NOT NULL THEN NULL "
                f"ELSE {self.problem()} END")


@dataclass(frozen=True)
class Contract:
    """The fields of a record; `key` identifies a record across files and runs."""

    fields: tuple[Field, ...]
    key: str | None = None
    on_invalid: OnInvalid = OnInvalid.REJECT

    def __post_init__(self) -> None:
        if self.key is None:
            return
        key_fields = [f for f in self.fields if f.name == self.key]
        if not key_fields or not key_fields[0].required:
            raise ValueError(f"contract key {self.key!r} must be one of its required fields")

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def key_field(self) -> Field:
        return next(f for f in self.fields if f.name == self.key)

    def columns_ddl(self) -> str:
        return ",\n    ".join(
            f'"{f.name}" {f.sql_type}{" NOT NULL" if f.required else ""}' for f in self.fields
        )

    # --- REJECT contracts: one JSON Lines line a record ---------------------------------
    # A REJECT contract is the `staging.RecordReader` of JSON Lines files.

    @property
    def record_columns(self) -> list[str]:
        return self.names

    def staging_columns(self) -> str:
        return self.columns_ddl().replace(" NOT NULL", "")

    def for_file(self, path: Path) -> Contract:
        return self

    @property
    def deferred(self) -> bool:
        return False

    def line_constants(self) -> str:
        return ""

    def records_sql(self, source: str, keep: str = "") -> str:
        """Every line of `source` typed and checked: `blank`, the fields' values, and
        for a broken record its `reasons` and its `raw` line; `keep` names a column of
        `source` to pass through first (say `position`)."""
        names = ", ".join(f'"{n}"' for n in self.names)
        kept = f"{keep}, " if keep else ""
        return f"""
            SELECT {kept}blank, {names},
                   CASE WHEN broken THEN {self.reasons("v", "line", "dups")} END AS reasons,
                   CASE WHEN broken THEN line END AS raw
            FROM (
                SELECT *, NOT blank AND ({self.broken("v", "dups")}) AS broken
                FROM (
                    SELECT *, {self.value_columns()}
                    FROM (
                        SELECT *, {self.duplicated_fields("v", "line")} AS dups
                               {self.prepared_columns()}
                        FROM (
                            SELECT {kept}line, blank, v, {self.text_columns("v")}
                            FROM (
                                SELECT {kept}line,
                                       -- An object's line starts with a brace: trim only the others.
                                       line IS NULL OR CASE WHEN starts_with(line, '{{') THEN false
                                                            ELSE trim(line, '{BLANK_CHARACTERS}') = ''
                                                       END AS blank,
                                       CASE WHEN json_valid(line)
                                            THEN json_extract_string(line, {self.json_paths()})
                                       END AS v
                                FROM {source}
                            )
                        )
                    )
                )
            )"""

    def json_paths(self) -> str:
        return "[" + ", ".join(f"'$.\"{f.name}\"'" for f in self.fields) + "]"

    def text_columns(self, values: str) -> str:
        """Select list taking each field's text out of `values`, the list extracted with
        `json_extract_string(line, json_paths())`."""
        return ", ".join(f"{values}[{i}] AS {f.text}" for i, f in enumerate(self.fields, 1))

    def prepared_columns(self) -> str:
        """Select list of the kinds' intermediate columns (may be empty), computed once
        and read by `value_columns`."""
        return "".join(f", {f.kind.prepare.format(s=f.text)} AS {f.prepared}"
                       for f in self.fields if f.kind.prepare)

    def value_columns(self) -> str:
        """Typed select list over the text (and prepared) columns."""
        return ",\n       ".join(f'{f.value()} AS "{f.name}"' for f in self.fields)

    def duplicated_fields(self, values: str, line: str) -> str:
        """SQL for the contract's fields that the object in `line` repeats (the engine
        would silently keep the first value), NULL when none. Needs the text columns.

        Listing an object's keys is costly, so it is skipped for a line that provably
        holds nothing but the fields found in it, each value quoted, written compactly
        (`{"k":"v",...}`): one as long as that compact form, with four double quotes a
        field. Length alone would not do: leaving three values unquoted saves the six
        bytes that a repeated `"Id":1,` takes."""
        compact = " + ".join(f"coalesce(strlen({f.text}) + {len(f.name.encode()) + 6}, 0)"
                             for f in self.fields)
        present = " + ".join(f"({f.text} IS NOT NULL)::INTEGER" for f in self.fields)
        names = ", ".join(f"'{n}'" for n in self.names)
        return (f"CASE WHEN {values} IS NOT NULL AND NOT (strlen({line}) = 1 + {compact} "
                f"AND strlen({line}) - strlen(replace({line}, '\"', '')) = 4 * ({present})) "
                f"THEN nullif(list_filter([{names}], lambda n: "
                f"len(list_filter(json_keys({line}), lambda k: k = n)) > 1), []) END")

    def broken(self, values: str, duplicates: str) -> str:
        """SQL that is true when a record with typed and text columns breaks the
        contract; `values` is NULL for a line that is not JSON, `duplicates` the column
        of `duplicated_fields`."""
        return " OR ".join([f"{values} IS NULL", f"{duplicates} IS NOT NULL",
                            *self._field_breaks()])

    def _field_breaks(self) -> list[str]:
        """SQL tests, each true when a field's value breaks the contract."""
        tests = []
        for f in self.fields:
            tests.append(f'("{f.name}" IS NULL AND {f.text} IS NOT NULL)')
            if f.required:
                tests.append(f'"{f.name}" IS NULL')
        return tests

    # --- REJECT contracts read by the engine's JSON reader (`json_staging.py`) ----------

    @property
    def fits_json_reader(self) -> bool:
        """Whether the engine's JSON reader, fields read as text, gives every record this
        contract keeps the same values as the JSON functions: true unless a field keeps
        its text as it is (the reader prints some numbers differently, 1e-06 for
        0.000001) or needs its JSON type (the reader reads text only). Field names must
        be plain, so that their length in a line is known."""
        return self.on_invalid is OnInvalid.REJECT and all(
            not f.kind.keeps_text and not f.kind.needs_type and _plain_name(f.name)
            for f in self.fields)

    def json_reader(self, pattern: str) -> str:
        """The engine's JSON reader over the files `pattern` names (an engine pattern),
        one object a line, every contract field as text; a line it cannot parse is a
        row of NULLs."""
        columns = ", ".join(f"'{f.name}': 'VARCHAR'" for f in self.fields)
        return (f"read_json('{pattern.replace(chr(39), chr(39) * 2)}', "
                "format = 'newline_delimited', records = true, ignore_errors = true, "
                f"auto_detect = false, compression = 'none', columns = {{{columns}}})")

    def json_records_sql(self, source: str) -> str:
        """The JSON reader's rows typed and checked: `blank` (false), the fields'
        values, `reasons` an empty list for a row that breaks the contract (its line is
        read again by `records_sql` for the real reasons) and NULL for one that does
        not, `raw` NULL, and `accounted_bytes`: for a good row, the length of its line
        less its double quotes had it been written compactly with only these fields."""
        names = ", ".join(f'"{n}"' for n in self.names)
        texts = ", ".join(f'"{f.name}" AS {f.text}' for f in self.fields)
        nothing = " AND ".join(f"{f.text} IS NULL" for f in self.fields)
        accounted = " + ".join(
            f"coalesce(strlen(\"{f.name}\") + {len(f.name.encode()) + 2}, 0)"
            for f in self.fields)
        return f"""
            SELECT false AS blank, {names}, CASE WHEN broken THEN []::VARCHAR[] END AS reasons,
                   NULL::VARCHAR AS raw, CASE WHEN NOT broken THEN accounted END AS accounted_bytes
            FROM (
                SELECT *, ({nothing}) OR {" OR ".join(self._field_breaks())} AS broken
                FROM (
                    SELECT *, {self.value_columns()}
                    FROM (
                        SELECT *{self.prepared_columns()}
                        FROM (SELECT {texts}, 1 + {accounted} AS accounted FROM {source})
                    )
                )
            )"""

    def reasons(self, values: str, line: str, duplicates: str) -> str:
        """SQL for the list of every reason a record breaks the contract."""
        field_reasons = ", ".join(f.reject_reason() for f in self.fields)
        return (f"CASE WHEN {values} IS NULL THEN ['{INVALID_JSON}'] "
                f"WHEN json_type({line}) <> 'OBJECT' THEN ['{NOT_AN_OBJECT}'] "
                f"ELSE list_concat(list_transform(coalesce({duplicates}, []), "
                f"lambda n: '{DUPLICATE_FIELD} ' || n), "
                f"list_filter([{field_reasons}], lambda r: r IS NOT NULL)) END")

    # --- ISSUE contracts: fields of a JSON document, cleaned ----------------------------

    def _scalars(self) -> list[Field]:
        return [f for f in self.fields if not f.kind.is_list]

    def json_columns(self, document: str) -> str:
        """Select list pulling each field's JSON value out of `document`. One call with a
        list of paths parses the document once; the engine evaluates the repeated call
        once. A list field (whose items the caller reads) gets its JSON type, and its
        value only when it is not a list: serialising every list would cost more than
        all the other fields."""
        scalars = self._scalars()
        paths = "[" + ", ".join(f"'$.{f.name}'" for f in scalars) + "]"
        columns = [f"json_extract({document}, {paths})[{i}] AS {f.json_value}"
                   for i, f in enumerate(scalars, 1)]
        for f in self.fields:
            if f.kind.is_list:
                kind = f"json_type({document}, '$.{f.name}')"
                columns += [f"CASE WHEN {kind} IS DISTINCT FROM 'ARRAY' "
                            f"THEN json_extract({document}, '$.{f.name}') END AS {f.json_value}",
                            f"{kind} AS {f.json_type}"]
        return ", ".join(columns)

    def cleaned(self, source: str) -> str:
        """A query over `source` (which has the json columns) adding every field's clean
        value and the rule its value broke (`<name>__issue`). Text and JSON type are
        taken once per field."""
        texts = ", ".join(f"json_extract_string({f.json_value}, '$') AS {f.text}, "
                          f"json_type({f.json_value}) AS {f.json_type}"
                          for f in self._scalars())
        values = ", ".join(f'{f.value()} AS "{f.name}"' for f in self._scalars())
        issues = ", ".join(f"{f.issue_rule()} AS {f.issue}" for f in self.fields)
        return (f"SELECT * EXCLUDE ({self.helper_columns()}), {issues} FROM "
                f"(SELECT *, {values} FROM (SELECT *, {texts} FROM ({source})))")

    def helper_columns(self) -> str:
        """The intermediate columns of `cleaned`, which its result leaves out."""
        return ", ".join([*(f.text for f in self._scalars()), *(f.json_type for f in self.fields)])
