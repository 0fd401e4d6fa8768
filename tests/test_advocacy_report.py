"""The advocacy models and `sluice advocacy report`, on generated exports."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import query, sluice, sluice_json
from sluice.pipelines import advocacy


def as_json(warehouse: Path, sql: str) -> list[dict[str, Any]]:
    """A query's rows as `--json` carries them: ids as text, a float as its shortest
    decimal (read back with parse_float=Decimal)."""
    con = duckdb.connect(":memory:")
    con.execute("ATTACH ? AS w (READ_ONLY)", [str(warehouse)])
    con.execute("USE w")
    try:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    finally:
        con.close()

    def plain(value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            return str(value)
        return Decimal(repr(value)) if isinstance(value, float) else value

    return [{c: plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object],
                                                              dict[str, object]]:
    work = tmp_path_factory.mktemp("advocacy")
    made = sluice_json("advocacy", "generate", "export", "--advocates", "1500", cwd=work)
    summary = sluice_json("advocacy", "ingest", "export", cwd=work)
    return work, made, summary


def test_ingest_counts_match_what_the_generator_wrote(
        loaded: tuple[Path, dict[str, object], dict[str, object]]) -> None:
    work, made, summary = loaded
    details = summary["file_details"]
    # Each file the summary details says what its ledger row says.
    ledger = {path: {"path": path, "status": status, "sha256": sha256, "read": read,
                     "loaded": loaded, "duplicates": duplicates, "rejected": rejected,
                     "note": note}
              for path, status, sha256, read, loaded, duplicates, rejected, note in query(
                  work / "warehouse.db", "SELECT path, status, sha256, records_read, loaded, "
                  "duplicates, rejected, note FROM sluice.files")}
    assert summary["files"] == len(ledger) and details
    assert details == [ledger[f["path"]] for f in details]
    notes = [str(f["note"] or "") for f in details]
    assert summary["files"] == made["files"]
    assert sum(n.startswith("repaired") for n in notes) == made["truncated"]
    assert summary["rejected"] == made["unrepairable"]
    assert summary["files_skipped"] == made["stray"]
    assert summary["loaded"] == made["clean_files"] + made["messy_files"] - made["unrepairable"]
    advocates = query(work / "warehouse.db", "SELECT count(*) FROM advocacy.advocates")[0][0]
    # Later exports and byte-identical copies repeat a user_id: one advocate each. Files cut
    # inside a string are quarantined, so their advocates are not there.
    assert advocates == made["advocates"] - made["unrepairable"]


def test_models_agree_with_the_tables(
        loaded: tuple[Path, dict[str, object], dict[str, object]]) -> None:
    db = loaded[0] / "warehouse.db"
    by_platform = dict(query(db, "SELECT platform, engagement FROM advocacy.engagement_by_platform"))
    direct = dict(query(db, "SELECT coalesce(platform, '(unknown)'), "
                            "sum(likes + comments + shares) FROM advocacy.tasks GROUP BY 1"))
    assert by_platform == direct
    top = query(db, "SELECT advocate_id, sales FROM advocacy.top_advocates_by_sales "
                    "WHERE rank = 1")
    best = query(db, "SELECT advocate_id, sum(total_sales_attributed) AS s FROM "
                     "advocacy.memberships GROUP BY 1 ORDER BY s DESC NULLS LAST LIMIT 1")
    assert top == best
    assert query(db, "SELECT sum(sales) FROM advocacy.sales_by_brand") == query(
        db, "SELECT sum(total_sales_attributed) FROM advocacy.memberships")
    # Rates are ratios of sums over tasks where engagement and reach are both known.
    rate = query(db, "SELECT engagement_rate FROM advocacy.engagement_by_platform "
                     "WHERE platform = 'TikTok'")[0][0]
    expected = query(db, "SELECT sum(likes + comments + shares) / sum(reach) FROM "
                         "advocacy.tasks WHERE platform = 'TikTok' AND reach > 0 AND "
                         "likes + comments + shares IS NOT NULL")[0][0]
    assert rate == pytest.approx(expected)


def test_outliers_are_above_the_far_out_fence(
        loaded: tuple[Path, dict[str, object], dict[str, object]]) -> None:
    db = loaded[0] / "warehouse.db"
    q1, q3 = query(db, "SELECT quantile_cont(sales, 0.25), quantile_cont(sales, 0.75) FROM "
                       "advocacy.engagement_by_advocate WHERE sales IS NOT NULL")[0]
    fence = float(q3) + 3 * (float(q3) - float(q1))
    flagged = {a for (a,) in query(db, "SELECT advocate_id FROM advocacy.outliers "
                                       "WHERE metric = 'sales'")}
    above = {a for (a,) in query(db, f"SELECT advocate_id FROM advocacy.engagement_by_advocate "
                                     f"WHERE sales > {fence}")}
    assert flagged == above and flagged


def test_data_quality_summary_counts_every_issue(
        loaded: tuple[Path, dict[str, object], dict[str, object]]) -> None:
    db = loaded[0] / "warehouse.db"
    assert query(db, "SELECT sum(issues) FROM advocacy.dq_summary") == query(
        db, "SELECT count(*) FROM advocacy.dq_issues")
    rules = {r for (r,) in query(db, "SELECT DISTINCT rule FROM advocacy.dq_issues")}
    assert {"placeholder", "invalid email", "invalid handle", "not a date", "empty",
            "number instead of text", "not a URL", "not a number", "negative",
            "missing"} <= rules
    outcomes = dict(query(db, "SELECT outcome, files FROM advocacy.file_summary"))
    assert set(outcomes) == {"clean", "repaired", "rejected", "not an advocate file, skipped"}


def test_report_prints_the_insights_and_is_honest_about_correlation(
        loaded: tuple[Path, dict[str, object], dict[str, object]]) -> None:
    work = loaded[0]
    report = sluice_json("advocacy", "report", cwd=work)
    findings = report["findings"]
    assert any("Spearman rho" in f and "Pearson r" in f for f in findings)
    assert len(report["top_advocates_by_sales"]) == 5
    printed = sluice("advocacy", "report", cwd=work).stdout
    for title in ("top advocates by sales", "engagement by platform", "sales by brand",
                  "outliers (above Q3 + 3 IQR)", "data-quality issues"):
        assert title in printed
    # Every answer as the warehouse gives it: decimals to the last digit, floats exactly.
    exact = json.loads(sluice("advocacy", "report", "--json", cwd=work).stdout,
                       parse_float=Decimal)
    assert set(exact) == {view.name for view in advocacy.PIPELINE.views} | {"findings"}
    for view in advocacy.PIPELINE.views:
        assert exact[view.name] == as_json(work / "warehouse.db", view.sql), view.name


def test_report_on_a_warehouse_without_advocates(work: Path) -> None:
    (work / "empty").mkdir()
    sluice("advocacy", "ingest", "empty", cwd=work)
    report = sluice_json("advocacy", "report", cwd=work)
    assert report["findings"][0].startswith("Too few advocates")
