"""Where the real Xetra sample files are: `../shared/data/xetra-pds` beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sample_dir() -> Path:
    path = Path(os.environ.get("XETRA_SAMPLE_DATA", REPO.parent / "shared" / "data" / "xetra-pds"))
    if not path.is_dir():
        raise FileNotFoundError(
            f"the real Xetra sample files are not at {path}; set XETRA_SAMPLE_DATA to their folder"
        )
    return path
