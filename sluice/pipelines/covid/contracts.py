"""What a response's days become in the warehouse: `covid.observations`, one row for
each day each response stated, keyed by `observation_key` (country, day and the
response's checksum). Every response's word on every day is kept, so a later response
that changes a day is a revision the models can show (old value, new value, both
responses), never a silent overwrite; the latest word on a day is `covid.cases`.

The same day twice in one response is a duplicate when the figures agree and a conflict,
quarantined, when they do not. A day that is not a country's confirmed cumulative count
(a bad date, a count that is not a whole number, a province's figure, another status) is
quarantined with every reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from sluice import kinds
from sluice.contracts import DUPLICATE_FIELD, INVALID_JSON, NOT_AN_OBJECT, Contract, Field
from sluice.pipelines.covid.settings import TARGET as TARGET
from sluice.staging import ContractLines, sql_string

CONTRACT = Contract(
    fields=(
        Field("observation_key", kinds.STRING, required=True),
        Field("country", kinds.STRING, required=True),
        Field("day", kinds.DATE, required=True),
        Field("cumulative", kinds.BIGINT, required=True),
        Field("response", kinds.STRING, required=True),  # the response's sha256
        Field("source", kinds.STRING, required=True),  # its URL or file
        Field("as_of", kinds.TIMESTAMP, required=True),  # when it was fetched
    ),
    key="observation_key",
)

# The API's fields that sluice reads, in the order the reader extracts them.
READ_FIELDS = ("Country", "Province", "City", "Status", "Date", "Cases")
CONFIRMED = "confirmed"
DATE_FORMS = "YYYY-MM-DD or YYYY-MM-DDT00:00:00Z"
# The first cases were reported in December 2019: an earlier day is a broken date, and
# would stretch every series' calendar back to it.
FIRST_DAY = "2019-12-01"
_DAY = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"


@dataclass(frozen=True)
class Response:
    """The constants of one response: what every one of its days carries."""

    sha256: str
    source: str
    as_of: str  # UTC, ISO 8601 without an offset


@dataclass(frozen=True)
class CovidRecords(ContractLines):
    """The `staging.RecordReader` of a landed response: one element of the API's array
    a line (`land.landed_lines`)."""

    contract = CONTRACT
    response: Response

    def records_sql(self, source: str) -> str:
        """Every line of `source`: `blank`, the target's columns for a good day, and for
        a bad one its `reasons` and `raw` line."""
        paths = "[" + ", ".join(f"'$.\"{name}\"'" for name in READ_FIELDS) + "]"
        names = ", ".join(f"'{name}'" for name in READ_FIELDS)
        cases = kinds.COUNT.value.format(s="cases_text", t="cases_type", p="")
        cases_problem = kinds.COUNT.problem.format(s="cases_text", t="cases_type", p="")
        response = self.response
        as_of = f"CAST({sql_string(response.as_of)} AS TIMESTAMP)"
        return f"""
            SELECT blank, CASE WHEN ok THEN concat_ws('|', country, CAST("day" AS VARCHAR),
                                                    {sql_string(response.sha256)}) END
                              AS observation_key,
                   CASE WHEN ok THEN country END AS country,
                   CASE WHEN ok THEN "day" END AS "day",
                   CASE WHEN ok THEN cumulative END AS cumulative,
                   CASE WHEN ok THEN {sql_string(response.sha256)} END AS response,
                   CASE WHEN ok THEN {sql_string(response.source)} END AS source,
                   CASE WHEN ok THEN {as_of} END AS as_of,
                   CASE WHEN NOT ok AND NOT blank THEN reasons END AS reasons,
                   CASE WHEN NOT ok AND NOT blank THEN line END AS raw
            FROM (
                SELECT *, NOT blank AND len(reasons) = 0 AS ok
                FROM (
                    SELECT *, CASE
                        WHEN v IS NULL THEN ['{INVALID_JSON}']
                        WHEN json_type(line) <> 'OBJECT' THEN ['{NOT_AN_OBJECT}']
                        ELSE list_concat({_repeated_fields_reasons()}, list_filter([
                            CASE WHEN country_text IS NULL THEN 'missing Country'
                                 WHEN country_type <> 'VARCHAR' THEN 'Country is not text'
                                 WHEN country IS NULL THEN 'Country is blank' END,
                            {_part_reason("Province", "province_text", "province_type")},
                            {_part_reason("City", "city_text", "city_type")},
                            CASE WHEN status_text IS NOT NULL
                                      AND lower(status_text) <> '{CONFIRMED}'
                                 THEN 'Status is ' || {_quoted("status_text")}
                                      || ', not {CONFIRMED}' END,
                            CASE WHEN date_text IS NULL THEN 'missing Date'
                                 WHEN "day" IS NULL
                                 THEN 'Date is not a day ({DATE_FORMS})'
                                 WHEN "day" < DATE '{FIRST_DAY}'
                                 THEN 'Date is before COVID-19 ({FIRST_DAY})'
                                 WHEN "day" > CAST({as_of} AS DATE) + 1
                                 THEN 'Date is after the response was fetched' END,
                            CASE WHEN cases_text IS NULL THEN 'missing Cases'
                                 WHEN cumulative IS NULL THEN 'Cases is ' || ({cases_problem})
                            END
                        ], lambda r: r IS NOT NULL)) END AS reasons
                    FROM (
                        SELECT *,
                               CASE WHEN country_type = 'VARCHAR' AND trim(country_text) <> ''
                                    THEN trim(country_text) END AS country,
                               CASE WHEN date_text GLOB '{_DAY}'
                                         OR date_text GLOB '{_DAY}T00:00:00Z'
                                         OR date_text GLOB '{_DAY}T00:00:00+00:00'
                                    THEN TRY_CAST(substr(date_text, 1, 10) AS DATE)
                               END AS "day",
                               {cases} AS cumulative
                        FROM (
                            SELECT line, blank, v, repeated,
                                   v[1] AS country_text, v[2] AS province_text,
                                   v[3] AS city_text, v[4] AS status_text,
                                   v[5] AS date_text, v[6] AS cases_text,
                                   json_type(line, '$."Country"') AS country_type,
                                   json_type(line, '$."Province"') AS province_type,
                                   json_type(line, '$."City"') AS city_type,
                                   json_type(line, '$."Cases"') AS cases_type
                            FROM (
                                SELECT line, blank, v,
                                       CASE WHEN v IS NOT NULL THEN list_filter([{names}],
                                           lambda n: len(list_filter(json_keys(line),
                                                                     lambda k: k = n)) > 1)
                                       END AS repeated
                                FROM (
                                    SELECT line, line IS NULL OR trim(line) = '' AS blank,
                                           CASE WHEN json_valid(line)
                                                THEN json_extract_string(line, {paths})
                                           END AS v
                                    FROM {source}
                                )
                            )
                        )
                    )
                )
            )"""


def _repeated_fields_reasons() -> str:
    """A reason for each read field the object repeats (the engine would silently
    take one of its values)."""
    return f"list_transform(repeated, lambda n: '{DUPLICATE_FIELD} ' || n)"


def _part_reason(name: str, text: str, json_type: str) -> str:
    """A figure for a part of the country (a province, a city) is not the country's."""
    return (f"CASE WHEN {json_type} IS NOT NULL AND {json_type} <> 'NULL' "
            f"AND NOT ({json_type} = 'VARCHAR' AND trim({text}) = '') "
            f"THEN '{name} is ' || {_quoted(text)} || ': a part of the country, not the "
            "country''s own figure' END")


def _quoted(text: str) -> str:
    return f"'''' || {text} || ''''"
