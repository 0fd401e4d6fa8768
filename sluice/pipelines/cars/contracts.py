"""The training data's contract: every line of a Car Evaluation file (no header, seven
values) as it lands in the warehouse (`cars.evaluations`), keyed by `car_key`, the six
inputs joined: the same car delivered again is a duplicate, and the same inputs with
another class a conflict, quarantined with its reason. A line that is not seven known
values is quarantined with every reason."""

from __future__ import annotations

from dataclasses import dataclass

from sluice import kinds
from sluice.contracts import Contract, Field, OnInvalid
from sluice.pipelines.cars.dataset import ATTRIBUTES, LEVELS
from sluice.pipelines.cars.settings import KEY
from sluice.pipelines.cars.settings import TARGET as TARGET
from sluice.staging import ContractLines

INPUTS = ATTRIBUTES[:-1]

CONTRACT = Contract(
    fields=(*(Field(name, kinds.STRING, required=True) for name in ATTRIBUTES),
            Field(KEY, kinds.STRING, required=True)),
    key=KEY,
    on_invalid=OnInvalid.REJECT,
)


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class CarRecords(ContractLines):
    """The `staging.RecordReader` of Car Evaluation files: one line, one car."""

    contract = CONTRACT

    def records_sql(self, source: str) -> str:
        """Every line of `source`: `blank`, the seven values and `car_key` for a good
        line, and for a broken one its `reasons` and `raw` line."""
        values = ",\n".join(
            f"CASE WHEN n = 7 THEN trim(cells[{place}]) END AS \"v_{name}\""
            for place, name in enumerate(ATTRIBUTES, 1))
        checks = ",\n".join(
            f"\"v_{name}\" IN ({', '.join(_text(level) for level in LEVELS[name])}) "
            f"AS \"ok_{name}\"" for name in ATTRIBUTES)
        reasons = ", ".join(
            f"CASE WHEN n = 7 AND NOT \"ok_{name}\" THEN {_text(name + ' ' + chr(39))} || "
            f"\"v_{name}\" || {_text(chr(39) + ' is not one of ' + ', '.join(LEVELS[name]))} "
            "END"
            for name in ATTRIBUTES)
        good = " AND ".join(f"\"ok_{name}\"" for name in ATTRIBUTES)
        columns = ", ".join(f"CASE WHEN ok THEN \"v_{name}\" END AS \"{name}\""
                            for name in ATTRIBUTES)
        key = "concat_ws('|', " + ", ".join(f"\"v_{name}\"" for name in INPUTS) + ")"
        return f"""
            SELECT blank, {columns}, CASE WHEN ok THEN {key} END AS car_key,
                   CASE WHEN NOT ok AND NOT blank THEN
                       CASE WHEN n <> 7 THEN ['has ' || n || ' values, expected 7']
                            ELSE list_filter([{reasons}], lambda r: r IS NOT NULL) END
                   END AS reasons,
                   CASE WHEN NOT ok AND NOT blank THEN line END AS raw
            FROM (
                SELECT *, NOT blank AND n = 7 AND coalesce({good}, false) AS ok
                FROM (
                    SELECT *, {checks}
                    FROM (
                        SELECT *, {values}
                        FROM (
                            SELECT line, blank, cells, len(cells) AS n
                            FROM (
                                SELECT line, line IS NULL OR trim(line) = '' AS blank,
                                       string_split(line, ',') AS cells
                                FROM {source}
                            )
                        )
                    )
                )
            )"""
