"""The advocacy models and `sluice advocacy report`: on generated exports, and on small
exports written here whose every figure is known in advance."""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from postgres_server import postgres_url

from conftest import query, sluice, sluice_json
from sluice import console
from sluice.pipelines import advocacy

__all__ = ["postgres_url"]  # the fixture, used by name


# --- exports written by the tests ---------------------------------------------------------


def uid(n: int) -> str:
    return str(uuid.UUID(int=n))


P1, P2, P3 = uid(9001), uid(9002), uid(9003)


def task(platform: Any = "TikTok", likes: Any = 10, comments: Any = 0, shares: Any = 0,
         reach: Any = 100, **changes: Any) -> dict[str, Any]:
    record = {"task_id": str(uuid.uuid4()), "platform": platform,
              "post_url": "https://example.com/p/1", "likes": likes, "comments": comments,
              "shares": shares, "reach": reach}
    record.update(changes)
    return record


def program(brand: Any = "Acme", sales: Any = 100.0, tasks: list[dict[str, Any]] | None = None,
            program_id: Any = P1) -> dict[str, Any]:
    return {"program_id": program_id, "brand": brand, "total_sales_attributed": sales,
            "tasks_completed": tasks if tasks is not None else [task()]}


def advocate(n: int, *programs: dict[str, Any], **changes: Any) -> dict[str, Any]:
    record = {"user_id": uid(n), "name": f"Advocate {n}", "email": f"a{n}@example.com",
              "instagram_handle": f"@a{n}", "tiktok_handle": f"@a{n}",
              "joined_at": "2024-05-02T23:33:17.161Z",
              "advocacy_programs": list(programs) or [program()]}
    record.update(changes)
    return record


def export(folder: Path, advocates: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for record in advocates:
        (folder / f"user_{record['user_id']}.json").write_text(json.dumps(record))
    return folder


def report(work: Path, *options: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    return dict(sluice_json("advocacy", "report", *options, cwd=work, env=env))


def by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


def text_of(work: Path, *options: str) -> str:
    return sluice("advocacy", "report", *options, cwd=work).stdout


def section_text(printed: str, title: str) -> str:
    """A section of the text report: its title, table, notes and closing line."""
    start = printed.index(f"\n{title}\n") + 1
    end = printed.find("\n\n", start)
    return printed[start:] if end < 0 else printed[start:end]


# --- --top, --all and the line for the rest ------------------------------------------------

SALES = [10 * n for n in range(1, 14)] + [140, 140]  # 15 advocates; two share the top


@pytest.fixture
def fifteen(work: Path) -> Path:
    export(work / "in", [advocate(n, program(sales=sales)) for n, sales in
                         enumerate(SALES, start=1)])
    sluice("advocacy", "ingest", "in", cwd=work)
    return work


def test_top_n_lists_n_rows_and_says_what_the_rest_hold(fifteen: Path) -> None:
    top3 = report(fifteen, "--top", "3")
    rows = top3["top_advocates_by_sales"]
    assert [(r["rank"], r["sales"]) for r in rows] == [(1, 140), (1, 140), (3, 130)]
    rest = sum(SALES) - 410
    assert top3["more"]["top_advocates_by_sales"] == {
        "rows": 12, "sales": rest, "sales_share": rest / sum(SALES), "not_ranked": 0}
    assert sum(r["sales_share"] for r in rows) == pytest.approx(410 / sum(SALES))
    printed = section_text(text_of(fifteen, "--top", "3"), "top advocates by sales attributed")
    assert printed.splitlines()[-1] == (
        f"… 12 more advocates with known sales: {rest:,.2f} (65.5% of all); --all lists every "
        "advocate")
    # Ties at the cut are all shown; the default is the top 10; --all shows every row.
    assert len(report(fifteen, "--top", "1")["top_advocates_by_sales"]) == 2
    assert len(report(fifteen)["top_advocates_by_sales"]) == 10
    every = report(fifteen, "--all")
    assert len(every["top_advocates_by_sales"]) == 15
    assert every["more"]["top_advocates_by_sales"]["rows"] == 0
    assert section_text(text_of(fifteen, "--all"), "top advocates by sales attributed"
                        ).splitlines()[-1] == "15 rows"
    assert every["settings"]["top"] is None and top3["settings"]["top"] == 3


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object],
                                                              dict[str, object]]:
    work = tmp_path_factory.mktemp("advocacy")
    made = sluice_json("advocacy", "generate", "export", "--advocates", "1500", cwd=work)
    summary = sluice_json("advocacy", "ingest", "export", cwd=work)
    return work, made, summary


def test_every_section_is_cut_to_the_top_n_and_counts_the_rest(
        loaded: tuple[Path, dict[str, object], dict[str, object]]) -> None:
    work = loaded[0]
    every, top = report(work, "--all"), report(work, "--top", "2")
    printed = text_of(work, "--top", "2")
    def pinned(row: dict[str, Any]) -> bool:
        """Shown whatever the cut: an unknown bucket, an entity's own line."""
        return row.get("known") is False or row.get("field") == "(any field)"

    for view in advocacy.PIPELINE.views:
        name = view.name
        listed = [r for r in top[name] if not pinned(r)]
        ranks = [r.get("rank") for r in listed]
        assert len(ranks) <= 2 or len(set(ranks[1:])) == 1, name  # more only on a tie
        assert len(every[name]) == len(top[name]) + top["more"][name]["rows"], name
        assert every["more"][name]["rows"] == 0, name
        assert listed == [r for r in every[name] if not pinned(r)][:len(listed)], name
        assert [r for r in top[name] if pinned(r)] == [r for r in every[name] if pinned(r)]
        closing = section_text(printed, view.title).splitlines()[-1]
        if top["more"][name]["rows"]:
            assert closing.startswith(f"… {top['more'][name]['rows']:,} more "), name
        else:
            assert re.fullmatch(r"[0-9,]+ rows?", closing), name
    hidden = every["sales_by_program"][2:-1]  # the known programs the top 2 leave out
    assert top["more"]["sales_by_program"]["sales"] == pytest.approx(
        sum(r["sales"] for r in hidden))
    assert top["more"]["sales_by_program"]["memberships"] == sum(
        r["memberships"] for r in hidden)


# --- rates: one set of tasks, coverage, the small-sample flag ------------------------------


@pytest.fixture
def platforms(work: Path) -> Path:
    """TikTok: 120 measured tasks at 5%, and one whose likes are "NaN" (reach 1,000, not
    counted). Facebook: 20 tasks at 50%, too few. YouTube: 110 of 250 tasks measured at
    10% (the others have no reach): less than half. And 3 tasks whose platform is a
    placeholder ("unknown")."""
    tiktok = [task("TikTok", 5, 0, 0, 100) for _ in range(120)] + [task("TikTok", "NaN",
                                                                       reach=1000)]
    facebook = [task("Facebook", 40, 6, 4, 100) for _ in range(20)]
    youtube = ([task("YouTube", 8, 1, 1, 100) for _ in range(110)]
               + [task("YouTube", 8, 1, 1, None) for _ in range(140)])
    unknown = [task("unknown", 1, 0, 0, 10) for _ in range(3)]
    export(work / "in", [advocate(1, program(tasks=tiktok)), advocate(2, program(tasks=facebook)),
                         advocate(3, program(tasks=youtube)), advocate(4, program(tasks=unknown))])
    sluice("advocacy", "ingest", "in", cwd=work)
    return work


def test_rates_rest_on_measured_tasks_and_small_samples_are_flagged(platforms: Path) -> None:
    result = report(platforms)
    rows = result["engagement_by_platform"]
    assert [(r["platform"], r["rank"]) for r in rows] == [
        ("TikTok", 1), ("Facebook", None), ("YouTube", None), ("(unknown)", None)]
    tiktok, facebook, youtube, unknown = rows
    # Engagement, reach and the rate over the same 120 measured tasks: the NaN task's
    # reach of 1,000 is in none of them.
    assert (tiktok["tasks"], tiktok["tasks_measured"], tiktok["engagement"],
            tiktok["reach"]) == (121, 120, 600, 12_000)
    assert tiktok["engagement_rate"] == 600 / 12_000 == tiktok["engagement"] / tiktok["reach"]
    assert tiktok["coverage"] == 120 / 121
    # Every task at the same rate: no spread, so the interval is the rate itself.
    assert tiktok["engagement_rate_low"] == tiktok["engagement_rate_high"] == 0.05
    assert facebook["engagement_rate"] == 0.5
    assert facebook["note"] == "rate on 20 tasks (< 100): not ranked"
    assert (youtube["tasks_measured"], youtube["coverage"]) == (110, 110 / 250)
    assert youtube["note"] == "measured on 44.0% of tasks: not ranked"
    assert (unknown["known"], unknown["tasks"]) == (False, 3)
    assert unknown["note"] == "no platform known: not ranked; one post has 33% of the reach"
    assert result["settings"]["min_tasks_measured"] == 100
    # The advocate's own figures are over the same measured tasks.
    first = result["top_advocates_by_engagement"]
    assert by(first, "advocate_id")[uid(1)]["reach"] == 12_000
    printed = text_of(platforms)
    assert "fewer than 100 measured tasks (--min-tasks)" in printed
    table = section_text(printed, "engagement by platform")
    assert "│    1 │ TikTok    │   121 │ 120 (99.2%) │" in table
    assert "5.00% ±0.00 │" in table
    assert "  Facebook: rate on 20 tasks (< 100): not ranked" in table
    assert "Platforms: TikTok engages best, 5.00% of reach" in printed
    assert "Not ranked: Facebook (20 of 20 tasks measured), YouTube (110 of 250" in printed
    # With a lower bar Facebook's 20 tasks are enough; YouTube's coverage still is not.
    lower = report(platforms, "--min-tasks", "10")["engagement_by_platform"]
    assert [(r["platform"], r["rank"]) for r in lower] == [
        ("Facebook", 1), ("TikTok", 2), ("YouTube", None), ("(unknown)", None)]


def test_the_rate_interval_widens_with_spread(work: Path) -> None:
    """Two platforms with the same rate, 10%: one with every post alike, one with posts
    at 0% and 20%; only the second has an interval, around 10%."""
    alike = [task("TikTok", 10, 0, 0, 100) for _ in range(100)]
    spread = [task("X", 0 if n % 2 else 20, 0, 0, 100) for n in range(100)]
    export(work / "in", [advocate(1, program(tasks=alike)), advocate(2, program(tasks=spread))])
    sluice("advocacy", "ingest", "in", cwd=work)
    rows = by(report(work)["engagement_by_platform"], "platform")
    assert rows["TikTok"]["engagement_rate_high"] == rows["TikTok"]["engagement_rate_low"]
    x = rows["X"]
    # Σ (e - R r)² = 100 posts * 10², over n (n - 1) r̄² = 100 * 99 * 100²: a standard
    # error of √(1 / 9,900).
    margin = 1.959964 * (1 / 9900) ** 0.5
    assert x["engagement_rate_high"] == pytest.approx(0.1 + margin, rel=1e-6)
    assert x["engagement_rate_low"] == pytest.approx(0.1 - margin, rel=1e-6)


# --- brands and programs: the unknown bucket, the program-less bucket -------------------


def test_the_unknown_brand_bucket_is_shown_last_and_never_ranked(work: Path) -> None:
    unknown = [advocate(n, program(brand=12345, sales=1000.0, program_id=P3))
               for n in range(1, 6)]
    export(work / "in", [*unknown, advocate(6, program("Acme", 100.0)),
                         advocate(7, program("Acme", 100.0)),
                         advocate(8, program("Bolt", 300.0, program_id=P2))])
    sluice("advocacy", "ingest", "in", cwd=work)
    rows = report(work)["sales_by_brand"]
    assert [(r["brand"], r["rank"], r["known"], r["sales"]) for r in rows] == [
        ("Bolt", 1, True, 300), ("Acme", 2, True, 200), ("(unknown)", None, False, 5000)]
    assert rows[2]["note"] == "no brand known: not ranked"
    assert rows[2]["sales_share"] == 5000 / 5500
    cut = report(work, "--top", "1")
    assert [r["brand"] for r in cut["sales_by_brand"]] == ["Bolt", "(unknown)"]
    assert cut["more"]["sales_by_brand"]["rows"] == 1
    printed = text_of(work)
    assert "Brands (2): Bolt brings the most attributed sales, 300.00" in printed
    assert "Memberships without a known brand: 5 (62.5% of all), 90.9% of sales" in printed
    table = section_text(printed, "sales by brand")
    assert table.index("│    1 │ Bolt") < table.index("│    2 │ Acme") < table.index(
        "│      │ (unknown)")


def test_programs_section_and_the_program_less_bucket(work: Path) -> None:
    """P1 is Acme's; P2's memberships name two brands; memberships without a program id
    (an empty one) form a bucket whose brand is no one's, though they name Acme and Zeta."""
    export(work / "in", [
        advocate(1, program("Acme", 100.0, program_id=P1)),
        advocate(2, program("Acme", 200.0, program_id=P1)),
        advocate(3, program("Acme", 50.0, program_id=P2)),
        advocate(4, program("Bolt", 70.0, program_id=P2)),
        advocate(5, program("Zeta", 900.0, program_id="")),
        advocate(6, program("Acme", 5.0, program_id="")),
    ])
    sluice("advocacy", "ingest", "in", cwd=work)
    result = report(work)
    rows = result["sales_by_program"]
    assert [(r["program_id"], r["brand"], r["brands"], r["rank"], r["sales"]) for r in rows] == [
        (P1, "Acme", 1, 1, 300), (P2, None, 2, 2, 120), (None, None, 0, None, 905)]
    assert rows[1]["note"] == "its memberships name 2 brands"
    assert rows[2]["note"] == "no program id known: not ranked"
    engagement = result["engagement_by_program"]
    assert [(r["program_id"], r["brand"], r["known"]) for r in engagement] == [
        (P1, "Acme", True), (P2, None, True), (None, None, False)]
    db = work / "warehouse.db"
    assert query(db, "SELECT brand FROM advocacy.sales_by_program WHERE program_id IS NULL"
                 ) == [(None,)]
    printed = text_of(work)
    assert "Programs (2): program 00000000… (Acme) brings the most sales, 300.00" in printed
    assert "2 memberships have no program id (68.3% of sales); not ranked." in printed
    table = section_text(printed, "programs by sales")
    assert "│      │ (unknown) │" in table and "│ (2 brands) │" in table


# --- data quality: rules named for what they found, shares of records ---------------------


def test_each_rule_is_named_for_what_it_found(work: Path) -> None:
    placeholders = advocate(1, program(sales="no-data", tasks=[
        task(post_url="broken_link", likes="NaN")]), email="invalid-email",
        instagram_handle="#error_handle", joined_at="not-a-date")
    malformed = advocate(2, program(sales="12 dollars", tasks=[
        task(post_url="www.example.com/p/1", likes=True)]), email="ann@@example.com",
        instagram_handle="ann lee!", joined_at="2024-02-30T00:00:00Z")
    export(work / "in", [placeholders, malformed, advocate(3)])
    sluice("advocacy", "ingest", "in", cwd=work)
    rules = {(r["field"], r["rule"]): r for r in report(work, "--all")["data_quality_issues"]}
    assert set(rules) == {
        ("email", "placeholder"), ("email", "invalid email"),
        ("instagram_handle", "placeholder"), ("instagram_handle", "invalid handle"),
        ("joined_at", "placeholder"), ("joined_at", "not a date"),
        ("total_sales_attributed", "placeholder"),
        ("total_sales_attributed", "text instead of a number"),
        ("post_url", "placeholder"), ("post_url", "not a URL"),
        ("likes", "placeholder"), ("likes", "not a number")}
    # Each a share of the records of its kind: 1 of 3 advocates, 1 of 3 memberships.
    assert rules[("email", "placeholder")]["share"] == 1 / 3
    assert rules[("likes", "not a number")]["records"] == 3


def test_data_quality_is_a_share_of_records_by_field_and_by_platform(work: Path) -> None:
    tiktok = [task("TikTok"), task("TikTok"), task("TikTok"), task("TikTok", post_url="x")]
    x = [task("X", reach=-5), task("X", reach=-5)]
    export(work / "in", [advocate(1, program(tasks=tiktok)), advocate(2, program(tasks=x)),
                         advocate(3, name="???"), advocate(4)])
    sluice("advocacy", "ingest", "in", cwd=work)
    result = report(work, "--all")
    fields = {(r["entity"], r["field"]): r for r in result["data_quality_by_field"]}
    assert [(r["entity"], r["field"]) for r in result["data_quality_by_field"]][:3] == [
        ("advocate", "(any field)"), ("membership", "(any field)"), ("task", "(any field)")]
    assert (fields[("advocate", "(any field)")]["records_with_issues"],
            fields[("advocate", "(any field)")]["share"]) == (1, 0.25)
    assert (fields[("task", "reach")]["records"], fields[("task", "reach")]["share"],
            fields[("task", "reach")]["most_common_rule"]) == (8, 2 / 8, "negative")
    assert fields[("task", "likes")]["records_with_issues"] == 0  # every field is listed
    platforms = by(result["data_quality_by_platform"], "platform")
    assert [r["platform"] for r in result["data_quality_by_platform"]] == [
        "X", "TikTok", "Instagram"] or platforms["X"]["share"] == 1.0
    assert (platforms["X"]["tasks_with_issues"], platforms["X"]["share"],
            platforms["X"]["tasks_measured"]) == (2, 1.0, 0)
    assert platforms["X"]["most_common_issue"] == "reach: negative"
    assert (platforms["TikTok"]["tasks"], platforms["TikTok"]["share"]) == (6, 1 / 6)


# --- the files section: the warehouse as it is --------------------------------------------


def test_files_section_describes_the_warehouse_now(work: Path) -> None:
    folder = export(work / "in", [advocate(1), advocate(2), advocate(3)])
    (folder / "notes.txt").write_text("not an advocate")
    (folder / "cut.json").write_text(json.dumps(advocate(4))[:-3])  # repaired
    (folder / "broken.json").write_text(json.dumps(advocate(5))[:30])  # quarantined
    sluice("advocacy", "ingest", "in", cwd=work, expect=0)
    # The export again, one file replaced by a later version of its advocate.
    (folder / f"user_{uid(3)}.json").write_text(json.dumps(advocate(3, program(sales=999.0))))
    sluice("advocacy", "ingest", "in", cwd=work)
    sluice("advocacy", "ingest", "in", cwd=work)  # and once more, unchanged
    now = {r["outcome"]: r["files"] for r in report(work)["files"]}
    assert now == {"clean": 3, "repaired": 1, "replaced by a later version": 1,
                   "rejected": 1, "not an advocate file, skipped": 1}
    # The ledger holds every run's word on every file: 18 rows, which the section no
    # longer adds up.
    assert query(work / "warehouse.db", "SELECT count(*) FROM sluice.files") == [(18,)]
    assert query(work / "warehouse.db", "SELECT count(*) FROM advocacy.advocates") == [(4,)]
    printed = section_text(text_of(work), "files in the warehouse now (a JSON Lines line "
                                          "counts as one)")
    assert "│ replaced by a later version   │     1 │" in printed


# --- engagement and sales -----------------------------------------------------------------


def test_correlation_has_its_sample_size_interval_and_p_value(
        loaded: tuple[Path, dict[str, object], dict[str, object]]) -> None:
    work = loaded[0]
    result = report(work)
    rows = {(r["unit"], r["measure"]): r for r in result["engagement_and_sales"]}
    comparable = query(work / "warehouse.db", "SELECT count(*) FROM advocacy."
                       "engagement_by_membership WHERE sales IS NOT NULL AND tasks > 0 AND "
                       "tasks_measured = tasks")[0][0]
    rho = rows[("memberships", "spearman_rho")]
    assert rho["n"] == comparable > 1000
    assert rho["low"] < rho["coefficient"] < rho["high"] and rho["p_value"] < 0.001
    finding = next(f for f in result["findings"] if f.startswith("Engagement and sales"))
    assert (f"over {comparable:,} memberships with sales known and every task measured: "
            f"Spearman rho = {rho['coefficient']:.2f} (95% CI {rho['low']:.2f} to "
            f"{rho['high']:.2f}, p < 0.001)") in finding
    assert "does not prove it" in finding
    quartiles = result["sales_by_engagement_quartile"]
    assert [q["quartile"] for q in quartiles] == [1, 2, 3, 4]
    assert sum(q["memberships"] for q in quartiles) == comparable


def test_a_perfectly_ordered_relationship_and_too_few_to_tell(work: Path) -> None:
    export(work / "in", [advocate(n, program(sales=float(n * n), tasks=[task(likes=n)]))
                         for n in range(1, 7)])
    sluice("advocacy", "ingest", "in", cwd=work)
    rows = report(work)["engagement_and_sales"]
    assert (rows[0]["measure"], rows[0]["n"], rows[0]["coefficient"]) == ("spearman_rho", 6, 1.0)
    (work / "few").mkdir()
    export(work / "few" / "in", [advocate(n, program(sales=float(n))) for n in range(1, 4)])
    sluice("advocacy", "ingest", "in", cwd=work / "few")
    findings = report(work / "few")["findings"]
    assert ("Engagement and sales: too few memberships with sales known and every task "
            "measured (3) to correlate them") in findings[4]


# --- the models and the report on generated data ------------------------------------------


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


MEASURED = ("likes IS NOT NULL AND comments IS NOT NULL AND shares IS NOT NULL AND "
            "reach > 0")


def test_models_agree_with_the_tables(
        loaded: tuple[Path, dict[str, object], dict[str, object]]) -> None:
    db = loaded[0] / "warehouse.db"
    by_platform = {p: (e, r) for p, e, r in query(
        db, "SELECT platform, engagement, reach FROM advocacy.engagement_by_platform")}
    direct = {p: (e, r) for p, e, r in query(
        db, f"SELECT coalesce(platform, '(unknown)'), sum(likes + comments + shares), "
            f"sum(reach) FROM advocacy.tasks WHERE {MEASURED} GROUP BY 1")}
    assert by_platform == direct
    top = query(db, "SELECT advocate_id, sales FROM advocacy.top_advocates_by_sales "
                    "WHERE rank = 1")
    best = query(db, "SELECT advocate_id, sum(total_sales_attributed) AS s FROM "
                     "advocacy.memberships GROUP BY 1 ORDER BY s DESC NULLS LAST LIMIT 1")
    assert top == best
    assert query(db, "SELECT sum(sales) FROM advocacy.sales_by_brand") == query(
        db, "SELECT sum(total_sales_attributed) FROM advocacy.memberships")
    # Rates are ratios of sums over measured tasks, the same tasks as engagement and reach.
    rate = query(db, "SELECT engagement_rate FROM advocacy.engagement_by_platform "
                     "WHERE platform = 'TikTok'")[0][0]
    expected = query(db, "SELECT sum(likes + comments + shares) / sum(reach) FROM "
                         f"advocacy.tasks WHERE platform = 'TikTok' AND {MEASURED}")[0][0]
    assert rate == pytest.approx(expected)


def test_report_figures_are_the_models_figures(
        loaded: tuple[Path, dict[str, object], dict[str, object]]) -> None:
    """Every count and sum in the JSON is the model's, to the last digit; the rates are
    computed from them (parsed back exactly)."""
    work = loaded[0]
    exact = json.loads(sluice("advocacy", "report", "--json", "--all", cwd=work).stdout,
                       parse_float=Decimal)
    db = work / "warehouse.db"
    for name, key in (("engagement_by_platform", "platform"), ("engagement_by_brand", "brand"),
                      ("sales_by_brand", "brand")):
        model = {row[0]: row[1:] for row in query(db, f"SELECT {key}, * EXCLUDE ({key}) "
                                                      f"FROM advocacy.{name}")}
        columns = [c for (c,) in query(db, f"SELECT column_name FROM information_schema."
                                           f"columns WHERE table_name = '{name}' ORDER BY "
                                           "ordinal_position") if c != key]
        assert {row[key] for row in exact[name]} == set(model), name
        for row in exact[name]:
            for column, value in zip(columns, model[row[key]], strict=True):
                if column in row and column != "engagement_rate":
                    assert row[column] == value, (name, column)
            if "engagement_rate" in row and row["reach"]:
                assert float(row["engagement_rate"]) == row["engagement"] / row["reach"]


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
    outliers = by(report(loaded[0])["outliers"], "metric")
    assert outliers["sales"]["advocates"] == len(flagged)
    assert outliers["sales"]["advocates_share"] == len(flagged) / outliers["sales"][
        "advocates_measured"]


def test_data_quality_summary_counts_every_issue(
        loaded: tuple[Path, dict[str, object], dict[str, object]]) -> None:
    db = loaded[0] / "warehouse.db"
    assert query(db, "SELECT sum(issues) FROM advocacy.dq_summary") == query(
        db, "SELECT count(*) FROM advocacy.dq_issues")
    rules = {r for (r,) in query(db, "SELECT DISTINCT rule FROM advocacy.dq_issues")}
    assert {"placeholder", "empty", "number instead of text", "negative", "missing"} <= rules
    outcomes = dict(query(db, "SELECT outcome, files FROM advocacy.file_summary"))
    assert set(outcomes) == {"clean", "repaired", "replaced by a later version", "rejected",
                             "not an advocate file, skipped"}


def test_report_answers_first_then_the_evidence(
        loaded: tuple[Path, dict[str, object], dict[str, object]]) -> None:
    work = loaded[0]
    result = report(work)
    assert [f.split(":")[0].split(" (")[0].split(",")[0] for f in result["findings"]] == [
        "Best advocates", "Platforms", "Brands", "Programs", "Engagement and sales",
        "Data quality"]
    printed = text_of(work)
    lines = printed.splitlines()
    assert lines[0].startswith("advocacy report for ") and lines[3] == "What the data says"
    assert lines[4:10] == [f"- {f}" for f in result["findings"]]
    for view in advocacy.PIPELINE.views:
        assert f"\n{view.title}\n" in printed


def test_text_fits_an_80_column_terminal(
        loaded: tuple[Path, dict[str, object], dict[str, object]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On a narrow terminal a table leaves out its least needed columns and says so; a
    number is never wrapped inside its cell."""
    monkeypatch.setattr(console.out, "width", 80)
    printed = text_of(loaded[0])
    tables = [line for line in printed.splitlines() if line[:1] in ("┏", "┃", "│", "└")]
    assert tables and max(len(line) for line in tables) <= 80
    assert "(too narrow a terminal for: " in printed
    best = report(loaded[0])["top_advocates_by_sales"][0]
    assert f" {Decimal(str(best['sales'])):,.2f} │" in printed
    monkeypatch.setattr(console.out, "width", console.PIPED_WIDTH)
    assert "too narrow" not in text_of(loaded[0])


def test_report_on_a_warehouse_without_advocates(work: Path) -> None:
    (work / "empty").mkdir()
    sluice("advocacy", "ingest", "empty", cwd=work)
    result = report(work)
    assert result["findings"] == [
        "No advocates loaded yet: ingest an export with `sluice advocacy ingest FOLDER`."]
    assert all(result[v.name] == [] for v in advocacy.PIPELINE.views
               if v.name not in ("engagement_and_sales", "data_quality_by_field"))
    assert {r["records"] for r in result["data_quality_by_field"]} == {0}
    assert "0 rows" in text_of(work)


# --- PostgreSQL ---------------------------------------------------------------------------


def test_the_report_on_postgresql_is_the_report_on_duckdb(tmp_path: Path,
                                                          postgres_url: str) -> None:
    tasks = [task(p, likes, 1, 1, reach) for p, likes, reach in (
        ("TikTok", 50, 900), ("TikTok", 7, 120), ("Instagram", 3, 400), ("X", "NaN", 50),
        (7, 2, 30))]
    export(tmp_path / "in", [
        *(advocate(n, program("Acme", 10.0 * n, tasks[n % 5:], P1), program(
            12345, 3.5, [task("YouTube", n, 0, 0, 10 * n)], "")) for n in range(1, 10)),
        advocate(10, program("Bolt", "no-data", program_id=P2), email="invalid-email")])
    (tmp_path / "in" / "notes.txt").write_text("not an advocate")
    pg = {"SLUICE_WAREHOUSE": postgres_url, "SLUICE_QUARANTINE_DIR": str(tmp_path / "pgq")}
    duck = {"SLUICE_WAREHOUSE": str(tmp_path / "w.db")}
    for env in (duck, pg):
        sluice("advocacy", "ingest", "in", cwd=tmp_path, env=env)
    on_postgres = report(tmp_path, "--all", "--min-tasks", "2", env=pg)
    assert on_postgres == report(tmp_path, "--all", "--min-tasks", "2", env=duck)
    assert [r["platform"] for r in on_postgres["engagement_by_platform"]][-1] == "(unknown)"
    assert by(on_postgres["files"], "outcome")["clean"]["files"] == 10
    printed = sluice("advocacy", "report", cwd=tmp_path, env=pg).stdout
    assert printed.startswith("advocacy report for postgresql://")
    assert "What the data says" in printed and "\nprograms by sales\n" in printed


def test_a_long_tail_of_brands_is_cut_with_its_totals(work: Path) -> None:
    """Brands as a real export has them: a few big ones, many with one membership, some
    spelt two ways."""
    big = [advocate(n, program("Pixel Audio", 500.0)) for n in range(1, 6)]
    tail = [advocate(100 + n, program(f"Shop {n}", float(n), program_id=uid(500 + n)))
            for n in range(1, 13)]
    export(work / "in", [*big, *tail, advocate(99, program("pixel audio", 1.0))])
    sluice("advocacy", "ingest", "in", cwd=work)
    result = report(work, "--top", "3")
    assert [r["brand"] for r in result["sales_by_brand"]] == ["Pixel Audio", "Shop 12",
                                                              "Shop 11"]
    assert result["more"]["sales_by_brand"] == {
        "rows": 11, "memberships": 11, "memberships_with_sales": 11,
        "sales": sum(range(1, 11)) + 1, "single_membership": 11,
        "sales_share": (sum(range(1, 11)) + 1) / (2500 + sum(range(1, 13)) + 1)}
    printed = text_of(work, "--top", "3")
    assert section_text(printed, "sales by brand").splitlines()[-1] == (
        "… 11 more brands (11 of them with one membership): 11 memberships, 56.00 of sales "
        "(2.2%); --all lists them")
    assert ("13 brands have a single membership. 2 brand names differ from another only in "
            "letter case or spaces (such as 'Pixel Audio' and 'pixel audio') and are counted "
            "apart.") in printed


def test_the_largest_values_the_contract_holds_give_exact_figures(work: Path) -> None:
    """Counts at their bound and amounts at their column's largest: every sum, square and
    fence stays exact (past BIGINT and DECIMAL(18)), and the report, which once failed
    here on an overflow, answers."""
    cap, amount = 10**12, "999999999999.99"
    tasks = [task(likes=cap, comments=cap, shares=cap, reach=cap)] * 3400
    export(work / "in", [advocate(n, program(sales=1.0, tasks=tasks)) for n in range(1, 12)]
           + [advocate(12, program(sales=float(amount), tasks=tasks),
                       program(sales=float(amount), tasks=tasks, program_id=P2))])
    sluice("advocacy", "ingest", "in", cwd=work)
    db = work / "warehouse.db"
    assert query(db, "SELECT count(*) FROM advocacy.dq_issues") == [(0,)]
    in_cents_squared = 2 * 99999999999999**2 + 11 * 100**2  # exact (Decimal keeps 28 digits)
    assert query(db, "SELECT sales_squares FROM advocacy.sales_by_brand") == [
        (Decimal(f"{in_cents_squared // 10**4}.{in_cents_squared % 10**4:04d}"),)]
    engagement = 3400 * 3 * cap  # above 10^16: past DECIMAL(18, 2)
    assert query(db, "SELECT engagement, reach FROM advocacy.engagement_by_advocate "
                     f"WHERE advocate_id = '{uid(12)}'") == [(2 * engagement, 2 * 3400 * cap)]
    shown = report(work)
    assert by(shown["sales_by_brand"], "brand")["Acme"]["sales"] == float(
        2 * Decimal(amount) + 11)
    assert by(shown["top_advocates_by_engagement"], "advocate_id")[uid(12)]["engagement"] == (
        2 * engagement)
    outliers = by(shown["outliers"], "metric")
    assert outliers["engagement"]["advocates"] == outliers["sales"]["advocates"] == 1
    assert outliers["engagement"]["fence"] == engagement
    assert outliers["engagement"]["largest"] == 2 * engagement


def test_a_count_above_a_trillion_is_out_of_range(work: Path) -> None:
    export(work / "in", [advocate(1, program(tasks=[task(likes=10**12 + 1, reach=10**12)]))])
    sluice("advocacy", "ingest", "in", cwd=work)
    db = work / "warehouse.db"
    assert query(db, "SELECT likes, reach FROM advocacy.tasks") == [(None, 10**12)]
    assert query(db, "SELECT field, rule, raw_value FROM advocacy.dq_issues") == [
        ("likes", "out of range", str(10**12 + 1))]
