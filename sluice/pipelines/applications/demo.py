"""The applications demo step: an hour's files dropped in an inbox, one file delivered
again, and the pass that processes them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sluice.demo import run_totals
from sluice.pipelines import applications
from sluice.pipelines.applications.generate import generate_applications
from sluice.pipelines.applications.inbox import Inbox
from sluice.pipelines.applications.outputs import SUCCESSFUL, UNSUCCESSFUL
from sluice.progress import Progress
from sluice.warehouse import Warehouse

DEMO_APPLICATIONS = 20_000
DEMO_FILES = 4


def run_demo(warehouse: Warehouse, folder: Path, progress: Progress) -> dict[str, Any]:
    inbox = folder / "inbox"
    generated = generate_applications(inbox, DEMO_APPLICATIONS, files=DEMO_FILES)
    # The first file delivered again under another name: its content is known, so it
    # is skipped (and archived), not processed twice.
    shutil.copyfile(generated.files[0], inbox / "applications_redelivered.csv")
    where = Inbox(inbox.resolve(), (folder / "out").resolve(),
                  (folder / "out" / "archive").resolve(), min_age=0)
    done = applications.process(warehouse, where, progress)
    assert done.run is not None  # the files were written complete
    applications.build_models(warehouse)
    shared = int(warehouse.destination.scalar(
        "SELECT count(*) FROM applications.shared_membership_ids"))
    summary = run_totals(done.run)
    summary["successful"] = done.outputs.get(SUCCESSFUL, 0)
    summary["unsuccessful"] = done.outputs.get(UNSUCCESSFUL, 0)
    summary["shared_membership_ids"] = shared
    summary["headline"] = (
        f"{summary['successful']:,} of {DEMO_APPLICATIONS:,} applications successful; "
        f"{shared:,} membership ids shared by two applicants")
    return summary

