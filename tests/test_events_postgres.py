"""The event log into a real PostgreSQL warehouse, against the same log into a DuckDB
file: the same raw events, ledger totals and report; a second ingest changes nothing."""

from __future__ import annotations

from pathlib import Path

from postgres_server import postgres_url
from test_events_load import write_events

from conftest import sluice_json

__all__ = ["postgres_url"]  # the fixture, used by name


def test_the_log_lands_alike_in_postgresql_and_duckdb(tmp_path: Path, postgres_url: str) -> None:
    write_events(tmp_path / "log", 90)
    reports, runs = [], []
    for warehouse in (str(tmp_path / "w.db"), postgres_url):
        env = {"SLUICE_WAREHOUSE": warehouse, "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
        runs.append(sluice_json("events", "ingest", "--log", "log", cwd=tmp_path, env=env))
        again = sluice_json("events", "ingest", "--log", "log", cwd=tmp_path, env=env)
        assert again == {"run": None}  # nothing the warehouse lacks
        reports.append(sluice_json("events", "report", cwd=tmp_path, env=env))
    totals = [{k: run[k] for k in ("files", "read", "loaded", "duplicates", "rejected")}
              for run in runs]
    assert totals[0] == totals[1] and totals[0]["loaded"] == 90
    assert reports[0] == reports[1]
    assert {r["kind"]: r["events"] for r in reports[0]["events"]} == {"initial": 68,
                                                                      "followup": 22}
    # u2, u6, ... each followed up once on the uuid opened just before (symbols a b c).
    assert sum(r["followups"] for r in reports[0]["symbols"]) == 22
