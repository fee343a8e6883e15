"""Named crash points, for the crash-safety tests (inert unless XETRA_CRASH_AT is set).

`XETRA_CRASH_AT=load:partition-written` kills the whole process group with SIGKILL the first time
that point is reached; `name@3` the third time, counted across every process and thread of the
group. This reproduces a kill at an exact moment between two writes, which an
outside timer can only hit by luck.
"""

from __future__ import annotations

import os
import signal
import tempfile

CRASH_ENV = "XETRA_CRASH_AT"
CRASH_DIR_ENV = "XETRA_CRASH_DIR"  # where the hit counters go (default: the temp directory)


def crash_point(name: str) -> None:
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    target, _, nth = spec.partition("@")
    if target != name:
        return
    group = os.getpgrp()
    directory = os.environ.get(CRASH_DIR_ENV) or tempfile.gettempdir()
    counter = os.path.join(directory, f"xetra-crash-{group}-{name.replace(':', '_')}")
    # One byte appended per hit. O_APPEND places each write atomically at the end, and this
    # descriptor's offset after its own write is then this hit's number, exact across processes
    # and threads (the file's size is not: another hit may land between write and stat).
    fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, b".")
        hits = os.lseek(fd, 0, os.SEEK_CUR)
    finally:
        os.close(fd)
    if hits == int(nth or 1):
        os.killpg(group, signal.SIGKILL)
