"""Crash points for tests: a process killed at an exact moment, which timing cannot give.

Set SLUICE_CRASH_AT to a point's name and the process kills itself there with SIGKILL,
as the kernel's OOM killer or a power cut would: no cleanup, no rollback handler runs. It
says so on stderr first, so a test knows the process died at that point and not elsewhere.

Points: `before-commit`, inside a run's one transaction after all its writes;
`after-commit`, once a run has committed, before anything outside the warehouse follows
it (an applications pass's outputs and archive).
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "SLUICE_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.write(2, f"sluice: killed at crash point {name}\n".encode())
        os.kill(os.getpid(), signal.SIGKILL)
