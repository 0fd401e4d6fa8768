"""`sluice votes ingest`: types, quarantine reasons, duplicates, conflicts, idempotence."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from conftest import EXAMPLE, query, sluice, sluice_json, vote, write_lines


def quarantined(work: Path) -> list[tuple[object, ...]]:
    return query(work / "warehouse.db",
                 "SELECT line_number, raw, reasons FROM sluice.quarantine ORDER BY line_number")


def test_votes_table_has_analytics_types(work: Path) -> None:
    sluice("votes", "ingest", str(EXAMPLE), cwd=work)
    described = {name: kind for name, kind, *_ in
                 query(work / "warehouse.db", "DESCRIBE blog_analysis.votes")}
    assert described == {"Id": "BIGINT", "PostId": "BIGINT", "VoteTypeId": "SMALLINT",
                         "CreationDate": "TIMESTAMP", "UserId": "BIGINT",
                         "BountyAmount": "INTEGER", "_file_id": "BIGINT", "_line": "BIGINT"}


def test_values_are_typed_and_optional_fields_kept(work: Path) -> None:
    path = write_lines(work / "v.jsonl", [
        vote(10, post=7, vote_type=8, date="2021-06-30T13:45:12.345", UserId=99,
             BountyAmount=50),
        vote(11, post=7, vote_type=2, date="2021-06-30T00:00:00"),
    ], final_newline=False)
    summary = sluice_json("votes", "ingest", str(path), cwd=work)
    assert (summary["read"], summary["loaded"]) == (2, 2)
    rows = query(work / "warehouse.db",
                 "SELECT Id, PostId, VoteTypeId, strftime(CreationDate, '%Y-%m-%d %H:%M:%S.%g'), "
                 "UserId, BountyAmount FROM blog_analysis.votes ORDER BY Id")
    assert rows == [(10, 7, 8, "2021-06-30 13:45:12.345", 99, 50),
                    (11, 7, 2, "2021-06-30 00:00:00.000", None, None)]


def test_every_bad_line_is_quarantined_with_line_number_raw_text_and_reasons(work: Path) -> None:
    lines: list[str | bytes] = [
        vote(1),
        '{"Id":"2","PostId":"1", "VoteTypeId":',                       # 2 invalid JSON
        vote(3).replace('"Id":"3",', ""),                              # 3 missing Id
        vote("abc"),                                                   # 4 non-integer Id
        vote("4.5"),                                                   # 5 non-integer Id
        vote(6, date="2022-02-30T00:00:00.000"),                       # 6 no such day
        b'{"Id":"7","PostId":"1","VoteTypeId":"2","CreationDate":"2022-01-03T00:00:00.000",'
        b'"Note":"caf\xe9"}',                                          # 7 not UTF-8
        "[1, 2, 3]",                                                   # 8 not an object
        vote("x", post="y", date="soon"),                              # 9 three reasons
        vote(10, date="2022-01-03T00:00:00+02:00"),                    # 10 offset not accepted
        vote(11),
    ]
    summary = sluice_json("votes", "ingest", str(write_lines(work / "bad.jsonl", lines)),
                          cwd=work)
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (11, 2, 9)
    by_line = {line: (raw, reasons) for line, raw, reasons in quarantined(work)}
    date_reason = "CreationDate is not a timestamp (YYYY-MM-DDTHH:MM:SS.fff)"
    assert {line: reasons for line, (_, reasons) in by_line.items()} == {
        2: ["invalid JSON"],
        3: ["missing Id"],
        4: ["Id is not an integer"],
        5: ["Id is not an integer"],
        6: [date_reason],
        7: ["invalid UTF-8"],
        8: ["not a JSON object"],
        9: ["Id is not an integer", "PostId is not an integer", date_reason],
        10: [date_reason],
    }
    assert by_line[2][0] == lines[2 - 1]
    assert by_line[7][0].endswith('"Note":"caf\\xe9"}')
    assert query(work / "warehouse.db", "SELECT Id FROM blog_analysis.votes ORDER BY Id") == [
        (1,), (11,)]


def test_line_numbers_stay_exact_deep_in_a_large_file(work: Path) -> None:
    """Bad lines far apart, after blank and non-UTF-8 lines, across many scan blocks."""
    lines: list[str | bytes] = [vote(n) for n in range(1, 300_001)]
    bad_at = {1_000: "{broken", 150_000: "", 150_001: b'{"Id":"\xff"}', 299_990: vote("z")}
    for number, text in bad_at.items():
        lines[number - 1] = text
    summary = sluice_json("votes", "ingest", str(write_lines(work / "big.jsonl", lines)),
                          cwd=work)
    assert summary["read"] == 299_999  # the blank line is not a record
    assert [line for line, _, _ in quarantined(work)] == [1_000, 150_001, 299_990]
    assert summary["loaded"] == 299_996


def test_empty_file_is_fine(work: Path) -> None:
    (work / "empty.jsonl").write_bytes(b"")
    summary = sluice_json("votes", "ingest", str(work / "empty.jsonl"), cwd=work)
    assert (summary["status"], summary["read"], summary["loaded"]) == ("succeeded", 0, 0)


def test_duplicates_within_a_file_across_files_and_across_runs(work: Path) -> None:
    a = write_lines(work / "a.jsonl", [vote(1), vote(2), vote(1)])
    b = write_lines(work / "b.jsonl", [vote(2), vote(3)])
    first = sluice_json("votes", "ingest", str(a), str(b), cwd=work)
    assert (first["loaded"], first["duplicates"], first["rejected"]) == (3, 2, 0)
    c = write_lines(work / "c.jsonl", [vote(3), vote(4)])
    second = sluice_json("votes", "ingest", str(c), cwd=work)
    assert (second["loaded"], second["duplicates"]) == (1, 1)
    ids = query(work / "warehouse.db", "SELECT Id, count(*) FROM blog_analysis.votes GROUP BY Id "
                                       "ORDER BY Id")
    assert ids == [(1, 1), (2, 1), (3, 1), (4, 1)]


def test_conflicting_content_is_quarantined_and_first_version_stays(work: Path) -> None:
    a = write_lines(work / "a.jsonl", [vote(1, post=10), vote(1, post=11)])
    sluice("votes", "ingest", str(a), cwd=work)
    b = write_lines(work / "b.jsonl", [vote(1, post=12, vote_type=3)])
    summary = sluice_json("votes", "ingest", str(b), cwd=work)
    assert (summary["loaded"], summary["duplicates"], summary["rejected"]) == (0, 0, 1)
    assert query(work / "warehouse.db", "SELECT PostId FROM blog_analysis.votes") == [(10,)]
    rows = query(work / "warehouse.db",
                 "SELECT source_file, line_number, raw, reasons[1] FROM sluice.quarantine "
                 "ORDER BY run_id")
    assert [(Path(f).name, n, raw) for f, n, raw, _ in rows] == [
        ("a.jsonl", 2, vote(1, post=11)), ("b.jsonl", 1, vote(1, post=12, vote_type=3))]
    assert all(reason.startswith("conflict") for *_, reason in rows)


def test_reingesting_the_same_content_is_skipped_and_changes_nothing(work: Path) -> None:
    sluice("votes", "ingest", str(EXAMPLE), cwd=work)
    before = query(work / "warehouse.db", "SELECT * FROM blog_analysis.votes ORDER BY Id")
    again = sluice_json("votes", "ingest", str(EXAMPLE), cwd=work)
    assert (again["files_skipped"], again["read"], again["loaded"]) == (1, 0, 0)
    renamed = shutil.copy(EXAMPLE, work / "renamed.jsonl")
    assert sluice_json("votes", "ingest", str(renamed), cwd=work)["files_skipped"] == 1
    assert query(work / "warehouse.db", "SELECT * FROM blog_analysis.votes ORDER BY Id") == before
    statuses = query(work / "warehouse.db",
                     "SELECT status, note IS NOT NULL FROM sluice.files ORDER BY file_id")
    assert statuses == [("loaded", False), ("skipped", True), ("skipped", True)]


def test_ledger_records_runs_and_files_that_balance(work: Path) -> None:
    a = write_lines(work / "a.jsonl", [vote(1), vote(1), "{oops", vote(2)])
    summary = sluice_json("votes", "ingest", str(a), cwd=work)
    runs = query(work / "warehouse.db",
                 "SELECT run_id, pipeline, status, finished >= started, records_read, loaded, "
                 "duplicates, rejected FROM sluice.runs")
    assert runs == [(summary["run_id"], "votes", "succeeded", True, 4, 2, 1, 1)]
    files = query(work / "warehouse.db",
                  "SELECT path, size, sha256, records_read, loaded, duplicates, rejected "
                  "FROM sluice.files")
    import hashlib
    assert files == [(str(a), a.stat().st_size, hashlib.sha256(a.read_bytes()).hexdigest(),
                      4, 2, 1, 1)]


def test_folders_globs_and_gzip(work: Path) -> None:
    write_lines(work / "in" / "2021" / "a.jsonl", [vote(1)])
    write_lines(work / "in" / "2022" / "b.ndjson", [vote(2)])
    write_lines(work / "in" / ".hidden.jsonl", [vote(3)])
    write_lines(work / "in" / "notes.txt", ["not votes"])
    with gzip.open(work / "in" / "c.jsonl.gz", "wb") as stream:
        stream.write((vote(4) + "\n").encode())
    assert sluice_json("votes", "ingest", "in", cwd=work)["loaded"] == 3
    write_lines(work / "more" / "d.jsonl", [vote(5)])
    write_lines(work / "more" / "e.jsonl", [vote(6)])
    assert sluice_json("votes", "ingest", "more/*.jsonl", cwd=work)["loaded"] == 2
    assert query(work / "warehouse.db", "SELECT list(Id ORDER BY Id) FROM blog_analysis.votes"
                 ) == [([1, 2, 4, 5, 6],)]


def test_unreadable_file_is_kept_in_quarantine_folder_with_a_note(work: Path) -> None:
    (work / "in").mkdir()
    corrupt = work / "in" / "broken.jsonl.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00 this is not gzip data at all" * 20)
    write_lines(work / "in" / "good.jsonl", [vote(1)])
    summary = sluice_json("votes", "ingest", "in", cwd=work, expect=5)
    assert (summary["files_unreadable"], summary["loaded"]) == (1, 1)
    kept = list((work / "warehouse.db.quarantine").glob("run-*/broken.jsonl.gz"))
    assert len(kept) == 1 and kept[0].read_bytes() == corrupt.read_bytes()
    note = kept[0].with_name(kept[0].name + ".why.txt").read_text()
    assert "gzip" in note and str(corrupt) in note
    assert corrupt.exists(), "input files are never deleted"
    assert query(work / "warehouse.db", "SELECT status FROM sluice.files WHERE path LIKE "
                 "'%broken%'") == [("unreadable",)]


def test_generated_file_counts_match_what_the_generator_put_in(work: Path) -> None:
    made = sluice_json("votes", "generate", "gen.jsonl", "--votes", "60000", cwd=work)
    assert made["duplicates"] > 0 and made["conflicts"] > 0 and made["broken"] > 0
    summary = sluice_json("votes", "ingest", "gen.jsonl", cwd=work)
    assert summary["read"] == made["lines"]
    assert summary["loaded"] == made["votes"]
    assert summary["duplicates"] == made["duplicates"]
    assert summary["rejected"] == made["conflicts"] + made["broken"] + made["invalid_utf8"]


def test_a_key_repeated_in_a_run_and_already_loaded_is_judged_against_the_warehouse(
        work: Path) -> None:
    sluice("votes", "ingest", str(write_lines(work / "a.jsonl", [vote(1, post=5)])), cwd=work)
    again = write_lines(work / "b.jsonl", [vote(1, post=5), vote(1, post=9), vote(1, post=5)])
    summary = sluice_json("votes", "ingest", str(again), cwd=work)
    assert (summary["loaded"], summary["duplicates"], summary["rejected"]) == (0, 2, 1)
    assert query(work / "warehouse.db", "SELECT line_number FROM sluice.quarantine") == [(2,)]
