"""Members: one per membership id of the successful applications.

The applications pipeline keeps successful applications in `applications.successful`;
two applicants can share a membership id (same last name and birthday). The shop has one
member per id: `applicants` counts the applications holding it, and the names, email and
birthday are the first application's (lowest `_file_id`, then lowest `application_key`,
so that a later application never changes who the member is shown as). A member is never
deleted: transactions refer to it.

The refresh runs where both tables are, at the destination, as one statement both
PostgreSQL and DuckDB read: no rows travel through the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sluice.destinations import is_postgres_url
from sluice.errors import UsageError
from sluice.warehouse import Warehouse, resolve_location

SOURCE_SCHEMA, SOURCE_TABLE = "applications", "successful"
SOURCE = f"{SOURCE_SCHEMA}.{SOURCE_TABLE}"
NO_MEMBERS = "no members yet: run sluice applications run first"

# New membership ids are inserted; a known one is updated only when its first
# application or its count of applicants changed, so that a refresh with nothing new
# writes nothing.
REFRESH_SQL = f"""
INSERT INTO shop.members AS m
    (membership_id, first_name, last_name, email, date_of_birth, applicants)
SELECT membership_id, first_name, last_name, email, date_of_birth, applicants
FROM (
    SELECT membership_id, first_name, last_name, email, date_of_birth,
           count(*) OVER (PARTITION BY membership_id) AS applicants,
           row_number() OVER (PARTITION BY membership_id
                              ORDER BY _file_id NULLS LAST, application_key) AS nth
    FROM {SOURCE}
    WHERE membership_id IS NOT NULL
) AS a
WHERE nth = 1
ON CONFLICT (membership_id) DO UPDATE SET
    first_name = excluded.first_name, last_name = excluded.last_name,
    email = excluded.email, date_of_birth = excluded.date_of_birth,
    applicants = excluded.applicants
WHERE m.first_name IS DISTINCT FROM excluded.first_name
   OR m.last_name IS DISTINCT FROM excluded.last_name
   OR m.email IS DISTINCT FROM excluded.email
   OR m.date_of_birth IS DISTINCT FROM excluded.date_of_birth
   OR m.applicants IS DISTINCT FROM excluded.applicants
"""


@dataclass(frozen=True)
class Members:
    """The members after a refresh: how many, how many shared, how many new."""

    membership_ids: int
    shared: int
    new: int

    def as_dict(self) -> dict[str, int]:
        return {"membership_ids": self.membership_ids, "shared": self.shared, "new": self.new}


def check_warehouse_exists(location: str | None) -> None:
    """A DuckDB warehouse file that does not exist has no members: say so before
    opening it (opening would create it)."""
    resolved = resolve_location(location)
    if not is_postgres_url(resolved) and "://" not in resolved and not Path(resolved).exists():
        raise UsageError(f"{NO_MEMBERS} (warehouse {resolved} does not exist)")


def require_applications(warehouse: Warehouse) -> int:
    """The number of successful applications with a membership id; a usage error when
    there are none."""
    destination = warehouse.destination
    if not destination.table_exists(SOURCE_SCHEMA, SOURCE_TABLE):
        raise UsageError(NO_MEMBERS)
    count = int(destination.scalar(
        f"SELECT count(*) FROM {SOURCE} WHERE membership_id IS NOT NULL") or 0)
    if not count:
        raise UsageError(NO_MEMBERS)
    return count


def membership_ids(warehouse: Warehouse) -> list[str]:
    """Every membership id of the successful applications, sorted (for the generator)."""
    require_applications(warehouse)
    return [str(row[0]) for row in warehouse.destination.query(
        f"SELECT DISTINCT membership_id FROM {SOURCE} WHERE membership_id IS NOT NULL "
        "ORDER BY membership_id").rows]


def refresh(warehouse: Warehouse) -> Members:
    """Bring shop.members up to date with the successful applications; call inside the
    run's transaction."""
    destination = warehouse.destination
    before = int(destination.scalar("SELECT count(*) FROM shop.members"))
    destination.execute(REFRESH_SQL)
    total, shared = destination.query(
        "SELECT count(*), count(*) FILTER (WHERE applicants > 1) FROM shop.members").rows[0]
    return Members(int(total), int(shared or 0), int(total) - before)
