"""Crash points for tests: a process killed at an exact moment, which timing cannot give.

Set SLUICE_CRASH_AT to a point's name and the process kills itself there with SIGKILL,
as the kernel's OOM killer or a power cut would: no cleanup, no rollback handler runs.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "SLUICE_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
