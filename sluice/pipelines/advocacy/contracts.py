"""The advocacy records' contracts: an advocate, each of its program memberships, each
task of a membership. A value that does not fit becomes NULL, and the rule it broke a
data-quality issue (`advocacy.dq_issues`); the record itself is kept."""

from __future__ import annotations

from sluice import kinds
from sluice.contracts import Contract, Field, OnInvalid

ADVOCATE = Contract(
    fields=(
        Field("user_id", kinds.UUID),
        Field("name", kinds.NAME),
        Field("email", kinds.EMAIL),
        Field("instagram_handle", kinds.HANDLE),
        Field("tiktok_handle", kinds.HANDLE),
        Field("joined_at", kinds.UTC_TIMESTAMP),
        Field("advocacy_programs", kinds.LIST),
    ),
    on_invalid=OnInvalid.ISSUE,
)
MEMBERSHIP = Contract(
    fields=(
        Field("program_id", kinds.UUID),
        Field("brand", kinds.TEXT),
        Field("total_sales_attributed", kinds.MONEY),
        Field("tasks_completed", kinds.LIST),
    ),
    on_invalid=OnInvalid.ISSUE,
)
TASK = Contract(
    fields=(
        Field("task_id", kinds.UUID),
        Field("platform", kinds.PLATFORM),
        Field("post_url", kinds.URL),
        Field("likes", kinds.COUNT),
        Field("comments", kinds.COUNT),
        Field("shares", kinds.COUNT),
        Field("reach", kinds.COUNT),
    ),
    on_invalid=OnInvalid.ISSUE,
)
