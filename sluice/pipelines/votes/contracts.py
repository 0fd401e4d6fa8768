"""The vote record's contract: every field strict; a record that breaks it is rejected,
with every reason, and kept in quarantine."""

from __future__ import annotations

from sluice import kinds
from sluice.contracts import Contract, Field, OnInvalid

CONTRACT = Contract(
    fields=(
        Field("Id", kinds.BIGINT, required=True),
        Field("PostId", kinds.BIGINT, required=True),
        Field("VoteTypeId", kinds.SMALLINT, required=True),
        Field("CreationDate", kinds.TIMESTAMP, required=True),
        Field("UserId", kinds.BIGINT),
        Field("BountyAmount", kinds.INTEGER),
    ),
    key="Id",
    on_invalid=OnInvalid.REJECT,
)
