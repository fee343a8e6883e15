"""Thin entry points, one per step; `steps.cli` gathers them under `xetra-etl`."""

import os

# numpy's OpenBLAS otherwise starts a spinning thread per core at import; the steps never multiply
# matrices, and those threads took ~3% of a local run's CPU (perf) from the parsing workers.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
