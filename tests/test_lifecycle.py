"""The one run lifecycle, through its Python API, on both destinations: a run commits
whole with its ledger rows, or fails its balance check and leaves nothing; inputs that
are not files (an HTTP response, a batch of events) are known by identity and checksum."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from postgres_server import postgres_url

from sluice import ledger
from sluice.errors import LedgerMismatch
from sluice.ledger import InputFile
from sluice.lifecycle import committing, recorded_run
from sluice.warehouse import Warehouse

__all__ = ["postgres_url"]  # the fixture, used by name

BODY = b'[{"symbol": "ABC", "price": 1.5}, {"symbol": "XYZ", "price": 2}]'
URL = "https://api.example.com/v1/events?page=1"


@pytest.fixture(params=["duckdb", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SLUICE_QUARANTINE_DIR", str(tmp_path / "q"))
    if request.param == "duckdb":
        return str(tmp_path / "w.db")
    return str(request.getfixturevalue("postgres_url"))


def _receive(warehouse: Warehouse, read: int, loaded: int) -> int:
    with recorded_run(warehouse, "events", "receive") as run:
        response = InputFile.of_bytes(URL, BODY, file_id=ledger.next_file_id(warehouse))
        response.records_read, response.loaded = read, loaded
        run.files.append(response)
        with committing(warehouse, run):
            pass
    return run.run_id


def test_an_input_that_is_not_a_file_is_known_by_identity_and_checksum(location: str) -> None:
    with Warehouse(location) as warehouse:
        run_id = _receive(warehouse, read=2, loaded=2)
        rows = warehouse.destination.query(
            "SELECT run_id, path, size, modified_ns, sha256, status, records_read, loaded "
            "FROM sluice.files").rows
        assert rows == [(run_id, URL, len(BODY), 0, hashlib.sha256(BODY).hexdigest(),
                         "loaded", 2, 2)]
        # The same bytes delivered again are known, whatever they are called.
        assert ledger.already_loaded(warehouse, "events", hashlib.sha256(BODY).hexdigest()) == URL
        status = warehouse.destination.scalar(
            "SELECT status FROM sluice.runs WHERE run_id = ?", [run_id])
        assert status == "succeeded"


def test_a_run_that_does_not_balance_leaves_nothing_but_its_failure(location: str) -> None:
    with Warehouse(location) as warehouse:
        with pytest.raises(LedgerMismatch, match="read 2 != loaded 1"):
            _receive(warehouse, read=2, loaded=1)
        assert warehouse.destination.scalar("SELECT count(*) FROM sluice.files") == 0
        run = warehouse.destination.query(
            "SELECT status, records_read, error FROM sluice.runs").rows
        assert len(run) == 1 and run[0][:2] == ("failed", None)
        assert "read 2 != loaded 1" in run[0][2]
