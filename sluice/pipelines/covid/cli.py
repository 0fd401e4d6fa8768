"""`sluice covid ...`: ingest an API's response, the report with its chart.

Imported by `--help`: Typer and light modules at the top; each verb imports the engine
and the output when it runs (tests/test_cli_startup.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sluice.cli_options import JsonOption, WarehouseOption, check_file_target, pipeline_app
from sluice.errors import UsageError
from sluice.paths import shown
from sluice.pipelines import covid
from sluice.pipelines.covid.settings import DEFAULT_CHART

if TYPE_CHECKING:
    from sluice.pipelines.covid.land import Landed

app = pipeline_app(covid.HELP)


@app.command("ingest")
def covid_ingest(
    source: Annotated[str, typer.Argument(
        help="The API's URL (GET .../country/COUNTRY/status/confirmed), or a file "
             "holding its response.")],
    attempts: Annotated[int, typer.Option(
        "--attempts", min=1, max=20, help="Requests at most, when the server fails.")] = 4,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0.1, max=600, help="Seconds to wait for each answer.")] = 10.0,
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """Load a response's days into covid.observations; bad days go to quarantine."""
    from sluice import console
    from sluice.lifecycle import check_all_read
    from sluice.pipelines.covid.fetch import RetryPolicy, identity, looks_like_url, url_problem
    from sluice.pipelines.covid.land import changes, land
    from sluice.pipelines.covid.report import headline
    from sluice.warehouse import Warehouse

    if looks_like_url(source):
        problem = url_problem(source)
        if problem is not None:
            raise UsageError(f"SOURCE {identity(source)}: {problem}")
    else:
        _check_file(Path(source))
    policy = RetryPolicy(attempts=attempts, timeout=timeout)
    with Warehouse(warehouse) as wh, console.progress_bar(not json) as progress:
        landed = land(wh, source, progress, policy)
        covid.build_models(wh)
        response = landed.response
        changed = changes(wh, response.sha256) if response and not landed.skipped else {}
        figures = {country: headline(wh, country) for country in changed}
    summary = {**landed.run.as_dict(), "attempts": landed.attempts, "changes": changed,
               "headline": figures}
    if json:
        console.print_json(summary)
    else:
        console.print_run(landed.run)
        lines = _change_lines(landed, changed, figures)
        if lines:
            console.out.print("\n".join(lines), markup=False)
    check_all_read(landed.run)


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise UsageError(f"SOURCE {shown(path)}: a folder; name the response's file")
    if not path.exists():
        raise UsageError(f"SOURCE {shown(path)}: no such file (a URL starts with http:// "
                         "or https://)")


def _change_lines(landed: Landed, changed: dict[str, dict[str, int]],
                  figures: dict[str, dict[str, Any]]) -> list[str]:
    from sluice.pipelines.covid.report import headline_text

    lines = []
    for country, counts in changed.items():
        line = (f"{country}: {counts['new']:,} new days, {counts['revised']:,} revised, "
                f"{counts['unchanged']:,} unchanged")
        if counts["older"]:
            line += (f", {counts['older']:,} older than the figures already there (which "
                     "stand)")
        lines.append(line)
        lines.append("  " + headline_text(figures[country]))
    if landed.response is not None and landed.attempts > 1:
        lines.append(f"fetched after {landed.attempts} attempts")
    return lines


@app.command("report")
def covid_report(
    country: Annotated[str | None, typer.Option(
        "--country", help="The country to chart [default: the only one there is].")] = None,
    chart: Annotated[Path, typer.Option(
        "--chart", help="The PNG to write: daily new cases and the 7-day average.")
    ] = DEFAULT_CHART,
    warehouse: WarehouseOption = None,
    json: JsonOption = False,
) -> None:
    """The headline figures, weekly totals, revisions and data-quality issues, and a
    chart of daily new cases."""
    from sluice import console
    from sluice.pipelines.covid.report import (
        choose_country,
        headline,
        headline_text,
        latest_source,
        series,
        write_chart,
    )
    from sluice.warehouse import Warehouse

    check_file_target(chart)
    with Warehouse(warehouse, must_exist=True) as wh:
        covid.build_models(wh)
        chosen = choose_country(wh, country)
        results = {view: view.query(wh) for view in covid.PIPELINE.views}
        written = None
        findings = []
        if chosen is None:
            findings.append("no figures yet: `sluice covid ingest SOURCE` loads a response")
        else:
            written = write_chart(series(wh, chosen), chosen, chart, latest_source(wh, chosen))
            findings.append(f"{chosen}: " + headline_text(headline(wh, chosen)))
            findings.append(f"chart: {shown(written)}")
    if json:
        payload: dict[str, Any] = {view.name: result.dicts() for view, result in results.items()}
        payload["country"] = chosen
        payload["chart"] = str(written) if written is not None else None
        console.print_json(payload)
        return
    console.show_views(results, False, findings)
