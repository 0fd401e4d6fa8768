"""Operators' commands as an operator runs them: `sluice runs` (one run, one pipeline),
`sluice quarantine` (list, filter, show, export; a corrected file supersedes the rejects
of its earlier version instead of piling new copies beside them) and `sluice trace`
(where a row came from, and the versions that lost to it), on DuckDB and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from postgres_server import postgres_url

from conftest import sluice, sluice_json, vote, write_lines

__all__ = ["postgres_url"]  # the fixture, used by name

# Eight bad lines among good ones: the example of the issue (8 rows became 15).
BAD = ["not json", vote(20, post="x"), vote(21, vote_type="up"), vote(22, date="yesterday"),
       "{}", "[1, 2]", vote(23, post=""), vote(24, post=-1.5)]


def first_version(work: Path) -> Path:
    return write_lines(work / "votes.jsonl", [vote(1), vote(2), *BAD, vote(3)])


def corrected_version(work: Path) -> Path:
    """The same export with one bad line fixed (line 4: vote 20 became a good vote 21)
    and a conflict added (vote 2 again, another post)."""
    fixed = [*BAD]
    fixed[1] = vote(21)
    return write_lines(work / "votes.jsonl", [vote(1), vote(2), *fixed, vote(3),
                                              vote(2, post=9)])


def current(work: Path, *options: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = sluice_json("quarantine", *options, cwd=work, env=env)
    return found


def test_runs_shows_one_run_with_its_files_and_filters_by_pipeline(work: Path) -> None:
    sluice("votes", "ingest", str(first_version(work)), cwd=work)
    (work / "r.json").write_text('[{"Country": "Singapore", "Cases": 1, "Date": "2020-03-01"}]',
                                 encoding="utf-8")
    sluice("covid", "ingest", "r.json", cwd=work)
    one = sluice_json("runs", "1", cwd=work)
    assert (one["run_id"], one["pipeline"], one["read"], one["rejected"]) == (1, "votes", 11, 8)
    assert [(f["path"].endswith("votes.jsonl"), f["status"], f["read"], f["loaded"])
            for f in one["file_details"]] == [(True, "loaded", 11, 3)]
    text = sluice("runs", "1", cwd=work).stdout
    assert "run 1: its inputs" in text and "votes.jsonl" in text
    assert [r["pipeline"] for r in sluice_json("runs", "--pipeline", "covid", cwd=work)] == [
        "covid"]
    assert len(sluice_json("runs", cwd=work)) == 2
    missing = sluice("runs", "9", cwd=work, expect=2)
    assert "RUN_ID 9: no such run in the ledger" in missing.stderr
    unknown = sluice("runs", "--pipeline", "nope", cwd=work, expect=2)
    assert "--pipeline 'nope': no such pipeline" in unknown.stderr


def test_quarantine_lists_filters_shows_and_exports(work: Path) -> None:
    sluice("votes", "ingest", str(first_version(work)), cwd=work)
    listed = current(work)
    assert listed["total"] == 8 and [r["id"] for r in listed["records"]] == [
        f"1:{n}" for n in range(3, 11)]
    assert listed["records"][0]["reasons"] == ["invalid JSON"]
    assert current(work, "--reason", "POSTID")["total"] == 4  # any case; "{}" lacks it
    assert current(work, "--reason", "postid is not an integer", "--limit", "1")[
        "records"][0]["id"] == "1:4"
    assert current(work, "--pipeline", "cars")["total"] == 0
    assert current(work, "--file", "votes.json", "--run", "1")["total"] == 8
    assert current(work, "--run", "2")["total"] == 0
    text = sluice("quarantine", "--limit", "3", cwd=work).stdout
    assert "5 more; --limit shows more" in text
    shown = sluice_json("quarantine", "show", "1:4", cwd=work)
    assert shown["raw"] == BAD[1] and shown["line_number"] == 4
    assert "raw:\n" + BAD[1] in sluice("quarantine", "show", "1:4", cwd=work).stdout
    assert "no such record" in sluice("quarantine", "show", "1:99", cwd=work, expect=2).stderr
    assert "FILE_ID:LINE" in sluice("quarantine", "show", "x", cwd=work, expect=2).stderr
    exported = sluice("quarantine", "export", "--format", "csv", cwd=work).stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["raw"] for r in rows] == BAD and rows[0]["reasons"] == "invalid JSON"
    sluice("quarantine", "export", "--output", "q/rejects.jsonl", cwd=work)
    lines = (work / "q" / "rejects.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["raw"] for line in lines] == BAD
    assert not list((work / "q").glob("*.partial"))


def test_a_corrected_file_supersedes_the_rejects_of_its_earlier_version(work: Path) -> None:
    sluice("votes", "ingest", str(first_version(work)), cwd=work)
    second = sluice_json("votes", "ingest", str(corrected_version(work)), cwd=work)
    # One line fixed and loaded; the other seven rejected again, plus a new conflict.
    assert (second["loaded"], second["rejected"]) == (1, 8)
    now = current(work)
    assert now["total"] == 8 and {r["run_id"] for r in now["records"]} == {2}
    everything = current(work, "--superseded", "--limit", "100")
    assert everything["total"] == 16
    assert {r["superseded_by"] for r in everything["records"] if r["run_id"] == 1} == {2}
    # A file skipped as already loaded supersedes nothing.
    sluice("votes", "ingest", str(work / "votes.jsonl"), cwd=work)
    assert current(work)["total"] == 8


def test_trace_names_the_file_line_and_run_and_the_versions_that_lost(work: Path) -> None:
    write_lines(work / "a.jsonl", [vote(1), "", vote(2), vote(3)])
    sluice("votes", "ingest", "a.jsonl", cwd=work)
    write_lines(work / "b.jsonl", [vote(4), vote(2, post=5), vote(2, post=6)])
    sluice("votes", "ingest", "b.jsonl", cwd=work)
    traced = sluice_json("trace", "votes", "2", cwd=work)
    assert [(r["path"].endswith("a.jsonl"), r["line_number"], r["run_id"])
            for r in traced["rows"]] == [(True, 3, 1)]
    assert [(c["line_number"], c["run_id"], json.loads(c["raw"])["PostId"])
            for c in traced["conflicts"]] == [(2, 2, "5"), (3, 2, "6")]
    text = sluice("trace", "votes", "2", cwd=work).stdout
    assert "blog_analysis.votes 2: from" in text and "a.jsonl, line 3 (run 1, ingest," in text
    assert "2 version(s) with this key lost" in text
    assert sluice_json("trace", "votes", "4", cwd=work)["rows"][0]["line_number"] == 1
    missing = sluice("trace", "votes", "99", cwd=work, expect=1)
    assert "no row of blog_analysis.votes has the key '99' (Id)" in missing.stderr
    assert sluice("trace", "nope", "1", cwd=work, expect=2).returncode == 2


def test_trace_follows_a_covid_day_through_every_response(work: Path) -> None:
    for name, cases in (("old.json", 5), ("new.json", 7)):
        (work / name).write_text(json.dumps([
            {"Country": "Singapore", "Cases": cases, "Date": "2020-03-01T00:00:00Z"}]),
            encoding="utf-8")
        sluice("covid", "ingest", name, cwd=work)
    traced = sluice_json("trace", "covid", "Singapore|2020-03-01", cwd=work)
    assert [r["path"] for r in traced["rows"]] == ["new.json", "old.json"]
    assert all(r["line_number"] == 1 for r in traced["rows"])


@pytest.mark.parametrize("command", [("quarantine",), ("runs", "1"), ("trace", "votes", "1")])
def test_reading_commands_never_create_a_warehouse(work: Path, command: tuple[str, ...]) -> None:
    sluice(*command, cwd=work, expect=2)
    assert not (work / "warehouse.db").exists()


def test_the_same_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    env = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "q")}
    sluice("votes", "ingest", str(first_version(tmp_path)), cwd=tmp_path, env=env)
    sluice("votes", "ingest", str(corrected_version(tmp_path)), cwd=tmp_path, env=env)
    now = current(tmp_path, env=env)
    assert now["total"] == 8 and {r["run_id"] for r in now["records"]} == {2}
    assert current(tmp_path, "--reason", "POSTID", env=env)["total"] == 3  # one fixed
    assert current(tmp_path, "--superseded", "--limit", "100", env=env)["total"] == 16
    traced = sluice_json("trace", "votes", "2", cwd=tmp_path, env=env)
    assert [r["line_number"] for r in traced["rows"]] == [2]
    assert [c["line_number"] for c in traced["conflicts"]] == [12]
    one = sluice_json("runs", "2", cwd=tmp_path, env=env)
    assert one["file_details"][0]["rejected"] == 8
    exported = sluice("quarantine", "export", cwd=tmp_path, env=env).stdout.splitlines()
    assert len(exported) == 8
    replayed = sluice_json("quarantine", "replay", "-p", "votes", cwd=tmp_path, env=env)
    assert (replayed["offered"], replayed["run"]["rejected"]) == (8, 8)
    after = current(tmp_path, env=env)
    assert [r["line_number"] for r in after["records"]] == [
        r["line_number"] for r in now["records"]]
    assert {r["run_id"] for r in after["records"]} == {3}
    [votes] = sluice_json("runs", "--balance", cwd=tmp_path, env=env)
    assert votes["balanced"] and votes["superseded"] == 8


# --- replay -------------------------------------------------------------------------------

CARS = ["vhigh,vhigh,2,2,small,low,unacc", "low,low,4,more,huge,high,good",
        "med,med,2,4,med,high,acc", "nonsense", "low,low,4,more,big,high,vgood"]


def test_replay_loads_what_a_fixed_rule_now_accepts_and_counts_each_record_once(
        work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_lines(work / "cars.csv", CARS)
    sluice("cars", "train", "cars.csv", "--model", "m.joblib", cwd=work, expect=2)  # too few
    assert current(work)["total"] == 2
    nothing = sluice_json("quarantine", "replay", "--pipeline", "cars", "--reason", "zzz",
                          cwd=work)
    assert nothing == {"offered": 0, "not_offered": 0, "run": None}
    unchanged = sluice_json("quarantine", "replay", "--pipeline", "cars", cwd=work)
    assert (unchanged["offered"], unchanged["run"]["loaded"], unchanged["run"]["rejected"]) == (
        2, 0, 2)
    # The rule is fixed: a boot may be huge (what a new release of the contract would do).
    from sluice.pipelines.cars import dataset
    monkeypatch.setitem(dataset.LEVELS, "lug_boot", (*dataset.LEVELS["lug_boot"], "huge"))
    fixed = sluice_json("quarantine", "replay", "--pipeline", "cars", cwd=work)
    assert (fixed["offered"], fixed["run"]["loaded"], fixed["run"]["rejected"]) == (2, 1, 1)
    left = current(work)
    assert [(r["source_file"].endswith("cars.csv"), r["line_number"], r["raw"])
            for r in left["records"]] == [(True, 4, "nonsense")]
    key = "low|low|4|more|huge|high"
    traced = sluice_json("trace", "cars", key, cwd=work)["rows"]
    assert [(r["line_number"], r["verb"]) for r in traced] == [(2, "replay")]
    assert traced[0]["path"].endswith("cars.csv (replayed from the quarantine)")
    balance = sluice_json("runs", "--balance", cwd=work)
    assert balance == [{"pipeline": "cars", "received": 5, "loaded": 4, "duplicates": 0,
                        "rejected_now": 1, "superseded": 0, "balanced": True}]
    again = sluice_json("quarantine", "replay", "--pipeline", "cars", cwd=work)
    assert (again["run"]["loaded"], again["run"]["rejected"]) == (0, 1)
    assert sluice_json("runs", "--balance", cwd=work)[0]["balanced"]


def test_replay_of_a_pipeline_that_cannot_is_refused_with_the_reason(work: Path) -> None:
    (work / "r.json").write_text('[{"Country": "Singapore", "Cases": -1, "Date": "2020-03-01"}]',
                                 encoding="utf-8")
    sluice("covid", "ingest", "r.json", cwd=work)
    refused = sluice("quarantine", "replay", "--pipeline", "covid", cwd=work, expect=2)
    assert "replay is not possible: a day belongs to its response" in refused.stderr
    assert current(work)["total"] == 1
    missing = sluice("quarantine", "replay", cwd=work, expect=2)
    assert "--pipeline" in missing.stderr


def test_the_balance_holds_after_a_corrected_file_supersedes_its_rejects(work: Path) -> None:
    sluice("votes", "ingest", str(first_version(work)), cwd=work)
    sluice("votes", "ingest", str(corrected_version(work)), cwd=work)
    sluice("quarantine", "replay", "--pipeline", "votes", cwd=work)
    [votes] = sluice_json("runs", "--balance", cwd=work)
    assert (votes["received"], votes["rejected_now"], votes["superseded"]) == (23, 8, 8)
    assert votes["balanced"] and votes["received"] == (
        votes["loaded"] + votes["duplicates"] + votes["rejected_now"] + votes["superseded"])


def test_a_replay_killed_before_it_commits_changes_nothing(work: Path) -> None:
    sluice("votes", "ingest", str(first_version(work)), cwd=work)
    before = current(work)
    killed = sluice("quarantine", "replay", "-p", "votes", cwd=work,
                    env={"SLUICE_CRASH_AT": "before-commit"}, expect=None)
    assert killed.returncode != 0 and "killed at crash point before-commit" in killed.stderr
    assert current(work) == before
    assert sluice_json("runs", "--balance", cwd=work)[0]["balanced"]
    again = sluice_json("quarantine", "replay", "-p", "votes", cwd=work)
    assert again["run"]["rejected"] == 8 and current(work)["total"] == 8


@pytest.mark.parametrize(("arguments", "message"), [
    (("quarantine", "show", ""), "FILE_ID:LINE"),
    (("quarantine", "show", "1:x"), "FILE_ID:LINE"),
    (("quarantine", "show", "1:2:3"), "FILE_ID:LINE"),
    (("runs", "-5"), "No such option: -5"),
    (("quarantine", "--limit", "0"), "--limit"),
    (("quarantine", "--pipeline", "Votes"), "no such pipeline"),
    (("quarantine", "export", "--format", "xml"), "--format"),
    (("quarantine", "export", "--output", "."), "is a folder"),
    (("trace", "votes"), "KEY"),
])
def test_wrong_arguments_get_one_clear_line(work: Path, arguments: tuple[str, ...],
                                             message: str) -> None:
    sluice("votes", "ingest", str(first_version(work)), cwd=work)
    failed = sluice(*arguments, cwd=work, expect=2)
    assert message in failed.stderr and "Traceback" not in failed.stderr
