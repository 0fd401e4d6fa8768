"""The raw event's contract: every event the service logged, as it lands in the
warehouse (`events.raw_events`), keyed by its log id so that loading a segment again
changes nothing."""

from __future__ import annotations

from sluice import kinds
from sluice.contracts import Contract, Field, OnInvalid

TARGET = "events.raw_events"

CONTRACT = Contract(
    fields=(
        Field("id", kinds.STRING, required=True),
        Field("kind", kinds.STRING, required=True),
        Field("uuid", kinds.STRING, required=True),
        Field("symbol", kinds.STRING),
        Field("guess", kinds.BOOLEAN),
        Field("at", kinds.TIMESTAMP, required=True),
    ),
    key="id",
    on_invalid=OnInvalid.REJECT,
)
