"""Named crash points, for the crash-safety tests (inert unless XETRA_CRASH_AT is set).

`XETRA_CRASH_AT=load:partition-written` kills the whole process group with SIGKILL the first time
that point is reached; `name@3` the third time (counted per process). This reproduces a kill at an
exact moment between two writes, which an outside timer can only hit by luck.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

CRASH_ENV = "XETRA_CRASH_AT"
_hits: Counter[str] = Counter()


def crash_point(name: str) -> None:
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    target, _, nth = spec.partition("@")
    if target != name:
        return
    _hits[name] += 1
    if _hits[name] == int(nth or 1):
        os.killpg(os.getpgrp(), signal.SIGKILL)
