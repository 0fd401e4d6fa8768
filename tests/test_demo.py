"""`sluice demo`: generates input, runs every pipeline, and prints each one's summary."""

from __future__ import annotations

from pathlib import Path

from conftest import query, sluice, sluice_json


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
    again = sluice_json("demo", cwd=work)
    second = again["votes"]
    assert (second["files_skipped"], second["loaded"]) == (2, 0)
    assert (again["advocacy"]["files_skipped"], again["advocacy"]["loaded"]) == (
        advocacy["files"], 0)
    assert query(work / "warehouse.db", "SELECT count(*) FROM blog_analysis.votes") == [
        (300_000,)]


def test_demo_prints_a_summary_table_and_headline(work: Path) -> None:
    printed = sluice("demo", cwd=work).stdout
    assert "votes" in printed and "300,000" in printed
    assert "weeks are outliers" in printed
