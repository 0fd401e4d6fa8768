"""The operator commands attacked as a hostile user would, through the CLI only:
`sluice quarantine` (list, show, export, replay), `sluice trace`, `sluice runs` and
`sluice sql`, on data each test writes: bytes that are not UTF-8, NULs, lines over the
limit, CR/LF mixes, blank lines, reasons holding commas, quotes and pipes, file names
with spaces, newlines and bytes that are not UTF-8; filters that look like SQL; output
paths that cannot be written; a warehouse that is missing or held by another process.

Everywhere: the documented exit code (2 usage, 1 not found or failed, 3 locked), one
`error: ...` line on stderr (or the parser's usage message for a bad option), never a
traceback or a Python exception's name.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hostile import environment, is_open_by
from postgres_server import postgres_contents, postgres_url

from conftest import query, sluice, sluice_json, vote, write_lines
from sluice.lines import MAX_LINE_BYTES

__all__ = ["postgres_url"]  # the fixture, used by name

HUGE = str(2**70)
WAIT = 60  # seconds; only so that a stuck process fails the test instead of hanging it
# A Python exception's name (`TypeError`, `InvalidInputException`) or a driver's error
# class in parentheses (`(NumericValueOutOfRange)`): never for a user to read. The
# engine's own words about a query (`Parser Error: ...`) are documented for `sluice sql`.
PYTHON_NAME = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b|\((?:[A-Z][a-z]+){2,}\)")


# --- helpers -------------------------------------------------------------------------------


def clean(result: subprocess.CompletedProcess[str]) -> None:
    """No traceback anywhere, no Python exception name on stderr."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert not PYTHON_NAME.search(result.stderr), result.stderr


def one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """stderr is exactly one line, `error: ...`, holding every fragment."""
    clean(result)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def usage_box(result: subprocess.CompletedProcess[str], option: str) -> None:
    """A usage error from the command-line parser (its usage message): exit 2, names the
    option, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    clean(result)
    assert option in result.stderr, result.stderr


def records(work: Path, *options: str, env: dict[str, str] | None = None
            ) -> list[dict[str, Any]]:
    """Every matching record, as `sluice quarantine export` (JSON Lines) gives them."""
    out = sluice("quarantine", "export", *options, cwd=work, env=env).stdout
    return [json.loads(line) for line in out.split("\n") if line]


def shown(path: Path) -> str:
    """A path as sluice keeps it: bytes that are not UTF-8 as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def counts(db: Path) -> dict[str, int]:
    """Rows of every table of the warehouse (read from outside, after the CLI exited)."""
    tables = query(db, "SELECT schema_name, table_name FROM duckdb_tables() "
                       "WHERE database_name = current_database() ORDER BY ALL")
    return {f"{s}.{t}": query(db, f'SELECT count(*) FROM "{s}"."{t}"')[0][0]
            for s, t in tables}


def loaded_ids(db: Path) -> list[int]:
    return [row[0] for row in query(db, 'SELECT "Id" FROM blog_analysis.votes ORDER BY 1')]


def balanced(work: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    [votes] = sluice_json("runs", "--balance", "--pipeline", "votes", cwd=work, env=env)
    assert votes["balanced"], votes
    assert votes["received"] == (votes["loaded"] + votes["duplicates"]
                                 + votes["rejected_now"] + votes["superseded"]), votes
    return dict(votes)


def ingested(work: Path, name: str, lines: Sequence[str | bytes],
             env: dict[str, str] | None = None) -> Path:
    path = write_lines(work / name, lines)
    sluice("votes", "ingest", str(path), cwd=work, env=env)
    return path


# --- hostile raw text: list, show, export --------------------------------------------------

LONG = b'{"Id":"4"' + b" " * MAX_LINE_BYTES + b"}"
HOSTILE: list[str | bytes] = [
    vote(1),                                                   # 1 loaded
    vote(2).replace('"PostId":"1"', '"PostId":"\xff"').encode("latin-1"),  # 2 not UTF-8
    b"not json\x00with a NUL",                                 # 3
    b"    ",                                                   # 4 only spaces: no record
    b'reason, "quoted" | piped\r',                             # 5 a CRLF line end
    vote(3, post='1,"2" | 3'),                                 # 6 PostId is not an integer
    LONG,                                                      # 7 over the limit
    vote(1, post=9),                                           # 8 a conflict with line 1
    b"\xef\xbb\xbf" + vote(5).encode(),                        # 9 a BOM, not at the start
    b"\t \r",                                                  # 10 blank (CRLF)
    "ünïcødé ✓ 日本 \u2028 end",                               # 11 invalid JSON
]
REJECTED_LINES = [2, 3, 5, 6, 7, 8, 9, 11]


def test_every_hostile_record_is_listed_shown_and_exported_exactly(work: Path) -> None:
    source = ingested(work, "odd bytes.jsonl", HOSTILE)
    [run] = sluice_json("runs", cwd=work)
    assert (run["read"], run["loaded"], run["rejected"]) == (9, 1, 8)  # two lines blank
    listed = sluice_json("quarantine", "--limit", HUGE, cwd=work)
    assert listed["total"] == 8
    assert [r["line_number"] for r in listed["records"]] == REJECTED_LINES
    whole = {r["id"]: sluice_json("quarantine", "show", r["id"], cwd=work)
             for r in listed["records"]}
    assert list(whole.values()) == listed["records"]
    by_line = {r["line_number"]: r for r in whole.values()}
    assert by_line[2]["reasons"] == ["invalid UTF-8"] and "\\xff" in by_line[2]["raw"]
    assert by_line[3]["raw"] == "not json\x00with a NUL"
    assert by_line[5]["raw"] == 'reason, "quoted" | piped'  # the CR belongs to the line end
    assert by_line[6]["reasons"] == ["PostId is not an integer"]
    assert by_line[7]["reasons"] == [f"line longer than {MAX_LINE_BYTES} bytes"]
    assert by_line[7]["raw"].startswith('{"Id":"4"') and by_line[7]["raw"].endswith(
        f"[truncated, {len(LONG)} bytes]")
    assert by_line[11]["raw"] == "ünïcødé ✓ 日本 \u2028 end"
    assert {r["source_file"] for r in whole.values()} == {str(source)}

    # JSON Lines, to standard output and to a file: one valid JSON object a line, each the
    # record `show --json` gives.
    streamed = sluice("quarantine", "export", cwd=work).stdout
    assert [json.loads(line) for line in streamed.split("\n") if line] == list(whole.values())
    sluice("quarantine", "export", "--output", "out/q.jsonl", cwd=work)
    written = (work / "out" / "q.jsonl").read_bytes()
    assert written.endswith(b"\n") and written.decode("utf-8") == streamed
    assert [json.loads(line) for line in written.split(b"\n")[:-1]] == list(whole.values())

    # CSV: read back by Python's csv module, exactly the same text.
    sluice("quarantine", "export", "--format", "csv", "--output", "out/q.csv", cwd=work)
    with (work / "out" / "q.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == len(whole)
    for row, record in zip(rows, whole.values(), strict=True):
        assert row["raw"] == record["raw"], record["id"]
        assert row["reasons"] == " | ".join(record["reasons"])
        assert (row["id"], row["source_file"], row["line_number"], row["superseded_by"]) == (
            record["id"], record["source_file"], str(record["line_number"]), "")
    assert sorted(p.name for p in (work / "out").iterdir()) == ["q.csv", "q.jsonl"]

    text = sluice("quarantine", cwd=work)
    clean(text)
    assert "8 rows" in text.stdout
    assert "7 more" in sluice("quarantine", "--limit", "1", cwd=work).stdout
    usage_box(sluice("quarantine", "--limit", "0", cwd=work, expect=2), "--limit")


def test_csv_export_round_trips_raw_text_and_paths_holding_a_cr(work: Path) -> None:
    (work / "in").mkdir()
    write_lines(work / "in" / "cr\rname.jsonl", [vote(1), "bad"])
    write_lines(work / "in" / "plain.jsonl", [b"not json\r\r", b"a lone\rCR inside"])
    sluice("votes", "ingest", "in", cwd=work)
    expected = records(work)
    assert {r["raw"] for r in expected} == {"bad", "not json\r", "a lone\rCR inside"}
    sluice("quarantine", "export", "--format", "csv", "--output", "q.csv", cwd=work)
    with (work / "q.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [(r["source_file"], r["raw"]) for r in rows] == [
        (r["source_file"], r["raw"]) for r in expected]


def test_the_list_never_sends_terminal_escapes(work: Path) -> None:
    ingested(work, "esc.jsonl", [vote(1), "bad \x1b[2J\x1b[1A\x1b[2K cleared"])
    out = sluice("quarantine", cwd=work).stdout
    assert "cleared" in out and "\x1b" not in out


CARS = ["vhigh,vhigh,2,2,small,low,unacc", 'x | y,low,4,more,big,"hi | gh",vgood',
        'low,low,4,more,big,high,"go,od"']


def _cars(work: Path) -> list[dict[str, Any]]:
    write_lines(work / "cars.csv", CARS)
    sluice("cars", "train", "cars.csv", "--model", "m.joblib", cwd=work, expect=2)  # too few
    return records(work)


def test_reasons_holding_commas_quotes_and_pipes_round_trip(work: Path) -> None:
    whole = _cars(work)
    assert [r["reasons"] for r in whole] == [
        ["buying 'x | y' is not one of low, med, high, vhigh",
         "safety '\"hi | gh\"' is not one of low, med, high"],
        ["has 8 values, expected 7"]]
    sluice("quarantine", "export", "--format", "csv", "--output", "q.csv", cwd=work)
    with (work / "q.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    # As documented: the reasons joined by ' | ' (which a reason may hold itself).
    assert [(r["raw"], r["reasons"]) for r in rows] == [
        (r["raw"], " | ".join(r["reasons"])) for r in whole]


@pytest.mark.parametrize("text", [
    '"HI | GH"', "low, med, high", "8 VALUES, expected", "x | y",
    "buying 'x | y'",
])
def test_a_reason_is_found_by_any_text_it_holds(work: Path, text: str) -> None:
    whole = _cars(work)
    found = records(work, "--reason", text)
    assert found == python_filter(whole, reason=text)
    assert found, text


# --- file names ----------------------------------------------------------------------------

NAMES = [b"with space.jsonl", b"new\nline.jsonl", b"caf\xe9.jsonl", b"100%.jsonl",
         b"1000.jsonl", b"a_b.jsonl", b"axb.jsonl"]


def named_inputs(work: Path) -> dict[bytes, Path]:
    folder = work / "in"
    folder.mkdir()
    paths = {}
    for n, name in enumerate(NAMES, start=1):
        path = folder / os.fsdecode(name)
        write_lines(path, [vote(n), b"bad in " + name.replace(b"\n", b"?")])
        paths[name] = path
    sluice("votes", "ingest", "in", cwd=work)
    return paths


def python_filter(found: list[dict[str, Any]], file: str | None = None,
                  reason: str | None = None) -> list[dict[str, Any]]:
    """What the documentation says a filter keeps: a path holding the text; a reason
    holding the text, in any case."""
    return [r for r in found
            if (file is None or file in r["source_file"])
            and (reason is None or any(reason.lower() in why.lower() for why in r["reasons"]))]


def test_odd_file_names_round_trip_and_filters_are_literal(work: Path) -> None:
    paths = named_inputs(work)
    everything = records(work)
    assert sorted(r["source_file"] for r in everything) == sorted(
        shown(p.resolve()) for p in paths.values())
    sluice("quarantine", "export", "--format", "csv", "-o", "q.csv", cwd=work)
    with (work / "q.csv").open(encoding="utf-8", newline="") as stream:
        assert [(r["source_file"], r["raw"]) for r in csv.DictReader(stream)] == [
            (r["source_file"], r["raw"]) for r in everything]
    db = work / "warehouse.db"
    before = counts(db)
    for file in ("%", "_", "100%", "a_b", "new\nline", " ", "caf\\xe9", "/in/", ""):
        found = records(work, "--file", file)
        assert found == python_filter(everything, file=file), repr(file)
        listed = sluice_json("quarantine", "--file", file, cwd=work)
        assert listed["total"] == len(found), repr(file)
    # LIKE's wildcards would match these too: the text is taken as it is.
    assert [r["raw"] for r in records(work, "--file", "100%")] == ["bad in 100%.jsonl"]
    assert [r["raw"] for r in records(work, "--file", "a_b")] == ["bad in a_b.jsonl"]
    assert counts(db) == before


@pytest.mark.parametrize("args", [
    ("quarantine", "--file", "caf\udce9"),
    ("quarantine", "export", "--file", "caf\udce9"),
    ("quarantine", "--reason", "\udcff"),
    ("trace", "votes", "\udcff"),
    ("sql", "SELECT '\udcff' AS x"),
], ids=["list --file", "export --file", "list --reason", "trace", "sql"])
def test_arguments_that_are_not_utf8_get_a_clear_answer(work: Path, args: tuple[str, ...]
                                                        ) -> None:
    ingested(work, "caf\udce9.jsonl", [vote(1), "bad"])
    result = sluice(*args, cwd=work, expect=None)
    clean(result)
    assert result.returncode in (0, 1, 2), result.returncode
    if result.returncode:
        one_line_error(result)


# --- filters that look like SQL ------------------------------------------------------------

TWO_REASONS = vote(30, post="x", vote_type="up")  # PostId and VoteTypeId


@pytest.mark.parametrize(("option", "text"), [
    ("--reason", "'; DROP TABLE sluice.quarantine; --"),
    ("--reason", "%"),
    ("--reason", "_"),
    ("--reason", "POSTID IS"),
    ("--reason", "  "),
    ("--file", "'; DROP TABLE x; --"),
    ("--file", "' OR '1'='1"),
    ("--reason", "["),
    ("--reason", "integer, votetypeid"),
])
def test_filters_are_taken_literally(work: Path, option: str, text: str) -> None:
    ingested(work, "v.jsonl", [vote(1), "not json", TWO_REASONS, vote(31, post="y"),
                               vote(1, post=3)])
    db = work / "warehouse.db"
    before, everything = counts(db), records(work)
    assert len(everything) == 4
    found = records(work, option, text)
    wanted = python_filter(everything, file=text if option == "--file" else None,
                           reason=text if option == "--reason" else None)
    assert [r["id"] for r in found] == [r["id"] for r in wanted]
    assert sluice_json("quarantine", option, text, cwd=work)["total"] == len(wanted)
    assert counts(db) == before


# --- --output ------------------------------------------------------------------------------


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize(("target", "message", "code"), [
    ("a folder", "is a folder", 2),
    ("a file/q.jsonl", "is a file, not a folder", 2),
    ("a file/deeper/q.jsonl", "is a file, not a folder", 2),
    ("/proc/self/q.jsonl", "cannot write in /proc/self", 2),
    ("read-only/q.jsonl", "cannot write in", 2),
])
def test_an_output_that_cannot_be_written_is_one_line_and_writes_nothing(
        work: Path, target: str, message: str, code: int) -> None:
    ingested(work, "v.jsonl", [vote(1), "bad"])
    (work / "a folder").mkdir()
    (work / "a file").write_text("keep me")
    (work / "read-only").mkdir(mode=0o555)
    if target.startswith("read-only") and os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder (see the /proc/self case)")
    before = _tree(work)
    for form in ("jsonl", "csv"):
        result = sluice("quarantine", "export", "--format", form, "--output", target,
                        cwd=work, expect=code)
        one_line_error(result, message)
        assert result.stdout == ""
    assert _tree(work) == before
    assert (work / "a file").read_text() == "keep me"


def test_a_folder_at_the_old_partial_name_is_not_in_the_way(work: Path) -> None:
    ingested(work, "v.jsonl", [vote(1), "bad"])
    (work / "stale" / "q.jsonl.partial").mkdir(parents=True)
    sluice("quarantine", "export", "--output", "stale/q.jsonl", cwd=work)
    assert [json.loads(line)["raw"] for line in
            (work / "stale" / "q.jsonl").read_text(encoding="utf-8").splitlines()] == ["bad"]
    assert sorted(p.name for p in (work / "stale").iterdir()) == ["q.jsonl", "q.jsonl.partial"]


def test_export_never_writes_through_a_link_at_its_partial_name(work: Path) -> None:
    ingested(work, "v.jsonl", [vote(1), "bad"])
    (work / "victim.txt").write_text("precious")
    (work / "q.jsonl.partial").symlink_to(work / "victim.txt")
    sluice("quarantine", "export", "--output", "q.jsonl", cwd=work)
    assert (work / "victim.txt").read_text() == "precious"
    assert not (work / "q.jsonl").is_symlink()


def test_an_export_of_200000_rejected_records_writes_every_one(work: Path) -> None:
    path = work / "broken.jsonl"
    path.write_text("".join(f'broken {n}, "q" | p\n' for n in range(200_000)), encoding="utf-8")
    sluice("votes", "ingest", str(path), cwd=work)
    assert sluice_json("quarantine", "--limit", "1", cwd=work)["total"] == 200_000
    sluice("quarantine", "export", "--format", "csv", "--output", "all.csv", cwd=work)
    with (work / "all.csv").open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        raw, line = header.index("raw"), header.index("line_number")
        seen = [(int(row[line]), row[raw]) for row in reader]
    assert seen == [(n + 1, f'broken {n}, "q" | p') for n in range(200_000)]
    result = sluice("quarantine", "export", "--output", "all.jsonl", cwd=work)
    assert result.stderr == "wrote 200,000 records to all.jsonl\n"
    with (work / "all.jsonl").open(encoding="utf-8") as stream:
        lines = [json.loads(text)["line_number"] for text in stream]
    assert lines == list(range(1, 200_001))
    assert sorted(p.name for p in work.iterdir() if p.name.startswith("all")) == [
        "all.csv", "all.jsonl"]


# --- replay --------------------------------------------------------------------------------

VOTES = [vote(1), vote(2), "not json", vote(20, post="x"), vote(2, post=9), vote(2),
         TWO_REASONS, vote(3)]


def test_replay_twice_in_a_row_keeps_every_record_counted_once(work: Path) -> None:
    ingested(work, "v.jsonl", VOTES)
    first_list = records(work)
    assert len(first_list) == 4
    received = balanced(work)["received"]
    for run_id in (2, 3):
        done = sluice_json("quarantine", "replay", "--pipeline", "votes", cwd=work)
        assert (done["offered"], done["run"]["run_id"], done["run"]["loaded"],
                done["run"]["rejected"]) == (4, run_id, 0, 4)
        now = records(work)
        assert [(r["source_file"], r["line_number"], r["raw"], r["reasons"]) for r in now] == [
            (r["source_file"], r["line_number"], r["raw"], r["reasons"]) for r in first_list]
        assert {r["run_id"] for r in now} == {run_id}
        after = balanced(work)
        assert (after["received"], after["rejected_now"], after["superseded"]) == (
            received, 4, 0)
    assert loaded_ids(work / "warehouse.db") == [1, 2, 3]
    history = sluice_json("quarantine", "--superseded", "--limit", HUGE, cwd=work)
    assert history["total"] == 12
    assert [r["superseded_by"] for r in history["records"]].count(None) == 4


@pytest.mark.parametrize("filters", [
    ("--file", "%"), ("--file", "_no_such_"), ("--reason", "'; DROP TABLE x; --"),
    ("--run", "0"), ("--run", HUGE), ("--run", "-1"),
])
def test_replay_that_matches_nothing_runs_nothing(work: Path, filters: tuple[str, ...]) -> None:
    ingested(work, "v.jsonl", VOTES)
    db = work / "warehouse.db"
    before = counts(db)
    done = sluice_json("quarantine", "replay", "-p", "votes", *filters, cwd=work)
    assert done == {"offered": 0, "not_offered": 0, "run": None}
    text = sluice("quarantine", "replay", "-p", "votes", *filters, cwd=work)
    assert text.stdout == "no quarantined record matches: nothing to replay\n"
    assert counts(db) == before


@pytest.mark.parametrize("warehouse", ["nowhere.db", "deep/er/nowhere.db"])
def test_replay_on_a_warehouse_that_does_not_exist_creates_none(
        work: Path, warehouse: str) -> None:
    for json_option in ((), ("--json",)):
        result = sluice("quarantine", "replay", "-p", "votes", "--warehouse", warehouse,
                        *json_option, cwd=work, expect=2)
        if json_option:
            assert json.loads(result.stderr)["exit_code"] == 2
        else:
            one_line_error(result, "does not exist")
    assert _tree(work) == set()
    one_line_error(sluice("quarantine", "replay", "-p", "nope", cwd=work, expect=2),
                   "no such pipeline")
    assert _tree(work) == set()


def test_replay_while_another_sluice_holds_the_warehouse_is_exit_3(work: Path) -> None:
    ingested(work, "v.jsonl", VOTES)
    db = work / "warehouse.db"
    before = (sha256(db), counts(db))
    endless = ("SELECT count(*) FROM range(100000000) AS a, range(100000000) AS b "
               "WHERE a.range + b.range < 0")
    holder = subprocess.Popen([sys.executable, "-m", "sluice", "sql", endless], cwd=work,
                              env=environment(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + WAIT
        while holder.poll() is None and not is_open_by(holder.pid, db):
            assert time.monotonic() < deadline, "the holder never opened the warehouse"
            time.sleep(0.01)
        assert holder.poll() is None
        locked = sluice("quarantine", "replay", "-p", "votes", cwd=work, expect=3)
        one_line_error(locked, "in use by another process", f"PID {holder.pid}")
        as_json = sluice("quarantine", "replay", "-p", "votes", "--json", cwd=work, expect=3)
        assert json.loads(as_json.stderr)["exit_code"] == 3 and as_json.stdout == ""
        # Reading alongside a reader works.
        assert sluice_json("quarantine", cwd=work)["total"] == 4
    finally:
        holder.kill()
        holder.wait(WAIT)
    assert (sha256(db), counts(db)) == before
    assert sluice_json("quarantine", "replay", "-p", "votes", cwd=work)["offered"] == 4


KEPT_ESCAPED: list[str | bytes] = [
    vote(1),
    vote(2).replace('"PostId":"1"', '"PostId":"\xff"').encode("latin-1"),  # not UTF-8
    b"not json\x00with a NUL",
    b'{"Id":"3","PostId":"1","VoteTypeId":"2","CreationDate":"2022-01-03T00:00:00.000"}'
    + b" " * MAX_LINE_BYTES,                                       # over the limit
]


def test_replay_never_loads_a_record_kept_escaped_or_cut(work: Path) -> None:
    ingested(work, "v.jsonl", KEPT_ESCAPED)
    before = records(work)
    assert [r["line_number"] for r in before] == [2, 3, 4]
    for _ in range(2):
        done = sluice_json("quarantine", "replay", "-p", "votes", cwd=work)
        # Only the NUL line's text is kept byte for byte (on DuckDB): it alone is offered.
        assert (done["offered"], done["not_offered"]) == (1, 2)
        assert (done["run"]["loaded"], done["run"]["rejected"]) == (0, 1)
        assert loaded_ids(work / "warehouse.db") == [1]
        assert sorted((r["line_number"], r["raw"]) for r in records(work)) == sorted(
            (r["line_number"], r["raw"]) for r in before)
        balanced(work)


def test_replay_does_not_load_a_line_that_was_not_utf8(work: Path) -> None:
    line = (b'{"Id":"7","PostId":"1","VoteTypeId":"2","CreationDate":'
            b'"2022-01-03T00:00:00.000","Note":"\\\xff"}')
    ingested(work, "v.jsonl", [vote(1), line])
    assert [r["reasons"] for r in records(work)] == [["invalid UTF-8"]]
    done = sluice_json("quarantine", "replay", "-p", "votes", cwd=work)
    assert loaded_ids(work / "warehouse.db") == [1]
    assert (done["offered"], done["not_offered"], done["run"]) == (0, 1, None)


def test_replay_keeps_the_reason_of_a_line_it_could_not_read_as_text(work: Path) -> None:
    ingested(work, "v.jsonl", KEPT_ESCAPED)
    before = sorted((r["line_number"], r["reasons"]) for r in records(work))
    sluice("quarantine", "replay", "-p", "votes", cwd=work)
    assert sorted((r["line_number"], r["reasons"]) for r in records(work)) == before


def test_replay_does_not_load_a_line_only_its_position_made_valid(work: Path) -> None:
    ingested(work, "v.jsonl", [vote(1), b"\xef\xbb\xbf" + vote(5).encode()])
    assert [r["reasons"] for r in records(work)] == [["invalid JSON"]]
    sluice("quarantine", "replay", "-p", "votes", cwd=work)
    assert loaded_ids(work / "warehouse.db") == [1]


def test_replay_keeps_the_raw_text_byte_for_byte(work: Path) -> None:
    ingested(work, "v.jsonl", [vote(1), b"not json\r\r"])
    assert [r["raw"] for r in records(work)] == ["not json\r"]
    sluice("quarantine", "replay", "-p", "votes", cwd=work)
    assert [r["raw"] for r in records(work)] == ["not json\r"]


def test_replay_on_postgres_does_not_load_a_line_with_a_nul(tmp_path: Path,
                                                             postgres_url: str) -> None:
    env = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
    line = vote(6, Note="a NUL b").encode().replace(b" NUL ", b"\x00")
    assert b"\x00" in line and b"\\u0000" not in line
    ingested(tmp_path, "v.jsonl", [vote(1), line], env=env)
    sluice("quarantine", "replay", "-p", "votes", cwd=tmp_path, env=env)
    with psycopg.connect(postgres_url) as con:
        ids = [r[0] for r in con.execute('SELECT "Id" FROM blog_analysis.votes ORDER BY 1')]
    assert ids == [1]


# --- trace ---------------------------------------------------------------------------------

COUNTRIES = ["Côte d'Ivoire \"north\" | 日本", "singapore", "Singapore", "with  two spaces"]


def _covid(work: Path) -> None:
    (work / "r.json").write_text(json.dumps([
        {"Country": country, "Cases": n, "Date": "2020-03-01T00:00:00Z"}
        for n, country in enumerate(COUNTRIES, start=1)]), encoding="utf-8")
    sluice("covid", "ingest", "r.json", cwd=work)


def test_trace_takes_any_key_literally(work: Path) -> None:
    _covid(work)
    for n, country in enumerate(COUNTRIES, start=1):
        traced = sluice_json("trace", "covid", f"{country}|2020-03-01", cwd=work)
        assert traced["key"] == f"{country}|2020-03-01"
        assert [(r["path"], r["line_number"]) for r in traced["rows"]] == [("r.json", n)]
        clean(sluice("trace", "covid", f"{country}|2020-03-01", cwd=work))
    for key in ("SINGAPORE|2020-03-01", "singapore |2020-03-01", "|2020-03-01", "",
                "x' OR '1'='1", "%", "_", "Singapore|2020-03-01|", "k" * 100_000, "日本"):
        missing = sluice("trace", "covid", key, cwd=work, expect=1)
        one_line_error(missing, "no row of covid.observations has the key")
        as_json = sluice("trace", "covid", key, "--json", cwd=work, expect=1)
        assert json.loads(as_json.stdout) == {"pipeline": "covid", "key": key, "rows": [],
                                              "conflicts": []}
        assert json.loads(as_json.stderr)["exit_code"] == 1
    ingested(work, "v.jsonl", [vote(1), vote(12)])
    for key in ("01", " 1", "1 ", "1.0", "+1", "", "\uff11"):  # the last: a fullwidth 1
        one_line_error(sluice("trace", "votes", key, cwd=work, expect=1), "(Id)")
    assert sluice_json("trace", "votes", "12", cwd=work)["rows"][0]["line_number"] == 2


@pytest.mark.parametrize("name", ["vo tes", "VOTES", "votes'; --", "", "日本", "-", "v\notes"])
def test_trace_with_an_odd_pipeline_name_is_a_usage_error(work: Path, name: str) -> None:
    ingested(work, "v.jsonl", [vote(1)])
    result = sluice("trace", "--", name, "1", cwd=work, expect=2)
    assert "no such pipeline" in result.stderr
    clean(result)
    assert len(result.stderr.splitlines()) == 1


def test_trace_counts_a_losing_version_once_after_replays(work: Path) -> None:
    ingested(work, "v.jsonl", [vote(1), vote(1, post=9), vote(1)])
    for _ in range(2):
        sluice("quarantine", "replay", "-p", "votes", cwd=work)
    traced = sluice_json("trace", "votes", "1", cwd=work)
    assert [c["line_number"] for c in traced["conflicts"]] == [2]


# --- runs ----------------------------------------------------------------------------------


def test_runs_with_odd_numbers(work: Path) -> None:
    ingested(work, "v.jsonl", [vote(1), "bad"])
    for run_id in ("0", HUGE, str(2**63), "-1", "-" + HUGE):
        one_line_error(sluice("runs", "--", run_id, cwd=work, expect=2), "no such run")
        one_line_error(sluice("runs", "--pipeline", "votes", "--", run_id, cwd=work,
                              expect=2), "no such run")
    for limit in ("0", "-1", "1e3", ""):
        usage_box(sluice("runs", "--limit", limit, cwd=work, expect=2), "--limit")
    assert len(sluice_json("runs", "--limit", str(2**63 - 1), cwd=work)) == 1
    one_line_error(sluice("runs", "--pipeline", "nope", cwd=work, expect=2), "no such pipeline")
    assert sluice_json("runs", "1", cwd=work)["run_id"] == 1


def test_runs_with_a_huge_limit(work: Path) -> None:
    ingested(work, "v.jsonl", [vote(1)])
    result = sluice("runs", "--limit", HUGE, cwd=work, expect=None)
    clean(result)
    assert result.returncode in (0, 2)


def test_balance_on_a_new_or_empty_warehouse(work: Path) -> None:
    for args in (("runs", "--balance"), ("runs", "--balance", "--json")):
        result = sluice(*args, cwd=work, expect=2)
        if "--json" in args:
            assert json.loads(result.stderr)["exit_code"] == 2
        else:
            one_line_error(result, "does not exist")
    assert _tree(work) == set()
    (work / "nothing").mkdir()
    sluice("votes", "ingest", "nothing", cwd=work)  # a warehouse, a run, no record
    assert sluice_json("runs", "--balance", cwd=work) == [
        {"pipeline": "votes", "received": 0, "loaded": 0, "duplicates": 0,
         "rejected_now": 0, "superseded": 0, "balanced": True}]
    assert sluice_json("runs", "--balance", "--pipeline", "cars", cwd=work) == []
    assert "0 rows" in sluice("runs", "--balance", "-p", "cars", cwd=work).stdout


# --- sql -----------------------------------------------------------------------------------

REFUSED_SQL = [
    ("SELECT 1; SELECT 2", "one statement at a time"),
    ("SELECT ';' AS s; DELETE FROM blog_analysis.votes", "one statement at a time"),
    ("SELECT 1 -- c\n; DROP TABLE sluice.runs", "one statement at a time"),
    ("/* SELECT 1 */ DROP TABLE sluice.runs", "DROP statements are refused"),
    ("PRAGMA version", "PRAGMA statements are refused"),
    ("PRAGMA database_list", "PRAGMA statements are refused"),
    ("CALL pragma_version()", "CALL statements are refused"),
    ("EXPORT DATABASE 'dumped'", "EXPORT statements are refused"),
    ("EXPORT DATABASE 'dumped' (FORMAT csv); SELECT 1", "one statement at a time"),
    ("SELECT 1 FROM", "not valid SQL"),
    ("SELECT * FROM sluice.runs WHERE", "not valid SQL"),
    ("SELECT 1 AS ok UNION ALL SELEC 2", "not valid SQL"),
    ("SELECT 'unterminated", "not valid SQL"),
    ("SELECT * EXCLUDE (run_id) FROM (SELECT 1 AS run_id)", "the query failed"),
    ("SELECT \"日本\" FROM sluice.runs", "日本"),
    (";", "no SQL statement"),
]


def test_sql_refuses_and_changes_nothing(work: Path) -> None:
    ingested(work, "v.jsonl", [vote(1), vote(2), "bad"])
    db = work / "warehouse.db"
    before = (sha256(db), counts(db), _tree(work))
    for sql, message in REFUSED_SQL:
        result = sluice("sql", "--", sql, cwd=work, expect=None)
        assert result.returncode == 2, (sql, result.returncode, result.stderr)
        assert result.stdout == "", sql
        one_line_error(result, message)
    both = sluice("sql", "SELECT 1", "--csv", "--jsonl", cwd=work, expect=2)
    one_line_error(both, "choose one of --json, --csv and --jsonl")
    assert (sha256(db), counts(db), _tree(work)) == before


def test_sql_that_is_odd_but_reads(work: Path) -> None:
    ingested(work, "v.jsonl", [vote(1), vote(2), "bad"])
    db = work / "warehouse.db"
    before = (sha256(db), counts(db))
    hidden = sluice("sql", "SELECT count(*) AS n FROM sluice.runs /* ; DROP TABLE sluice.runs "
                    "*/ -- ; DELETE FROM sluice.files", "--csv", cwd=work)
    assert hidden.stdout == "n\n1\n"
    assert sluice("sql", "SELECT ';DROP TABLE x' AS s;", "--csv", cwd=work).stdout == (
        "s\n;DROP TABLE x\n")
    twice = sluice("sql", "SELECT 1 AS a, 2 AS a, 3 AS a_1", "--csv", cwd=work).stdout
    assert list(csv.reader(twice.splitlines())) == [["a", "a", "a_1"], ["1", "2", "3"]]
    assert sluice("sql", "SELECT 1 AS a, 2 AS a, 3 AS a_1", "--jsonl", cwd=work).stdout == (
        '{"a": 1, "a_1": 2, "a_1_1": 3}\n')
    unicode = sluice_json("sql", 'SELECT 1 AS ñame, 2 AS "日本", 3 AS "a""b"', cwd=work)
    assert unicode == [{"ñame": 1, "日本": 2, 'a"b': 3}]
    assert sluice("sql", "SELECT 1 AS x WHERE false", "--csv", cwd=work).stdout == "x\n"
    assert sluice("sql", "SELECT 1 AS x WHERE false", "--jsonl", cwd=work).stdout == ""
    assert sluice_json("sql", "SELECT 1 AS x", "--limit", HUGE, cwd=work) == [{"x": 1}]
    assert (sha256(db), counts(db)) == before


def test_sql_on_postgres_refuses_the_same_and_changes_nothing(tmp_path: Path,
                                                               postgres_url: str) -> None:
    env = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
    ingested(tmp_path, "v.jsonl", [vote(1), vote(2), "bad"], env=env)
    schemas = ("sluice", "blog_analysis", "public")
    before = postgres_contents(postgres_url, schemas, {})
    duckdb_words = {sql: message for sql, message in REFUSED_SQL}
    for sql in ("SELECT 1; SELECT 2", "/* SELECT 1 */ DROP TABLE sluice.runs",
                "PRAGMA version", "CALL pragma_version()", "EXPORT DATABASE 'dumped'",
                "SELECT 1 FROM"):
        result = sluice("sql", "--", sql, cwd=tmp_path, env=env, expect=2)
        one_line_error(result, duckdb_words[sql])
        assert result.stdout == ""
    both = sluice("sql", "SELECT 1", "--csv", "--jsonl", cwd=tmp_path, env=env, expect=2)
    one_line_error(both, "choose one of --json, --csv and --jsonl")
    # PostgreSQL's own SQL: a query with no column at all, one empty object a row.
    empty = sluice("sql", "SELECT FROM sluice.runs", "--jsonl", cwd=tmp_path, env=env)
    assert empty.stdout == "{}\n"
    assert postgres_contents(postgres_url, schemas, {}) == before


# --- everything at once: wrong arguments -------------------------------------------------

WRONG: list[tuple[tuple[str, ...], int, Callable[[subprocess.CompletedProcess[str]], Any]]] = [
    (("quarantine", "show", "--", "-1:2"), 2,
     lambda r: one_line_error(r, "a record's id is FILE_ID:LINE")),
    (("quarantine", "show", HUGE + ":1"), 2, lambda r: one_line_error(r, "no such record")),
    (("quarantine", "show", "1:" + HUGE), 2, lambda r: one_line_error(r, "no such record")),
    (("quarantine", "show", "1;DROP"), 2, lambda r: one_line_error(r, "FILE_ID:LINE")),
    (("quarantine", "show", "%"), 2, lambda r: one_line_error(r, "FILE_ID:LINE")),
    (("quarantine", "--run", HUGE), 0, clean),
    (("quarantine", "--limit", HUGE), 0, clean),
    (("quarantine", "--run", "x"), 2, lambda r: usage_box(r, "--run")),
    (("quarantine", "export", "--limit", "5"), 2, lambda r: usage_box(r, "--limit")),
    (("quarantine", "export", "--format", "CSV "), 2, lambda r: usage_box(r, "--format")),
    (("quarantine", "replay"), 2, lambda r: usage_box(r, "--pipeline")),
    (("quarantine", "replay", "-p", "votes", "--superseded"), 2,
     lambda r: usage_box(r, "--superseded")),
    (("trace", "votes"), 2, lambda r: usage_box(r, "KEY")),
    (("sql",), 2, lambda r: usage_box(r, "SQL")),
    (("sql", "SELECT 1", "--limit", "-1"), 2, lambda r: usage_box(r, "--limit")),
]


def test_wrong_arguments_everywhere(work: Path) -> None:
    ingested(work, "v.jsonl", [vote(1), "bad"])
    db = work / "warehouse.db"
    before = counts(db)
    for args, code, check in WRONG:
        result = sluice(*args, cwd=work, expect=None)
        assert result.returncode == code, (args, result.returncode, result.stderr)
        check(result)
    assert counts(db) == before
