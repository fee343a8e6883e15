"""Named crash points, for the crash-safety tests (inert unless XETRA_CRASH_AT is set).

`XETRA_CRASH_AT=load:partition-written` kills the whole process group with SIGKILL the first time
that point is reached; `name@3` the third time, counted across every process of the group (the
local run and its workers). This reproduces a kill at an exact moment between two writes, which an
outside timer can only hit by luck.
"""

from __future__ import annotations

import os
import signal
import tempfile

CRASH_ENV = "XETRA_CRASH_AT"


def crash_point(name: str) -> None:
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    target, _, nth = spec.partition("@")
    if target != name:
        return
    group = os.getpgrp()
    counter = os.path.join(tempfile.gettempdir(), f"xetra-crash-{group}-{name.replace(':', '_')}")
    # One byte appended per hit: O_APPEND makes the count exact across processes.
    fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, b".")
        hits = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if hits == int(nth or 1):
        os.unlink(counter)
        os.killpg(group, signal.SIGKILL)
