"""Advocates, memberships and tasks out of the staged JSON documents, cleaned in SQL by
the rules in `rules.py`, and merged into the warehouse: the newest version of an advocate
(the latest file of the run) wins and every changed field is recorded."""

from __future__ import annotations

from sluice.pipelines.advocacy import rules
from sluice.pipelines.advocacy.sources import STAGED
from sluice.warehouse import Warehouse


def extract_records(warehouse: Warehouse) -> None:
    """Temp tables adv_a, adv_m, adv_t: advocates, memberships and tasks, cleaned, with
    the raw JSON value of every field and the rule it broke."""
    a, m, t = rules.ADVOCATE_FIELDS, rules.PROGRAM_FIELDS, rules.TASK_FIELDS
    advocates = f"""
        SELECT file_id, ord, source_file, sha256, n, {rules.extract_columns(a, "document")},
               json_extract(document, '$.advocacy_programs[*]') AS programs
        FROM adv_docs"""
    memberships = f"""
        SELECT file_id, ord, source_file, advocate_id, position,
               advocate_id || '#' || position AS membership_id,
               {rules.extract_columns(m, "program")},
               json_extract(program, '$.tasks_completed[*]') AS tasks
        FROM (SELECT file_id, ord, source_file, advocate_id,
                     unnest(generate_series(1, len(programs))) AS position,
                     unnest(programs) AS program
              FROM adv_a)"""
    tasks = f"""
        SELECT file_id, ord, source_file, advocate_id, membership_id, program_id, brand,
               membership_id || '#' || position AS task_key,
               {rules.extract_columns(t, "task")}
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
        SELECT * EXCLUDE ({rules.helper_columns(a)}, sha256, n),
               coalesce(CAST(user_id AS VARCHAR), 'doc:' || sha256 || '#' || n) AS advocate_id
        FROM ({rules.typed_sql(a, advocates)});

        CREATE OR REPLACE TEMP TABLE adv_m AS
        SELECT * EXCLUDE ({rules.helper_columns(m)}) FROM ({rules.typed_sql(m, memberships)});

        CREATE OR REPLACE TEMP TABLE adv_t AS
        SELECT * EXCLUDE ({rules.helper_columns(t)}) FROM ({rules.typed_sql(t, tasks)});
    """)


def _issues_sql() -> str:
    """The issues of the winning version of each advocate (the newest in the run)."""
    parts = []
    for entity, table, key, fields in (
        ("advocate", "adv_a", "advocate_id", rules.ADVOCATE_FIELDS),
        ("membership", "adv_m", "membership_id", rules.PROGRAM_FIELDS),
        ("task", "adv_t", "task_key", rules.TASK_FIELDS),
    ):
        for rule in fields:
            parts.append(
                f"SELECT file_id, source_file, '{entity}' AS entity, {key} AS record_key, "
                f"'{rule.field}' AS field, CAST({rule.column()} AS VARCHAR) AS raw_value, "
                f"{rule.field}__issue AS rule, advocate_id FROM {table} "
                f"SEMI JOIN adv_winners USING (advocate_id, ord) "
                f"WHERE {rule.field}__issue IS NOT NULL")
    return "\nUNION ALL\n".join(parts)


_ADVOCATE_COLUMNS = ("user_id", "name", "email", "instagram_handle", "tiktok_handle",
                     "joined_at")


def merge(warehouse: Warehouse) -> None:
    """Replace every advocate this run carries by its newest version, with its
    memberships, tasks and issues; record changes."""
    columns = ", ".join(_ADVOCATE_COLUMNS)
    changes = "\nUNION ALL\n".join(
        f"SELECT advocate_id, '{c}', CAST(previous_{c} AS VARCHAR), CAST({c} AS VARCHAR), "
        f"previous_file_id, file_id FROM versions WHERE previous_file_id IS NOT NULL "
        f"AND {c} IS DISTINCT FROM previous_{c}"
        for c in _ADVOCATE_COLUMNS)
    lagged = ", ".join(f"lag({c}) OVER w AS previous_{c}" for c in _ADVOCATE_COLUMNS)
    warehouse.execute(f"""
        -- The newest version of each advocate (latest file of this run) wins.
        CREATE OR REPLACE TEMP TABLE adv_winners AS
        SELECT advocate_id, max(ord) AS ord FROM adv_a GROUP BY advocate_id;

        -- The ones the warehouse already holds: only they are replaced.
        CREATE OR REPLACE TEMP TABLE adv_known AS
        SELECT advocate_id FROM advocacy.advocates SEMI JOIN adv_winners USING (advocate_id);

        INSERT INTO advocacy.advocate_changes
        WITH versions AS (
            SELECT *, lag(file_id) OVER w AS previous_file_id, {lagged}
            FROM (
                SELECT advocate_id, 0 AS ord, file_id, {columns} FROM advocacy.advocates
                SEMI JOIN adv_known USING (advocate_id)
                UNION ALL
                SELECT advocate_id, ord, file_id, {columns} FROM adv_a
            )
            WINDOW w AS (PARTITION BY advocate_id ORDER BY ord)
        )
        {changes};

        DELETE FROM advocacy.dq_issues WHERE advocate_id IN (SELECT advocate_id FROM adv_known);
        DELETE FROM advocacy.tasks WHERE advocate_id IN (SELECT advocate_id FROM adv_known);
        DELETE FROM advocacy.memberships WHERE advocate_id IN (SELECT advocate_id FROM adv_known);
        DELETE FROM advocacy.advocates WHERE advocate_id IN (SELECT advocate_id FROM adv_known);

        INSERT INTO advocacy.advocates
        SELECT advocate_id, {columns}, file_id FROM adv_a SEMI JOIN adv_winners USING (advocate_id, ord);

        INSERT INTO advocacy.memberships
        SELECT membership_id, advocate_id, program_id, brand, total_sales_attributed, file_id
        FROM adv_m SEMI JOIN adv_winners USING (advocate_id, ord);

        INSERT INTO advocacy.tasks
        SELECT task_key, task_id, membership_id, advocate_id, program_id, brand, platform,
               post_url, likes, comments, shares, reach, file_id
        FROM adv_t SEMI JOIN adv_winners USING (advocate_id, ord);

        INSERT INTO advocacy.brands
        SELECT DISTINCT brand FROM adv_m WHERE brand IS NOT NULL
        AND brand NOT IN (SELECT brand FROM advocacy.brands);

        INSERT INTO advocacy.programs
        SELECT program_id, arg_min(brand, ord) FROM adv_m WHERE program_id IS NOT NULL
        AND program_id NOT IN (SELECT program_id FROM advocacy.programs)
        GROUP BY program_id;

        INSERT INTO advocacy.raw_records BY NAME
        SELECT file_id, source_file, repaired, document, sha256 FROM adv_docs;

        INSERT INTO advocacy.dq_issues BY NAME
        {_issues_sql()};
    """)
