"""Closed log segments into the warehouse through the core's ingest: every event, once."""

from __future__ import annotations

from pathlib import Path

from conftest import query
from sluice.pipelines.events.load import load_segments
from sluice.pipelines.events.log import EventLog, read_all, segments
from sluice.warehouse import Warehouse


def write_events(folder: Path, n: int, segment_bytes: int = 1_500) -> list[str]:
    log = EventLog(folder, segment_bytes=segment_bytes)
    ids = []
    for i in range(n):
        if i % 4 == 3:
            ids.append(log.write({"kind": "followup", "uuid": f"u{i - 1}", "symbol": None,
                                  "guess": None, "at": f"2026-11-25 10:00:{i % 60:02d}.000001"}))
        else:
            ids.append(log.write({"kind": "initial", "uuid": f"u{i}", "symbol": "abc"[i % 3],
                                  "guess": i % 2 == 0,
                                  "at": f"2026-11-25 10:00:{i % 60:02d}.123456"}))
    log.close()
    return ids


def test_closed_segments_land_once_and_the_ledger_balances(tmp_path: Path) -> None:
    folder, db = tmp_path / "log", tmp_path / "w.db"
    ids = write_events(folder, 120)
    assert len(segments(folder)) > 3
    with Warehouse(db) as warehouse:
        run = load_segments(warehouse, folder)
    assert run is not None
    assert (run.total("records_read"), run.total("loaded"), run.total("rejected")) == (120, 120, 0)
    rows = query(db, "SELECT id, kind, uuid, symbol, guess, "
                     "strftime(\"at\", '%Y-%m-%d %H:%M:%S.%f') FROM events.raw_events")
    by_id = {row[0]: row[1:] for row in rows}
    assert sorted(by_id) == sorted(ids)
    logged = {e["id"]: (e["kind"], e["uuid"], e["symbol"], e["guess"], e["at"])
              for e in read_all(folder)}
    assert by_id == logged
    with Warehouse(db) as warehouse:  # loading again: nothing new, no run
        assert load_segments(warehouse, folder) is None
    # A copy of the log elsewhere is offered again, and skipped by its checksum.
    copy = tmp_path / "copy"
    (copy / "closed").mkdir(parents=True)
    for path in segments(folder):
        (copy / "closed" / path.name).write_bytes(path.read_bytes())
    with Warehouse(db) as warehouse:
        again = load_segments(warehouse, copy)
    assert again is not None and again.total("loaded") == 0 and again.skipped == again.file_count
    assert query(db, "SELECT count(*) FROM events.raw_events") == [(120,)]
    assert query(db, "SELECT count(*) FROM sluice.runs WHERE pipeline = 'events'") == [(2,)]


def test_an_open_segment_waits(tmp_path: Path) -> None:
    folder, db = tmp_path / "log", tmp_path / "w.db"
    log = EventLog(folder)
    log.write({"kind": "initial", "uuid": "u1", "symbol": "e", "guess": True,
               "at": "2026-11-25 10:00:00.000000"})
    with Warehouse(db) as warehouse:
        assert load_segments(warehouse, folder) is None  # still being written
    log.close()
    with Warehouse(db) as warehouse:
        run = load_segments(warehouse, folder)
    assert run is not None and run.total("loaded") == 1


def test_a_hand_edited_segment_is_counted_where_it_can_be_and_quarantined_where_not(
        tmp_path: Path) -> None:
    from sluice.pipelines.events.aggregates import MemoryAggregates, SymbolAggregate, catch_up

    folder, db = tmp_path / "log", tmp_path / "w.db"
    log = EventLog(folder)
    good = {"kind": "initial", "uuid": "u1", "symbol": "e", "guess": True,
            "at": "2026-11-25 10:00:00.000001"}
    log.write(good)
    log.close()
    segment = segments(folder)[0]
    name = segment.name.removesuffix(".jsonl")
    with segment.open("ab") as stream:
        stream.write(b'{"id": "' + name.encode() + b':2", "kind": "initial", "uuid": "u2"\n')
        stream.write(b'[1, 2]\n')
        stream.write(b'{"id": "' + name.encode() + b':4", "kind": "initial", "uuid": "u3", '
                     b'"symbol": "E", "guess": true, "at": "2026-11-25 10:00:00"}\n')
        stream.write(b'{"id": "' + name.encode() + b':5", "kind": "followup", "uuid": "u1", '
                     b'"symbol": null, "guess": null, "at": "2026-11-25 10:00:01"}\n')
    aggregates = MemoryAggregates()
    assert catch_up(aggregates, folder) == 5  # every line takes its number
    assert aggregates.symbol("e") == SymbolAggregate(
        "e", 1, "2026-11-25 10:00:00.000001", "2026-11-25 10:00:00.000001", 1)
    assert catch_up(aggregates, folder) == 0
    with Warehouse(db) as warehouse:
        run = load_segments(warehouse, folder)
    assert run is not None
    assert (run.total("records_read"), run.total("loaded"), run.total("rejected")) == (5, 3, 2)
    assert query(db, "SELECT count(*) FROM sluice.quarantine WHERE pipeline = 'events'") == [(2,)]
