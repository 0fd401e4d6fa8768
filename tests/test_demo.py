"""`sluice demo`: generates input, runs every pipeline, and prints each one's summary."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import query, sluice, sluice_json
from sluice.pipelines.covid.demo import CHART, FIXTURE, RESPONSES


def test_demo_runs_every_pipeline_and_is_idempotent(work: Path) -> None:
    first = sluice_json("demo", cwd=work)
    votes = first["votes"]
    assert votes["status"] == "succeeded"
    assert votes["read"] == votes["loaded"] + votes["duplicates"] + votes["rejected"]
    assert votes["loaded"] == 300_000 and votes["files_skipped"] == 1
    assert votes["outlier_weeks"] == len(query(work / "warehouse.db",
                                               "SELECT * FROM blog_analysis.outlier_weeks"))
    advocacy = first["advocacy"]
    assert advocacy["status"] == "succeeded" and advocacy["loaded"] > 4_900
    assert advocacy["read"] == advocacy["loaded"] + advocacy["rejected"]
    assert "Spearman rho" in advocacy["headline"]
    covid = first["covid"]
    shipped = [json.loads((FIXTURE / name).read_text(encoding="utf-8")) for name in RESPONSES]
    assert covid["loaded"] == sum(len(days) for days in shipped) == covid["read"]
    assert covid["total_cases"] == shipped[-1][-1]["Cases"]
    assert covid["repeated_days"] == len({d["Date"] for d in shipped[0]}
                                         & {d["Date"] for d in shipped[1]})
    assert covid["revisions"] == 0 and (work / "demo" / "covid" / CHART).is_file()
    again = sluice_json("demo", cwd=work)
    second = again["votes"]
    assert (second["files_skipped"], second["loaded"]) == (2, 0)
    assert (again["advocacy"]["files_skipped"], again["advocacy"]["loaded"]) == (
        advocacy["files"], 0)
    assert query(work / "warehouse.db", "SELECT count(*) FROM blog_analysis.votes") == [
        (300_000,)]
    assert (again["covid"]["files_skipped"], again["covid"]["loaded"]) == (2, 0)


def test_demo_prints_a_summary_table_and_headline(work: Path) -> None:
    printed = sluice("demo", cwd=work).stdout
    assert "votes" in printed and "300,000" in printed
    assert "weeks are outliers" in printed
