"""Process settings for the data entry points (`run`, `extract`, `transform`, `load`), in one place.

Importing this module changes nothing; `tune_data_process()` does, and each data entry point calls
it first, before numpy and pyarrow load. Every setting was measured on a 20-day local run and a
SeaweedFS run; the figures are in docs/performance.md (the figures behind the code). Settings
already present in the environment win.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib.abc
import os
import sys


def tune_data_process() -> None:
    """Tune this process for reading and aggregating source data; call once, before the work."""
    # numpy's OpenBLAS starts a spinning thread per core at import; the steps never multiply
    # matrices, and those threads took CPU from the workers.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Arrow's default pool (mimalloc) held on to freed pages at an S3 run's peak; jemalloc
    # returns them on a timer at the same speed.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    # One jemalloc arena, not one per thread: each worker thread's arena kept the pages its
    # dates had freed; per-thread caches keep them uncontended.
    os.environ.setdefault("JE_ARROW_MALLOC_CONF", "narenas:1")
    # glibc gives every thread its own arena (up to 8 per core), each keeping what its thread
    # freed, for each of a dozen reader and worker threads. Two arenas are plenty for threads
    # that allocate mostly through Arrow.
    if "MALLOC_ARENA_MAX" not in os.environ and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    _spare_pyarrow_pandas_probe()
    # Everything imported so far lives as long as the process: keep the cyclic collector
    # from scanning it again and again. What is imported later (the S3 client and its service
    # model) is scanned less often: the steps make few reference cycles, and each young
    # collection that found none still cost CPU.
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


def _spare_pyarrow_pandas_probe() -> None:
    """Keep pyarrow from importing pandas in a step that never hands it pandas objects.

    pyarrow imports pandas the first time it builds any array, only to recognise pandas
    objects among its inputs, a noticeable part of a short run. This lets that one probe find
    no pandas; whatever really needs pandas (`to_pandas`, `import pandas`) still imports it.
    Images without pandas never pay.
    """
    if "pandas" in sys.modules:
        return
    try:
        import pyarrow as pa
    except ImportError:  # the discover image has no pyarrow
        return
    hide = _HidePandas()
    sys.meta_path.insert(0, hide)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(hide)


class _HidePandas(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname == "pandas":
            raise ModuleNotFoundError("hidden from pyarrow's probe", name=fullname)
