"""Thin entry points, one per step; `steps.cli` gathers them under `xetra-etl`.

Importing this package tunes the process for the data steps, before numpy and pyarrow load;
each setting was measured on a 20-day local run and a SeaweedFS run (README, Performance).
Settings already present in the environment win.
"""

import contextlib
import ctypes
import os
import sys


def _tune_process() -> None:
    # numpy's OpenBLAS starts a spinning thread per core at import; the steps never multiply
    # matrices, and those threads took ~3% of a local run's CPU (perf) from the workers.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Arrow's default pool (mimalloc) held ~100 MB of freed pages at an S3 run's peak (smaps);
    # jemalloc returns them on a timer at the same speed.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    # glibc gives every thread its own arena (up to 8 per core), each keeping what its thread
    # freed: ~5 MB for each of a dozen reader and worker threads. Two arenas are plenty for
    # threads that allocate mostly through Arrow.
    if "MALLOC_ARENA_MAX" not in os.environ and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX


_tune_process()
