"""Advocates, memberships and tasks out of the staged JSON documents, cleaned in SQL by
their contracts (`contracts.py`), and merged into the warehouse: the newest version of an advocate
(the latest file of the run) wins and every changed field is recorded."""

from __future__ import annotations

from sluice.pipelines.advocacy.contracts import ADVOCATE, MEMBERSHIP, TASK
from sluice.pipelines.advocacy.sources import STAGED
from sluice.warehouse import KEYS_TABLE, Warehouse


def extract_records(warehouse: Warehouse) -> None:
    """Temp tables adv_a, adv_m, adv_t: advocates, memberships and tasks, cleaned, with
    the raw JSON value of every field and the rule it broke."""
    advocates = f"""
        SELECT file_id, ord, source_file, sha256, n, {ADVOCATE.json_columns("document")},
               json_extract(document, '$.advocacy_programs[*]') AS programs
        FROM adv_docs"""
    memberships = f"""
        SELECT file_id, ord, source_file, advocate_id, position,
               advocate_id || '#' || position AS membership_id,
               {MEMBERSHIP.json_columns("program")},
               json_extract(program, '$.tasks_completed[*]') AS tasks
        FROM (SELECT file_id, ord, source_file, advocate_id,
                     unnest(generate_series(1, len(programs))) AS position,
                     unnest(programs) AS program
              FROM adv_a)"""
    tasks = f"""
        SELECT file_id, ord, source_file, advocate_id, membership_id, program_id, brand,
               membership_id || '#' || position AS task_key,
               {TASK.json_columns("task")}
        FROM (SELECT file_id, ord, source_file, advocate_id, membership_id, program_id,
                     brand, unnest(generate_series(1, len(tasks))) AS position,
                     unnest(tasks) AS task
              FROM adv_m)"""
    warehouse.execute(f"""
        CREATE OR REPLACE TEMP TABLE adv_docs AS
        SELECT i.file_id, f.ord, f.name AS source_file, r.text IS NOT NULL AS repaired,
               CAST(coalesce(r.text, f.text) AS JSON) AS document, i.sha256, i.n
        FROM {STAGED} f JOIN adv_ids i USING (ord) LEFT JOIN adv_repaired r USING (ord)
        WHERE i.load AND (f.valid OR r.text IS NOT NULL);

        -- Without a valid user_id an advocate is known by its document's content: the
        -- same on every run and in every form of delivery, never random.
        CREATE OR REPLACE TEMP TABLE adv_a AS
        SELECT * EXCLUDE (sha256, n),
               coalesce(CAST(user_id AS VARCHAR), 'doc:' || sha256 || '#' || n) AS advocate_id
        FROM ({ADVOCATE.cleaned(advocates)});

        CREATE OR REPLACE TEMP TABLE adv_m AS
        {MEMBERSHIP.cleaned(memberships)};

        CREATE OR REPLACE TEMP TABLE adv_t AS
        {TASK.cleaned(tasks)};
    """)


def _issues_sql() -> str:
    """The issues of the winning version of each advocate (the newest in the run)."""
    parts = []
    for entity, table, key, contract in (
        ("advocate", "adv_a", "advocate_id", ADVOCATE),
        ("membership", "adv_m", "membership_id", MEMBERSHIP),
        ("task", "adv_t", "task_key", TASK),
    ):
        for f in contract.fields:
            parts.append(
                f"SELECT file_id, source_file, '{entity}' AS entity, {key} AS record_key, "
                f"'{f.name}' AS field, CAST({f.json_value} AS VARCHAR) AS raw_value, "
                f"{f.issue} AS rule, advocate_id FROM {table} "
                f"SEMI JOIN adv_winners USING (advocate_id, ord) "
                f"WHERE {f.issue} IS NOT NULL")
    return "\nUNION ALL\n".join(parts)


_ADVOCATE_COLUMNS = ("user_id", "name", "email", "instagram_handle", "tiktok_handle",
                     "joined_at")


def merge(warehouse: Warehouse) -> None:
    """Replace every advocate this run carries by its newest version, with its
    memberships, tasks and issues; record changes. The engine works out every row; the
    destination receives them, and deletes the replaced advocates' rows."""
    columns = ", ".join(_ADVOCATE_COLUMNS)
    changes = "\nUNION ALL\n".join(
        f"SELECT advocate_id, '{c}' AS field, CAST(previous_{c} AS VARCHAR) AS old_value, "
        f"CAST({c} AS VARCHAR) AS new_value, previous_file_id AS old_file_id, "
        f"file_id AS new_file_id FROM versions WHERE previous_file_id IS NOT NULL "
        f"AND {c} IS DISTINCT FROM previous_{c}"
        for c in _ADVOCATE_COLUMNS)
    lagged = ", ".join(f"lag({c}) OVER w AS previous_{c}" for c in _ADVOCATE_COLUMNS)
    destination = warehouse.destination
    # The newest version of each advocate (latest file of this run) wins.
    warehouse.execute("CREATE OR REPLACE TEMP TABLE adv_winners AS "
                      "SELECT advocate_id, max(ord) AS ord FROM adv_a GROUP BY advocate_id")
    # The ones the warehouse already holds: only they are replaced.
    warehouse.pull_for_keys(
        "SELECT advocate_id FROM adv_winners", "advocate_id VARCHAR",
        f"SELECT advocate_id, file_id, {columns} FROM advocacy.advocates "
        f"WHERE advocate_id IN (SELECT advocate_id FROM {KEYS_TABLE})", "adv_known")
    destination.push("advocacy.advocate_changes", _CHANGE_COLUMNS, f"""
        WITH versions AS (
            SELECT *, lag(file_id) OVER w AS previous_file_id, {lagged}
            FROM (
                SELECT advocate_id, 0 AS ord, file_id, {columns} FROM adv_known
                UNION ALL
                SELECT advocate_id, ord, file_id, {columns} FROM adv_a
            )
            WINDOW w AS (PARTITION BY advocate_id ORDER BY ord)
        )
        {changes}""")
    with warehouse.keys_at_destination("SELECT advocate_id FROM adv_known",
                                       "advocate_id VARCHAR") as known:
        for table in ("dq_issues", "tasks", "memberships", "advocates"):
            destination.execute(f"DELETE FROM advocacy.{table} "
                                f"WHERE advocate_id IN (SELECT advocate_id FROM {known})")
    winning = "SEMI JOIN adv_winners USING (advocate_id, ord)"
    for table, names, source in _WINNER_TABLES:
        destination.push(f"advocacy.{table}", names,
                         f"SELECT {', '.join(names)} FROM {source} {winning}")
    _add_new_brands_and_programs(warehouse)
    destination.push("advocacy.raw_records", _RAW_COLUMNS,
                     f"SELECT {', '.join(_RAW_COLUMNS)} FROM adv_docs")
    destination.push("advocacy.dq_issues", _ISSUE_COLUMNS, _issues_sql())


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
