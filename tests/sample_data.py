"""Where the real Xetra sample files are: `tests/data/xetra-sample/` in the repository.

`XETRA_SAMPLE_DATA` may point to another folder in the same layout (e.g. the complete days); the
tests that use it hold for any such folder.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IN_REPO = REPO / "tests" / "data" / "xetra-sample"


def sample_dir() -> Path:
    path = Path(os.environ.get("XETRA_SAMPLE_DATA") or IN_REPO)
    if not path.is_dir():
        raise FileNotFoundError(
            f"the real Xetra sample files are not at {path}; unset XETRA_SAMPLE_DATA to use "
            f"the ones in {IN_REPO.relative_to(REPO)}"
        )
    return path
