"""`sluice serve`: the JSON API and the pages over a warehouse, over real HTTP."""

from __future__ import annotations

from web_server import get, get_json


def test_the_overview_lists_every_pipeline_with_its_last_run_and_headline(
        demo_server: str) -> None:
    overview = get_json(demo_server, "/api/pipelines")
    by_name = {item["pipeline"]: item for item in overview["items"]}
    assert list(by_name) == ["votes", "advocacy", "applications", "shop", "events", "covid",
                             "cars"]
    votes = by_name["votes"]
    assert (votes["received"], votes["loaded"], votes["duplicates"], votes["quarantined"]) == (
        301_843, 300_000, 1_541, 302)
    assert votes["last_status"] == "succeeded"
    assert votes["headline"].startswith("15 of 106 weeks are outliers")


def test_a_page_is_html_that_loads_its_script_and_charts_from_this_server(
        demo_server: str) -> None:
    status, headers, body = get(demo_server, "/pipelines/votes")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'src="/static/plotly.min.js"' in body and b"http" not in body
    status, headers, script = get(demo_server, "/static/plotly.min.js")
    assert status == 200 and script.startswith(b"/**\n* plotly.js")
