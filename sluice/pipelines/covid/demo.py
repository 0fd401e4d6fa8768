"""The covid demo step: two responses of the API, saved a month apart with their days
overlapping (the shipped fixture: real figures for Singapore), ingested in order; the
series, its headline and its chart."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from sluice.demo import combined_totals
from sluice.pipelines import covid
from sluice.pipelines.covid.land import changes, land
from sluice.pipelines.covid.report import headline, latest_source, series, write_chart
from sluice.progress import Progress
from sluice.warehouse import Warehouse

FIXTURE = resources.files(__package__) / "data"
RESPONSES = ("singapore-2020-04-30.json", "singapore-2020-06-30.json")
COUNTRY = "Singapore"
CHART = "covid-cases.png"  # in the demo's folder


def run_demo(warehouse: Warehouse, folder: Path, progress: Progress) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    runs, revised, repeated = [], 0, 0
    for name in RESPONSES:  # written in order: the later response is the newer file
        saved = folder / name
        with resources.as_file(FIXTURE / name) as shipped:
            shutil.copyfile(shipped, saved)
        landed = land(warehouse, str(saved), progress)
        covid.build_models(warehouse)
        runs.append(landed.run)
        if landed.response is not None and not landed.skipped:
            counts = changes(warehouse, landed.response.sha256).get(COUNTRY, {})
            revised += counts.get("revised", 0)
            repeated += counts.get("revised", 0) + counts.get("unchanged", 0)
    figures = headline(warehouse, COUNTRY)
    write_chart(series(warehouse, COUNTRY), COUNTRY, folder / CHART,
                latest_source(warehouse, COUNTRY))
    summary = combined_totals(runs)
    summary.update(days=figures["days"], total_cases=figures["total_cases"],
                   peak_day=str(figures["peak_day"]), peak_new_cases=figures["peak_new_cases"],
                   repeated_days=repeated, revisions=revised)
    summary["headline"] = (
        f"{COUNTRY}: {figures['total_cases']:,} cases by {figures['last_day']} over "
        f"{figures['days']} days; the most in a day: {figures['peak_new_cases']:,} on "
        f"{figures['peak_day']}; the later response gave {repeated} days again, "
        f"{revised} of them revised")
    return summary
