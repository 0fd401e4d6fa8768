"""`sluice advocacy ingest --batch-size`: reading a folder a few files per scan (which
bounds memory) gives exactly the warehouse that one scan gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import query, sluice, sluice_json
from sluice.pipelines.advocacy.generate import generate_advocates

# Every table the ingest writes, with file ids replaced by the file's path (ids are
# drawn from a sequence, so their order within a batch is the engine's choice).
_PATH = "(SELECT path FROM sluice.files f WHERE f.file_id = {0})"
SNAPSHOT = {
    "advocates": f"SELECT * EXCLUDE (file_id), {_PATH.format('t.file_id')} "
                 "FROM advocacy.advocates t",
    "memberships": f"SELECT * EXCLUDE (file_id), {_PATH.format('t.file_id')} "
                   "FROM advocacy.memberships t",
    "tasks": f"SELECT * EXCLUDE (file_id), {_PATH.format('t.file_id')} FROM advocacy.tasks t",
    "brands": "SELECT * FROM advocacy.brands",
    "programs": "SELECT * FROM advocacy.programs",
    "raw_records": "SELECT source_file, repaired, CAST(document AS VARCHAR) "
                   "FROM advocacy.raw_records",
    "dq_issues": "SELECT * EXCLUDE (file_id) FROM advocacy.dq_issues",
    "advocate_changes": f"SELECT advocate_id, field, old_value, new_value, "
                        f"{_PATH.format('t.old_file_id')}, {_PATH.format('t.new_file_id')} "
                        "FROM advocacy.advocate_changes t",
    "quarantine": "SELECT source_file, line_number, raw, reasons FROM sluice.quarantine",
    "files": "SELECT path, size, sha256, status, records_read, loaded, rejected, "
             "regexp_replace(coalesce(note, ''), '/\\S*/warehouse.db.quarantine/', 'QUARANTINE/') "
             "FROM sluice.files",
}


def snapshot(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {name: sorted(query(warehouse, sql), key=repr) for name, sql in SNAPSHOT.items()}


def ingest(source: Path, warehouse: Path, *options: str) -> dict[str, Any]:
    warehouse.parent.mkdir()
    summary: dict[str, Any] = sluice_json(
        "advocacy", "ingest", str(source), "--warehouse", str(warehouse), *options,
        cwd=source.parent)
    return summary


def test_a_folder_in_batches_loads_the_same_as_in_one_pass(work: Path) -> None:
    folder = work / "export"
    generated = generate_advocates(folder, 150)
    assert generated.duplicated_user_ids > 0 and generated.unrepairable > 0
    # A subfolder, and names that DuckDB would read as glob patterns.
    (folder / "more").mkdir()
    (folder / "more" / "user_x.json").write_text(json.dumps({"user_id": None, "name": "X"}))
    (folder / "user [copy?] *1*.json").write_text(json.dumps({"name": "Brackets"}))
    (folder / "user 1.json").write_text(json.dumps({"name": "Not the bracket file"}))
    # A later export of the first advocate, many batches after it: it must win.
    first = json.loads((folder / "user_001.json").read_text())
    (folder / "zz_later.json").write_text(json.dumps({**first, "name": "Renamed Later"}))

    whole = ingest(folder, work / "whole" / "warehouse.db")
    batched = ingest(folder, work / "batched" / "warehouse.db", "--batch-size", "7")

    counts = ("files", "files_skipped", "read", "loaded", "rejected")
    assert [batched[c] for c in counts] == [whole[c] for c in counts]
    one_pass, in_batches = (snapshot(work / "whole" / "warehouse.db"),
                            snapshot(work / "batched" / "warehouse.db"))
    for table in SNAPSHOT:
        assert in_batches[table] == one_pass[table], table
    assert [row[1:4] for row in in_batches["advocate_changes"] if row[0] == first["user_id"]
            ] == [("name", first["name"], "Renamed Later")]
    names = {row[0] for row in one_pass["raw_records"]}
    assert {"more/user_x.json", "user [copy?] *1*.json", "user 1.json"} <= names


@pytest.mark.parametrize("size", ["0", "-3", "many"])
def test_batch_size_must_be_a_positive_number(work: Path, size: str) -> None:
    (work / "in").mkdir()
    result = sluice("advocacy", "ingest", "in", "--batch-size", size, cwd=work, expect=2)
    assert "--batch-size" in result.stderr and "Traceback" not in result.stderr
