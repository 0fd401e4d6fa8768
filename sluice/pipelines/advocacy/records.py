"""Advocates, memberships and tasks out of the staged JSON documents, cleaned in SQL by
their contracts (`contracts.py`), and merged into the warehouse: the newest version of an
advocate (the latest file of the run) wins and every changed field is recorded.

Each level (advocates, memberships, tasks) is one statement over the documents: the
engine's `json_transform` parses a document once into the fields that level needs (a
field's JSON value as it arrived, or NULL when it is absent or null), with no JSON text
written out for a list only to be parsed again. What a transform cannot tell apart (a
null value from an absent one, a list from something else) is asked of the document
itself, by the field's path, and only for the values that need it: a `missing` value's
raw JSON (`null`, or nothing), a list that is not one.

Every level's rows carry `issues`: NULL when every field is clean, else the list of the
fields that broke a rule, with the rule and the raw JSON value (`dq_issues`).
"""

from __future__ import annotations

from sluice.contracts import MISSING, Contract, Field
from sluice.pipelines.advocacy.contracts import ADVOCATE, MEMBERSHIP, TASK
from sluice.pipelines.advocacy.sources import STAGED
from sluice.warehouse import KEYS_TABLE, Warehouse

PROGRAMS = "advocacy_programs"
TASKS = "tasks_completed"


def _scalars(contract: Contract) -> list[Field]:
    return [f for f in contract.fields if not f.kind.is_list]


def _shape(contract: Contract, items: dict[str, str] | None = None) -> str:
    """The `json_transform` structure of a contract's scalar fields, each as its JSON
    value; a list field holds the structure of its items given in `items`, or is only
    probed (a list of anything: NULL unless the value is a list)."""
    items = items or {}
    parts = [f'"{f.name}":"JSON"' for f in _scalars(contract)]
    parts += [f'"{f.name}":[{items.get(f.name, _PROBE)}]'
              for f in contract.fields if f.kind.is_list]
    return "{" + ",".join(parts) + "}"


_PROBE = '"BOOLEAN"'
_ADVOCATE_SHAPE = _shape(ADVOCATE)
_MEMBERSHIP_SHAPE = "{" + f'"{PROGRAMS}":[{_shape(MEMBERSHIP)}]' + "}"
_TASK_SHAPE = "{" + f'"{PROGRAMS}":[{_shape(MEMBERSHIP, {TASKS: _shape(TASK)})}]' + "}"


def _cleaned(contract: Contract, source: str, path: str, lists: dict[str, str]) -> str:
    """A query over `source` adding every scalar field's clean value (by the contract's
    kinds) and `issues`. `source` has each scalar field's JSON value (NULL when absent
    or null) in its `json_value` column and each list field's probe (NULL unless it is
    a list) in the column named in `lists`; `path` is the SQL for the record's JSON
    path in its document ('$' for the document itself). An issue the record alone
    cannot tell (a missing value's raw JSON: `null`, or nothing; whether a value that is
    not a list is there at all) carries the field's path, and `_issues_sql` asks the
    document, for those issues only."""
    scalars = _scalars(contract)
    texts = ", ".join(f"json_extract_string({f.json_value}, '$') AS {f.text}, "
                      f"json_type({f.json_value}) AS {f.json_type}" for f in scalars)
    values = ", ".join(f'{f.value()} AS "{f.name}"' for f in scalars)
    rules = ", ".join([*(f"{f.issue_rule()} AS {f.issue}" for f in scalars),
                       *(f"CASE WHEN {lists[f.name]} IS NULL THEN '{_ASK}' END AS {f.issue}"
                         for f in contract.fields if f.kind.is_list)])
    any_issue = " OR ".join(f"{f.issue} IS NOT NULL" for f in contract.fields)
    entries = ", ".join(
        f"{{'field': '{f.name}', 'rule': {f.issue}, "
        f"'raw': {'NULL' if f.kind.is_list else f'CAST({f.json_value} AS VARCHAR)'}, "
        f"'path': CASE WHEN {f.issue} IN ('{MISSING}', '{_ASK}') THEN {_at(path, f.name)} END}}"
        for f in contract.fields)
    issues = (f"CASE WHEN {any_issue} THEN list_filter([{entries}], lambda x: x.rule IS NOT NULL) "
              "END AS issues")
    helpers = ", ".join([*(f.text for f in scalars), *(f.json_type for f in scalars),
                         *(f.issue for f in contract.fields), *(f.json_value for f in scalars),
                         *lists.values()])
    return (f"SELECT * EXCLUDE ({helpers}), {issues} FROM (SELECT *, {rules} FROM "
            f"(SELECT *, {values} FROM (SELECT *, {texts} FROM ({source}))))")


# The rule of a list field whose value is not a list is asked of the document: the
# list kind's own rule (advocacy_programs and tasks_completed share the kind).
_ASK = "?"
_LIST = next(f for f in ADVOCATE.fields if f.kind.is_list)
_LIST_RULE = _LIST.issue_rule().replace(_LIST.json_type, "{kind}")


def _at(path: str, name: str) -> str:
    """SQL for the JSON path of field `name` of the record at `path`."""
    return f"'$.{name}'" if path == "'$'" else f"{path} || '.{name}'"


def _leaves(contract: Contract, struct: str) -> str:
    return ", ".join(f"{struct}.{f.name} AS {f.json_value}" for f in _scalars(contract))


def extract_records(warehouse: Warehouse) -> None:
    """Temp tables adv_docs (the documents to load), adv_a, adv_m, adv_t
    (advocates, memberships and tasks, cleaned, each with its `issues`) and adv_winners
    (the newest version of each advocate in the run: only its memberships' tasks are
    read)."""
    program = "'$." + PROGRAMS + "[' || (position - 1) || ']'"
    task = f"{program} || '.{TASKS}[' || (task_position - 1) || ']'"
    advocates = f"""
        SELECT file_id, ord, source_file, sha256, n, {_leaves(ADVOCATE, "a")},
               a.{PROGRAMS} AS programs_probe
        FROM (SELECT *, json_transform(document, '{_ADVOCATE_SHAPE}') AS a FROM adv_docs)"""
    memberships = f"""
        SELECT d.file_id, d.ord, a.advocate_id, d.position,
               a.advocate_id || '#' || d.position AS membership_id,
               {_leaves(MEMBERSHIP, "d.p")}, d.p.{TASKS} AS tasks_probe
        FROM (SELECT file_id, ord, unnest(generate_series(1, len(x.{PROGRAMS}))) AS position,
                     unnest(x.{PROGRAMS}) AS p
              FROM (SELECT file_id, ord, json_transform(document, '{_MEMBERSHIP_SHAPE}') AS x
                    FROM adv_docs)) d
        JOIN adv_a a USING (ord)"""
    # A task carries its membership's program and brand, cleaned as the membership's.
    program_id, brand = (next(f for f in MEMBERSHIP.fields if f.name == name)
                         for name in ("program_id", "brand"))
    programs = f"""
        SELECT file_id, ord, advocate_id, position, p,
               {_value_of(program_id, "p")} AS program_id, {_value_of(brand, "p")} AS brand
        FROM (SELECT file_id, ord, advocate_id,
                     unnest(generate_series(1, len(x.{PROGRAMS}))) AS position,
                     unnest(x.{PROGRAMS}) AS p
              FROM (SELECT d.file_id, d.ord, w.advocate_id,
                           json_transform(d.document, '{_TASK_SHAPE}') AS x
                    FROM adv_docs d JOIN adv_winners w USING (ord)))"""
    tasks = f"""
        SELECT file_id, ord, advocate_id, position, task_position,
               advocate_id || '#' || position AS membership_id, program_id, brand,
               advocate_id || '#' || position || '#' || task_position AS task_key,
               {_leaves(TASK, "t")}
        FROM (SELECT * EXCLUDE (p), unnest(generate_series(1, len(p.{TASKS}))) AS task_position,
                     unnest(p.{TASKS}) AS t
              FROM ({programs}))"""
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_docs AS
        SELECT i.file_id, f.ord, f.name AS source_file, r.text IS NOT NULL AS repaired,
               coalesce(CAST(r.text AS JSON), f.document) AS document, i.sha256, i.n
        FROM {STAGED} f JOIN adv_ids i USING (ord) LEFT JOIN adv_repaired r USING (ord)
        WHERE i.load AND (f.valid OR r.text IS NOT NULL);

        -- Without a valid user_id an advocate is known by its document's content: the
        -- same on every run and in every form of delivery, never random.
        CREATE OR REPLACE TEMP TABLE adv_a AS
        SELECT * EXCLUDE (sha256, n),
               coalesce(CAST(user_id AS VARCHAR), 'doc:' || sha256 || '#' || n) AS advocate_id
        FROM ({_cleaned(ADVOCATE, advocates, "'$'", {PROGRAMS: "programs_probe"})});

        -- The newest version of each advocate (latest file of this run) wins.
        CREATE OR REPLACE TEMP TABLE adv_winners AS
        SELECT advocate_id, max(ord) AS ord FROM adv_a GROUP BY advocate_id;

        CREATE OR REPLACE TEMP TABLE adv_m AS
        {_cleaned(MEMBERSHIP, memberships, program, {TASKS: "tasks_probe"})};

        CREATE OR REPLACE TEMP TABLE adv_t AS
        {_cleaned(TASK, tasks, task, {})};
    """)


def _value_of(f: Field, struct: str) -> str:
    """SQL for field `f`'s clean value from its JSON value in `struct`."""
    leaf = f"{struct}.{f.name}"
    return f.kind.value.format(s=f"json_extract_string({leaf}, '$')", t=f"json_type({leaf})",
                               p="NULL")


def _issues_sql(every_version_wins: bool) -> str:
    """The issues of the winning version of each advocate (the newest in the run), those
    that carry a path resolved from the document; a membership's or task's file name is
    its advocate's."""
    winning = "" if every_version_wins else " AND ord IN (SELECT ord FROM adv_winners)"
    parts = []
    for entity, table, key in (("advocate", "adv_a", "advocate_id"),
                               ("membership", "adv_m", "membership_id"),
                               ("task", "adv_t", "task_key")):
        parts.append(f"SELECT file_id, ord, '{entity}' AS entity, {key} AS record_key, "
                     f"advocate_id, unnest(issues) AS issue FROM {table} "
                     f"WHERE issues IS NOT NULL{winning}")
    return f"""
        SELECT file_id, source_file, entity, record_key, field, raw_value, rule, advocate_id
        FROM (
            SELECT r.file_id, a.source_file, r.entity, r.record_key, r.issue.field,
                   CASE WHEN r.issue.path IS NULL THEN r.issue.raw
                        ELSE CAST(json_extract(d.document, r.issue.path) AS VARCHAR)
                   END AS raw_value,
                   CASE WHEN r.issue.rule = '{_ASK}'
                        THEN {_LIST_RULE.format(kind="json_type(d.document, r.issue.path)")}
                        ELSE r.issue.rule END AS rule,
                   r.advocate_id
            FROM ({" UNION ALL ".join(parts)}) r
            JOIN adv_a a USING (ord)
            LEFT JOIN adv_docs d ON d.ord = r.ord AND r.issue.path IS NOT NULL
        )
        WHERE rule IS NOT NULL"""


_ADVOCATE_COLUMNS = ("user_id", "name", "email", "instagram_handle", "tiktok_handle",
                     "joined_at")


def merge(warehouse: Warehouse) -> None:
    """Replace every advocate this run carries by its newest version, with its
    memberships, tasks and issues; record changes. The engine works out every row; the
    destination receives them, and deletes the replaced advocates' rows."""
    columns = ", ".join(_ADVOCATE_COLUMNS)
    destination = warehouse.destination
    versions, winners = (int(n) for n in warehouse.query(
        "SELECT (SELECT count(*) FROM adv_a), (SELECT count(*) FROM adv_winners)").rows[0])
    every_version_wins = versions == winners
    # The ones the warehouse already holds: only they are replaced.
    warehouse.pull_for_keys(
        "SELECT advocate_id FROM adv_winners", "advocate_id VARCHAR",
        f"SELECT advocate_id, file_id, {columns} FROM advocacy.advocates "
        f"WHERE advocate_id IN (SELECT advocate_id FROM {KEYS_TABLE})", "adv_known")
    known = int(warehouse.scalar("SELECT count(*) FROM adv_known"))
    if known or not every_version_wins:
        _record_changes(warehouse)
    if known:
        with warehouse.keys_at_destination("SELECT advocate_id FROM adv_known",
                                           "advocate_id VARCHAR") as keys:
            for table in ("dq_issues", "tasks", "memberships", "advocates"):
                destination.execute(f"DELETE FROM advocacy.{table} "
                                    f"WHERE advocate_id IN (SELECT advocate_id FROM {keys})")
    winning = "" if every_version_wins else " WHERE ord IN (SELECT ord FROM adv_winners)"
    for table, names, source in _WINNER_TABLES:
        # Tasks are read for the winning versions only.
        where = "" if source == "adv_t" else winning
        destination.push(f"advocacy.{table}", names,
                         f"SELECT {', '.join(names)} FROM {source}{where}")
    _add_new_brands_and_programs(warehouse)
    destination.push("advocacy.raw_records", _RAW_COLUMNS,
                     f"SELECT {', '.join(_RAW_COLUMNS)} FROM adv_docs")
    destination.push("advocacy.dq_issues", _ISSUE_COLUMNS, _issues_sql(every_version_wins))


def _record_changes(warehouse: Warehouse) -> None:
    """Every changed field of an advocate the warehouse held, or that the run carries
    more than once: each version against the one before it (an advocate new to the
    warehouse with one version in the run has no change to record)."""
    columns = ", ".join(_ADVOCATE_COLUMNS)
    changes = "\nUNION ALL\n".join(
        f"SELECT advocate_id, '{c}' AS field, CAST(previous_{c} AS VARCHAR) AS old_value, "
        f"CAST({c} AS VARCHAR) AS new_value, previous_file_id AS old_file_id, "
        f"file_id AS new_file_id FROM versions WHERE previous_file_id IS NOT NULL "
        f"AND {c} IS DISTINCT FROM previous_{c}"
        for c in _ADVOCATE_COLUMNS)
    lagged = ", ".join(f"lag({c}) OVER w AS previous_{c}" for c in _ADVOCATE_COLUMNS)
    warehouse.destination.push("advocacy.advocate_changes", _CHANGE_COLUMNS, f"""
        WITH versions AS (
            SELECT *, lag(file_id) OVER w AS previous_file_id, {lagged}
            FROM (
                SELECT advocate_id, 0 AS ord, file_id, {columns} FROM adv_known
                UNION ALL
                SELECT advocate_id, ord, file_id, {columns} FROM adv_a
                WHERE advocate_id IN (SELECT advocate_id FROM adv_known UNION ALL
                                      SELECT advocate_id FROM adv_a GROUP BY advocate_id
                                      HAVING count(*) > 1)
            )
            WINDOW w AS (PARTITION BY advocate_id ORDER BY ord)
        )
        {changes}""")


def _add_new_brands_and_programs(warehouse: Warehouse) -> None:
    """Brands and programs the warehouse does not know yet (a program keeps the brand
    it was first seen with)."""
    destination = warehouse.destination
    warehouse.pull_for_keys(
        "SELECT DISTINCT brand FROM adv_m WHERE brand IS NOT NULL", "brand VARCHAR",
        f"SELECT brand FROM advocacy.brands WHERE brand IN (SELECT brand FROM {KEYS_TABLE})",
        "adv_known_brands")
    destination.push("advocacy.brands", ["brand"],
                     "SELECT DISTINCT brand FROM adv_m WHERE brand IS NOT NULL "
                     "AND brand NOT IN (SELECT brand FROM adv_known_brands)")
    warehouse.pull_for_keys(
        "SELECT DISTINCT program_id FROM adv_m WHERE program_id IS NOT NULL", "program_id UUID",
        f"SELECT program_id FROM advocacy.programs "
        f"WHERE program_id IN (SELECT program_id FROM {KEYS_TABLE})", "adv_known_programs")
    destination.push("advocacy.programs", ["program_id", "brand"],
                     "SELECT program_id, arg_min(brand, ord) AS brand FROM adv_m "
                     "WHERE program_id IS NOT NULL "
                     "AND program_id NOT IN (SELECT program_id FROM adv_known_programs) "
                     "GROUP BY program_id")


_CHANGE_COLUMNS = ("advocate_id", "field", "old_value", "new_value", "old_file_id",
                   "new_file_id")
_RAW_COLUMNS = ("file_id", "source_file", "repaired", "document", "sha256")
_ISSUE_COLUMNS = ("file_id", "source_file", "entity", "record_key", "field", "raw_value",
                  "rule", "advocate_id")
_WINNER_TABLES = (
    ("advocates", ("advocate_id", *_ADVOCATE_COLUMNS, "file_id"), "adv_a"),
    ("memberships", ("membership_id", "advocate_id", "program_id", "brand",
                     "total_sales_attributed", "file_id"), "adv_m"),
    ("tasks", ("task_key", "task_id", "membership_id", "advocate_id", "program_id", "brand",
               "platform", "post_url", "likes", "comments", "shares", "reach", "file_id"),
     "adv_t"),
)
